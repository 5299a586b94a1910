//! Reconnect floods, hoarded sockets, members that stop reading, and shutdown.

use super::{honest_member_is_served, ip};
use bandsync_e2e::{Raw, TestServer, eventually};
use bandsync_server::ServerConfig;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

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
        let Ok(mut c) = s.connect(ts.addr()).await else { return false };
        // Admitted, it answers a request; refused, it is answered 429 and closed unasked.
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let request = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", ts.addr());
        let asked = c.write_all(request.as_bytes()).await;
        let mut answer = Vec::new();
        // An attempt that is never answered counts as refused: the next one tries again.
        let read = tokio::time::timeout(bandsync_e2e::WAIT, c.read_to_end(&mut answer));
        asked.is_ok() && matches!(read.await, Ok(Ok(_))) && answer.starts_with(b"HTTP/1.1 200")
    })
    .await;
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
    let (_sleeper, _ed) = bandsync_e2e::hostile::stalled_member(&ts).await;
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
    let (_sleeper, mut ed) = bandsync_e2e::hostile::stalled_member(&ts).await;
    // The editor's snapshot comes after the session handled every edit it sent (one queue, in
    // order): 6.6 MB are then in the locked phone's outbox, far more than its socket takes.
    ed.send(json!({"type": "sync"})).await;
    ed.recv_type("snapshot").await;
    let t = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), ts.server.shutdown()).await.expect("shut down").unwrap();
    eprintln!("shutdown with a stalled member took {:?}", t.elapsed());
    assert!(t.elapsed() < Duration::from_secs(2), "shutdown took {:?}", t.elapsed());
}
