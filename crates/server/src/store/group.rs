//! Group commit across sessions. Each session writes what it made while its last write synced in
//! one transaction (`crate::appends`), but sessions wrote one after another, each with its own
//! commit: 1 000 sessions changing tempo 20 times a second asked 20 000 commits a second, which
//! Postgres did not keep up with (docs/BENCHMARKS.md, "What storing costs the fan-out").
//!
//! Now every session's write that arrives while another's transaction runs waits in one queue,
//! and one thread at a time (the lead) writes all of them waiting in one transaction, with one
//! commit (one sync of the disk) for all, and answers each on its channel: a session's task
//! waits for its answer without holding a thread. A write that is refused (its lease lost:
//! fenced; its session deleted) writes nothing, and the others go on: its checks come first and
//! change no row. A statement the database fails, or a commit, fails every write in the
//! transaction: none of them is durable, and each session undoes what it lost, as before.

use super::lease::{WriteCheck, check_writes};
use super::log::LogSize;
use super::sql::Db;
use super::{Appended, Store, StoreError};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// A write's result: the session's log as read after it, if it was read.
pub(super) type Outcome = Result<Option<LogSize>, StoreError>;

/// What a writer hears: whether the document's log is due to be folded ([`Store::append`]).
pub type Answer = Result<bool, StoreError>;

/// Where a write's answer goes.
#[derive(Debug)]
pub(super) enum AnswerTo {
    /// A thread blocked in [`Store::append`].
    Blocked(std::sync::mpsc::SyncSender<Answer>),
    /// A session's task, which goes on meanwhile ([`Store::append_queued`]).
    Queued(tokio::sync::oneshot::Sender<Answer>),
}

impl AnswerTo {
    fn send(self, answer: Answer) {
        // A writer that is gone (its session ended) no longer needs to hear.
        match self {
            AnswerTo::Blocked(tx) => drop(tx.send(answer)),
            AnswerTo::Queued(tx) => drop(tx.send(answer)),
        }
    }
}

/// One session's write, waiting.
#[derive(Debug)]
pub(super) struct Waiting {
    session: String,
    appended: Appended,
    /// The lease this node held when the write was asked for: a lease let go and taken again
    /// while it waited does not let it through.
    fence: Option<i64>,
    reply: AnswerTo,
}

/// The writes a transaction took, each with whether the store counts its session's log already
/// (it is then not read again), and its outcome once the transaction has ended.
struct Taken(Vec<(Waiting, bool, Option<Outcome>)>);

impl Store {
    /// Writes `appended` for `session` in the next group's transaction; durable when this returns
    /// `Ok`, and none of it written when `Err`. When no thread is writing the groups, the
    /// caller's does, and goes on writing them (other sessions' too) until none waits.
    pub(super) fn append_grouped(&self, session: &str, appended: Appended) -> Answer {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.queue(session, appended, AnswerTo::Blocked(tx));
        if !self.leading.swap(true, Ordering::SeqCst) {
            self.lead();
        }
        rx.recv().unwrap_or_else(|_| Err(StoreError::Engine("the write was not answered".into())))
    }

    /// [`Store::append`] without a thread waiting for it: the answer comes on the receiver.
    /// When no thread is writing the groups, one of the runtime's blocking pool does, while
    /// writes wait: a thousand sessions writing at once wait in one queue, not in a thousand
    /// threads taking the database's lock in turn.
    pub fn append_queued(
        self: &Arc<Self>,
        session: &str,
        appended: Appended,
    ) -> tokio::sync::oneshot::Receiver<Answer> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.queue(session, appended, AnswerTo::Queued(tx));
        if !self.leading.swap(true, Ordering::SeqCst) {
            // Given up if the task is dropped unrun (a runtime shutting down): nobody would lead.
            let lead = Unled(Some(self.clone()));
            tokio::task::spawn_blocking(move || {
                let mut lead = lead;
                if let Some(store) = lead.0.take() {
                    store.lead();
                }
            });
        }
        rx
    }

    /// Gives up the lead for good: whatever waits hears `why`. Only when the thread leading can
    /// lead no more (it unwound, or never started); the next write leads again.
    fn abandon(&self, why: &str) {
        let left = {
            // Let go under the queue's lock: a write queued after it finds the lead free.
            let mut waiting = self.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            self.leading.store(false, Ordering::SeqCst);
            std::mem::take(&mut *waiting)
        };
        for w in left {
            w.reply.send(Err(StoreError::Engine(why.to_owned())));
        }
    }

    fn queue(&self, session: &str, appended: Appended, reply: AnswerTo) {
        let fence = self.fences().get(session).copied();
        self.waiting().push(Waiting { session: session.to_owned(), appended, fence, reply });
    }

    /// Writes groups while writes wait, then lets go of the lead (`leading`).
    fn lead(&self) {
        let _unwinding = Unwinding(self, std::thread::panicking());
        loop {
            // The database first: what is queued while it is busy goes into this group.
            let mut db = self.db();
            let batch = std::mem::take(&mut *self.waiting());
            let mut taken = {
                let logs = self.logs();
                Taken(
                    batch
                        .into_iter()
                        .map(|w| (logs.contains_key(&w.session), w))
                        .map(|(counted, w)| (w, counted, None))
                        .collect(),
                )
            };
            // A panic partway rolls the transaction back and leaves every write without an
            // outcome: each hears an error below, and the groups go on.
            if !taken.0.is_empty() {
                let write = std::panic::AssertUnwindSafe(|| write_group(&mut **db, &mut taken));
                if std::panic::catch_unwind(write).is_err() {
                    tracing::error!("a group's write panicked; none of its writes was stored");
                }
            }
            drop(db);
            for (w, _, outcome) in taken.0 {
                let sizes: Vec<usize> = w.appended.updates.iter().map(Vec::len).collect();
                let answer = match outcome {
                    Some(read) => read.map(|read| self.logged(&w.session, &sizes, read)),
                    None => Err(StoreError::Engine("the write's transaction panicked".into())),
                };
                w.reply.send(answer);
            }
            // Let go under the queue's lock, as `abandon` does: a write is queued before its
            // writer looks for a lead, so one queued after this finds the lead free.
            let waiting = self.waiting();
            if waiting.is_empty() {
                self.leading.store(false, Ordering::SeqCst);
                return;
            }
        }
    }

    pub(super) fn waiting(&self) -> std::sync::MutexGuard<'_, Vec<Waiting>> {
        self.waiting.lock().expect("waiting lock poisoned")
    }
}

/// The lead of a blocking task that has not run yet: given up if the task is dropped unrun.
struct Unled(Option<Arc<Store>>);

impl Drop for Unled {
    fn drop(&mut self) {
        if let Some(store) = self.0.take() {
            store.abandon("the store's writer did not start (the runtime is shutting down)");
        }
    }
}

/// Held by [`Store::lead`]: if it unwinds past the group's own `catch_unwind`, the lead is given
/// up and the writes waiting are answered, instead of waiting for a leader that is gone. (Not
/// when the thread was unwinding already as it began to lead: that is not the lead's panic.)
struct Unwinding<'a>(&'a Store, bool);

impl Drop for Unwinding<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() && !self.1 {
            self.0.abandon("the store's writer panicked");
        }
    }
}

/// `e` again, for each write a failed transaction fails (a statement's or the commit's error:
/// refusals are each write's own, never the transaction's).
fn again(e: &StoreError) -> StoreError {
    match e {
        StoreError::Engine(m) => StoreError::Engine(m.clone()),
        other => StoreError::Engine(other.to_string()),
    }
}

/// One transaction for every write in `taken`. The outcomes are set only once the transaction
/// has ended: after a panic partway (rolled back), every write is without one, and none is told
/// it was written.
fn write_group(db: &mut dyn Db, taken: &mut Taken) {
    let refused = |o: &Outcome| matches!(o, Err(StoreError::Fenced { .. } | StoreError::Deleted(_)));
    let mut answers: Vec<Outcome> = Vec::new();
    let all = super::sql::transaction(db, |tx| {
        answers.clear();
        let checks: Vec<WriteCheck<'_>> =
            taken.0.iter().map(|(w, _, _)| WriteCheck { session: &w.session, fence: w.fence, stored: true }).collect();
        let mut carried: Vec<super::CarriedRow<'_>> = Vec::new();
        for ((w, counted, _), check) in taken.0.iter().zip(check_writes(tx, &checks)?) {
            match check {
                Ok(()) => {
                    answers.push(Ok(super::log::write_rows(tx, &w.session, &w.appended, *counted)?));
                    let roster = w.appended.roster.as_deref();
                    carried.extend(w.appended.carried.as_deref().map(|json| (w.session.as_str(), json, roster)));
                }
                // Refused, with nothing of it written: the checks change no row.
                Err(e @ (StoreError::Fenced { .. } | StoreError::Deleted(_))) => answers.push(Err(e)),
                Err(e) => return Err(e),
            }
        }
        // What the sessions carry, in one statement rather than one each: at 20 000 writes a
        // second, each its own round trip was more than one connection to Postgres makes.
        super::put_carried(tx, &carried)
    });
    let mut answers = answers.into_iter();
    for (_, _, outcome) in &mut taken.0 {
        let answer = answers.next();
        *outcome = Some(match (&all, answer) {
            (Ok(()), Some(a)) => a,
            // The database failed a statement, or the commit: nothing of the transaction is
            // durable. A refusal stays what it was.
            (Err(_), Some(a)) if refused(&a) => a,
            (Err(e), _) => Err(again(e)),
            (Ok(()), None) => Err(StoreError::Engine("the write was not answered".into())),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::sql::{Db, Row, V};
    use super::super::{Appended, Store, StoreError, StoredSession};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    /// What the database does with session `c`'s carried state.
    #[derive(Debug, Clone, Copy)]
    enum C {
        Writes,
        Fails,
        Panics,
    }

    /// SQLite, counting the transactions begun, and doing to `c`'s write what the test says.
    #[derive(Debug)]
    struct Watched {
        inner: Box<dyn Db>,
        begun: Arc<AtomicUsize>,
        c: C,
    }

    impl Db for Watched {
        fn execute(&mut self, sql: &str, params: &[V]) -> Result<u64, StoreError> {
            if sql.starts_with("INSERT INTO carried") && params.contains(&V::Text("c".into())) {
                match self.c {
                    C::Writes => {}
                    C::Fails => return Err(StoreError::Engine("refused by the test".into())),
                    C::Panics => panic!("a statement that panics"),
                }
            }
            self.inner.execute(sql, params)
        }
        fn query(&mut self, sql: &str, params: &[V]) -> Result<Vec<Row>, StoreError> {
            self.inner.query(sql, params)
        }
        fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
            if sql == "BEGIN" {
                self.begun.fetch_add(1, Ordering::SeqCst);
            }
            self.inner.batch(sql)
        }
        fn engine(&self) -> &'static str {
            self.inner.engine()
        }
    }

    /// Session `id`'s row.
    fn session_row(id: &str) -> StoredSession {
        StoredSession {
            id: id.into(),
            name: id.into(),
            secret: "k".into(),
            leader_secret: None,
            viewer_secret: None,
            pin: None,
        }
    }

    /// A store in a temp folder of its own, removed when this drops.
    struct Held(Arc<Store>, std::path::PathBuf);

    impl Drop for Held {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.1);
        }
    }

    /// A write's answer (`None` if its thread panicked, which the group's writer never lets
    /// happen: it answers each write).
    type Answer = Option<Result<bool, StoreError>>;

    /// Sessions a, b and c (b deleted) each write their carried state, and a a document update
    /// too, while the database is held, then it is let go. Returns each write's result, what is
    /// stored of each, whether a's update is, and how many transactions the three took.
    /// The store lives on in the returned [`Held`] for what a test does after.
    fn three_writes_held(tag: &str, c: C) -> (Vec<Answer>, Vec<Option<String>>, bool, usize, Held) {
        let dir = std::env::temp_dir().join(format!("bandsync-group-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let begun = Arc::new(AtomicUsize::new(0));
        let inner = Box::new(super::super::sqlite::Sqlite::open(&dir).unwrap());
        let store = Arc::new(Store::on(Box::new(Watched { inner, begun: begun.clone(), c })));
        for id in ["a", "b", "c"] {
            store.put_session(&session_row(id), 0).unwrap();
        }
        store.delete_session("b").unwrap();
        let held = store.db();
        let writers: Vec<_> = ["a", "b", "c"]
            .into_iter()
            .map(|id| {
                let store = store.clone();
                std::thread::spawn(move || {
                    let carried = Some(format!("{{\"of\":\"{id}\"}}"));
                    // A row written before the carried states: a failure after it must undo it.
                    let updates = if id == "a" { vec![b"an edit".to_vec()] } else { Vec::new() };
                    store.append(id, Appended { carried, updates, ..Appended::default() })
                })
            })
            .collect();
        let asked = Instant::now();
        while store.waiting().len() < 3 {
            assert!(asked.elapsed() < Duration::from_secs(10), "the three writes did not queue");
            std::thread::sleep(Duration::from_millis(1));
        }
        let before = begun.load(Ordering::SeqCst);
        drop(held);
        let results: Vec<_> = writers.into_iter().map(|w| w.join().ok()).collect();
        let transactions = begun.load(Ordering::SeqCst) - before;
        let stored = ["a", "b", "c"].map(|id| store.carried(id).unwrap().map(|c| c.0)).to_vec();
        let updated = !store.document("a").unwrap().1.is_empty();
        (results, stored, updated, transactions, Held(store, dir))
    }

    /// The first to take the database writes all three in one transaction; the deleted one is
    /// refused, and the other two are durable.
    #[test]
    fn writes_waiting_together_are_one_transaction_and_a_refused_one_writes_nothing() {
        let (results, stored, updated, transactions, _store) = three_writes_held("refused", C::Writes);
        assert_eq!(transactions, 1, "{results:?}");
        assert!(matches!(results[0], Some(Ok(_))) && matches!(results[2], Some(Ok(_))), "{results:?}");
        assert!(matches!(results[1], Some(Err(StoreError::Deleted(ref id))) if id == "b"), "{results:?}");
        assert_eq!(stored, [Some("{\"of\":\"a\"}".into()), None, Some("{\"of\":\"c\"}".into())]);
        assert!(updated);
    }

    /// A statement the database fails fails the whole transaction: nobody is told it was
    /// written, and nothing of it is stored.
    #[test]
    fn a_failed_statement_fails_every_write_of_its_transaction() {
        let (results, stored, updated, _, _store) = three_writes_held("failed", C::Fails);
        assert!(matches!(results[0], Some(Err(StoreError::Engine(_)))), "{results:?}");
        // The checks come before any write: the deleted one is refused, whatever fails after.
        assert!(matches!(results[1], Some(Err(StoreError::Deleted(_)))), "{results:?}");
        assert!(matches!(results[2], Some(Err(StoreError::Engine(_)))), "{results:?}");
        assert_eq!(stored, [None, None, None]);
        assert!(!updated, "a's update, written before the failure, was rolled back");
    }

    /// A panic partway rolls the transaction back: every write of it hears an error, none is
    /// told it was written, and no thread unwinds (the one writing goes on to the next group).
    #[test]
    fn after_a_panic_nobody_is_told_a_write_was_stored() {
        let (results, stored, updated, _, held) = three_writes_held("panicked", C::Panics);
        let store = &held.0;
        assert!(results.iter().all(|r| matches!(r, Some(Err(_)))), "{results:?}");
        assert_eq!(stored, [None, None, None]);
        assert!(!updated, "a's update, written before the panic, was rolled back");
        // The groups go on.
        store.append("a", Appended { carried: Some("{}".into()), ..Appended::default() }).unwrap();
        assert_eq!(store.carried("a").unwrap(), Some(("{}".into(), None)));
    }

    /// The members are written only when they change: a schedule without them keeps the ones
    /// stored, and of two writes of one session in a transaction, the last schedule and the
    /// last roster are kept.
    #[test]
    fn a_carried_state_without_its_roster_keeps_the_one_stored() {
        let held = crate::store::TestStore::new("roster");
        let store = &held.store;
        let put = |rows: &[(&'static str, Option<&'static str>)]| {
            let rows: Vec<super::super::CarriedRow<'_>> = rows.iter().map(|&(d, r)| ("s", d, r)).collect();
            super::super::sql::transaction(&mut **store.db(), |tx| super::super::put_carried(tx, &rows)).unwrap();
        };
        put(&[("1", Some("[a]"))]);
        put(&[("2", None)]);
        assert_eq!(store.carried("s").unwrap(), Some(("2".into(), Some("[a]".into()))));
        put(&[("3", Some("[b]")), ("4", None)]);
        assert_eq!(store.carried("s").unwrap(), Some(("4".into(), Some("[b]".into()))));
        let appended = Appended { carried: Some("5".into()), roster: Some("[c]".into()), ..Appended::default() };
        store.append("s", appended).unwrap();
        assert_eq!(store.carried("s").unwrap(), Some(("5".into(), Some("[c]".into()))), "through a group's write");
    }

    /// A runtime shutting down drops a writer's task unrun: the lead is given up, the write
    /// waiting hears so (rather than waiting for good), and the next write leads again.
    #[test]
    fn a_lead_that_never_starts_is_given_up_and_its_write_hears_so() {
        let held = super::super::TestStore::new("group-unled");
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).build().unwrap();
        let handle = rt.handle().clone();
        drop(rt);
        let mut answer = {
            let _runtime = handle.enter();
            held.store.append_queued("s", Appended { carried: Some("{}".into()), ..Appended::default() })
        };
        let asked = Instant::now();
        let heard = loop {
            match answer.try_recv() {
                Ok(heard) => break heard,
                Err(_) => assert!(asked.elapsed() < Duration::from_secs(10), "the write was never answered"),
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        assert!(matches!(heard, Err(StoreError::Engine(ref why)) if why.contains("did not start")), "{heard:?}");
        held.store.append("s", Appended { carried: Some("{}".into()), ..Appended::default() }).unwrap();
    }

    /// Sessions' tasks writing at once through the queue: one writer at a time writes their
    /// groups, each hears its answer, and all of it is stored.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_sessions_writing_at_once_through_the_queue_are_all_answered_and_stored() {
        let held = super::super::TestStore::new("group-queued");
        let store = held.store.clone();
        let ids: Vec<String> = (0..200).map(|i| format!("s{i}")).collect();
        for id in &ids {
            store.put_session(&session_row(id), 0).unwrap();
        }
        for round in 0..5 {
            let asked: Vec<_> = ids
                .iter()
                .map(|id| {
                    store.append_queued(id, Appended { carried: Some(format!("{round}")), ..Appended::default() })
                })
                .collect();
            for answer in asked {
                answer.await.expect("answered").expect("written");
            }
        }
        for id in &ids {
            assert_eq!(store.carried(id).unwrap().map(|c| c.0).as_deref(), Some("4"), "{id}");
        }
        // The last answer goes just before the lead is let go.
        let answered = Instant::now();
        while store.leading.load(Ordering::SeqCst) {
            assert!(answered.elapsed() < Duration::from_secs(10), "the lead is let go once none waits");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}
