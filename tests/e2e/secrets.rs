//! Only the band may join: the secret from the link, or the PIN, over real WebSockets.

use bandsync_e2e::TestServer;
use bandsync_server::ServerConfig;
use bandsync_server::store::Store;
use serde_json::json;
use std::sync::Arc;

#[tokio::test]
async fn missing_wrong_and_rotated_secrets_are_refused_and_pins_work() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let (mut lead, _) = ts.member("Ana", true).await;
    let creds = lead.recv_type("credentials").await;
    assert_eq!(creds["secret"], ts.secret.as_str());
    assert!(ts.secret.len() >= 32, "at least 128 random bits");

    let mut r = ts.raw().await;
    r.secret = None;
    r.send(json!({"type": "join", "v": 2, "session": ts.session, "name": "Eve"})).await;
    assert_eq!(r.recv_error().await, "auth_required");
    r.send(json!({"type": "join", "v": 2, "session": ts.session, "name": "Eve", "secret": "guess"})).await;
    assert_eq!(r.recv_error().await, "bad_secret");

    // Rotation revokes the old link; the leader gets the new one.
    lead.send(json!({"type": "rotate_secret"})).await;
    let new = lead.recv_type("credentials").await["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, ts.secret);
    let mut old = ts.raw().await;
    old.send(json!({"type": "join", "v": 2, "session": ts.session, "name": "Ben", "secret": ts.secret})).await;
    assert_eq!(old.recv_error().await, "bad_secret");
    let mut fresh = ts.raw().await;
    fresh.secret = Some(new);
    let w = fresh.join(&ts.session, "Ben", false, None).await;
    assert_eq!(w["snapshot"]["participants"][1]["role"], "follower", "a link grants follower");

    // A PIN for typed joins.
    lead.send(json!({"type": "set_pin", "pin": "246813"})).await;
    assert_eq!(lead.recv_type("credentials").await["pin"], "246813");
    let mut typed = ts.raw().await;
    typed.secret = None;
    typed.send(json!({"type": "join", "v": 2, "session": ts.session, "name": "Caro", "pin": "246813"})).await;
    assert_eq!(typed.recv().await.unwrap()["type"], "welcome");
}

#[tokio::test]
async fn requests_addressed_to_a_foreign_host_name_are_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let ts = TestServer::start(ServerConfig::default()).await;
    let mut s = tokio::net::TcpStream::connect(ts.addr()).await.unwrap();
    let req = format!(
        "GET /api/sessions/{}/participants HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
        ts.session
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 403"), "{out}");
    assert!(out.contains("forbidden_host"));
}

#[tokio::test]
async fn websocket_upgrades_from_other_sites_are_refused() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let ts = TestServer::start(ServerConfig::default()).await;
    let addr = ts.addr();
    let mut evil = format!("ws://{addr}/ws").into_client_request().unwrap();
    evil.headers_mut().insert("Origin", "http://evil.example".parse().unwrap());
    let err = tokio_tungstenite::connect_async(evil).await.expect_err("refused");
    assert!(err.to_string().contains("403"), "{err}");
    let mut own = format!("ws://{addr}/ws").into_client_request().unwrap();
    own.headers_mut().insert("Origin", format!("http://{addr}").parse().unwrap());
    assert!(tokio_tungstenite::connect_async(own).await.is_ok(), "the host's own page may connect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_the_disk_refuses_keeps_the_old_link() {
    let dir = std::env::temp_dir().join(format!("bandsync-rotate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = ServerConfig { store: Some(Arc::new(Store::open(&dir).unwrap())), ..ServerConfig::default() };
    let ts = TestServer::start(cfg).await;
    let (mut lead, _) = ts.member("Ana", true).await;
    lead.recv_type("credentials").await;
    // The disk refuses: the real database, given a trigger that fails any change to a session.
    let db = rusqlite::Connection::open(dir.join("bandsync.sqlite3")).unwrap();
    db.execute_batch("CREATE TRIGGER refuse BEFORE UPDATE ON sessions BEGIN SELECT RAISE(FAIL, 'disk full'); END;")
        .unwrap();
    lead.send(json!({"type": "rotate_secret"})).await;
    let mut heard = Vec::new();
    while heard.last().is_none_or(|m: &serde_json::Value| m["type"] != "error") {
        heard.push(lead.recv().await.expect("the leader hears the link did not change"));
    }
    assert_eq!(heard.last().unwrap()["code"], "internal", "{heard:?}");
    // It was never given the new link (held until stored, then dropped), and is given the old
    // one again.
    assert!(heard.iter().all(|m| m["type"] != "credentials"), "{heard:?}");
    let given = lead.recv_type("credentials").await;
    assert_eq!(given["secret"], ts.secret, "{given}");
    // The old link still works, and after a restart it still would: the stored secret is the old one.
    let mut ben = ts.raw().await;
    let w = ben.join(&ts.session, "Ben", false, None).await;
    assert_eq!(w["type"], "welcome");
    let stored: String =
        db.query_row("SELECT secret FROM sessions WHERE id = ?1", [&ts.session], |r| r.get(0)).unwrap();
    assert_eq!(stored, ts.secret);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}
