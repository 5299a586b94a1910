//! When a session's stored log is folded into its snapshot, as the store counts it on every
//! engine: every [`COMPACT_AFTER`] updates for a small document; for a big one, once the log
//! holds a quarter of the snapshot's size (a fold writes the whole snapshot again).

use bandsync_docs::SessionDoc;
use bandsync_server::store::{COMPACT_AFTER, Store};

/// The raw updates a member's edit carries, appended as the session task appends them: whether
/// any said the log was due.
fn edit(s: &Store, member: &SessionDoc, server: &SessionDoc, text: &str) -> bool {
    let msg = member.insert_chart("big", 0, text);
    let mut due = false;
    for u in server.handle(&msg, true).unwrap().updates {
        due |= s.append_update("folds", &u).unwrap();
    }
    due
}

pub(crate) fn big_snapshots_fold_less_often(open: &dyn Fn() -> Store) {
    let s = open();
    let (member, server) = (SessionDoc::new(), SessionDoc::new());
    // A 256 KiB chart, then one-character edits: no snapshot yet, so due at COMPACT_AFTER.
    assert!(!edit(&s, &member, &server, &"x".repeat(256 * 1024)));
    let mut n = 1;
    loop {
        n += 1;
        if edit(&s, &member, &server, "a") {
            break;
        }
        assert!(n < COMPACT_AFTER, "{}: not due after {n} updates", s.engine());
    }
    assert_eq!(n, COMPACT_AFTER, "{}: due at the update that makes {}", s.engine(), COMPACT_AFTER);
    assert!(s.compact("folds", crate::fold).unwrap(), "{}", s.engine());
    // Now a snapshot of 256 KiB: COMPACT_AFTER one-character edits are not enough...
    for _ in 0..COMPACT_AFTER {
        assert!(!edit(&s, &member, &server, "b"), "{}: due over a few bytes of log", s.engine());
    }
    // ...a quarter of the snapshot is: about 64 edits of 1 KiB more.
    let mut k = 0;
    while !edit(&s, &member, &server, &"c".repeat(1024)) {
        k += 1;
        assert!(k < 100, "{}: not due after {k} KiB of log", s.engine());
    }
    assert!(k >= 50, "{}: due after only {k} KiB of log", s.engine());
    // Another store on the same database (a restart, another node) counts it from the database.
    let again = open();
    assert!(edit(&again, &member, &server, "d"), "{}", again.engine());
    assert!(again.compact("folds", crate::fold).unwrap(), "{}", again.engine());
    let (snap, log) = again.document("folds").unwrap();
    assert!(log.is_empty(), "{}", again.engine());
    let loaded = SessionDoc::new();
    loaded.apply_update(&snap.unwrap()).unwrap();
    assert_eq!(loaded.chart("big"), member.chart("big"), "{}: every edit is in the snapshot", again.engine());
}
