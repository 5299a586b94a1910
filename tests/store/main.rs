//! One store test suite, two engines: every case runs on SQLite (a temp folder) and on a real
//! Postgres that the test starts itself (`initdb` into a temp folder). What one keeps, the other
//! keeps; a write that returned survives the database being killed (-9) and restarted; a node that
//! lost a session's lease is refused when it writes.
//!
//! - [`folds`]: when a session's log is folded into its snapshot, and how its snapshot is written.
//! - [`deleted`]: nothing of a deleted session outlives it.
//! - [`leases`]: one owner of a session at a time; a node that lost its lease writes nothing.
//! - [`homes`]: a session goes back to the node it moved off once that node asks for it, and the
//!   asks read only the leases away from home (their partial indexes).
//! - [`unanswered`]: a database that stops answering: its statement is given up, and a session
//!   starting meanwhile holds up nobody else.

mod deleted;
mod folds;
mod homes;
mod leases;
mod unanswered;

use bandsync_core::protocol::{ActivityEvent, ActivityKind, ChatMessage, VersionInfo};
use bandsync_e2e::postgres::PgServer;
use bandsync_server::store::postgres::Postgres as PgDb;
use bandsync_server::store::sql::Db;
use bandsync_server::store::sqlite::Sqlite;
use bandsync_server::store::{Appended, COMPACT_AFTER, Store, StoreError, StoredSession};
use std::path::PathBuf;

/// The host's wall clock when the tests' sessions are made, after every lease time they use.
const NOW_MS: i64 = 30_000;

fn session(id: &str, secret: &str) -> StoredSession {
    StoredSession {
        id: id.into(),
        name: format!("Gig {id}"),
        secret: secret.into(),
        leader_secret: Some(format!("lead-{id}")),
        viewer_secret: None,
        pin: Some("1234".into()),
    }
}

/// A chat message written as a session's group commit writes it ([`Store::append`]), with the
/// stored ones it lets go.
fn put_chat(s: &Store, session: &str, m: &ChatMessage, gone: Option<u64>) -> Result<(), StoreError> {
    s.append(session, Appended { chat: vec![(m.clone(), gone)], ..Appended::default() }).map(drop)
}

/// An activity event written as a group commit writes it, with the stored ones it lets go.
fn add_activity(s: &Store, session: &str, e: &ActivityEvent, gone: Option<u64>) -> Result<(), StoreError> {
    s.append(session, Appended { activity: vec![(e.clone(), gone)], ..Appended::default() }).map(drop)
}

/// A version written as a group commit writes it, with the versions thinned with it.
fn add_version(s: &Store, session: &str, v: &VersionInfo, data: &[u8], thinned: &[u64]) -> Result<(), StoreError> {
    let versions = vec![(v.clone(), data.to_vec(), thinned.to_vec())];
    s.append(session, Appended { versions, ..Appended::default() }).map(drop)
}

fn chat(id: u64, text: &str) -> ChatMessage {
    ChatMessage {
        id,
        from: 1,
        name: "Ana".into(),
        text: text.into(),
        at: 1_700_000_000_000 + id as i64,
        edited_at: None,
        deleted: false,
        reply_to: None,
        reactions: Vec::new(),
        mentions: Vec::new(),
    }
}

/// What the server's fold does: the documents built from a snapshot and the updates after it,
/// encoded whole.
fn fold(snap: Option<&[u8]>, log: &[Vec<u8>]) -> Result<Vec<u8>, String> {
    let d = bandsync_docs::SessionDoc::new();
    for u in snap.into_iter().chain(log.iter().map(Vec::as_slice)) {
        d.apply_update(u).map_err(|e| e.to_string())?;
    }
    Ok(d.encode_state())
}

/// Sessions and the document survive reopening, and compaction folds the log into a snapshot.
fn sessions_and_documents(open: &dyn Fn() -> Store) {
    {
        let s = open();
        s.put_session(&session("a", "k1"), NOW_MS).unwrap();
        s.put_session(&session("a", "k2"), NOW_MS).unwrap();
        s.put_session(&session("b", "k3"), NOW_MS).unwrap();
        let member = bandsync_docs::SessionDoc::new();
        let server = bandsync_docs::SessionDoc::new();
        let mut compactions = 0;
        for i in 0..(COMPACT_AFTER + 20) {
            let msg = member.insert_chart("song", 0, &format!("{i} "));
            // What the session task stores: the raw updates a member's message carried.
            for u in server.handle(&msg, true).unwrap().updates {
                if s.append_update("a", &u).unwrap() {
                    // What the session task starts off its task then. Its fold runs without the
                    // database: an edit saved meanwhile (as the session's task goes on) stays
                    // in the log, after the snapshot.
                    let folded = s.compact("a", |snap, log| {
                        let late = member.insert_chart("song", 0, "late ");
                        for u in server.handle(&late, true).unwrap().updates {
                            s.append_update("a", &u).unwrap();
                        }
                        fold(snap, log)
                    });
                    assert!(folded.unwrap(), "{}", s.engine());
                    compactions += 1;
                }
            }
        }
        assert_eq!(compactions, 1, "{}", s.engine());
        // A fold that fails leaves the log as it was, and says why.
        let err = s.compact("a", |_, _| Err("no".into())).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(ref m) if m == "no"), "{err}");
    }
    let s = open();
    assert_eq!(s.sessions().unwrap(), vec![session("a", "k2"), session("b", "k3")], "{}", s.engine());
    assert_eq!(s.session("b").unwrap(), Some(session("b", "k3")));
    assert_eq!(s.session("nope").unwrap(), None);
    let (snap, updates) = s.document("a").unwrap();
    assert!(snap.is_some(), "compacted");
    assert_eq!(updates.len(), 21, "the log holds only what came after the snapshot: the late edit and 20 more");
    let restored = bandsync_docs::SessionDoc::new();
    restored.apply_update(&snap.unwrap()).unwrap();
    for u in updates {
        restored.apply_update(&u).unwrap();
    }
    let text = restored.chart("song").unwrap();
    assert!(text.starts_with("519 518 ") && text.ends_with(" 1 0 "), "{}", &text[..20]);
    assert_eq!(text.matches("late ").count(), 1, "the edit saved during the compaction is kept once");
    assert_eq!(s.document("b").unwrap(), (None, Vec::new()));
    // Two folds of one session (from two nodes: one store runs one fold at a time): the one
    // that writes second folds nothing, and loses nothing.
    let other_node = open();
    let outer = s.compact("a", |snap, log| {
        assert!(!s.compact("a", fold).unwrap(), "one fold at a time per store");
        assert!(other_node.compact("a", fold).unwrap(), "the inner fold writes");
        fold(snap, log)
    });
    assert!(!outer.unwrap(), "the outer fold, second to write, folds nothing ({})", s.engine());
    // A session deleted while its log is folded does not come back as a snapshot.
    s.put_session(&session("gone", "k9"), NOW_MS).unwrap();
    let other = bandsync_docs::SessionDoc::new();
    for u in other.handle(&bandsync_docs::SessionDoc::new().insert_chart("gone", 0, "x"), true).unwrap().updates {
        s.append_update("gone", &u).unwrap();
    }
    let folded = s.compact("gone", |snap, log| {
        s.delete_session("gone").unwrap();
        fold(snap, log)
    });
    assert!(!folded.unwrap(), "{}", s.engine());
    assert_eq!(s.document("gone").unwrap(), (None, Vec::new()), "{}", s.engine());
    let (snap, log) = s.document("a").unwrap();
    assert!(snap.is_some() && log.is_empty(), "folded by the other node ({})", s.engine());
    let again = bandsync_docs::SessionDoc::new();
    again.apply_update(&snap.unwrap()).unwrap();
    assert_eq!(again.chart("song"), Some(text), "every edit, once ({})", s.engine());
}

/// Chat (as edited last), activity in pages, versions with their data.
fn journal(open: &dyn Fn() -> Store) {
    let s = open();
    s.put_session(&session("j", "k"), NOW_MS).unwrap();
    let msg = |id: u64, text: &str| chat(id, text);
    put_chat(&s, "j", &msg(1, "first"), None).unwrap();
    put_chat(&s, "j", &msg(2, "second"), None).unwrap();
    put_chat(&s, "j", &msg(1, "first, edited"), None).unwrap();
    let chat = s.chat("j").unwrap();
    assert_eq!(chat.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["first, edited", "second"]);
    for id in 1..=7_u64 {
        let by = if id % 2 == 0 { Some(2) } else { None };
        let e = ActivityEvent { id, at: id as i64 * 10, kind: ActivityKind::Play, by, summary: format!("event {id}") };
        add_activity(&s, "j", &e, None).unwrap();
    }
    let (page, more) = s.activity("j", None, 3).unwrap();
    assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), [5, 6, 7]);
    assert!(more);
    assert_eq!(page[1].by, Some(2));
    assert_eq!(page[0].by, None);
    let (page, more) = s.activity("j", Some(5), 10).unwrap();
    assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert!(!more);
    assert_eq!(s.last_activity_id("j").unwrap(), 7);
    assert_eq!(s.last_activity_id("none").unwrap(), 0);
    let v = VersionInfo { id: 1, at: 99, label: "before the gig".into(), size: 0, named: true };
    add_version(&s, "j", &v, b"\x01\x02\x03", &[]).unwrap();
    assert_eq!(s.versions("j").unwrap(), vec![VersionInfo { size: 3, ..v.clone() }]);
    assert_eq!(s.version_data("j", 1).unwrap().as_deref(), Some(&b"\x01\x02\x03"[..]));
    assert_eq!(s.version_data("j", 2).unwrap(), None);
    // A version saved with the ones the thinning rule lets go: one transaction.
    let auto = |id: u64| VersionInfo { id, at: 100 + id as i64, label: format!("edit {id}"), size: 0, named: false };
    add_version(&s, "j", &auto(2), b"\x02", &[]).unwrap();
    add_version(&s, "j", &auto(3), b"\x03", &[2]).unwrap();
    let ids: Vec<(u64, bool)> = s.versions("j").unwrap().iter().map(|v| (v.id, v.named)).collect();
    assert_eq!(ids, [(1, true), (3, false)], "{}", s.engine());
    assert_eq!(s.version_data("j", 2).unwrap(), None);
}

/// What a session keeps of its chat and activity, and stored rows that no longer read: each costs
/// its own row, never the rest. A database made before a column was added gets it when opened.
fn retention_and_damage(open: &dyn Fn() -> Store, raw: &dyn Fn() -> Box<dyn Db>) {
    use bandsync_core::retention::{ACTIVITY_KEPT, CHAT_KEPT};
    let s = open();
    s.put_session(&session("r", "k"), NOW_MS).unwrap();
    s.put_session(&session("m", "k"), NOW_MS).unwrap();
    for id in 1..=3 {
        put_chat(&s, "r", &chat(id, "old"), None).unwrap();
    }
    // What the journal asks for: the rule's bound, dropped in the same write.
    let gone = bandsync_core::retention::dropped_through(CHAT_KEPT + 2, CHAT_KEPT);
    put_chat(&s, "r", &chat(CHAT_KEPT + 2, "new"), gone).unwrap();
    let ids: Vec<u64> = s.chat("r").unwrap().iter().map(|m| m.id).collect();
    assert_eq!(ids, [3, CHAT_KEPT + 2], "chat past the newest {CHAT_KEPT} is dropped ({})", s.engine());
    let event = |id: u64| ActivityEvent { id, at: 5, kind: ActivityKind::Play, by: None, summary: format!("{id}") };
    for id in 1..=3 {
        add_activity(&s, "r", &event(id), None).unwrap();
    }
    let gone = bandsync_core::retention::dropped_through(ACTIVITY_KEPT + 2, ACTIVITY_KEPT);
    add_activity(&s, "r", &event(ACTIVITY_KEPT + 2), gone).unwrap();
    let (page, more) = s.activity("r", None, 10).unwrap();
    assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), [3, ACTIVITY_KEPT + 2]);
    assert!(!more);

    // Damaged rows (or rows another version wrote): a chat message that is not JSON, an activity
    // of a kind this version does not know.
    let mut db = raw();
    db.execute("INSERT INTO chat (session, id, message) VALUES ('r', 4, '{not json')", &[]).unwrap();
    db.execute(
        "INSERT INTO activity (session, id, at, kind, by, summary) VALUES ('r', 4, 5, 'levitate', NULL, 'x')",
        &[],
    )
    .unwrap();
    let ids: Vec<u64> = s.chat("r").unwrap().iter().map(|m| m.id).collect();
    assert_eq!(ids, [3, CHAT_KEPT + 2], "the damaged message is left out, the rest read");
    let (page, _) = s.activity("r", None, 10).unwrap();
    assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), [3, ACTIVITY_KEPT + 2]);

    // A database from before versions had `named`: opening it adds the column.
    db.batch("ALTER TABLE doc_versions DROP COLUMN named").unwrap();
    drop(db);
    let s = open();
    let v = VersionInfo { id: 1, at: 1, label: "named".into(), size: 1, named: true };
    add_version(&s, "m", &v, b"\x01", &[]).unwrap();
    assert_eq!(s.versions("m").unwrap(), [v], "{}", s.engine());
}

/// Organizer tokens: issued once, found by token, revoked at once, reissued; owners and deletion.
fn organizers(open: &dyn Fn() -> Store) {
    let s = open();
    let t = s.create_organizer("school", 2).unwrap();
    assert!(t.starts_with("bso_"), "{t}");
    assert_eq!(s.organizer(&t).unwrap().map(|o| (o.name, o.quota)), Some(("school".into(), 2)));
    assert!(s.organizer("bso_guess").unwrap().is_none());
    assert!(matches!(s.create_organizer("school", 5), Err(StoreError::Conflict(_))));
    s.put_session(&session("o", "x"), NOW_MS).unwrap();
    s.set_owner("o", "school").unwrap();
    put_chat(&s, "o", &chat(1, "hi"), None).unwrap();
    assert_eq!(s.owner("o").unwrap().as_deref(), Some("school"));
    assert_eq!(s.sessions_of("school").unwrap(), ["o"]);
    let list = s.organizers().unwrap();
    assert_eq!((list[0].name.as_str(), list[0].quota, list[0].revoked, list[0].sessions), ("school", 2, false, 1));
    assert!(s.revoke_organizer("school").unwrap());
    assert!(!s.revoke_organizer("nobody").unwrap());
    assert!(s.organizer(&t).unwrap().is_none(), "revoked at once");
    assert!(s.organizers().unwrap()[0].revoked);
    let t2 = s.create_organizer("school", 3).unwrap();
    assert_eq!(s.organizer(&t2).unwrap().map(|o| o.quota), Some(3), "a new token after a revocation");
    s.delete_session("o").unwrap();
    assert!(s.sessions().unwrap().iter().all(|x| x.id != "o"));
    assert!(s.sessions_of("school").unwrap().is_empty() && s.chat("o").unwrap().is_empty());
}

fn suite(open: &dyn Fn() -> Store, raw: &dyn Fn() -> Box<dyn Db>) {
    sessions_and_documents(open);
    folds::big_snapshots_fold_less_often(open);
    folds::snapshots_are_written_in_slices(open, raw);
    journal(open);
    retention_and_damage(open, raw);
    organizers(open);
    deleted::nothing_outlives_a_deleted_session(open, raw);
    leases::one_owner_at_a_time(open);
    homes::a_session_goes_back_to_the_node_it_moved_off(open, raw);
    homes::the_asks_read_their_partial_indexes(raw);
    leases::what_a_node_reads_is_what_it_may_take(open);
    leases::many_sessions_at_once(open);
}

#[test]
fn the_store_suite_on_sqlite() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("store-suite-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    suite(&|| Store::open(&dir).unwrap(), &|| Box::new(Sqlite::open(&dir).unwrap()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_store_suite_on_postgres_and_what_it_acknowledged_survives_kill_9() {
    let mut pg = PgServer::start();
    let url = pg.database("suite");
    suite(&|| Store::connect(&url).unwrap(), &|| Box::new(PgDb::connect(&url).unwrap()));

    // A write that returned is in Postgres's WAL: killing the server outright loses nothing, and
    // the same store reconnects once it is back.
    let s = Store::connect(&pg.database("crash")).unwrap();
    s.put_session(&session("c", "k"), NOW_MS).unwrap();
    s.append_update("c", b"update-1").unwrap();
    pg.kill9();
    let down = s.sessions();
    assert!(down.is_err(), "no database, no answer: {down:?}");
    pg.start_again();
    // Which error the call made while it was down met says whether the store kept a dead
    // connection (a failure here once, in CI: "error communicating with the server").
    let back = s.sessions().unwrap_or_else(|e| panic!("after the restart: {e}; while it was down: {down:?}"));
    assert_eq!(back, vec![session("c", "k")]);
    assert_eq!(s.document("c").unwrap(), (None, vec![b"update-1".to_vec()]));
    // Two nodes opening one database at once both find the schema made, once.
    let url = pg.database("two");
    let (a, b) = std::thread::scope(|sc| {
        let a = sc.spawn(|| Store::connect(&url));
        let b = sc.spawn(|| Store::connect(&url));
        (a.join().unwrap(), b.join().unwrap())
    });
    a.unwrap().put_session(&session("t", "k"), NOW_MS).unwrap();
    assert_eq!(b.unwrap().sessions().unwrap().len(), 1);
    // A node opening a database already made takes no table's lock, so waits for no other
    // node's writes and holds up none (ALTER TABLE takes its table whole, CREATE INDEX waits for
    // its writes, even when what they make is there already).
    let mut writing = PgDb::connect(&url).unwrap();
    writing.batch("BEGIN; LOCK TABLE sessions, doc_updates, doc_snapshots, doc_versions, leases, carried IN ROW EXCLUSIVE MODE").unwrap();
    let opening = std::thread::spawn({
        let url = url.clone();
        move || Store::connect(&url).map(drop).map_err(|e| e.to_string())
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !opening.is_finished() {
        assert!(std::time::Instant::now() < deadline, "opening the database waits for another node's writes");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(opening.join().unwrap(), Ok(()));
    writing.batch("COMMIT").unwrap();
    unanswered::a_statement_is_given_up(&pg.database("cut"));
    unanswered::a_start_waiting_on_the_database_holds_up_no_lookup(&pg.database("stall"));
    unanswered::a_take_whose_member_gave_up_passes_over_its_lease(&pg.database("gaveup"));
    leases::a_renewal_holds_no_row_while_it_waits_for_another(&pg.database("renew"));
    leases::a_take_holds_no_row_while_it_waits_for_another(&pg.database("take"));
    deleted::a_deletion_waits_for_the_holder_s_write(&pg.database("delete"));
    leases::a_take_waits_for_a_store_write_checked_against_the_lease(&pg.database("fence"));
    leases::the_take_statement_waits_for_a_write_on_a_row_made_since_the_take_looked(&pg.database("made"));
}
