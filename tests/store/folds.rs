//! When a session's stored log is folded into its snapshot, as the store counts it on every
//! engine: every [`COMPACT_AFTER`] updates for a small document; for a big one, once the log
//! holds a quarter of the snapshot's size (a fold writes the whole snapshot again); and how a
//! snapshot is written, in slices.

use bandsync_docs::SessionDoc;
use bandsync_server::store::sql::{Db, V};
use bandsync_server::store::{COMPACT_AFTER, SLICE, Store, StoreError};

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
    s.put_session(&crate::session("folds", "k"), crate::NOW_MS).unwrap();
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

/// A snapshot is written in parts of [`SLICE`] bytes; parts a crash left behind are ignored and
/// then deleted; a snapshot from before parts is read, and moved into parts at the next fold; a
/// lost part is said, never read as a shorter document.
pub(crate) fn snapshots_are_written_in_slices(open: &dyn Fn() -> Store, raw: &dyn Fn() -> Box<dyn Db>) {
    let s = open();
    s.put_session(&crate::session("slices", "k"), crate::NOW_MS).unwrap();
    let (member, server) = (SessionDoc::new(), SessionDoc::new());
    let edit = |text: &str| {
        for u in server.handle(&member.insert_chart("big", 0, text), true).unwrap().updates {
            s.append_update("slices", &u).unwrap();
        }
    };
    let loaded = |s: &Store| {
        let (snap, log) = s.document("slices").unwrap();
        let d = SessionDoc::new();
        for u in snap.iter().chain(log.iter()) {
            d.apply_update(u).unwrap();
        }
        d.chart("big")
    };
    let mut db = raw();
    let e = s.engine();

    // Two and a half slices of chart: three parts, and the folded updates gone.
    edit(&"x".repeat(SLICE * 5 / 2));
    edit("a");
    assert!(s.compact("slices", crate::fold).unwrap(), "{e}");
    assert_eq!(int(&mut *db, "SELECT parts FROM doc_snapshots WHERE session = 'slices'"), 3, "{e}");
    assert_eq!(int(&mut *db, "SELECT COUNT(*) FROM doc_snapshot_parts WHERE session = 'slices'"), 3, "{e}");
    assert_eq!(int(&mut *db, "SELECT COUNT(*) FROM doc_updates WHERE session = 'slices'"), 0, "{e}: folded, deleted");
    assert_eq!(loaded(&s), member.chart("big"), "{e}");

    // A fold that crashed after writing a part: the part is not read, and the next fold deletes it.
    let orphan = "INSERT INTO doc_snapshot_parts (session, gen, idx, data) VALUES ('slices', 7, 0, ?1)";
    db.execute(orphan, &[V::Bytes(vec![1, 2, 3])]).unwrap();
    assert_eq!(loaded(&s), member.chart("big"), "{e}");
    edit("b");
    assert!(s.compact("slices", crate::fold).unwrap(), "{e}");
    assert_eq!(int(&mut *db, "SELECT COUNT(*) FROM doc_snapshot_parts WHERE session = 'slices' AND gen = 7"), 0, "{e}");
    assert_eq!(
        int(&mut *db, "SELECT COUNT(*) FROM doc_snapshot_parts WHERE session = 'slices'"),
        3,
        "{e}: the new ones"
    );

    // A snapshot written before parts existed, whole in its row: read, then moved into parts.
    let (snap, _) = s.document("slices").unwrap();
    db.execute(
        "UPDATE doc_snapshots SET data = ?1, gen = NULL, parts = 0 WHERE session = 'slices'",
        &[V::Bytes(snap.unwrap())],
    )
    .unwrap();
    db.execute("DELETE FROM doc_snapshot_parts WHERE session = 'slices'", &[]).unwrap();
    assert_eq!(loaded(&s), member.chart("big"), "{e}: the old row");
    edit("c");
    assert!(s.compact("slices", crate::fold).unwrap(), "{e}");
    assert_eq!(int(&mut *db, "SELECT LENGTH(data) FROM doc_snapshots WHERE session = 'slices'"), 0, "{e}");
    assert_eq!(int(&mut *db, "SELECT parts FROM doc_snapshots WHERE session = 'slices'"), 3, "{e}");
    assert_eq!(loaded(&s), member.chart("big"), "{e}: every edit, once");

    // Another node's fold that switches first: this fold folds nothing, and leaves no parts.
    let other = open();
    edit("d");
    let outer = s.compact("slices", |snap, log| {
        assert!(other.compact("slices", crate::fold).unwrap(), "{e}: the other node's fold");
        crate::fold(snap, log)
    });
    assert!(!outer.unwrap(), "{e}: second to switch");
    assert_eq!(
        int(&mut *db, "SELECT COUNT(*) FROM doc_snapshot_parts WHERE session = 'slices'"),
        3,
        "{e}: its own only"
    );
    assert_eq!(loaded(&s), member.chart("big"), "{e}");

    // An update a crash left behind a fold (at or below the snapshot's `upto`) is not read
    // again, and the next fold deletes it.
    // (The snapshot's own `upto`: that update was folded, and its row deleted.)
    let upto = int(&mut *db, "SELECT upto FROM doc_snapshots WHERE session = 'slices'");
    db.execute(
        "INSERT INTO doc_updates (seq, session, data) VALUES (?1, 'slices', ?2)",
        &[upto.into(), V::Bytes(vec![0xFF; 7])],
    )
    .unwrap();
    assert_eq!(loaded(&s), member.chart("big"), "{e}: the left-over is not applied");
    edit("e");
    assert!(s.compact("slices", crate::fold).unwrap(), "{e}");
    assert_eq!(int(&mut *db, "SELECT COUNT(*) FROM doc_updates WHERE session = 'slices'"), 0, "{e}: deleted");
    assert_eq!(loaded(&s), member.chart("big"), "{e}");

    // A part lost: an error that says so.
    db.execute("DELETE FROM doc_snapshot_parts WHERE session = 'slices' AND idx = 1", &[]).unwrap();
    let err = s.document("slices").unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(ref m) if m.contains("part 1 of 3")), "{e}: {err}");
    s.delete_session("slices").unwrap();
    assert_eq!(
        int(&mut *db, "SELECT COUNT(*) FROM doc_snapshot_parts WHERE session = 'slices'"),
        0,
        "{e}: deleted with it"
    );
}

/// The one integer a query answers.
fn int(db: &mut dyn Db, q: &str) -> i64 {
    db.query(q, &[]).unwrap().remove(0).remove(0).int().unwrap()
}
