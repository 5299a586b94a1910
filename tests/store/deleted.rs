//! A deleted session: nothing of it outlives it in the store.

use bandsync_core::protocol::{ActivityEvent, ActivityKind, VersionInfo};
use bandsync_server::store::sql::Db;
use bandsync_server::store::{Appended, Store, StoreError};

/// A session deleted while its task still runs (the hub stops the task and deletes at once): what
/// the task writes after the deletion (its last edits, chat, activity, a version, a new secret) is
/// refused, and nothing of it is left in the database, nor does the session come back.
pub(crate) fn nothing_outlives_a_deleted_session(open: &dyn Fn() -> Store, raw: &dyn Fn() -> Box<dyn Db>) {
    let s = open();
    s.put_session(&crate::session("del", "k"), crate::NOW_MS).unwrap();
    s.append_update("del", b"before").unwrap();
    s.delete_session("del").unwrap();
    let is_deleted = |r: Result<(), StoreError>| matches!(r, Err(StoreError::Deleted(ref id)) if id == "del");
    assert!(is_deleted(s.append_updates("del", &[&b"after"[..]]).map(drop)), "{}", s.engine());
    assert!(is_deleted(crate::put_chat(&s, "del", &crate::chat(1, "after"), None)));
    let e = ActivityEvent { id: 1, at: 5, kind: ActivityKind::Play, by: None, summary: "after".into() };
    assert!(is_deleted(crate::add_activity(&s, "del", &e, None)));
    let v = VersionInfo { id: 1, at: 1, label: "after".into(), size: 1, named: true };
    assert!(is_deleted(crate::add_version(&s, "del", &v, b"\x01", &[])));
    assert!(is_deleted(s.append("del", Appended { carried: Some("{}".into()), ..Appended::default() }).map(drop)));
    let row = Appended { session_row: Some(crate::session("del", "k2")), ..Appended::default() };
    assert!(is_deleted(s.append("del", row).map(drop)));
    assert!(s.session("del").unwrap().is_none(), "a new secret does not bring the session back");
    let mut db = raw();
    for table in ["doc_updates", "chat", "activity", "doc_versions", "carried"] {
        let rows = db.query(&format!("SELECT COUNT(*) FROM {table} WHERE session = 'del'"), &[]).unwrap();
        let n = rows[0][0].int().unwrap();
        assert_eq!(n, 0, "{}: {table} keeps rows of a deleted session", s.engine());
    }
}

/// A node deleting a session another node holds waits for that node's write, rather than each
/// waiting for the other: the deletion takes the lease row before the session's, in the order a
/// holder's write locks them (its fencing check, then the session's row). Deleting the session's
/// row first deadlocked with the write, and Postgres then refused one of the two. Postgres.
pub(crate) fn a_deletion_waits_for_the_holder_s_write(url: &str) {
    let (holder, other) = (Store::connect(url).unwrap(), Store::connect(url).unwrap());
    holder.put_session(&crate::session("held", "k"), crate::NOW_MS).unwrap();
    holder.take_lease("held", "node-a", 10_000, 3_000).unwrap().expect("free");
    // The holder's write, its checks made as `check_writes` makes them, not yet committed.
    let mut write = bandsync_server::store::postgres::Postgres::connect(url).unwrap();
    write.batch("BEGIN").unwrap();
    write.query("SELECT token FROM leases WHERE session = 'held' FOR KEY SHARE", &[]).unwrap();
    // Opened before the deletion starts: opening one checks the schema, which waits for no row.
    let mut watch = bandsync_server::store::postgres::Postgres::connect(url).unwrap();
    std::thread::scope(|sc| {
        let deleting = sc.spawn(|| other.delete_session("held"));
        // Until the deletion waits for a row lock (the lease's: the holder's write has it), as
        // Postgres says; within the server's limit on an idle transaction (10 s).
        let waiting = "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'";
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while watch.query(waiting, &[]).unwrap()[0][0].int().unwrap() == 0 {
            assert!(!deleting.is_finished(), "the deletion waits for the holder's write");
            assert!(std::time::Instant::now() < deadline, "the deletion never waited for a lock");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // The write goes on to the session's row, and commits: no deadlock.
        let r = write.query("UPDATE sessions SET name = name WHERE id = 'held' RETURNING id", &[]);
        assert_eq!(r.map(|rows| rows.len()).map_err(|e| e.to_string()), Ok(1), "the holder's write is not refused");
        write.batch("COMMIT").unwrap();
        assert_eq!(deleting.join().unwrap().map_err(|e| e.to_string()), Ok(()), "the deletion goes through after it");
    });
    assert!(other.session("held").unwrap().is_none());
}
