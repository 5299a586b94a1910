//! Crafted y-sync and awareness frames, amplification, the document size limit, updates refused
//! partway through, characters put into the setlist, and Yjs XML types.

use super::{binary, honest_member_is_served, member_from, p99, probe, sync_msg, var};
use bandsync_docs::SessionDoc;
use bandsync_e2e::TestServer;
use bandsync_server::ServerConfig;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn crafted_updates_with_overflowing_clocks_are_refused_and_the_session_lives() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let mut evil = member_from(&ts, "127.0.0.2", "Mallory", false).await;
    // A delete-set range at clock 0xFFFFFFFF of length 5, and a string struct at 0xFFFFFFF0 of
    // length 32: each overflows u32 in yrs.
    let mut ds = vec![0, 1, 9];
    var(0xFFFF_FFFF, &mut ds);
    var(5, &mut ds);
    let mut st = vec![1, 1, 9];
    var(0xFFFF_FFF0, &mut st);
    st.extend_from_slice(&[4, 1, 1, b't', 32]);
    st.extend_from_slice(&[b'x'; 32]);
    st.push(0);
    for payload in [ds, st] {
        assert!(binary(&mut evil, sync_msg(2, &payload)).await);
        let e = evil.recv_type("error").await;
        assert_eq!(e["code"], "malformed", "{e}");
        assert_eq!(e["about"], "doc", "{e}");
    }
    honest_member_is_served(&ts).await;
    // And the documents still sync: a fresh member's step 1 gets a step 2.
    let (mut h, _) = ts.member("Reader", false).await;
    assert!(binary(&mut h, SessionDoc::new().sync_step1()).await);
    let reply = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(Ok(Message::Binary(b))) = futures_util::StreamExt::next(&mut h.ws).await {
                return b;
            }
        }
    })
    .await
    .expect("a sync step 2");
    assert_eq!(reply[..2], [0, 1]);
}

#[tokio::test]
async fn step1_and_awareness_amplification_costs_the_honest_member_nothing() {
    let cfg = ServerConfig { max_violations: u32::MAX, ..ServerConfig::default() };
    let ts = TestServer::start(cfg).await;
    let baseline: Vec<Duration> = {
        let mut v = Vec::new();
        for _ in 0..40 {
            v.push(probe(&ts).await);
        }
        v
    };
    let mut evil = member_from(&ts, "127.0.0.2", "Mallory", false).await;
    // A sync step 1 of 7 bytes that claims 2^24 clients, and an awareness update claiming 2^20.
    let (step1, aw) = bandsync_e2e::hostile::amplifying_frames();
    let attack = tokio::spawn(async move {
        let mut refused = 0;
        let end = Instant::now() + Duration::from_secs(2);
        let mut tick = tokio::time::interval(Duration::from_millis(11));
        while Instant::now() < end {
            tick.tick().await;
            let frame = if refused % 2 == 0 { step1.clone() } else { aw.clone() };
            assert!(binary(&mut evil, frame).await, "the attacker was cut off before its rate limit");
            let e = evil.recv_type("error").await;
            assert_eq!(e["code"], "malformed", "{e}");
            refused += 1;
        }
        refused
    });
    let mut during = Vec::new();
    while !attack.is_finished() {
        during.push(probe(&ts).await);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let refused = attack.await.unwrap();
    assert!(refused > 100, "only {refused} frames were answered in 2 s");
    let (base, hit) = (p99(baseline), p99(during));
    eprintln!("amplification: honest probe p99 {base:?} before, {hit:?} under attack ({refused} frames refused)");
    assert!(hit <= base * 2 + Duration::from_millis(20), "p99 {hit:?} under attack vs {base:?} before");
    honest_member_is_served(&ts).await;
}

#[tokio::test]
async fn the_documents_have_a_size_limit_and_a_full_document_still_reaches_everyone() {
    // Fast enough to fill 8 MiB without meeting the rate limits, which are not under test here.
    let ts = TestServer::start(bandsync_e2e::without_rate_limits(ServerConfig::default())).await;
    let mut ed = member_from(&ts, "127.0.0.2", "Filler", false).await;
    let local = SessionDoc::new();
    let chunk = "x".repeat(60 * 1024);
    let mut sent = 0;
    let code = loop {
        assert!(sent < 200, "no limit after {sent} updates of 60 KiB");
        assert!(binary(&mut ed, local.insert_chart(&format!("s{sent}"), 0, &chunk)).await);
        sent += 1;
        // Each accepted update comes back as nothing to the sender; a refusal as an error. A
        // chat round trip tells which.
        ed.send(json!({"type": "chat", "text": format!("after {sent}")})).await;
        let m = loop {
            let m = ed.recv().await.expect("open");
            if m["type"] == "error" || (m["type"] == "chat" && m["message"]["text"] == format!("after {sent}")) {
                break m;
            }
        };
        if m["type"] == "error" {
            break m;
        }
    };
    assert_eq!(code["code"], "document_full", "{code}");
    assert!(code["message"].as_str().unwrap().contains("the limit is 8388608"), "{code}");
    assert!(sent > 100, "refused after only {sent} updates");
    // A newcomer syncs the whole document in one step 2, well under a member's frame limit.
    let (mut h, _) = ts.member("Reader", false).await;
    let doc = SessionDoc::new();
    assert!(binary(&mut h, doc.sync_step1()).await);
    let end = tokio::time::Instant::now() + Duration::from_secs(10);
    while doc.chart(&format!("s{}", sent - 2)).is_none() {
        match tokio::time::timeout_at(end, futures_util::StreamExt::next(&mut h.ws)).await.expect("synced in time") {
            Some(Ok(Message::Binary(b))) => {
                assert!(b.len() < 16 << 20, "a frame of {} bytes", b.len());
                doc.handle_from_server(&b).unwrap();
            }
            Some(Ok(_)) => {}
            other => panic!("connection ended: {other:?}"),
        }
    }
    honest_member_is_served(&ts).await;
}

/// Syncs a fresh replica from the server and returns its encoded state.
async fn synced_state(ts: &TestServer, name: &str) -> Vec<u8> {
    let (mut r, _) = ts.member(name, false).await;
    let doc = SessionDoc::new();
    assert!(binary(&mut r, doc.sync_step1()).await);
    // The server answers with its step 2, then its step 1.
    let mut seen = 0;
    while seen < 2 {
        match tokio::time::timeout(Duration::from_secs(5), futures_util::StreamExt::next(&mut r.ws)).await.unwrap() {
            Some(Ok(Message::Binary(b))) => {
                seen += 1;
                doc.handle_from_server(&b).unwrap();
            }
            Some(Ok(_)) => {}
            other => panic!("connection ended: {other:?}"),
        }
    }
    doc.encode_state()
}

async fn an_update_refused_partway_through_leaves_nothing_behind(cfg: ServerConfig) {
    let ts = TestServer::start(cfg).await;
    let mut ed = member_from(&ts, "127.0.0.2", "Editor", false).await;
    let local = SessionDoc::new();
    assert!(binary(&mut ed, local.set_chart("s1", "[C]Let it be")).await);
    let before = synced_state(&ts, "Reader 1").await;
    // One update of two structs by client 77: a value under the root "t", then a struct whose
    // parent is that value (not a shared type). yrs integrates the first, then refuses the second.
    let u = [1, 2, 77, 0, 8, 1, 1, b't', 1, 126, 8, 0, 77, 0, 1, 126, 0];
    assert!(binary(&mut ed, sync_msg(2, &u)).await);
    let e = ed.recv_type("error").await;
    assert_eq!(e["code"], "malformed", "{e}");
    assert!(e["message"].as_str().unwrap().contains("partway"), "{e}");
    assert_eq!(synced_state(&ts, "Reader 2").await, before, "half of a refused update stayed in the documents");
    honest_member_is_served(&ts).await;
}

#[tokio::test]
async fn an_update_refused_partway_through_is_undone_in_memory() {
    an_update_refused_partway_through_leaves_nothing_behind(ServerConfig::default()).await;
}

#[tokio::test]
async fn an_update_refused_partway_through_is_undone_from_the_store() {
    let dir = std::env::temp_dir().join(format!("bandsync-partway-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = bandsync_server::store::Store::open(&dir).unwrap();
    let cfg = ServerConfig { store: Some(std::sync::Arc::new(store)), ..ServerConfig::default() };
    an_update_refused_partway_through_leaves_nothing_behind(cfg).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn characters_put_into_the_setlist_are_refused_and_the_setlist_stays_readable() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let mut ed = member_from(&ts, "127.0.0.2", "Editor", false).await;
    let local = SessionDoc::new();
    let songs = [bandsync_docs::Song::new("a", "Intro")];
    assert!(binary(&mut ed, local.set_setlist(&songs).unwrap()).await);
    let before = synced_state(&ts, "Reader 1").await;
    // Text edits under the setlist's root name: a string item in the array, with an emoji. yrs
    // read such an item without end whenever the setlist was read.
    let evil = yrs::Doc::with_client_id(666);
    let u = {
        use yrs::{Text, Transact};
        let t = evil.get_or_insert_text("setlist");
        let mut txn = evil.transact_mut();
        t.insert(&mut txn, 0, "🎸");
        txn.encode_update_v1()
    };
    assert!(binary(&mut ed, sync_msg(2, &u)).await);
    let e = ed.recv_type("error").await;
    assert_eq!(e["code"], "malformed", "{e}");
    assert!(e["message"].as_str().unwrap().contains("setlist"), "{e}");
    let after = synced_state(&ts, "Reader 2").await;
    assert_eq!(after, before, "the refused characters stayed in the documents");
    let reader = SessionDoc::new();
    reader.apply_update(&after).unwrap();
    assert_eq!(reader.setlist(), songs);
    honest_member_is_served(&ts).await;
}

#[tokio::test]
async fn xml_types_are_refused_and_the_documents_keep_syncing() {
    // Yjs's XML types (an element, a text, a fragment, at a root name or inside the charts' map)
    // are in no BandSync document; the server refuses them, so that no page's Yjs ever decodes
    // one (the page's bundle keeps no XML readers: `ui/vite.config.ts`).
    let ts = TestServer::start(ServerConfig::default()).await;
    let mut evil = member_from(&ts, "127.0.0.2", "Mallory", false).await;
    let mut ed = member_from(&ts, "127.0.0.3", "Editor", false).await;
    let local = SessionDoc::new();
    assert!(binary(&mut ed, local.set_chart("s1", "[C]Let it be")).await);
    let before = synced_state(&ts, "Reader 1").await;
    let crafted = |make: &dyn Fn(&yrs::Doc)| {
        let d = yrs::Doc::with_client_id(666);
        make(&d);
        d.transact().encode_state_as_update_v1(&yrs::StateVector::default())
    };
    use yrs::{Map, ReadTxn, Transact, XmlFragment};
    let updates = [
        crafted(&|d| {
            let f = d.get_or_insert_xml_fragment("notes");
            f.insert(&mut d.transact_mut(), 0, yrs::XmlElementPrelim::empty("p"));
        }),
        crafted(&|d| {
            let f = d.get_or_insert_xml_fragment("charts");
            f.insert(&mut d.transact_mut(), 0, yrs::XmlTextPrelim::new("[G]la"));
        }),
        crafted(&|d| {
            let charts = d.get_or_insert_map("charts");
            charts.insert(&mut d.transact_mut(), "s2", yrs::XmlFragmentPrelim::default());
        }),
    ];
    for u in updates {
        assert!(binary(&mut evil, sync_msg(2, &u)).await);
        let e = evil.recv_type("error").await;
        assert_eq!(e["code"], "malformed", "{e}");
        assert!(e["message"].as_str().unwrap().contains("XML types are not supported"), "{e}");
    }
    let after = synced_state(&ts, "Reader 2").await;
    assert_eq!(after, before, "a refused XML type stayed in the documents");
    // An honest edit after them still reaches a reader.
    assert!(binary(&mut ed, local.set_chart("s1", "[C]Let it be [G]")).await);
    let reader = SessionDoc::new();
    let until = Instant::now() + Duration::from_secs(5);
    while reader.chart("s1").as_deref() != Some("[C]Let it be [G]") {
        assert!(Instant::now() < until, "the honest edit did not reach a reader");
        reader.apply_update(&synced_state(&ts, "Reader 3").await).unwrap();
    }
    honest_member_is_served(&ts).await;
}
