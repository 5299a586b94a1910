//! A slow or held disk (another writer has the database: a backup, a stalled disk) never stops
//! a session: what it stores goes to the disk off its task (`crates/server/src/appends.rs`), the
//! news of it waits until it is stored, and its reads go through a connection of their own.
//! Real SQLite, its write lock held by a second connection (`crate::docs::stored_host`).

use crate::docs::stored_host;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// Asks the API until the participants' list shows `what`, within 2 s: the session answers
/// while the disk is held.
pub(crate) async fn api_shows(ts: &bandsync_e2e::TestServer, what: &str) {
    let started = Instant::now();
    loop {
        let (status, body) = ts.get(&format!("/api/sessions/{}/participants", ts.session)).await;
        assert_eq!(status, 200, "{body}");
        if body.to_string().contains(what) {
            return;
        }
        let waited = started.elapsed();
        assert!(waited < Duration::from_secs(2), "the session waited {waited:?} for the disk");
    }
}

/// With the disk held (another writer has the database), a member joins. Its roster and its
/// activity entry wait for the disk, and so does everything the session says (nobody hears of a
/// change before it is stored, and the session's news keeps its order); the session does not
/// wait: it answers the API at once. Once the disk is free the newcomer is welcomed, and by then
/// the roster that welcomes it, and its entry, are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_waits_for_the_disk_and_the_session_does_not() {
    let (host, mut ana, _ben) = stored_host("held-join").await;
    let (ts, db) = (&host.ts, &host.db);
    let count = || -> i64 { db.query_row("SELECT COUNT(*) FROM activity", [], |r| r.get(0)).unwrap() };
    // The carried state's two parts: the schedule, and the members when they changed.
    let carried =
        || -> String { db.query_row("SELECT data || COALESCE(roster, '') FROM carried", [], |r| r.get(0)).unwrap() };
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    let before = count();
    let mut cleo = ts.raw().await;
    let join =
        json!({"type": "join", "v": 2, "session": ts.session, "name": "Cleo", "leader": false, "secret": ts.secret});
    cleo.send(join).await;
    api_shows(ts, "Cleo").await;
    assert!(!carried().contains("Cleo") && count() == before, "nothing of Cleo stored yet");
    db.execute_batch("COMMIT").unwrap();
    let welcome = cleo.recv().await.expect("a welcome once the disk is free");
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert!(carried().contains("Cleo"), "the roster that welcomed Cleo was stored first");
    let heard = ana.recv_type("activity").await;
    assert!(heard["event"]["summary"].as_str().is_some_and(|s| s.contains("Cleo")), "{heard}");
    assert_eq!(count(), before + 1, "stored before it was heard");
}

/// A chat message is written with the session's appends: while the disk is held the session
/// answers on, and nobody hears of the message until it is stored. One the disk refuses is put
/// back, its sender is told, and nobody else ever hears of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_message_is_heard_once_stored_and_one_the_disk_refuses_is_undone() {
    let (host, mut ana, mut ben) = stored_host("held-chat").await;
    let (ts, db) = (&host.ts, &host.db);
    let stored = || -> i64 { db.query_row("SELECT COUNT(*) FROM chat", [], |r| r.get(0)).unwrap() };
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    ana.send(json!({"type": "chat", "text": "soundcheck at 7"})).await;
    // Ana's next message, after her chat on one connection: once the API shows it, the session
    // has handled the chat, and answered meanwhile.
    ana.send(json!({"type": "profile", "instrument": "keys two"})).await;
    api_shows(ts, "keys two").await;
    assert_eq!(stored(), 0);
    db.execute_batch("COMMIT").unwrap();
    assert_eq!(ben.recv_type("chat").await["message"]["text"], "soundcheck at 7");
    assert_eq!(stored(), 1, "stored before it was heard");

    // The disk held again, Ana's next message waits for it, and Ben's sync answer (read from
    // memory) behind it; then the disk refuses the message.
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    ana.send(json!({"type": "chat", "text": "lost"})).await;
    let b = bandsync_docs::SessionDoc::new();
    ben.ws.send(Message::Binary(b.sync_step1().into())).await.unwrap();
    ben.send(json!({"type": "profile", "instrument": "bass two"})).await;
    api_shows(ts, "bass two").await;
    db.execute_batch("CREATE TRIGGER refuse BEFORE INSERT ON chat BEGIN SELECT RAISE(FAIL, 'disk full'); END; COMMIT;")
        .unwrap();
    assert_eq!(ana.recv_error().await, "internal", "Ana hears her message was not saved");
    // Ben's answer carried no lost edit: it goes, and Ben stays.
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ben.ws.next()).await.expect("Ben's answer in time") {
            Some(Ok(Message::Binary(_))) => break,
            Some(Ok(Message::Text(t))) => assert!(!t.contains("\"lost\""), "Ben heard of a refused message: {t}"),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("Ben's connection ended: {other:?}"),
        }
    }
    db.execute_batch("DROP TRIGGER refuse;").unwrap();
    ana.send(json!({"type": "chat", "text": "after"})).await;
    loop {
        let m = ben.recv_type("chat").await;
        assert_ne!(m["message"]["text"], "lost", "Ben heard of a message the disk refused");
        if m["message"]["text"] == "after" {
            break;
        }
    }
    ana.send(json!({"type": "chat_history"})).await;
    let h = ana.recv_type("chat_history").await;
    let texts: Vec<&str> = h["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["soundcheck at 7", "after"], "the refused message is not in the chat");
}

/// A read the session makes (a page of its activity) while its append waits for the disk: it
/// goes through the store's reader, not behind the append, and the session answers on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_does_not_wait_behind_an_append_held_by_the_disk() {
    let (host, mut ana, _ben) = stored_host("held-read").await;
    let (ts, db) = (&host.ts, &host.db);
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    // Ana's edit: its append now waits for the disk, holding the store's writing connection.
    let a = bandsync_docs::SessionDoc::new();
    ana.ws.send(Message::Binary(a.insert_chart("s1", 0, "held").into())).await.unwrap();
    ana.send(json!({"type": "activity_history"})).await;
    ana.send(json!({"type": "profile", "instrument": "keys two"})).await;
    api_shows(ts, "keys two").await;
    let page = ana.recv_type("activity_history").await;
    assert!(page["events"].as_array().is_some_and(|e| !e.is_empty()), "{page}");
    db.execute_batch("COMMIT").unwrap();
}

/// A version the disk refuses: whoever asked is told, the list is read back from the store, and
/// nobody hears of the version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_the_disk_refuses_is_never_listed() {
    let (host, mut ana, _ben) = stored_host("refused-version").await;
    let db = &host.db;
    ana.send(json!({"type": "save_version", "label": "kept"})).await;
    ana.recv_type("versions").await;
    db.execute_batch("CREATE TRIGGER refuse BEFORE INSERT ON doc_versions BEGIN SELECT RAISE(FAIL, 'disk full'); END;")
        .unwrap();
    ana.send(json!({"type": "save_version", "label": "lost"})).await;
    loop {
        let m = ana.recv().await.expect("an answer");
        assert!(!(m["type"] == "versions" && m.to_string().contains("lost")), "heard of a version not stored: {m}");
        if m["type"] == "error" {
            assert_eq!(m["code"], "internal", "{m}");
            break;
        }
    }
    db.execute_batch("DROP TRIGGER refuse;").unwrap();
    ana.send(json!({"type": "versions"})).await;
    let list = ana.recv_type("versions").await;
    let labels: Vec<&str> = list["versions"].as_array().unwrap().iter().map(|v| v["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["kept"]);
}

/// A new link while the disk is held: the session answers on, and the leader is given the link
/// only once it is stored (a link that a restart would not know must never reach the band).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_link_is_given_once_stored_and_the_session_answers_meanwhile() {
    let (host, mut ana, _ben) = stored_host("held-secret").await;
    let (ts, db) = (&host.ts, &host.db);
    let stored = || -> String {
        db.query_row("SELECT secret FROM sessions WHERE id = ?1", [&ts.session], |r| r.get(0)).unwrap()
    };
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    ana.send(json!({"type": "rotate_secret"})).await;
    ana.send(json!({"type": "profile", "instrument": "keys two"})).await;
    api_shows(ts, "keys two").await;
    db.execute_batch("COMMIT").unwrap();
    let given = ana.recv_type("credentials").await;
    let secret = given["secret"].as_str().unwrap();
    assert_ne!(secret, ts.secret, "{given}");
    assert_eq!(stored(), secret, "stored before it was given");
}

/// What waits for a held disk is bounded: past the session's limit of edits not yet stored (here
/// 64 KiB) an editor's next edit is not taken, and its connection is closed (its client resumes,
/// re-syncs and sends it again). The session serves on, and once the disk is free the edits
/// taken before are stored, and only those.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_past_what_may_wait_for_a_held_disk_closes_its_sender() {
    use bandsync_docs::SessionDoc;
    let cfg = bandsync_server::ServerConfig { unwritten_max: 64 << 10, ..Default::default() };
    let (host, mut ana, mut ben) = crate::docs::stored_host_with("behind", cfg).await;
    let (ts, db) = (&host.ts, &host.db);
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    // 20 KiB edits: the fourth takes what waits past 64 KiB, and the fifth is refused.
    let a = SessionDoc::new();
    let edit = "x".repeat(20 << 10);
    for _ in 0..5 {
        ana.ws.send(Message::Binary(a.insert_chart("s1", 0, &edit).into())).await.unwrap();
    }
    let (_, why) = ana.recv_close().await.expect("Ana's connection closed");
    assert!(why.contains("disk is behind"), "{why}");
    ben.send(json!({"type": "profile", "instrument": "bass two"})).await;
    api_shows(ts, "bass two").await;
    db.execute_batch("COMMIT").unwrap();
    let store = bandsync_server::store::Store::open(&host.dir).unwrap();
    let taken = 4 * edit.len();
    bandsync_e2e::eventually("the four edits taken stored, and not the fifth", || {
        let (snapshot, log) = store.document(&ts.session).unwrap();
        let loaded = SessionDoc::new();
        for u in snapshot.iter().chain(&log) {
            loaded.apply_update(u).unwrap();
        }
        async move { loaded.chart("s1").map(|c| c.len()) == Some(taken) }
    })
    .await;
}
