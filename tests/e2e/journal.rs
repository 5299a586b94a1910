//! Chat, the activity stream, document versions and the setlist driving the metronome, over real
//! WebSockets with real SQLite storage. The plain y-sync endpoint is in `plain_doc.rs`.

use bandsync_docs::{SessionDoc, Song};
use bandsync_e2e::{Raw, TestServer};
use bandsync_server::ServerConfig;
use bandsync_server::store::Store;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

pub(crate) async fn send_doc(r: &mut Raw, bytes: Vec<u8>) {
    r.ws.send(Message::Binary(bytes.into())).await.unwrap();
}

/// Reads until a text message of `ty` arrives, applying binary frames to `doc` on the way.
pub(crate) async fn recv_type_doc(r: &mut Raw, doc: &SessionDoc, ty: &str) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), r.ws.next()).await.expect("in time") {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == ty {
                    return v;
                }
            }
            Some(Ok(Message::Binary(b))) => {
                for back in doc.handle_from_server(&b).unwrap() {
                    send_doc(r, back).await;
                }
            }
            Some(Ok(_)) => {}
            other => panic!("connection ended waiting for {ty}: {other:?}"),
        }
    }
}

async fn recv_activity(r: &mut Raw, doc: &SessionDoc, kind: &str) -> Value {
    loop {
        let a = recv_type_doc(r, doc, "activity").await;
        if a["event"]["kind"] == kind {
            return a;
        }
    }
}

fn store_cfg(dir: &std::path::Path) -> ServerConfig {
    ServerConfig { store: Some(Arc::new(Store::open(dir).unwrap())), ..ServerConfig::default() }
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("bandsync-journal-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_rules_hold_over_the_wire_and_survive_a_restart() {
    let dir = temp_dir("chat");
    let ts = TestServer::start(store_cfg(&dir)).await;
    let (mut ana, _) = ts.member("Ana", true).await;
    let (mut ben, wb) = ts.member("Ben", false).await;

    ana.send(json!({"type": "chat", "text": "Capo on 2 for Wonderwall"})).await;
    let m = ben.recv_type("chat").await["message"].clone();
    assert_eq!((m["name"].as_str(), m["text"].as_str()), (Some("Ana"), Some("Capo on 2 for Wonderwall")));
    let id = m["id"].clone();
    assert_eq!(ana.recv_type("chat").await["message"]["id"], id, "the sender gets its own message back");
    ben.send(json!({"type": "chat", "text": "ok 👍", "reply_to": id})).await;
    let reply = ana.recv_type("chat").await["message"].clone();
    assert_eq!(reply["reply_to"], id);

    // Someone else's message is not Ben's to edit or delete.
    ben.send(json!({"type": "chat_edit", "id": id, "text": "Capo on 5"})).await;
    let e = ben.recv_type("error").await;
    assert_eq!((e["code"].as_str(), e["about"].as_str()), (Some("forbidden"), Some("chat_edit")));
    ben.send(json!({"type": "chat_delete", "id": id})).await;
    assert_eq!(ben.recv_error().await, "forbidden");
    ben.send(json!({"type": "chat_react", "id": id, "emoji": "🔥"})).await;
    let reacted = loop {
        let m = ana.recv_type("chat").await["message"].clone();
        if m["id"] == id {
            break m;
        }
    };
    assert_eq!(reacted["reactions"], json!([{"emoji": "🔥", "by": [wb["you"]]}]));
    ana.send(json!({"type": "chat_edit", "id": id, "text": "Capo on 3 for Wonderwall"})).await;
    let edited = loop {
        let m = ben.recv_type("chat").await["message"].clone();
        if m["edited_at"].is_i64() {
            break m;
        }
    };
    assert_eq!(edited["text"], "Capo on 3 for Wonderwall");
    assert!(edited["edited_at"].is_i64());

    // A viewer reads but does not post.
    ana.send(json!({"type": "set_access", "participant": wb["you"], "access": "viewer"})).await;
    ben.recv_type("participant_updated").await;
    ben.send(json!({"type": "chat", "text": "let me in"})).await;
    assert_eq!(ben.recv_error().await, "read_only");
    // Bad input gets a clear error and changes nothing.
    ana.send(json!({"type": "chat", "text": "x".repeat(2001)})).await;
    assert_eq!(ana.recv_error().await, "malformed");
    ana.send(json!({"type": "chat_edit", "id": 999, "text": "?"})).await;
    assert_eq!(ana.recv_error().await, "unknown_message");

    ben.send(json!({"type": "chat_history", "query": "CAPO"})).await;
    let h = ben.recv_type("chat_history").await;
    assert_eq!(h["messages"].as_array().unwrap().len(), 1);
    assert_eq!(h["messages"][0]["text"], "Capo on 3 for Wonderwall");
    ben.send(json!({"type": "activity_history"})).await;
    let a = ben.recv_type("activity_history").await;
    let kinds: Vec<&str> = a["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["join", "join", "access"], "{a}");

    // Restart on the same data directory: the chat and the activity are still there.
    let session = ts.session.clone();
    let secret = ts.secret.clone();
    drop((ana, ben));
    ts.server.shutdown().await.unwrap();
    let server = bandsync_server::RunningServer::start("127.0.0.1:0".parse().unwrap(), store_cfg(&dir)).await.unwrap();
    server.hub.restore_sessions().unwrap();
    let mut caro = Raw::connect(server.addr).await;
    caro.secret = Some(secret);
    caro.join(&session, "Caro", false, None).await;
    caro.send(json!({"type": "chat_history", "limit": 1})).await;
    let h = caro.recv_type("chat_history").await;
    assert_eq!(h["messages"][0]["text"], "ok 👍");
    assert_eq!(h["more"], true);
    caro.send(json!({"type": "chat_history", "before": h["messages"][0]["id"]})).await;
    let older = caro.recv_type("chat_history").await;
    assert_eq!(older["messages"][0]["reactions"][0]["emoji"], "🔥");
    // The whole chat written out by the host, as the CLI writes it (the page's export button).
    caro.send(json!({"type": "chat_export", "format": "csv"})).await;
    let x = caro.recv_type("chat_export").await;
    let csv = x["text"].as_str().unwrap();
    assert!(csv.starts_with("id,at,from,name,text,") && csv.contains("ok 👍"), "{csv}");
    caro.send(json!({"type": "chat_export", "format": "pdf"})).await;
    let e = caro.recv_type("error").await;
    assert_eq!((e["code"].as_str(), e["about"].as_str()), (Some("malformed"), Some("chat_export")), "{e}");
    caro.send(json!({"type": "activity_history"})).await;
    let a = caro.recv_type("activity_history").await;
    assert_eq!(a["events"].as_array().unwrap().len(), 4, "three before the restart, Caro's join after: {a}");
    server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A setlist song, its tempo in milli-BPM.
pub(crate) fn song(id: &str, title: &str, tempo: u32, meter: &str) -> Song {
    Song {
        id: id.into(),
        title: title.into(),
        key: "Am".into(),
        tempo: Some(bandsync_core::Tempo(tempo)),
        meter: meter.into(),
        notes: String::new(),
        midi: String::new(),
        flow: String::new(),
    }
}

#[tokio::test]
async fn the_leader_picks_a_song_and_its_tempo_and_meter_land_on_the_next_bar() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let (mut ana, _) = ts.member("Ana", true).await;
    let (mut ben, _) = ts.member("Ben", false).await;
    let doc = SessionDoc::new();
    send_doc(
        &mut ana,
        doc.set_setlist(&[song("s1", "Money", 120_000, "7/4"), song("s2", "Bad", 1_500_000, "4/4")]).unwrap(),
    )
    .await;
    send_doc(&mut ana, doc.sync_step1()).await;
    ana.send(json!({"type": "play"})).await;
    let playing = ben.recv_type("transport").await;
    ts.until_segment(&playing).await;
    ben.send(json!({"type": "song", "id": "s1"})).await;
    assert_eq!(ben.recv_error().await, "not_leader");
    ana.send(json!({"type": "song", "id": "nope"})).await;
    assert_eq!(ana.recv_error().await, "unknown_message");
    ana.send(json!({"type": "song", "id": "s2"})).await;
    assert_eq!(ana.recv_error().await, "invalid_tempo", "a setlist tempo out of range is refused clearly");
    ana.send(json!({"type": "song", "id": "s1"})).await;
    let t = ben.recv_type("transport").await;
    let changed = ben.recv_type("song_changed").await;
    assert_eq!(changed["song"], "s1");
    let segs = t["transport"]["segments"].as_array().unwrap();
    let last = segs.last().unwrap();
    assert_eq!(last["meter"]["beats"], 7);
    assert_eq!(last["timeline"]["tempo"], 120_000);
    let start = last["song_start"].as_i64().unwrap();
    assert_eq!(start % 4_000_000, 0, "the song starts on a bar line of the 4/4 before it");
    assert_eq!(last["timeline"]["beat_origin"].as_i64().unwrap(), start);
    let act = ben.recv_type("activity").await;
    assert_eq!(act["event"]["summary"], "song: Money");
    ben.send(json!({"type": "sync"})).await;
    assert_eq!(ben.recv_type("snapshot").await["song"], "s1");
}

#[tokio::test]
async fn versions_are_saved_listed_and_restored_for_everyone() {
    let cfg = ServerConfig { edit_idle: Duration::from_millis(300), ..ServerConfig::default() };
    let ts = TestServer::start(cfg).await;
    let (mut ana, _) = ts.member("Ana", true).await;
    let (mut ben, _) = ts.member("Ben", false).await;
    let (a, b) = (SessionDoc::new(), SessionDoc::new());
    send_doc(&mut ben, b.sync_step1()).await;
    send_doc(&mut ana, a.set_chart("s1", "[Am]Verse one")).await;
    // The burst of edits ends after 300 ms of quiet: one activity entry and one version.
    let act = recv_activity(&mut ben, &b, "edit").await;
    assert_eq!(act["event"]["summary"], "Ana edited: chart \"s1\" +13 chars");
    ana.send(json!({"type": "save_version", "label": "before the bridge"})).await;
    let v = recv_type_doc(&mut ben, &b, "versions").await;
    let versions = v["versions"].as_array().unwrap();
    assert_eq!(versions.last().unwrap()["label"], "before the bridge");
    let id = versions.last().unwrap()["id"].clone();
    send_doc(&mut ana, a.set_chart("s1", "[Am]Verse one\n[F]Bridge")).await;
    ana.send(json!({"type": "restore_version", "id": id})).await;
    // Ben receives the restore as a document update, and the activity names it.
    let act = recv_activity(&mut ben, &b, "version").await;
    let act = if act["event"]["summary"].as_str().unwrap().starts_with("saved") {
        recv_activity(&mut ben, &b, "version").await
    } else {
        act
    };
    assert!(act["event"]["summary"].as_str().unwrap().starts_with("restored version \"before the bridge\""), "{act}");
    // The restore's update is relayed: Ben's replica reads the saved text.
    let end = tokio::time::Instant::now() + Duration::from_secs(5);
    while b.chart("s1").as_deref() != Some("[Am]Verse one") {
        assert!(tokio::time::Instant::now() < end, "restore reached Ben: {:?}", b.chart("s1"));
        ben.send(json!({"type": "heartbeat"})).await;
        recv_type_doc(&mut ben, &b, "heartbeat").await;
    }
    ben.send(json!({"type": "restore_version", "id": 999})).await;
    assert_eq!(recv_type_doc(&mut ben, &b, "error").await["code"], "unknown_message");
    ana.send(json!({"type": "save_version", "label": ""})).await;
    assert_eq!(ana.recv_error().await, "malformed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_chat_row_costs_that_message_and_the_chat_is_still_saved() {
    use bandsync_server::store::sql::Db;
    let dir = temp_dir("damaged");
    let ts = TestServer::start(store_cfg(&dir)).await;
    let (mut ana, _) = ts.member("Ana", true).await;
    for text in ["one", "two"] {
        ana.send(json!({"type": "chat", "text": text})).await;
        ana.recv_type("chat").await;
    }
    let (session, secret) = (ts.session.clone(), ts.secret.clone());
    drop(ana);
    ts.server.shutdown().await.unwrap();
    // A row the next start cannot read (damaged, or written by another version).
    let mut raw = bandsync_server::store::sqlite::Sqlite::open(&dir).unwrap();
    raw.execute("UPDATE chat SET message = '{damaged' WHERE id = 2", &[]).unwrap();
    drop(raw);

    let (server, mut ben, texts) = restart_and_read_chat(&dir, &session, &secret).await;
    assert_eq!(texts, ["one"], "the damaged message is left out");
    ben.send(json!({"type": "chat", "text": "three"})).await;
    ben.recv_type("chat").await;
    drop(ben);
    server.shutdown().await.unwrap();
    // What was said after the damage was saved (the chat did not fall back to memory).
    let (server, _ben, texts) = restart_and_read_chat(&dir, &session, &secret).await;
    assert_eq!(texts, ["one", "three"]);
    server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts a server on `dir`'s store, restores its one session, and reads its chat as a new member.
async fn restart_and_read_chat(
    dir: &std::path::Path,
    session: &str,
    secret: &str,
) -> (bandsync_server::RunningServer, Raw, Vec<String>) {
    let server = bandsync_server::RunningServer::start("127.0.0.1:0".parse().unwrap(), store_cfg(dir)).await.unwrap();
    assert_eq!(server.hub.restore_sessions().unwrap().len(), 1, "the session starts");
    let mut m = Raw::connect(server.addr).await;
    m.secret = Some(secret.to_owned());
    m.join(session, "Ben", false, None).await;
    m.send(json!({"type": "chat_history"})).await;
    let h = m.recv_type("chat_history").await;
    let texts = h["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_owned()).collect();
    (server, m, texts)
}
