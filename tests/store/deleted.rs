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
