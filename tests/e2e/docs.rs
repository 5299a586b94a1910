//! The band's documents over the session WebSocket: y-sync in binary frames, edits relayed to
//! every member, viewers refused.

use bandsync_docs::SessionDoc;
use bandsync_e2e::{Raw, TestServer};
use bandsync_server::ServerConfig;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

async fn send(r: &mut Raw, bytes: Vec<u8>) {
    r.ws.send(Message::Binary(bytes.into())).await.unwrap();
}

/// Applies binary frames from the server to `doc` until `done` holds, answering sync steps.
async fn pump(r: &mut Raw, doc: &SessionDoc, done: impl Fn(&SessionDoc) -> bool) {
    let end = tokio::time::Instant::now() + Duration::from_secs(5);
    while !done(doc) {
        let f = tokio::time::timeout_at(end, r.ws.next()).await.expect("document sync in time");
        match f {
            Some(Ok(Message::Binary(b))) => {
                for back in doc.handle_from_server(&b).unwrap() {
                    send(r, back).await;
                }
            }
            Some(Ok(_)) => {}
            other => panic!("connection ended: {other:?}"),
        }
    }
}

/// Handles exactly `n` binary frames from the server.
async fn pump_frames(r: &mut Raw, doc: &SessionDoc, n: usize) {
    let mut seen = 0;
    while seen < n {
        match tokio::time::timeout(Duration::from_secs(5), r.ws.next()).await.expect("frames in time") {
            Some(Ok(Message::Binary(b))) => {
                seen += 1;
                for back in doc.handle_from_server(&b).unwrap() {
                    send(r, back).await;
                }
            }
            Some(Ok(_)) => {}
            other => panic!("connection ended: {other:?}"),
        }
    }
}

#[tokio::test]
async fn edits_reach_every_member_and_viewers_are_refused() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let (mut lead, _) = ts.member("Ana", true).await;
    let (mut ben, wb) = ts.member("Ben", false).await;
    let (a, b) = (SessionDoc::new(), SessionDoc::new());
    // Ana writes a chart while not yet synced (offline), then syncs: the server gets it.
    let _ = a.set_chart("song-1", "[C]Let it [G]be");
    send(&mut lead, a.sync_step1()).await;
    send(&mut ben, b.sync_step1()).await;
    // The server answers with its step 2 and its own step 1; Ana answers that with her edits.
    pump_frames(&mut lead, &a, 2).await;
    // Ben's sync pulls the chart (it may arrive in the step 2 or as a relayed update).
    pump(&mut ben, &b, |d| d.chart("song-1").is_some()).await;
    assert_eq!(b.chart("song-1").as_deref(), Some("[C]Let it [G]be"));
    // A live edit is relayed.
    send(&mut lead, a.insert_chart("song-1", 0, "{title: Let It Be}\n")).await;
    pump(&mut ben, &b, |d| d.chart("song-1").is_some_and(|t| t.starts_with("{title"))).await;

    // Ben becomes a viewer: his edits are refused with read_only and reach nobody.
    lead.send(json!({"type": "set_access", "participant": wb["you"], "access": "viewer"})).await;
    ben.recv_type("participant_updated").await;
    send(&mut ben, b.set_chart("song-1", "vandalised")).await;
    let e = loop {
        match tokio::time::timeout(Duration::from_secs(5), ben.ws.next()).await.unwrap() {
            Some(Ok(Message::Text(t))) if t.contains("\"error\"") => {
                break serde_json::from_str::<serde_json::Value>(&t).unwrap();
            }
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(e["code"], "read_only");
    // Ana's view is unchanged: a fresh member syncing sees the editor's text, not the viewer's.
    let (mut caro, _) = ts.member("Caro", false).await;
    let c = SessionDoc::new();
    send(&mut caro, c.sync_step1()).await;
    pump(&mut caro, &c, |d| d.chart("song-1").is_some()).await;
    assert!(c.chart("song-1").unwrap().starts_with("{title: Let It Be}"), "{:?}", c.chart("song-1"));
}

#[tokio::test]
async fn documents_need_a_joined_connection() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let mut r = ts.raw().await;
    send(&mut r, SessionDoc::new().sync_step1()).await;
    assert_eq!(r.recv_error().await, "not_joined");
}

/// An edit the disk refuses is dropped from memory too: its sender is told and closed, and a
/// replica that syncs from the host meanwhile does not get it (kept in memory, everyone syncing
/// would have got an edit that a restart loses, and the sender's resend would have changed
/// nothing, so it was never saved). Sent again once the disk takes it, it lands for everyone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_the_disk_refuses_is_dropped_from_memory_and_lands_when_sent_again() {
    let dir = std::env::temp_dir().join(format!("bandsync-refused-edit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = std::sync::Arc::new(bandsync_server::store::Store::open(&dir).unwrap());
    let ts = TestServer::start(ServerConfig { store: Some(store), ..ServerConfig::default() }).await;
    let (mut ana, _) = ts.member("Ana", true).await;
    // The disk refuses: the real database, given a trigger that fails any saved document update.
    let db = rusqlite::Connection::open(dir.join("bandsync.sqlite3")).unwrap();
    db.execute_batch("CREATE TRIGGER refuse BEFORE INSERT ON doc_updates BEGIN SELECT RAISE(FAIL, 'disk full'); END;")
        .unwrap();
    let edit = SessionDoc::new().set_chart("s1", "[Am]Kept?");
    send(&mut ana, edit.clone()).await;
    assert_eq!(ana.recv_error().await, "internal", "Ana hears the edit was not saved");
    // Ben syncs from the host now: a heartbeat's answer follows his sync step 2.
    let (mut ben, _) = ts.member("Ben", false).await;
    let b = SessionDoc::new();
    send(&mut ben, b.sync_step1()).await;
    ben.send(json!({"type": "heartbeat"})).await;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ben.ws.next()).await.expect("in time") {
            Some(Ok(Message::Binary(f))) => {
                for back in b.handle_from_server(&f).unwrap() {
                    send(&mut ben, back).await;
                }
            }
            Some(Ok(Message::Text(t))) if t.contains("\"heartbeat\"") => break,
            Some(Ok(_)) => {}
            other => panic!("connection ended: {other:?}"),
        }
    }
    assert_eq!(b.chart("s1"), None, "an edit the disk refused reached another member");
    // The disk takes changes again; Ana's client, resumed, sends the edit again.
    db.execute_batch("DROP TRIGGER refuse;").unwrap();
    let (mut ana, _) = ts.member("Ana", true).await;
    send(&mut ana, edit).await;
    pump(&mut ben, &b, |d| d.chart("s1").as_deref() == Some("[Am]Kept?")).await;
    let saved: i64 = db.query_row("SELECT COUNT(*) FROM doc_updates", [], |r| r.get(0)).unwrap();
    assert!(saved > 0, "and it is saved");
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The host folds a session's stored log into a snapshot every `COMPACT_AFTER` edits, off the
/// session's task (for a document of megabytes, milliseconds of encoding): the log is folded
/// while the edits go on, and the documents loaded from the store afterwards hold every edit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stored_log_is_folded_into_a_snapshot_as_the_edits_go_on() {
    use bandsync_server::store::{COMPACT_AFTER, Store};
    let dir = std::env::temp_dir().join(format!("bandsync-compaction-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = std::sync::Arc::new(Store::open(&dir).unwrap());
    let cfg = ServerConfig { store: Some(store.clone()), ..ServerConfig::default() };
    let ts = TestServer::start(bandsync_e2e::without_rate_limits(cfg)).await;
    let (mut ana, _) = ts.member("Ana", true).await;
    let mine = SessionDoc::new();
    let edits = COMPACT_AFTER + 40;
    for i in 0..edits {
        send(&mut ana, mine.insert_chart("s1", 0, &format!("{i} "))).await;
    }
    // Every edit stored (read from the store as a restart would), and the log folded.
    let load = |(snapshot, log): (Option<Vec<u8>>, Vec<Vec<u8>>)| {
        let loaded = SessionDoc::new();
        for u in snapshot.iter().chain(&log) {
            loaded.apply_update(u).unwrap();
        }
        (loaded.chart("s1"), log.len())
    };
    bandsync_e2e::eventually("every edit stored, and the log folded into a snapshot", || {
        let (store, id) = (store.clone(), ts.session.clone());
        let want = mine.chart("s1");
        async move {
            let stored = store.document(&id).unwrap();
            let folded = stored.0.is_some();
            folded && load(stored).0 == want
        }
    })
    .await;
    let (_, left) = load(store.document(&ts.session).unwrap());
    assert!(left < COMPACT_AFTER as usize, "{left} updates left in the log");
    drop(ts);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A host with a store in a temp folder (deleted when this drops), Ana (leading) and Ben joined,
/// and a second connection to the real database: to hold its write lock, as a backup or a
/// stalled disk would, or to make it refuse writes, as a full disk would.
/// A server storing in SQLite in a folder of its own, with a second connection to its database
/// (`db`) with which a test holds the disk or breaks it.
pub(crate) struct StoredHost {
    pub(crate) dir: std::path::PathBuf,
    pub(crate) ts: TestServer,
    pub(crate) db: rusqlite::Connection,
}

impl Drop for StoredHost {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A stored host with an editor (Ana) and a viewer (Ben) joined.
pub(crate) async fn stored_host(tag: &str) -> (StoredHost, Raw, Raw) {
    stored_host_with(tag, ServerConfig::default()).await
}

/// [`stored_host`], configured as `cfg` (its store aside).
pub(crate) async fn stored_host_with(tag: &str, cfg: ServerConfig) -> (StoredHost, Raw, Raw) {
    let dir = std::env::temp_dir().join(format!("bandsync-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = std::sync::Arc::new(bandsync_server::store::Store::open(&dir).unwrap());
    let ts = TestServer::start(ServerConfig { store: Some(store), ..cfg }).await;
    let (mut ana, _) = ts.member("Ana", true).await;
    let (ben, _) = ts.member("Ben", false).await;
    // Ben's join's activity entry, which Ana hears once it is stored: a test that then holds the
    // disk holds it from what the test does alone.
    while !ana.recv_type("activity").await["event"]["summary"].as_str().is_some_and(|s| s.starts_with("Ben")) {}
    let db = rusqlite::Connection::open(dir.join("bandsync.sqlite3")).unwrap();
    (StoredHost { dir, ts, db }, ana, ben)
}

/// While the disk is held (another writer has the database: a backup, a stalled disk), the
/// session serves on, and nobody hears of an edit until it is stored. Then the edits land
/// together, for everyone, and are on the disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_wait_for_the_disk_and_the_session_serves_on_meanwhile() {
    let (host, mut ana, mut ben) = stored_host("held-disk").await;
    let (ts, db) = (&host.ts, &host.db);
    let (a, b) = (SessionDoc::new(), SessionDoc::new());
    send(&mut ben, b.sync_step1()).await;
    // The host's step 2, and its own step 1.
    pump_frames(&mut ben, &b, 2).await;
    // The real database, its write lock taken by a second connection (the store's appends wait
    // on it, up to SQLite's 5 s busy timeout).
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    for i in 0..5 {
        send(&mut ana, a.insert_chart("s1", 0, &format!("{i} "))).await;
    }
    // Ana's next message reaches the session task after her edits (one connection, in order):
    // its answer says the session has them, and that it is not waiting for the disk.
    ana.send(json!({"type": "versions"})).await;
    ana.recv_type("versions").await;
    let (status, _) = ts.get(&format!("/api/sessions/{}/participants", ts.session)).await;
    assert_eq!(status, 200, "the session task answers the API while the disk is held");
    // Ben's request is answered after the session had Ana's edits: a relay sent at once would
    // be in his outbox before that answer.
    ben.send(json!({"type": "versions"})).await;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ben.ws.next()).await.expect("an answer in time") {
            Some(Ok(Message::Binary(_))) => panic!("Ben heard of an edit that is not on the disk yet"),
            Some(Ok(Message::Text(t))) if t.contains("\"versions\"") => break,
            Some(Ok(_)) => {}
            other => panic!("connection ended: {other:?}"),
        }
    }
    let stored: i64 = db.query_row("SELECT COUNT(*) FROM doc_updates", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, 0);
    // The disk is free again: the edits are written, and then relayed.
    db.execute_batch("COMMIT").unwrap();
    pump(&mut ben, &b, |d| d.chart("s1") == a.chart("s1")).await;
    let stored: i64 = db.query_row("SELECT COUNT(*) FROM doc_updates", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, 5, "every edit on the disk before Ben had them all");
}

/// A write that fails loses its edits and those queued behind it: every sender is told and
/// closed, and so is a member whose sync was waiting behind them. Nobody has an edit the disk
/// lacks; sent again, the edits land.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_closes_everyone_waiting_on_it_and_nothing_unsaved_is_heard() {
    let (host, mut ana, mut ben) = stored_host("failed-write").await;
    let (ts, db) = (&host.ts, &host.db);
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    // The first edit's write waits on the disk; the next two queue behind it.
    let a = SessionDoc::new();
    let edits: Vec<Vec<u8>> = (0..3).map(|i| a.insert_chart("s1", 0, &format!("{i} "))).collect();
    for e in &edits {
        send(&mut ana, e.clone()).await;
    }
    ana.send(json!({"type": "versions"})).await;
    ana.recv_type("versions").await;
    // Ben syncs meanwhile: his answer (read from memory, which has the edits) waits too.
    let b = SessionDoc::new();
    send(&mut ben, b.sync_step1()).await;
    ben.send(json!({"type": "versions"})).await;
    ben.recv_type("versions").await;
    // The disk then refuses them.
    db.execute_batch(
        "CREATE TRIGGER refuse BEFORE INSERT ON doc_updates BEGIN SELECT RAISE(FAIL, 'disk full'); END; COMMIT;",
    )
    .unwrap();
    assert_eq!(ana.recv_error().await, "internal", "Ana hears her edits were not saved");
    assert!(ana.recv_close().await.is_some(), "and her connection closes, to resume and send them again");
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ben.ws.next()).await.expect("Ben's close in time") {
            Some(Ok(Message::Binary(f))) => {
                b.handle_from_server(&f).unwrap();
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
            Some(Ok(_)) => {}
        }
    }
    assert_eq!(b.chart("s1"), None, "Ben heard of an edit the disk refused");
    // The disk takes changes again: both come back; Ana's client sends her edits again.
    db.execute_batch("DROP TRIGGER refuse;").unwrap();
    let (mut ana, _) = ts.member("Ana", true).await;
    let (mut ben, _) = ts.member("Ben", false).await;
    let b = SessionDoc::new();
    send(&mut ben, b.sync_step1()).await;
    pump_frames(&mut ben, &b, 2).await;
    assert_eq!(b.chart("s1"), None, "the host's documents were read back from the disk");
    send(&mut ana, bandsync_docs::update_message(a.encode_state())).await;
    pump(&mut ben, &b, |d| d.chart("s1") == a.chart("s1")).await;
}

/// While the disk is held, a member that asks for the documents again and again is dropped once
/// the answers waiting for it pass their bound (twice the largest documents), as a member too
/// slow to read is; the others are served on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_asking_for_the_documents_while_the_disk_is_held_is_bounded() {
    let (host, mut ana, mut ben) = stored_host("held-bound").await;
    let db = &host.db;
    // About 1.2 MB of documents, stored.
    let a = SessionDoc::new();
    for i in 0..20 {
        send(&mut ana, a.insert_chart(&format!("big{i}"), 0, &"x".repeat(60 * 1024))).await;
    }
    let b = SessionDoc::new();
    send(&mut ben, b.sync_step1()).await;
    pump(&mut ben, &b, |d| d.chart("big19").is_some()).await;
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    send(&mut ana, a.insert_chart("big0", 0, "held ")).await;
    ana.send(json!({"type": "versions"})).await;
    ana.recv_type("versions").await;
    // Ben asks for the whole documents 15 times: 18 MB of answers, all waiting for the disk.
    for _ in 0..15 {
        send(&mut ben, SessionDoc::new().sync_step1()).await;
    }
    let (_, why) = ben.recv_close().await.expect("Ben's connection is dropped while the disk is held");
    assert_eq!(why, "too slow to read");
    ana.send(json!({"type": "versions"})).await;
    ana.recv_type("versions").await;
    db.execute_batch("COMMIT").unwrap();
}

/// A refusal is not heard before the answers held for what the member sent earlier: with the
/// disk held, Ana's edit, her sync step (its answer waits for the edit's write) and then a
/// malformed frame. Its error comes after the answer, once the disk is free, as she sent them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_waits_behind_the_answers_held_before_it() {
    let (host, mut ana, _ben) = stored_host("held-order").await;
    let db = &host.db;
    let a = SessionDoc::new();
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    send(&mut ana, a.insert_chart("s1", 0, "held ")).await;
    send(&mut ana, a.sync_step1()).await;
    send(&mut ana, vec![0xff, 0xff, 0xff]).await;
    ana.send(json!({"type": "versions"})).await;
    let mut heard = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(5), ana.ws.next())
            .await
            .unwrap_or_else(|_| panic!("no frame in time after {heard:?}"));
        match next {
            Some(Ok(Message::Binary(_))) => heard.push("binary"),
            Some(Ok(Message::Text(t))) if t.contains("\"error\"") => heard.push("error"),
            Some(Ok(Message::Text(t))) if t.contains("\"versions\"") => {
                assert!(heard.is_empty(), "heard {heard:?} while the disk was held");
                db.execute_batch("COMMIT").unwrap();
                heard.push("versions");
            }
            Some(Ok(_)) => {}
            other => panic!("connection ended: {other:?}"),
        }
        if heard.last() == Some(&"error") {
            break;
        }
    }
    assert_eq!(heard, ["versions", "binary", "binary", "error"], "in the order Ana sent them");
}
