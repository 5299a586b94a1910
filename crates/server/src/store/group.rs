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
            let asked = std::time::Instant::now(); // For the log: where a group's time goes.
            let mut db = self.db();
            let got = asked.elapsed();
            let batch = std::mem::take(&mut *self.waiting());
            let mut taken = {
                let logs = self.logs();
                Taken(
                    batch
                        .into_iter()
                        .map(|w| {
                            let counted = logs.contains_key(&w.session);
                            (w, counted, None)
                        })
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
            tracing::debug!(
                writes = taken.0.len(),
                waited_ms = got.as_secs_f64() * 1e3,
                ms = (asked.elapsed() - got).as_secs_f64() * 1e3,
                "a group of writes ended"
            );
            for (w, _, outcome) in taken.0 {
                let answer = match outcome {
                    Some(read) => read.map(|read| self.logged(&w.session, &w.appended.updates, read)),
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
                // Refused (fenced, or its session deleted), with nothing of it written: the checks
                // change no row, and fail the transaction through `?` above, not here.
                Err(e) => answers.push(Err(e)),
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
mod tests;
