//! The viewer role, names, slot exhaustion and PIN guessing.

use super::{binary, honest_member_is_served, ip, member_from, var};
use bandsync_e2e::{Raw, TestServer, eventually};
use bandsync_server::ServerConfig;
use serde_json::json;

#[tokio::test]
async fn viewers_cannot_claim_leadership_and_their_awareness_is_checked() {
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
    // A viewer's awareness claiming a million states is refused like anyone's.
    let mut aw = vec![1];
    let mut body = Vec::new();
    var(1 << 20, &mut body);
    var(body.len() as u64, &mut aw);
    aw.extend_from_slice(&body);
    assert!(binary(&mut ben, aw).await);
    assert_eq!(ben.recv_error().await, "malformed");
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

#[tokio::test]
async fn a_pin_guesser_waits_alone_and_an_honest_pin_join_gets_in() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let (mut lead, _) = ts.member("Ana", true).await;
    lead.send(json!({"type": "set_pin", "pin": "482913"})).await;
    while lead.recv_type("credentials").await["pin"] != "482913" {}
    let mut codes = Vec::new();
    for _ in 0..12 {
        let mut g = Raw::connect_from(ts.addr(), ip("127.0.0.2"), None).await;
        // The first guesser speaks protocol 2, which has no `wrong_pin`: it reads `bad_secret`.
        let v = if codes.is_empty() { 2 } else { 3 };
        g.send(json!({"type": "join", "v": v, "session": ts.session, "name": "Guess", "pin": "000000"})).await;
        codes.push(g.recv_error().await);
    }
    assert_eq!(codes[..3], ["bad_secret", "wrong_pin", "wrong_pin"], "{codes:?}");
    assert!(codes[3..].iter().any(|c| c == "too_many_attempts"), "{codes:?}");
    let mut honest = ts.raw().await;
    honest.secret = None;
    honest.send(json!({"type": "join", "v": 2, "session": ts.session, "name": "Caro", "pin": "482913"})).await;
    assert_eq!(honest.recv().await.unwrap()["type"], "welcome");
}

#[tokio::test]
async fn a_normal_close_is_a_leave_and_a_dropped_connection_keeps_its_place() {
    use tokio_tungstenite::tungstenite::protocol::{CloseFrame, frame::coding::CloseCode};
    let ts = TestServer::start(ServerConfig::default()).await;
    let (_lead, _) = ts.member("Ana", true).await;
    let mut ben = member_from(&ts, "127.0.0.2", "Ben", false).await;
    let mut cy = member_from(&ts, "127.0.0.3", "Cy", false).await;
    let dan = member_from(&ts, "127.0.0.4", "Dan", false).await;
    // Ben closes with 1000 (a client that is done), Cy with 4000 (the page, reconnecting), and
    // Dan's connection just drops.
    let normal = CloseFrame { code: CloseCode::Normal, reason: "".into() };
    ben.ws.close(Some(normal)).await.unwrap();
    cy.ws.close(Some(CloseFrame { code: CloseCode::Library(4000), reason: "closing".into() })).await.unwrap();
    drop(dan);
    let list = format!("/api/sessions/{}/participants", ts.session);
    let state = || async {
        let ps = ts.get(&list).await.1["participants"].as_array().unwrap().clone();
        ["Ben", "Cy", "Dan"].map(|n| ps.iter().find(|p| p["name"] == n).map(|p| p["connection"].clone()))
    };
    eventually("Ben gone, Cy and Dan away", || async {
        state().await == [None, Some(json!("away")), Some(json!("away"))]
    })
    .await;
    honest_member_is_served(&ts).await;
}
