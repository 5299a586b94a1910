//! Group commit across sessions. Each session writes what it made while its last write synced in
//! one transaction (`crate::appends`), but sessions wrote one after another, each with its own
//! commit: 1 000 sessions changing tempo 20 times a second asked 20 000 commits a second, which
//! Postgres did not keep up with (docs/BENCHMARKS.md, "What storing costs the fan-out").
//!
//! Now every session's write that arrives while another's transaction runs waits for the
//! database's lock, and whoever takes it first writes all of them waiting in one transaction,
//! with one commit (one sync of the disk) for all. A write that is refused (its lease lost:
//! fenced; its session deleted) writes nothing, and the others go on: its checks come first and
//! change no row. A statement the database fails, or a commit, fails every write in the
//! transaction: none of them is durable, and each session undoes what it lost, as before.

use super::log::LogSize;
use super::sql::Db;
use super::{Appended, Store, StoreError};
use std::sync::{Arc, Mutex};

/// A write's result: the session's log as read after it, if it was read.
pub(super) type Outcome = Result<Option<LogSize>, StoreError>;

/// One session's write, waiting.
#[derive(Debug)]
pub(super) struct Waiting {
    session: String,
    appended: Appended,
    /// Whether the store counts this session's log already (it is then not read again).
    counted: bool,
    done: Arc<Mutex<Option<Outcome>>>,
}

/// The writes a transaction took: each one not answered when it is dropped (the thread writing
/// them unwound) is answered with an error, so that its session is not left waiting.
struct Taken(Vec<(Waiting, Option<Outcome>)>);

impl Drop for Taken {
    fn drop(&mut self) {
        for (w, outcome) in self.0.drain(..) {
            let outcome = outcome.unwrap_or_else(|| Err(StoreError::Engine("the write's thread panicked".into())));
            *w.done.lock().expect("a write's answer") = Some(outcome);
        }
    }
}

/// `e` again, for each write a failed commit fails.
fn again(e: &StoreError) -> StoreError {
    match e {
        StoreError::Engine(m) => StoreError::Engine(m.clone()),
        StoreError::Fenced { session, token } => StoreError::Fenced { session: session.clone(), token: *token },
        StoreError::Deleted(s) => StoreError::Deleted(s.clone()),
        other => StoreError::Engine(other.to_string()),
    }
}

impl Store {
    /// Writes `appended` for `session` in the next group's transaction; durable when this returns
    /// `Ok`, and none of it written when `Err`.
    pub(super) fn append_grouped(&self, session: &str, appended: Appended, counted: bool) -> Outcome {
        let done = Arc::new(Mutex::new(None));
        self.waiting().push(Waiting { session: session.to_owned(), appended, counted, done: done.clone() });
        let mut db = self.db();
        // Written by the transaction that held the lock before: it answered before letting go.
        if let Some(outcome) = done.lock().expect("a write's answer").take() {
            return outcome;
        }
        let taken = Taken(std::mem::take(&mut *self.waiting()).into_iter().map(|w| (w, None)).collect());
        self.write_group(&mut **db, taken);
        drop(db);
        let outcome = done.lock().expect("a write's answer").take();
        outcome.unwrap_or_else(|| Err(StoreError::Engine("the write was not taken".into())))
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, Vec<Waiting>> {
        self.waiting.lock().expect("waiting lock poisoned")
    }

    /// One transaction for every write in `taken`.
    fn write_group(&self, db: &mut dyn Db, mut taken: Taken) {
        let fences = self.fences().clone();
        let all = super::sql::transaction(db, |tx| {
            for (w, outcome) in &mut taken.0 {
                let fence = fences.get(&w.session).copied();
                match super::lease::check_held(tx, &w.session, fence, true) {
                    Ok(()) => *outcome = Some(Ok(super::log::write_rows(tx, &w.session, &w.appended, w.counted)?)),
                    // Refused, with nothing of it written: the checks change no row.
                    Err(e @ (StoreError::Fenced { .. } | StoreError::Deleted(_))) => *outcome = Some(Err(e)),
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        });
        // The database failed a statement, or the commit: nothing of the transaction is durable.
        if let Err(e) = all {
            for (_, outcome) in &mut taken.0 {
                if !matches!(outcome, Some(Err(StoreError::Fenced { .. } | StoreError::Deleted(_)))) {
                    *outcome = Some(Err(again(&e)));
                }
            }
        }
        drop(taken);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Appended, Store, StoreError, StoredSession};
    use std::time::{Duration, Instant};

    /// Three sessions write while the database is held: the first to take it writes all three
    /// in one transaction; the one deleted meanwhile is refused, and the other two are durable.
    #[test]
    fn writes_waiting_together_are_one_transaction_and_a_refused_one_undoes_only_its_own() {
        let dir = std::env::temp_dir().join(format!("bandsync-group-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = std::sync::Arc::new(Store::open(&dir).unwrap());
        for id in ["a", "b", "c"] {
            let row = StoredSession {
                id: id.into(),
                name: id.into(),
                secret: "k".into(),
                leader_secret: None,
                viewer_secret: None,
                pin: None,
            };
            store.put_session(&row, 0).unwrap();
        }
        store.delete_session("b").unwrap();
        let held = store.db();
        let writers: Vec<_> = ["a", "b", "c"]
            .into_iter()
            .map(|id| {
                let store = store.clone();
                std::thread::spawn(move || {
                    let carried = Appended { carried: Some(format!("{{\"of\":\"{id}\"}}")), ..Appended::default() };
                    store.append(id, carried)
                })
            })
            .collect();
        let asked = Instant::now();
        while store.waiting().len() < 3 {
            assert!(asked.elapsed() < Duration::from_secs(10), "the three writes did not queue");
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(held);
        let results: Vec<_> = writers.into_iter().map(|w| w.join().unwrap()).collect();
        assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
        assert!(matches!(results[1], Err(StoreError::Deleted(ref id)) if id == "b"), "{results:?}");
        assert_eq!(store.carried("a").unwrap().as_deref(), Some("{\"of\":\"a\"}"));
        assert_eq!(store.carried("b").unwrap(), None);
        assert_eq!(store.carried("c").unwrap().as_deref(), Some("{\"of\":\"c\"}"));
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
