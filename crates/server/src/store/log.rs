//! A session's stored document as a log of updates, and the one write each of a session's group
//! commits makes (`crate::appends`): its updates, with the chat, activity and carried state that
//! go with them, in one transaction; and when the log is due to be folded into its snapshot.

use super::sql::columns;
use super::{Store, StoreError, StoredDocument, StoredSession, fold, history, update_session};
use bandsync_core::protocol::{ActivityEvent, ChatMessage, VersionInfo};

/// Updates in a session's log before they may be folded into a snapshot.
pub const COMPACT_AFTER: i64 = 500;

/// Updates in a session's log after which it is folded whatever their size: a load applies them
/// one by one.
pub const COMPACT_AT_MOST: i64 = 20_000;

/// Whether a session's log of `updates` updates and `bytes` bytes is due to be folded into its
/// snapshot of `snapshot` bytes: at least [`COMPACT_AFTER`] updates, and a quarter of the
/// snapshot's size or [`COMPACT_AT_MOST`] updates. A fold writes the whole snapshot again: a
/// document of megabytes folded every 500 edits of a few bytes was written 500 times over what
/// the edits added, each time holding the database from the session's next edit (the hostile
/// bench's edits on a full document, docs/BENCHMARKS.md). Small documents fold every
/// [`COMPACT_AFTER`] updates, as before.
#[must_use]
pub fn fold_due(updates: i64, bytes: i64, snapshot: i64) -> bool {
    updates >= COMPACT_AFTER && (bytes.saturating_mul(4) >= snapshot || updates >= COMPACT_AT_MOST)
}

/// A session's log since its snapshot, as [`fold_due`] weighs it.
#[derive(Debug, Clone, Copy)]
pub(super) struct LogSize {
    updates: i64,
    bytes: i64,
    snapshot: i64,
}

/// What one of a session's group writes stores (`crate::appends`): document updates in order,
/// activity events and chat messages as they are now (each with the stored ones it lets go:
/// [`bandsync_core::retention`]), versions (each with the versions the thinning rule lets go with
/// it), what the session carries to the next node (its members and schedule, as JSON), and the
/// session's row when its secrets or PIN changed.
#[derive(Debug, Default)]
pub struct Appended {
    /// Document updates, raw y-sync v1.
    pub updates: Vec<Vec<u8>>,
    /// Activity events, each with the id through which older ones go.
    pub activity: Vec<(ActivityEvent, Option<u64>)>,
    /// Chat messages, each with the id through which older ones go.
    pub chat: Vec<(ChatMessage, Option<u64>)>,
    /// Versions, each with its data and the versions the thinning rule lets go with it.
    pub versions: Vec<(VersionInfo, Vec<u8>, Vec<u64>)>,
    /// The carried state without its members, JSON
    /// ([`bandsync_core::session::carry::CarriedParts`]).
    pub carried: Option<String>,
    /// The carried members, JSON, when they changed: written with a carried state only.
    pub roster: Option<String>,
    /// The session's row as it is now: its secrets and PIN (a rotation, a new PIN).
    pub session_row: Option<StoredSession>,
}

impl Store {
    pub(super) fn logs(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, LogSize>> {
        self.logs.lock().expect("logs lock poisoned")
    }

    /// Lets go of what this store counted of a session's log (deleted, or its lease taken or
    /// given up: another node may append and fold meanwhile).
    pub(crate) fn forget_log(&self, session: &str) {
        self.logs().remove(session);
    }

    /// Appends a document update; it is durable when this returns. Says whether the log since
    /// its snapshot is due to be folded ([`fold_due`]): time for [`Store::compact`].
    ///
    /// # Errors
    /// On a database error.
    pub fn append_update(&self, session: &str, data: &[u8]) -> Result<bool, StoreError> {
        self.append_updates(session, &[data])
    }

    /// Appends document updates in order, in one transaction; see [`Store::append`].
    ///
    /// # Errors
    /// On a database error; then none of them was written.
    pub fn append_updates(&self, session: &str, updates: &[&[u8]]) -> Result<bool, StoreError> {
        self.append(session, Appended { updates: updates.iter().map(|u| u.to_vec()).collect(), ..Appended::default() })
    }

    /// Writes what a session made while its last write synced, in one transaction (one sync of
    /// the disk for all of it: `crate::appends`), with what other sessions write at the same
    /// moment ([`super::group`]). All or none of it is durable when this returns.
    /// Says whether the document's log is due to be folded, as [`Store::append_update`] does.
    ///
    /// # Errors
    /// On a database error; then none of it was written.
    pub fn append(&self, session: &str, appended: Appended) -> Result<bool, StoreError> {
        self.append_grouped(session, appended)
    }

    /// After a session's write of `updates`: its log counted on (or as `read` after the write),
    /// and whether it is due to be folded.
    pub(super) fn logged(&self, session: &str, updates: &[Vec<u8>], read: Option<LogSize>) -> bool {
        let mut logs = self.logs();
        let log = match (read, logs.get_mut(session)) {
            (None, Some(log)) => {
                let size: usize = updates.iter().map(Vec::len).sum();
                log.updates = log.updates.saturating_add(i64::try_from(updates.len()).unwrap_or(i64::MAX));
                log.bytes = log.bytes.saturating_add(i64::try_from(size).unwrap_or(i64::MAX));
                *log
            }
            (Some(read), _) => read,
            // Folded meanwhile: read afresh at the next append.
            (None, None) => return false,
        };
        logs.insert(session.to_owned(), log);
        fold_due(log.updates, log.bytes, log.snapshot)
    }

    /// The stored document: its snapshot (if any) and the updates after it, in order.
    ///
    /// # Errors
    /// On a database error.
    pub fn document(&self, session: &str) -> Result<StoredDocument, StoreError> {
        // Read while holding the database throughout: a fold's clean-up (which deletes the
        // updates it folded) cannot run between the snapshot and the log after it.
        let mut db = self.db();
        let (snap, log) = fold::read(session, &mut |q, p| db.query(q, p))?;
        Ok((snap.map(|s| s.data), log.into_iter().map(|(_, u)| u).collect()))
    }

    /// [`Store::document`] of a session about to start on this server (restored, or loaded by a
    /// node whose lease on it was just taken), read on the reader connection: off the one the
    /// group commits and lease renewals queue on, where a node taking over hundreds of sessions
    /// waited behind them at every statement. No fold of it can run meanwhile: not here, where it
    /// does not run (a node loads no session whose task, or a compaction it left, still runs),
    /// and not on another node, whose writes the lease taken here now fences.
    ///
    /// # Errors
    /// On a database error.
    pub fn document_to_start(&self, session: &str) -> Result<StoredDocument, StoreError> {
        let (snap, log) = fold::read(session, &mut |q, p| self.reader().query(q, p))?;
        Ok((snap.map(|s| s.data), log.into_iter().map(|(_, u)| u).collect()))
    }
}

/// The rows of one session's write, in its transaction, but for its carried state (written for
/// the whole group at once: `group.rs`); the session's log as read after them, if it is not
/// `counted` already and updates were among them.
pub(super) fn write_rows(
    db: &mut dyn super::sql::Db,
    session: &str,
    appended: &Appended,
    counted: bool,
) -> Result<Option<LogSize>, StoreError> {
    let Appended { updates, activity, chat, versions, carried: _, roster: _, session_row } = appended;
    for data in updates {
        db.execute(
            "INSERT INTO doc_updates (session, data) VALUES (?1, ?2)",
            &[session.into(), data.as_slice().into()],
        )?;
    }
    for (event, gone) in activity {
        history::insert_activity(db, session, event, *gone)?;
    }
    for (m, gone) in chat {
        history::upsert_chat(db, session, m, *gone)?;
    }
    for (v, data, thinned) in versions {
        history::insert_version(db, session, v, data, thinned)?;
    }
    if let Some(row) = session_row {
        update_session(db, row)?;
    }
    if updates.is_empty() || counted {
        return Ok(None);
    }
    let row = db.query(
        "SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) FROM doc_updates WHERE session = ?1
         AND seq > COALESCE((SELECT upto FROM doc_snapshots WHERE session = ?1), 0)",
        &[session.into()],
    )?;
    // COUNT and SUM with COALESCE: one row, never NULL.
    let mut next = columns(row.into_iter().next().unwrap_or_default());
    let (updates, bytes) = (next().int()?, next().int()?);
    let snapshot = fold::snapshot_size(db, session)?;
    Ok(Some(LogSize { updates, bytes, snapshot }))
}

#[cfg(test)]
mod tests {
    use super::{COMPACT_AFTER, COMPACT_AT_MOST, fold_due};

    #[test]
    fn a_log_is_due_by_its_updates_and_its_share_of_the_snapshot() {
        const MIB: i64 = 1 << 20;
        // No snapshot, or a small one: every COMPACT_AFTER updates.
        assert!(!fold_due(COMPACT_AFTER - 1, MIB, 0));
        assert!(fold_due(COMPACT_AFTER, 10, 0));
        assert!(fold_due(COMPACT_AFTER, 10_000, 40_000));
        // A snapshot of 8 MiB: a quarter of it in the log, or COMPACT_AT_MOST updates.
        assert!(!fold_due(COMPACT_AFTER, 30 * COMPACT_AFTER, 8 * MIB));
        assert!(!fold_due(COMPACT_AT_MOST - 1, 2 * MIB - 1, 8 * MIB));
        assert!(fold_due(COMPACT_AFTER, 2 * MIB, 8 * MIB));
        assert!(fold_due(COMPACT_AT_MOST, 30, 8 * MIB));
        assert!(fold_due(COMPACT_AFTER, i64::MAX, i64::MAX));
    }
}
