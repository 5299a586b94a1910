//! Hostile input, black-box over real sockets: crafted y-sync, amplification, reconnect floods,
//! socket hoarding, oversized documents, members that stop reading, side doors in the viewer role,
//! invisible names, slot exhaustion. Each case then checks that an honest member, from another
//! address, still joins and is answered by the session task itself (not only by its connection).
//!
//! Attackers connect from other loopback addresses (127.0.0.2 and up) than the honest member
//! (127.0.0.1), as they would from other machines: the limits per source address apply to them.

use bandsync_docs::SessionDoc;
use bandsync_e2e::{Raw, TestServer, eventually};
use bandsync_server::ServerConfig;
use futures_util::SinkExt;
use serde_json::{Value, json};
use std::net::IpAddr;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

async fn member_from(ts: &TestServer, src: &str, name: &str, leader: bool) -> Raw {
    let mut r = Raw::connect_from(ts.addr(), ip(src), None).await;
    r.secret = Some(ts.secret.clone());
    r.join(&ts.session, name, leader, None).await;
    r
}

/// One round trip through the session task: the participants, as the HTTP API asks the task.
async fn probe(ts: &TestServer) -> Duration {
    let t = Instant::now();
    let (status, body) = ts.get(&format!("/api/sessions/{}/participants", ts.session)).await;
    assert_eq!(status, 200, "{body}");
    t.elapsed()
}

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[(v.len() * 99 / 100).min(v.len() - 1)]
}

/// An honest member joins from 127.0.0.1 and its chat comes back through the session task.
async fn honest_member_is_served(ts: &TestServer) {
    let (mut h, _) = ts.member("Honest", false).await;
    h.send(json!({"type": "chat", "text": "still here?"})).await;
    let m = h.recv_type("chat").await;
    assert_eq!(m["message"]["text"], "still here?", "{m}");
}

async fn binary(r: &mut Raw, bytes: Vec<u8>) -> bool {
    r.ws.send(Message::Binary(bytes.into())).await.is_ok()
}

/// lib0 variable-length unsigned integer.
fn var(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A y-sync message: type 0 (sync), `sub`, then the payload as a byte string.
fn sync_msg(sub: u64, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0];
    var(sub, &mut f);
    var(payload.len() as u64, &mut f);
    f.extend_from_slice(payload);
    f
}

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
    let mut sv = Vec::new();
    var(1 << 24, &mut sv);
    let step1 = sync_msg(0, &sv);
    let mut aw = vec![1];
    let mut body = Vec::new();
    var(1 << 20, &mut body);
    var(body.len() as u64, &mut aw);
    aw.extend_from_slice(&body);
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
async fn reconnecting_does_not_reset_the_rate_limit() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let cfg = ServerConfig::default();
    let start = Instant::now();
    let mut accepted = 0u64;
    for _ in 0..30 {
        let mut r = Raw::connect_from(ts.addr(), ip("127.0.0.3"), None).await;
        for n in 0..250 {
            r.send(json!({"type": "heartbeat", "n": n})).await;
        }
        // Count the answers until 250 arrived or the connection was closed for its violations.
        for _ in 0..250 {
            match r.recv().await {
                Some(m) if m["type"] == "heartbeat" => accepted += 1,
                Some(_) => {}
                None => break,
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let allowed = f64::from(cfg.address_rate_burst) + f64::from(cfg.address_rate_per_sec) * secs;
    eprintln!("reconnect flood: {accepted} of 7500 messages accepted in {secs:.2} s (allowed {allowed:.0})");
    assert!(accepted as f64 <= allowed + 20.0, "{accepted} accepted; the address may send {allowed:.0}");
    honest_member_is_served(&ts).await;
}

#[tokio::test]
async fn one_address_cannot_hoard_connections() {
    use tokio::io::AsyncReadExt;
    let ts = TestServer::start(ServerConfig::default()).await;
    let max = ServerConfig::default().address_max_connections;
    let mut held = Vec::new();
    for _ in 0..max {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        s.bind((ip("127.0.0.4"), 0).into()).unwrap();
        held.push(s.connect(ts.addr()).await.unwrap());
    }
    let s = tokio::net::TcpSocket::new_v4().unwrap();
    s.bind((ip("127.0.0.4"), 0).into()).unwrap();
    let mut extra = s.connect(ts.addr()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), extra.read_to_string(&mut answer)).await.unwrap().unwrap();
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(answer.contains("too many connections from your address"), "{answer}");
    // Everyone else is served at once.
    let t = Instant::now();
    let (status, _) = ts.get("/healthz").await;
    assert_eq!(status, 200);
    assert!(t.elapsed() < Duration::from_secs(1), "/healthz took {:?}", t.elapsed());
    honest_member_is_served(&ts).await;
    // A closed connection gives its place back.
    drop(held.pop());
    eventually("a place is free again", || async {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        s.bind((ip("127.0.0.4"), 0).into()).unwrap();
        let Ok(c) = s.connect(ts.addr()).await else { return false };
        let mut buf = [0u8; 1];
        // Admitted connections wait for a request; refused ones are answered and closed.
        tokio::time::timeout(Duration::from_millis(200), c.peek(&mut buf)).await.is_err()
    })
    .await;
}

#[tokio::test]
async fn the_documents_have_a_size_limit_and_a_full_document_still_reaches_everyone() {
    // Fast enough to fill 8 MiB without meeting the rate limits, which are not under test here.
    let cfg = ServerConfig {
        rate_burst: 10_000,
        rate_per_sec: 10_000,
        address_rate_burst: 10_000,
        address_rate_per_sec: 10_000,
        ..ServerConfig::default()
    };
    let ts = TestServer::start(cfg).await;
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

/// A member whose socket receives into a tiny window and never reads, and an editor that sends
/// it megabytes: its writes stall.
async fn stalled_member(ts: &TestServer) -> (Raw, Raw) {
    let mut sleeper = Raw::connect_from(ts.addr(), ip("127.0.0.5"), Some(4096)).await;
    sleeper.secret = Some(ts.secret.clone());
    sleeper.join(&ts.session, "Locked phone", false, None).await;
    let mut ed = member_from(ts, "127.0.0.2", "Editor", false).await;
    let local = SessionDoc::new();
    let chunk = "y".repeat(60 * 1024);
    for i in 0..110 {
        assert!(binary(&mut ed, local.insert_chart(&format!("big{i}"), 0, &chunk)).await);
    }
    (sleeper, ed)
}

fn connection_of(v: &Value, name: &str) -> Option<String> {
    v["participants"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
        .map(|p| p["connection"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_member_that_stops_reading_is_dropped_by_the_write_deadline() {
    // Heartbeats alone would take a minute here: the write deadline must do it.
    let cfg = ServerConfig {
        write_timeout: Duration::from_millis(800),
        idle_timeout: Duration::from_secs(60),
        ..ServerConfig::default()
    };
    let ts = TestServer::start(cfg).await;
    let (_sleeper, _ed) = stalled_member(&ts).await;
    let path = format!("/api/sessions/{}/participants", ts.session);
    eventually("the locked phone shows as away", || async {
        connection_of(&ts.get(&path).await.1, "Locked phone").as_deref() == Some("away")
    })
    .await;
    honest_member_is_served(&ts).await;
}

#[tokio::test]
async fn shutdown_is_prompt_while_a_member_does_not_read() {
    let cfg = ServerConfig { write_timeout: Duration::from_secs(60), ..ServerConfig::default() };
    let ts = TestServer::start(cfg).await;
    let (_sleeper, _ed) = stalled_member(&ts).await;
    // Let the writes back up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), ts.server.shutdown()).await.expect("shut down").unwrap();
    eprintln!("shutdown with a stalled member took {:?}", t.elapsed());
    assert!(t.elapsed() < Duration::from_secs(2), "shutdown took {:?}", t.elapsed());
}

#[tokio::test]
async fn viewers_cannot_claim_leadership_or_send_awareness() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let (mut lead, _) = ts.member("Ana", true).await;
    let mut ben = member_from(&ts, "127.0.0.2", "Ben", false).await;
    let ben_id = {
        let (_, v) = ts.get(&format!("/api/sessions/{}/participants", ts.session)).await;
        v["participants"].as_array().unwrap().iter().find(|p| p["name"] == "Ben").unwrap()["id"].clone()
    };
    lead.send(json!({"type": "set_access", "participant": ben_id, "access": "viewer"})).await;
    lead.send(json!({"type": "release"})).await;
    eventually("Ben is a viewer and nobody leads", || async {
        let (_, v) = ts.get(&format!("/api/sessions/{}/participants", ts.session)).await;
        let ps = v["participants"].as_array().unwrap().clone();
        ps.iter().any(|p| p["name"] == "Ben" && p["access"] == "viewer") && ps.iter().all(|p| p["role"] != "leader")
    })
    .await;
    ben.send(json!({"type": "claim"})).await;
    assert_eq!(ben.recv_error().await, "read_only");
    // An awareness update (a cursor) from a viewer.
    let mut aw = vec![1];
    let mut body = Vec::new();
    var(1, &mut body);
    var(7, &mut body);
    var(1, &mut body);
    var(2, &mut body);
    body.extend_from_slice(b"{}");
    var(body.len() as u64, &mut aw);
    aw.extend_from_slice(&body);
    assert!(binary(&mut ben, aw).await);
    assert_eq!(ben.recv_error().await, "read_only");
    honest_member_is_served(&ts).await;
}

#[tokio::test]
async fn names_with_invisible_or_direction_characters_are_refused() {
    let ts = TestServer::start(ServerConfig::default()).await;
    for name in ["Ana\u{202E}sab", "\u{2067}Ben", "\u{202A}Cy", "Da\u{200B}n", "\u{FEFF}Eve"] {
        let mut r = ts.raw().await;
        r.send(json!({"type": "join", "v": 2, "session": ts.session, "name": name, "secret": ts.secret})).await;
        let e = r.recv_type("error").await;
        assert_eq!(e["code"], "invalid_name", "{name:?}: {e}");
    }
    honest_member_is_served(&ts).await;
}

#[tokio::test]
async fn joins_that_drop_cannot_fill_the_session() {
    let mut cfg = ServerConfig::default();
    cfg.session.max_members = 8;
    let ts = TestServer::start(cfg).await;
    for i in 0..8 {
        let r = member_from(&ts, "127.0.0.2", &format!("Ghost {i}"), false).await;
        drop(r);
    }
    let info = format!("/api/sessions/{}", ts.session);
    eventually("every ghost is away", || async { ts.get(&info).await.1["online"] == 0 }).await;
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
async fn a_pin_guesser_waits_alone_and_an_honest_pin_join_gets_in() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let (mut lead, _) = ts.member("Ana", true).await;
    lead.send(json!({"type": "set_pin", "pin": "482913"})).await;
    while lead.recv_type("credentials").await["pin"] != "482913" {}
    let mut codes = Vec::new();
    for _ in 0..12 {
        let mut g = Raw::connect_from(ts.addr(), ip("127.0.0.2"), None).await;
        g.send(json!({"type": "join", "v": 2, "session": ts.session, "name": "Guess", "pin": "000000"})).await;
        codes.push(g.recv_error().await);
    }
    assert_eq!(codes[..3], ["bad_secret", "bad_secret", "bad_secret"], "{codes:?}");
    assert!(codes[3..].iter().any(|c| c == "too_many_attempts"), "{codes:?}");
    let mut honest = ts.raw().await;
    honest.secret = None;
    honest.send(json!({"type": "join", "v": 2, "session": ts.session, "name": "Caro", "pin": "482913"})).await;
    assert_eq!(honest.recv().await.unwrap()["type"], "welcome");
}
