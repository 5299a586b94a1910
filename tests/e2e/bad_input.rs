//! Bad input gets its documented error; the server keeps serving everyone else.

use bandsync_e2e::TestServer;
use bandsync_server::ServerConfig;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn oversized_frame_gets_frame_too_large_and_the_connection_lives_on() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let (mut a, _) = ts.member("Ana", false).await;
    let big = format!(r#"{{"type":"heartbeat","pad":"{}"}}"#, "x".repeat(64 * 1024));
    a.send_text(big).await;
    assert_eq!(a.recv_error().await, "frame_too_large");
    // Exactly at the limit is refused too; one byte under is parsed (and is malformed here).
    let at_limit = format!(r#"{{"type":"heartbeat","pad":"{}"}}"#, "x".repeat(64 * 1024 - 29));
    assert_eq!(at_limit.len(), 64 * 1024);
    a.send_text(at_limit).await;
    assert_eq!(a.recv_error().await, "frame_too_large");
    a.ping_rtt(1).await;
}

#[tokio::test]
async fn malformed_unknown_and_leftover_fields_get_their_codes() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let (mut a, _) = ts.member("Ana", true).await;
    a.send_text("{not json".into()).await;
    assert_eq!(a.recv_error().await, "malformed");
    a.send(json!({"type": "moonwalk"})).await;
    let e = a.recv_type("error").await;
    assert_eq!(e["code"], "unknown_type");
    assert_eq!(e["about"], "moonwalk");
    a.send(json!({"type": "tempo", "tempo": 120000, "sneaky": true})).await;
    assert_eq!(a.recv_error().await, "malformed");
    a.send(json!({"type": "tempo", "tempo": 2000000})).await;
    assert_eq!(a.recv_error().await, "invalid_tempo");
    a.send(json!({"type": "meter", "beats": 7, "unit": 5})).await;
    assert_eq!(a.recv_error().await, "invalid_meter");
    a.send_text(String::new()).await;
    assert_eq!(a.recv_error().await, "malformed");
    a.ws.send(tokio_tungstenite::tungstenite::Message::Binary(vec![1, 2, 3].into())).await.unwrap();
    assert_eq!(a.recv_error().await, "malformed", "binary frames are y-sync messages");
    a.ping_rtt(1).await;
}

use futures_util::SinkExt;

#[tokio::test]
async fn wrong_protocol_version_gets_a_clear_error_and_close_not_a_hang() {
    let ts = TestServer::start(ServerConfig::default()).await;
    use bandsync_core::protocol::{MIN_PROTOCOL_VERSION, PROTOCOL_VERSION};
    let range = format!("protocol versions {MIN_PROTOCOL_VERSION} to {PROTOCOL_VERSION}");
    for v in [1, PROTOCOL_VERSION + 1, 999] {
        let mut r = ts.raw().await;
        r.send(json!({"type": "join", "v": v, "session": ts.session, "name": "Old"})).await;
        let e = r.recv_type("error").await;
        assert_eq!(e["code"], "version_unsupported", "{e}");
        assert!(e["message"].as_str().unwrap().contains(&range), "{e}");
        assert_eq!(r.recv_close().await.map(|c| c.0), Some(1002));
    }
}

#[tokio::test]
async fn messages_before_join_and_unknown_sessions_are_refused() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let mut r = ts.raw().await;
    r.send(json!({"type": "tempo", "tempo": 100000})).await;
    assert_eq!(r.recv_error().await, "not_joined");
    r.send(json!({"type": "join", "v": 2, "session": "nope", "name": "X"})).await;
    assert_eq!(r.recv_error().await, "unknown_session");
    r.send(json!({"type": "join", "v": 2, "session": ts.session, "name": "   "})).await;
    assert_eq!(r.recv_error().await, "invalid_name");
    // The same connection can still join properly afterwards.
    let w = r.join(&ts.session, "Ana", false, None).await;
    assert_eq!(w["snapshot"]["participants"][0]["name"], "Ana");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_10k_messages_is_limited_and_others_are_unaffected() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let (mut lead, _) = ts.member("Ana", true).await;
    let (mut other, _) = ts.member("Ben", false).await;
    lead.send(json!({"type": "tempo", "tempo": 100000})).await;
    other.recv_type("transport").await;

    // Baseline latency of the well-behaved member.
    let mut base = Vec::new();
    for n in 0..50 {
        base.push(other.ping_rtt(n).await);
    }
    // The flooder runs on its own thread and runtime, as a separate device would, so that its
    // own CPU work does not stall the test's runtime and pass for server latency.
    let (mut flooder, _) = ts.member("Flood", false).await;
    let frames: Vec<String> =
        (0..10_000u32).map(|i| json!({"type": "tempo", "tempo": (100 + (i % 50)) * 1000}).to_string()).collect();
    let flood = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let mut sent = 0;
            for m in frames {
                if flooder.ws.feed(tokio_tungstenite::tungstenite::Message::Text(m.into())).await.is_err() {
                    break;
                }
                sent += 1;
            }
            let _ = flooder.ws.flush().await;
            let mut codes = std::collections::BTreeMap::<String, u32>::new();
            let close = loop {
                match tokio::time::timeout(Duration::from_secs(5), futures_util::StreamExt::next(&mut flooder.ws)).await
                {
                    Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t)))) => {
                        let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
                        if v["type"] == "error" {
                            *codes.entry(v["code"].as_str().unwrap().to_owned()).or_default() += 1;
                        }
                    }
                    Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(f)))) => {
                        break f.map(|f| u16::from(f.code));
                    }
                    Ok(Some(Ok(_))) => {}
                    _ => break None,
                }
            };
            (sent, codes, close)
        })
    });
    let mut during = Vec::new();
    for n in 100..150 {
        during.push(other.ping_rtt(n).await);
    }
    let (sent, codes, close) = flood.join().unwrap();
    assert!(sent > 0);
    assert!(codes.get("rate_limited").copied().unwrap_or(0) >= 1, "{codes:?}");
    assert!(codes.keys().all(|c| c == "rate_limited" || c == "not_leader"), "{codes:?}");
    assert_eq!(close, Some(1008), "repeated violations close the connection with a policy code");

    // The others' state is right: the tempo the leader set, nothing from the flooder.
    other.send(json!({"type": "sync"})).await;
    let snap = other.recv_type("snapshot").await;
    let seg = snap["transport"]["segments"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(seg["timeline"]["tempo"], 100_000);
    let names: Vec<_> =
        snap["participants"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names[..2], ["Ana".to_owned(), "Ben".to_owned()]);
    // And their latency stays normal.
    base.sort();
    during.sort();
    let p99 = |v: &Vec<Duration>| v[v.len() * 99 / 100];
    let limit = (p99(&base) * 20).max(Duration::from_millis(50));
    eprintln!("ping p99: baseline {:?}, during the flood {:?}", p99(&base), p99(&during));
    assert!(p99(&during) < limit, "p99 during flood {:?} vs baseline {:?}", p99(&during), p99(&base));
}

#[tokio::test]
async fn a_second_join_before_the_answer_is_refused_and_the_first_still_lands() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let mut r = ts.raw().await;
    let j = json!({"type": "join", "v": 2, "session": ts.session, "name": "Ana", "secret": ts.secret});
    r.send(j.clone()).await;
    r.send(j).await;
    let mut got_welcome = false;
    let mut got_refusal = false;
    while !(got_welcome && got_refusal) {
        let m = r.recv().await.expect("the connection stays open");
        got_welcome |= m["type"] == "welcome";
        got_refusal |= m["type"] == "error" && m["code"] == "already_joined";
    }
    // The connection is joined: it works, and no join timeout closes it.
    r.ping_rtt(1).await;
    r.send(json!({"type": "sync"})).await;
    assert_eq!(r.recv_type("snapshot").await["participants"].as_array().unwrap().len(), 1);
}
