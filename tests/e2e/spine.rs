//! The session protocol end to end: real server, real WebSockets on loopback.

use bandsync_client::{Client, ClientOptions, JoinTarget};
use bandsync_core::protocol::{Connection, Participant, Role};
use bandsync_e2e::{Relay, TestServer, eventually, http_get, roster};
use bandsync_server::ServerConfig;
use serde_json::json;
use std::time::Duration;

async fn server_roster(ts: &TestServer) -> Vec<Participant> {
    let (status, body) = ts.get(&format!("/api/sessions/{}/participants", ts.session)).await;
    assert_eq!(status, 200);
    serde_json::from_value(body["participants"].clone()).unwrap()
}

fn client(link: &str, name: &str, leader: bool) -> Client {
    let mut o = ClientOptions::new(JoinTarget::parse(link).unwrap(), name);
    o.member.leader = leader;
    Client::spawn(o)
}

async fn converged(ts: &TestServer, clients: &[&Client]) {
    eventually("every member's participant list equals the server's", || async {
        let truth = server_roster(ts).await;
        clients
            .iter()
            .all(|c| c.mirror().is_some_and(|m| m.participants == truth && m.stats.members as usize == truth.len()))
    })
    .await;
}

#[tokio::test]
async fn three_members_see_identical_participant_lists_after_every_join_and_leave() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let a = client(&ts.link(), "Ana", true);
    converged(&ts, &[&a]).await;
    let b = client(&ts.link(), "Ben", false);
    converged(&ts, &[&a, &b]).await;
    let c = client(&ts.link(), "Caro", false);
    converged(&ts, &[&a, &b, &c]).await;
    let names: Vec<_> = a.mirror().unwrap().participants.iter().map(|p| p.name.clone()).collect();
    assert_eq!(names, ["Ana", "Ben", "Caro"]);
    assert_eq!(a.mirror().unwrap().stats.leader, Some(1));

    b.leave();
    converged(&ts, &[&a, &c]).await;
    assert_eq!(server_roster(&ts).await.len(), 2);
    ts.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_sender_is_told_of_its_own_join() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let (mut a, w) = ts.member("Ana", false).await;
    assert_eq!(w["snapshot"]["participants"][0]["name"], "Ana");
    let joined = a.recv_type("participant_joined").await;
    assert_eq!(joined["participant"]["id"], w["you"]);
    let stats = a.recv_type("room_stats").await;
    assert_eq!(stats["members"], 1);
    assert_eq!(a.recv_type("activity").await["event"]["kind"], "join", "after the counts");
    // PROTOCOL §2.3's order for the next join: the participant, the counts, then the activity.
    let (_ben, _) = ts.member("Ben", false).await;
    let mut order = Vec::new();
    while order.len() < 3 {
        let m = a.recv().await.expect("the connection lives");
        let ty = m["type"].as_str().unwrap_or_default().to_owned();
        if ["participant_joined", "room_stats", "activity"].contains(&ty.as_str()) {
            order.push(ty);
        }
    }
    assert_eq!(order, ["participant_joined", "room_stats", "activity"]);
}

#[tokio::test]
async fn reconnect_with_resume_token_keeps_one_participant() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let (mut watcher, _) = ts.member("Watcher", false).await;
    let (a, w) = ts.member("Ana", false).await;
    let token = w["resume"].as_str().unwrap().to_owned();
    let id = w["you"].clone();
    drop(a); // the socket goes away without a close handshake
    loop {
        let m = watcher.recv_type("participant_updated").await;
        if m["participant"]["id"] == id && m["participant"]["connection"] == "away" {
            break;
        }
    }
    let mut a2 = ts.raw().await;
    let w2 = a2.join(&ts.session, "Ana", false, Some(&token)).await;
    assert_eq!(w2["you"], id);
    assert_eq!(w2["resumed"], true);
    let list = roster(&w2["snapshot"]["participants"]);
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[1].3, "online");
}

#[tokio::test]
async fn client_library_reconnects_through_a_cut_link_as_the_same_participant() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let relay = Relay::start(ts.addr()).await;
    let link = ts.link_via(relay.addr);
    let mut c = client(&link, "Ana", true);
    converged(&ts, &[&c]).await;
    relay.cut();
    // The client notices, reconnects with its token, and is resumed.
    let mut resumed = false;
    while let Ok(Some(ev)) = tokio::time::timeout(Duration::from_secs(10), c.next_event()).await {
        if let bandsync_client::Event::Joined { resumed: r, you, .. } = ev {
            assert_eq!(you, 1);
            resumed = r;
            if r {
                break;
            }
        }
    }
    assert!(resumed, "the client resumed");
    converged(&ts, &[&c]).await;
    let list = server_roster(&ts).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].connection, Connection::Online);
    assert_eq!(list[0].role, Role::Leader, "a quick comeback keeps leadership");
}

#[tokio::test]
async fn follower_tempo_gets_not_leader_and_changes_nothing() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let (mut lead, _) = ts.member("Ana", true).await;
    let (mut fol, _) = ts.member("Ben", false).await;
    fol.send(json!({"type": "sync"})).await;
    let before = fol.recv_type("snapshot").await["transport"].clone();
    fol.send(json!({"type": "tempo", "tempo": 90000})).await;
    let err = fol.recv_type("error").await;
    assert_eq!(err["code"], "not_leader");
    assert_eq!(err["about"], "tempo");
    fol.send(json!({"type": "sync"})).await;
    assert_eq!(fol.recv_type("snapshot").await["transport"], before);
    // The leader's tempo does go through, to everyone.
    lead.send(json!({"type": "tempo", "tempo": 90000})).await;
    let t = fol.recv_type("transport").await;
    assert_eq!(t["transport"]["segments"].as_array().unwrap().last().unwrap()["timeline"]["tempo"], 90_000);
}

#[tokio::test]
async fn leader_drop_keeps_transport_frees_leadership_and_grace_returns_it() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let (mut lead, w) = ts.member("Ana", true).await;
    let token = w["resume"].as_str().unwrap().to_owned();
    let (mut fol, _) = ts.member("Ben", false).await;
    lead.send(json!({"type": "play"})).await;
    let playing = fol.recv_type("transport").await;
    ts.until_segment(&playing).await;
    drop(lead);
    loop {
        let s = fol.recv_type("room_stats").await;
        if s["leader"].is_null() {
            break;
        }
    }
    fol.send(json!({"type": "sync"})).await;
    let snap = fol.recv_type("snapshot").await;
    let segs = snap["transport"]["segments"].as_array().unwrap();
    assert_eq!(segs.last().unwrap()["playing"], true, "the band keeps playing: {segs:?}");
    assert!(snap["leader"].is_null());
    // The former leader comes back within the grace period and leads again.
    let mut back = ts.raw().await;
    let w2 = back.join(&ts.session, "Ana", false, Some(&token)).await;
    assert_eq!(w2["snapshot"]["leader"], w["you"]);
    loop {
        let s = fol.recv_type("room_stats").await;
        if s["leader"] == w["you"] {
            break;
        }
    }
}

#[tokio::test]
async fn http_api_reports_sessions_participants_and_health() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let (_a, _) = ts.member("Ana", true).await;
    let (_b, _) = ts.member("Ben", false).await;
    let (status, info) = ts.get(&format!("/api/sessions/{}", ts.session)).await;
    assert_eq!(status, 200);
    assert_eq!(info["name"], "Test");
    assert_eq!(info["members"], 2);
    let (status, p) = ts.get(&format!("/api/sessions/{}/participants", ts.session)).await;
    assert_eq!(status, 200);
    assert_eq!(roster(&p["participants"]).iter().map(|r| r.1.as_str()).collect::<Vec<_>>(), ["Ana", "Ben"]);
    let (status, e) = ts.get("/api/sessions/nope").await;
    assert_eq!(status, 404);
    assert_eq!(e["error"]["code"], "unknown_session");
    let (status, h) = http_get(ts.addr(), "/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(h["status"], "ok");
    assert_eq!(h["sessions"], 1);
}

#[tokio::test]
async fn shutdown_closes_members_with_going_away() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let (mut a, _) = ts.member("Ana", false).await;
    let stop = tokio::spawn(async move { ts.server.shutdown().await });
    assert_eq!(a.recv_close().await.map(|c| c.0), Some(1001));
    tokio::time::timeout(Duration::from_secs(5), stop).await.expect("shutdown finishes").unwrap().unwrap();
}

#[tokio::test]
async fn unknown_session_is_refused_and_the_client_stops() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let mut c = client(&format!("http://{}/s/nosuch", ts.addr()), "Ana", false);
    let ev = tokio::time::timeout(Duration::from_secs(5), c.next_event()).await.unwrap().unwrap();
    assert!(
        matches!(ev, bandsync_client::Event::Refused { code: bandsync_core::ErrorCode::UnknownSession, .. }),
        "{ev:?}"
    );
}

#[tokio::test]
async fn a_link_with_several_addresses_joins_through_the_fastest_that_answers() {
    let ts = TestServer::start(ServerConfig::default()).await;
    // The link's main address is dead; the first alternate crawls (300 ms each way); the second
    // is direct. The client races them and keeps the direct one.
    let slow = bandsync_e2e::ImpairedRelay::start(
        ts.addr(),
        bandsync_e2e::Impair { base: Duration::from_millis(300), jitter: Duration::ZERO, loss: 0.0 },
        1,
    )
    .await;
    let link = format!("http://127.0.0.1:1/s/{}#k={}&a={},{}", ts.session, ts.secret, slow.addr, ts.addr());
    let c = client(&link, "Multi", false);
    converged(&ts, &[&c]).await;
    eventually("a clock estimate", || async { c.clock_status().samples > 5 }).await;
    let rtt = c.clock_status().rtt_us;
    assert!(rtt < 100_000, "the direct address won (rtt {rtt} µs)");
}

#[tokio::test]
async fn a_silent_connection_is_found_dead_and_its_member_goes_away() {
    let cfg = ServerConfig {
        heartbeat_interval: Duration::from_millis(100),
        idle_timeout: Duration::from_millis(600),
        ..ServerConfig::default()
    };
    let ts = TestServer::start(cfg).await;
    let (mut watcher, _) = ts.member("Watcher", false).await;
    let (silent, w) = ts.member("Silent", false).await;
    // The silent member never reads again, so it never answers the server's pings.
    let id = w["you"].clone();
    let started = std::time::Instant::now();
    let mut seen_away = false;
    while !seen_away {
        // The watcher keeps reading (and so answering pings); it must stay.
        let m = watcher.recv_type("participant_updated").await;
        seen_away = m["participant"]["id"] == id && m["participant"]["connection"] == "away";
    }
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(500) && took < Duration::from_secs(3), "found dead after {took:?}");
    drop(silent);
    let (status, p) = ts.get(&format!("/api/sessions/{}/participants", ts.session)).await;
    assert_eq!(status, 200);
    assert_eq!(p["participants"][0]["connection"], "online", "the watcher is still online");
}

/// RFC 6455 §5.5.1: a close frame is answered with one before the TCP connection ends, on the
/// members' endpoint and on the plain y-sync one.
#[tokio::test]
async fn the_server_answers_a_members_close_frame_with_its_own() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    let ts = TestServer::start(ServerConfig::default()).await;
    let (member, _) = ts.member("Ana", false).await;
    let (plain, _) = tokio_tungstenite::connect_async(format!("ws://{}/doc/{}?k={}", ts.addr(), ts.session, ts.secret))
        .await
        .unwrap();
    for mut ws in [member.ws, plain] {
        let bye = CloseFrame { code: CloseCode::Normal, reason: "bye".into() };
        ws.send(Message::Close(Some(bye))).await.unwrap();
        let answer = loop {
            match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("an answer in time") {
                Some(Ok(Message::Close(f))) => break f,
                Some(Ok(_)) => {}
                other => panic!("the connection ended without a close frame: {other:?}"),
            }
        };
        assert_eq!(answer.map(|f| f.code), Some(CloseCode::Normal), "the close is echoed");
    }
}
