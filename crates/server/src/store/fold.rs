//! Folding a session's log into its snapshot, in slices. A snapshot is the whole document, and a
//! document can be megabytes: written in one statement it held the database (and with it every
//! append of every session) for as long as the write took, and the hostile bench's edits on a
//! full document waited behind it (docs/BENCHMARKS.md, issue #12). So each step holds the
//! database briefly:
//!
//! 1. the snapshot and the log after it are read a part, and about [`SLICE`] bytes of log, at a
//!    time;
//! 2. the fold runs without the database, on a thread of its own at the lowest priority (a
//!    document of megabytes is tens of milliseconds of one core, which the sessions' tasks, the
//!    clock replies and the relays, must have first: at the same priority it took one of this
//!    machine's two cores from them for its whole length);
//! 3. the new snapshot is written in parts of [`SLICE`] bytes, each its own transaction, under a
//!    fresh generation number that nothing reads yet;
//! 4. one small transaction switches the session's snapshot row to the new generation, if the
//!    row and the log folded are still as they were read (another node's fold, or a deletion,
//!    came first: then the parts written go again, and nothing is folded);
//! 5. the old generation's parts and the folded updates are deleted a slice at a time. Readers
//!    never look at them again (they read the row's generation, and the log after its `upto`).
//!
//! A crash anywhere leaves the row on one generation or the other, whole: parts that no row
//! names, and folded updates, are only garbage, and the next fold of the session deletes them.
//!
//! Versions: a node from before parts reads a row in parts as an empty snapshot, and its fold
//! would leave the row naming stale parts. Every node on one database must run this version or
//! later (docs/SCALING.md, "Upgrading").

use super::sql::{Db, Row, V, columns, one};
use super::{Store, StoreError};

/// The most bytes of a snapshot, or of the log (but one update bigger), read or written in one
/// transaction.
pub const SLICE: usize = 256 * 1024;

/// A session's snapshot row as read: the last update it holds, its generation (`None`: an old
/// row whose data is inline), and its bytes.
#[derive(Debug)]
pub(super) struct SnapshotRow {
    pub(super) upto: i64,
    generation: Option<i64>,
    pub(super) data: Vec<u8>,
}

/// Runs one query (with the database held for it, or throughout: the caller's choice).
pub(super) type Query<'a> = dyn FnMut(&str, &[V]) -> Result<Vec<Row>, StoreError> + 'a;

/// A session's stored document: its snapshot, and the updates after it with their numbers.
pub(super) type Log = (Option<SnapshotRow>, Vec<(i64, Vec<u8>)>);

/// Reads a session's snapshot and log through `query`, a slice at a time (whether the
/// database is held between them is the caller's: see [`Store::document`]).
pub(super) fn read(session: &str, query: &mut Query<'_>) -> Result<Log, StoreError> {
    let row = query("SELECT upto, gen, parts, data FROM doc_snapshots WHERE session = ?1", &[session.into()])?;
    let snap = match row.into_iter().next() {
        None => None,
        Some(r) => {
            let mut next = columns(r);
            let (upto, generation, parts, inline) = (next().int()?, next().opt_int()?, next().int()?, next().bytes()?);
            let data = match generation {
                None => inline,
                Some(g) => {
                    let mut data = Vec::new();
                    for idx in 0..parts {
                        let part = query(
                            "SELECT data FROM doc_snapshot_parts WHERE session = ?1 AND gen = ?2 AND idx = ?3",
                            &[session.into(), g.into(), idx.into()],
                        )?;
                        let bytes = part.into_iter().next().and_then(|r| r.into_iter().next());
                        let bytes = bytes.ok_or_else(|| {
                            StoreError::Corrupt(format!(
                                "session {session}: part {idx} of {parts} of its snapshot is missing"
                            ))
                        })?;
                        data.extend_from_slice(&bytes.bytes()?);
                    }
                    data
                }
            };
            Some(SnapshotRow { upto, generation, data })
        }
    };
    let after = snap.as_ref().map_or(0, |s| s.upto);
    // The log's sizes first (a blob's length is in its row's header, on both engines), then its
    // rows in slices of about SLICE bytes.
    let sizes = query(
        "SELECT seq, LENGTH(data) FROM doc_updates WHERE session = ?1 AND seq > ?2 ORDER BY seq",
        &[session.into(), after.into()],
    )?
    .into_iter()
    .map(|r| {
        let mut next = columns(r);
        Ok((next().int()?, next().int()?))
    })
    .collect::<Result<Vec<(i64, i64)>, StoreError>>()?;
    let mut updates = Vec::with_capacity(sizes.len());
    for (first, last) in slices(&sizes) {
        for r in query(
            "SELECT seq, data FROM doc_updates WHERE session = ?1 AND seq >= ?2 AND seq <= ?3 ORDER BY seq",
            &[session.into(), first.into(), last.into()],
        )? {
            let mut next = columns(r);
            updates.push((next().int()?, next().bytes()?));
        }
    }
    Ok((snap, updates))
}

/// The log's rows (`seq`, bytes), in order, cut into runs of at most [`SLICE`] bytes (a bigger
/// row is a run of its own): each run's first and last `seq`.
fn slices(sizes: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut runs: Vec<(i64, i64)> = Vec::new();
    let mut bytes = 0;
    for &(seq, len) in sizes {
        match runs.last_mut() {
            Some(run) if bytes + len <= SLICE as i64 => {
                run.1 = seq;
                bytes += len;
            }
            _ => {
                runs.push((seq, seq));
                bytes = len;
            }
        }
    }
    runs
}

impl Store {
    /// Folds the session's log into its snapshot. `fold` makes the whole document of a snapshot
    /// and the updates after it. It runs without the database, while the session's task goes on
    /// appending and every other session goes on writing; the reads and writes around it hold
    /// the database a slice at a time (see the module's comment). Updates appended meanwhile stay
    /// in the log. Says whether it folded anything: not when the log was empty, when another fold
    /// was running (one at a time per store), when another fold of the same session wrote first,
    /// or when the session was deleted meanwhile.
    ///
    /// # Errors
    /// On a database error, or [`StoreError::Corrupt`] with what `fold` said.
    pub fn compact(
        &self,
        session: &str,
        fold: impl FnOnce(Option<&[u8]>, &[Vec<u8>]) -> Result<Vec<u8>, String> + Send,
    ) -> Result<bool, StoreError> {
        // Another session's fold is running: this one waits for a later append to ask again.
        let Ok(_one) = self.folding.try_lock() else {
            return Ok(false);
        };
        let (snap, log) = read(session, &mut |q, p| self.db().query(q, p))?;
        let Some(&(upto, _)) = log.last() else {
            return Ok(false);
        };
        let (before, was) = snap.as_ref().map_or((0, None), |s| (s.upto, s.generation));
        let folded =
            slices(&log.iter().map(|(seq, u)| (*seq, i64::try_from(u.len()).unwrap_or(i64::MAX))).collect::<Vec<_>>());
        let updates: Vec<Vec<u8>> = log.into_iter().map(|(_, u)| u).collect();
        let count = i64::try_from(updates.len()).unwrap_or(i64::MAX);
        let state = aside(|| fold(snap.as_ref().map(|s| s.data.as_slice()), &updates)).map_err(StoreError::Corrupt)?;
        drop(snap);
        let generation = rand::random::<i64>() & i64::MAX;
        let switched = self
            .write_parts(session, generation, &state)
            .and_then(|parts| self.switch(session, (before, was), (upto, count), (generation, parts)));
        // Whether this fold wrote, or another did first, the log is read afresh at the next append.
        self.logs().remove(session);
        match switched {
            Ok(true) => {
                self.clean_up(session, generation, &folded, upto)?;
                Ok(true)
            }
            Ok(false) => {
                self.drop_parts(session, generation)?;
                Ok(false)
            }
            // Deleted meanwhile: its rows went with it, and nothing more of it is written.
            Err(StoreError::Deleted(_)) => Ok(false),
            Err(e) => {
                // Fenced, or the database failed: the parts may go later (the next fold's clean-up).
                let _ = self.drop_parts(session, generation);
                Err(e)
            }
        }
    }

    /// Writes `state` as generation `generation`'s parts, one transaction each (an empty state
    /// is one empty part); says how many.
    fn write_parts(&self, session: &str, generation: i64, state: &[u8]) -> Result<usize, StoreError> {
        let mut slices: Vec<&[u8]> = state.chunks(SLICE).collect();
        if slices.is_empty() {
            slices.push(&[]);
        }
        let parts = slices.len();
        for (idx, slice) in slices.into_iter().enumerate() {
            self.write(session, |db| {
                db.execute(
                    "INSERT INTO doc_snapshot_parts (session, gen, idx, data) VALUES (?1, ?2, ?3, ?4)",
                    &[session.into(), generation.into(), i64::try_from(idx).unwrap_or(i64::MAX).into(), slice.into()],
                )
            })?;
        }
        Ok(parts)
    }

    /// Makes generation `generation` (of `parts` parts) the session's snapshot through `upto`,
    /// in one transaction, if the row is still `from` (its `upto` and generation, as the fold
    /// read them) and the `count` updates folded are all still there: another fold that wrote
    /// first moved the row, and a deletion of the session dropped the rows (its documents must
    /// not come back as a snapshot). Every part must be there too (a clean-up of another fold's
    /// generation, run meanwhile, would have taken them).
    fn switch(
        &self,
        session: &str,
        from: (i64, Option<i64>),
        (upto, count): (i64, i64),
        (generation, parts): (i64, usize),
    ) -> Result<bool, StoreError> {
        self.write(session, |db| {
            let row = db.query("SELECT upto, gen FROM doc_snapshots WHERE session = ?1", &[session.into()])?;
            let now = match row.into_iter().next() {
                None => (0, None),
                Some(r) => {
                    let mut next = columns(r);
                    (next().int()?, next().opt_int()?)
                }
            };
            let count_of = |db: &mut dyn Db, sql: &str, params: &[V]| one(db, sql, params)?.map_or(Ok(0), |v| v.int());
            let still = count_of(
                db,
                "SELECT COUNT(*) FROM doc_updates WHERE session = ?1 AND seq > ?2 AND seq <= ?3",
                &[session.into(), from.0.into(), upto.into()],
            )?;
            let have = count_of(
                db,
                "SELECT COUNT(*) FROM doc_snapshot_parts WHERE session = ?1 AND gen = ?2",
                &[session.into(), generation.into()],
            )?;
            if now != from || still != count || usize::try_from(have).ok() != Some(parts) {
                return Ok(false);
            }
            db.execute(
                "INSERT INTO doc_snapshots (session, upto, data, gen, parts) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(session) DO UPDATE SET upto = excluded.upto, data = excluded.data,
                 gen = excluded.gen, parts = excluded.parts",
                &[
                    session.into(),
                    upto.into(),
                    V::Bytes(Vec::new()),
                    generation.into(),
                    i64::try_from(parts).unwrap_or(i64::MAX).into(),
                ],
            )?;
            Ok(true)
        })
    }

    /// After a switch to `generation`: deletes the other generations' parts, a part at a time,
    /// and the updates folded (`folded`, runs of about a slice), a run at a time; last, any
    /// through `upto` that a crash left.
    fn clean_up(&self, session: &str, generation: i64, folded: &[(i64, i64)], upto: i64) -> Result<(), StoreError> {
        // Each delete only while the row still names `generation`: a clean-up that stalled while
        // another node took the session, folded and switched, and gave it back, must not take
        // that fold's parts (its writes pass the fence again under the new lease).
        const OURS: &str = "EXISTS (SELECT 1 FROM doc_snapshots WHERE session = ?1 AND gen = ?2)";
        while self.write(session, |db| {
            db.execute(
                &format!(
                    "DELETE FROM doc_snapshot_parts WHERE session = ?1 AND (gen, idx) IN
                     (SELECT gen, idx FROM doc_snapshot_parts WHERE session = ?1 AND gen <> ?2 LIMIT 1) AND {OURS}"
                ),
                &[session.into(), generation.into()],
            )
        })? > 0
        {}
        for &(first, last) in folded.iter().chain(std::iter::once(&(i64::MIN, upto))) {
            self.write(session, |db| {
                db.execute(
                    &format!("DELETE FROM doc_updates WHERE session = ?1 AND seq >= ?3 AND seq <= ?4 AND {OURS}"),
                    &[session.into(), generation.into(), first.into(), last.into()],
                )
            })?;
        }
        Ok(())
    }

    /// Deletes generation `generation`'s parts (a fold that did not switch to them).
    fn drop_parts(&self, session: &str, generation: i64) -> Result<u64, StoreError> {
        self.write(session, |db| {
            db.execute(
                "DELETE FROM doc_snapshot_parts WHERE session = ?1 AND gen = ?2",
                &[session.into(), generation.into()],
            )
        })
    }
}

/// Runs `fold` on a thread of its own at the lowest priority, and waits for it.
fn aside(fold: impl FnOnce() -> Result<Vec<u8>, String> + Send) -> Result<Vec<u8>, String> {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("fold".into())
            .spawn_scoped(s, || {
                lowest_priority();
                fold()
            })
            .map_err(|e| format!("the fold's thread: {e}"))?
            .join()
            .unwrap_or_else(|_| Err("the fold panicked".into()))
    })
}

/// Lowers the calling thread to the lowest CPU priority (nice 19). Linux only: there a thread's
/// nice value is its own; elsewhere the same call would lower the whole process.
fn lowest_priority() {
    #[cfg(target_os = "linux")]
    {
        // One system call, with no safe wrapper in std.
        #[allow(unsafe_code)]
        // SAFETY: setpriority only reads its arguments; `who` 0 is the calling thread on Linux.
        let lowered = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) } == 0;
        if !lowered {
            tracing::debug!(error = %std::io::Error::last_os_error(), "the fold's thread keeps its priority");
        }
    }
}

/// Bytes of the session's snapshot, for [`super::fold_due`].
pub(super) fn snapshot_size(db: &mut dyn Db, session: &str) -> Result<i64, StoreError> {
    one(
        db,
        "SELECT LENGTH(s.data) + COALESCE((SELECT SUM(LENGTH(p.data)) FROM doc_snapshot_parts p
         WHERE p.session = s.session AND p.gen = s.gen), 0) FROM doc_snapshots s WHERE s.session = ?1",
        &[session.into()],
    )?
    .map_or(Ok(0), |v| v.int())
}

#[cfg(test)]
mod tests {
    use super::{SLICE, slices};

    #[test]
    fn the_log_is_read_and_deleted_in_runs_of_a_slice() {
        let s = SLICE as i64;
        assert_eq!(slices(&[]), []);
        assert_eq!(slices(&[(1, 10), (2, 10), (5, s - 20), (6, 1)]), [(1, 5), (6, 6)]);
        // A row bigger than a slice is a run of its own.
        assert_eq!(slices(&[(1, 2 * s), (2, 1), (3, 2 * s)]), [(1, 1), (2, 2), (3, 3)]);
    }
}
