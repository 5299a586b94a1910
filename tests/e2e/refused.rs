//! What the disk refuses leaves nothing behind that anyone heard of, and what it took is never
//! withheld: an answer read from memory is asked again, credentials whose secret was stored go
//! out though a later write failed, and documents the disk can neither take nor give back are
//! written whole once it can. Real SQLite, broken through a second connection
//! (`crate::docs::stored_host`).

use crate::disk::api_shows;
use crate::docs::stored_host;
use crate::journal::{send_doc, song};
use bandsync_docs::SessionDoc;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

/// Ben asks for the chat while Ana's message waits for the disk: the answer, read from memory,
/// shows her message, so it waits too. The disk refuses the message: that answer is dropped and
/// Ben's question answered again, without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_page_that_showed_a_refused_message_is_answered_again_without_it() {
    let (host, mut ana, mut ben) = stored_host("refused-page").await;
    let (ts, db) = (&host.ts, &host.db);
    ana.send(json!({"type": "chat", "text": "kept"})).await;
    assert_eq!(ben.recv_type("chat").await["message"]["text"], "kept");
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    ana.send(json!({"type": "chat", "text": "lost"})).await;
    ben.send(json!({"type": "chat_history"})).await;
    ben.send(json!({"type": "profile", "instrument": "bass two"})).await;
    api_shows(ts, "bass two").await;
    db.execute_batch("CREATE TRIGGER refuse BEFORE INSERT ON chat BEGIN SELECT RAISE(FAIL, 'disk full'); END; COMMIT;")
        .unwrap();
    let page = ben.recv_type("chat_history").await;
    let texts: Vec<&str> = page["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["kept"], "Ben's page shows only what is stored");
    assert_eq!(ana.recv_error().await, "internal", "Ana hears her message was not saved");
}

/// A new link is stored, and then the write after it fails (the carried state, which a failed
/// write before left to be written again with it): the leader is still given the link, which a
/// restart knows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_that_was_stored_is_given_though_the_write_after_it_fails() {
    let (host, mut ana, _ben) = stored_host("refused-after-link").await;
    let (ts, db) = (&host.ts, &host.db);
    db.execute_batch(
        "CREATE TRIGGER refuse BEFORE INSERT ON carried BEGIN SELECT RAISE(FAIL, 'disk full'); END;
         CREATE TRIGGER refuse_update BEFORE UPDATE ON carried BEGIN SELECT RAISE(FAIL, 'disk full'); END;",
    )
    .unwrap();
    // A change of what the session carries: its write fails, and the news goes all the same.
    ana.send(json!({"type": "profile", "instrument": "keys two"})).await;
    while !ana.recv().await.expect("the news").to_string().contains("keys two") {}
    ana.send(json!({"type": "rotate_secret"})).await;
    let given = ana.recv_type("credentials").await;
    let secret = given["secret"].as_str().unwrap();
    assert_ne!(secret, ts.secret, "the new link: {given}");
    let stored: String =
        db.query_row("SELECT secret FROM sessions WHERE id = ?1", [&ts.session], |r| r.get(0)).unwrap();
    assert_eq!(stored, secret, "the link given is the one stored");
}

/// A new link the disk refused is put back, but a write reported failed may have landed (a COMMIT
/// whose answer was lost): the row in force is written again at the next input, so that a
/// restart knows the link the band has, not the one nobody was given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_put_back_after_a_failed_write_is_written_again() {
    let (host, mut ana, mut ben) = stored_host("link-written-again").await;
    let (ts, db) = (&host.ts, &host.db);
    db.execute_batch(
        "CREATE TRIGGER refuse BEFORE UPDATE ON sessions WHEN NEW.secret <> OLD.secret
         BEGIN SELECT RAISE(FAIL, 'disk full'); END;",
    )
    .unwrap();
    ana.send(json!({"type": "rotate_secret"})).await;
    assert_eq!(ana.recv_error().await, "internal", "Ana hears the link was not changed");
    // As if the write had landed after all: the disk holds a link nobody was given.
    db.execute_batch("DROP TRIGGER refuse;").unwrap();
    db.execute("UPDATE sessions SET secret = 'landed-unacknowledged' WHERE id = ?1", [&ts.session]).unwrap();
    // The next input the session hears.
    ben.send(json!({"type": "profile", "instrument": "bass"})).await;
    bandsync_e2e::eventually("the link in force on the disk again", || {
        let stored: String =
            db.query_row("SELECT secret FROM sessions WHERE id = ?1", [&ts.session], |r| r.get(0)).unwrap();
        async move { stored == ts.secret }
    })
    .await;
}

/// An edit the disk refuses, and the documents cannot be read back either: memory keeps the
/// edit, which members may sync and build on, so the disk is given the whole state at the next
/// input once it takes writes again, and a restart loads what everyone has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_the_disk_could_not_give_back_are_written_whole_once_it_can() {
    let (host, mut ana, mut ben) = stored_host("unreadable").await;
    let (ts, db) = (&host.ts, &host.db);
    db.execute_batch(
        "CREATE TRIGGER refuse BEFORE INSERT ON doc_updates BEGIN SELECT RAISE(FAIL, 'disk full'); END;
         ALTER TABLE doc_snapshots RENAME TO unreadable;",
    )
    .unwrap();
    let edit = SessionDoc::new().set_chart("s1", "[Am]ahead");
    ana.ws.send(Message::Binary(edit.into())).await.unwrap();
    assert_eq!(ana.recv_error().await, "internal", "Ana hears the edit was not saved");
    db.execute_batch("DROP TRIGGER refuse; ALTER TABLE unreadable RENAME TO doc_snapshots;").unwrap();
    ben.send(json!({"type": "heartbeat"})).await;
    let store = bandsync_server::store::Store::open(&host.dir).unwrap();
    bandsync_e2e::eventually("the documents in memory on the disk", || {
        let (snapshot, log) = store.document(&ts.session).unwrap();
        let loaded = SessionDoc::new();
        for u in snapshot.iter().chain(&log) {
            loaded.apply_update(u).unwrap();
        }
        async move { loaded.chart("s1").as_deref() == Some("[Am]ahead") }
    })
    .await;
}

/// A newcomer's roster is lost with its write, which the next change (a song, whose step waits
/// for that write) learns of only then: that change is of the schedule alone, and still writes
/// the roster again, so that a restart or the next node knows the newcomer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roster_lost_with_its_write_goes_with_the_next_change() {
    let (host, mut ana, _ben) = stored_host("refused-roster").await;
    let (ts, db) = (&host.ts, &host.db);
    let doc = SessionDoc::new();
    send_doc(&mut ana, doc.set_setlist(&[song("s1", "Money", 120_000, "4/4")]).unwrap()).await;
    send_doc(&mut ana, doc.sync_step1()).await;
    // The answer to Ana's sync waits behind her setlist's write: once it comes, that is stored.
    loop {
        match tokio::time::timeout(bandsync_e2e::WAIT, ana.ws.next()).await.expect("Ana's sync answered in time") {
            Some(Ok(Message::Binary(_))) => break,
            Some(Ok(Message::Text(_) | Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("Ana's connection ended: {other:?}"),
        }
    }
    // The disk held, and every write of the carried state refused but the song's.
    db.execute_batch(
        r#"BEGIN IMMEDIATE;
        CREATE TRIGGER refuse BEFORE INSERT ON carried WHEN NEW.data NOT LIKE '%"song":"s1"%'
        BEGIN SELECT RAISE(FAIL, 'disk full'); END;
        CREATE TRIGGER refuse_update BEFORE UPDATE ON carried WHEN NEW.data NOT LIKE '%"song":"s1"%'
        BEGIN SELECT RAISE(FAIL, 'disk full'); END;"#,
    )
    .unwrap();
    let mut cleo = ts.raw().await;
    cleo.send(json!({"type": "join", "v": 3, "session": ts.session, "name": "Cleo", "secret": ts.secret})).await;
    api_shows(ts, "Cleo").await;
    ana.send(json!({"type": "song", "id": "s1"})).await;
    db.execute_batch("COMMIT").unwrap();
    while ana.recv_type("song_changed").await["song"] != "s1" {}
    let (data, roster): (String, Option<String>) =
        db.query_row("SELECT data, roster FROM carried", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert!(data.contains("\"song\":\"s1\""), "{data}");
    assert!(roster.as_deref().is_some_and(|r| r.contains("Cleo")), "the roster with Cleo is stored: {roster:?}");
}
