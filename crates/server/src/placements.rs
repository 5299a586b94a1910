//! Where a session is placed for a member about to connect ([`Placement`]), and a node's
//! attempts to place sessions ([`Placing`]): the loads, in batches one after another on a thread
//! of their own, and the attempts under way, which the members of one session share (`crate::nodes`).

use crate::store::lease::Lease;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::{oneshot, watch};

/// Where a session is, for a member about to connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// On this node (or this is no cluster): serve the member.
    Here,
    /// Nowhere: no such session.
    Unknown,
    /// Another node holds it still: retry shortly.
    Elsewhere,
}

/// A node's placing of sessions: the loads (in batches, one batch at a time, in the order asked,
/// on a blocking thread that runs them while any is queued), and the attempts under way,
/// which the members of the same session share.
#[derive(Debug, Default)]
pub struct Placing {
    loads: Arc<std::sync::Mutex<Loads>>,
    /// By session: the outcome of the attempt under way (`None` until it ends).
    under_way: std::sync::Mutex<HashMap<Arc<str>, watch::Receiver<Option<Placement>>>>,
    /// Attempts made since the node started, each a read of the store (in the load log).
    attempts: AtomicU64,
}

/// How many queued loads run together: each of their reads and their takes is one statement for
/// them all (`crate::nodes`).
pub(crate) const LOAD_BATCH: usize = 64;

/// What a load found (`crate::nodes`).
#[derive(Debug)]
pub(crate) enum Load {
    Loaded,
    NotStored,
    /// Another node holds it: the lease as read (`None` when it could not be read).
    Held(Option<Lease>),
    /// Another node took the lease while the member waited: left alone.
    TakenMeanwhile,
}

/// A load asked for: it runs on the loads' thread, with those queued beside it.
#[derive(Debug)]
pub(crate) struct LoadJob {
    /// The session.
    pub(crate) id: String,
    /// To ask its holder for it, if another node holds it.
    pub(crate) ask: bool,
    /// The lease another node held at the member's last attempt.
    pub(crate) waited_on: Option<Lease>,
    /// Set when its member stops waiting: nothing is read or taken for it after.
    pub(crate) gave_up: Arc<AtomicBool>,
    /// Set when its batch begins.
    pub(crate) begun: Arc<AtomicBool>,
    /// When its member arrived (for the log).
    pub(crate) arrived: Instant,
    /// Where its outcome goes (an error in words), once: `None` once told.
    pub(crate) answer: Option<oneshot::Sender<Result<Load, String>>>,
}

impl LoadJob {
    /// Whether its member stopped waiting.
    pub(crate) fn given_up(&self) -> bool {
        self.gave_up.load(Ordering::Acquire)
    }

    /// Tells its member the outcome, if it was not told one already.
    pub(crate) fn tell(&mut self, outcome: Result<Load, String>) {
        if let Some(answer) = self.answer.take() {
            let _ = answer.send(outcome);
        }
    }

    /// Whether its member was told its outcome.
    pub(crate) fn told(&self) -> bool {
        self.answer.is_none()
    }
}

/// What runs a batch of loads, answering each.
pub(crate) type LoadRunner = Arc<dyn Fn(Vec<LoadJob>) + Send + Sync>;

/// The loads queued, and whether a thread runs them.
#[derive(Default)]
struct Loads {
    queued: VecDeque<LoadJob>,
    running: bool,
}

impl std::fmt::Debug for Loads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loads").field("queued", &self.queued.len()).field("running", &self.running).finish()
    }
}

/// The member whose attempt the others of its session wait for: tells them its outcome, and
/// unlists the attempt when it ends (or its member went away first: the others then try).
pub(crate) struct First<'a> {
    placing: &'a Placing,
    id: Arc<str>,
    tell: watch::Sender<Option<Placement>>,
}

impl Drop for First<'_> {
    fn drop(&mut self) {
        let mut under_way = self.placing.under_way.lock().expect("placing lock poisoned");
        if under_way.get(&self.id).is_some_and(|rx| rx.same_channel(&self.tell.subscribe())) {
            under_way.remove(&self.id);
        }
    }
}

impl First<'_> {
    /// Tells the members waiting for this attempt its outcome.
    pub(crate) fn tell(&self, placed: Placement) {
        self.tell.send_replace(Some(placed));
    }
}

impl Placing {
    /// Queues `load`, to run after those queued before it, on the loads' thread (started if
    /// none runs, with `run`: a thread already running goes on with the runner it started with),
    /// in a batch of up to [`LOAD_BATCH`] of those queued when its turn comes, in the order asked. Loads each took a turn before: a semaphore's, then a blocking thread's.
    /// On a node taking over hundreds of sessions, with its workers busy with the members'
    /// traffic, the hand-overs between turns took longer than the loads: 50 loads a second, each
    /// 5–7 ms. Must be called inside a tokio runtime.
    pub(crate) fn load(&self, load: LoadJob, run: LoadRunner) {
        {
            let mut loads = self.loads.lock().expect("loads lock poisoned");
            loads.queued.push_back(load);
            if loads.running {
                return;
            }
            loads.running = true;
        }
        let all = self.loads.clone();
        tokio::task::spawn_blocking(move || {
            loop {
                let batch: Vec<LoadJob> = {
                    let mut loads = all.lock().expect("loads lock poisoned");
                    let n = loads.queued.len().min(LOAD_BATCH);
                    loads.running = n > 0;
                    loads.queued.drain(..n).collect()
                };
                if batch.is_empty() {
                    break;
                }
                // A batch that panics drops its answers (its members hear so), and the next goes on.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(batch)));
            }
        });
    }

    /// Counts an attempt; returns how many were made so far.
    pub(crate) fn attempted(&self) -> u64 {
        self.attempts.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Attempts made so far.
    #[must_use]
    pub fn attempts(&self) -> u64 {
        self.attempts.load(Ordering::Relaxed)
    }

    /// This member's attempt at `id`, or the one under way to wait for.
    pub(crate) fn join(&self, id: &str) -> Result<First<'_>, watch::Receiver<Option<Placement>>> {
        let mut under_way = self.under_way.lock().expect("placing lock poisoned");
        if let Some(rx) = under_way.get(id) {
            return Err(rx.clone());
        }
        let (tell, rx) = watch::channel(None);
        let id: Arc<str> = id.into();
        under_way.insert(id.clone(), rx);
        Ok(First { placing: self, id, tell })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str) -> (LoadJob, oneshot::Receiver<Result<Load, String>>) {
        let (answer, rx) = oneshot::channel();
        let (gave_up, begun) = (Arc::default(), Arc::default());
        (
            LoadJob {
                id: id.into(),
                ask: false,
                waited_on: None,
                gave_up,
                begun,
                arrived: Instant::now(),
                answer: Some(answer),
            },
            rx,
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn loads_run_in_batches_one_at_a_time_in_order_and_one_that_panics_stops_none() {
        let placing = Placing::default();
        let (batches, running) = (Arc::new(std::sync::Mutex::new(Vec::new())), Arc::new(AtomicU64::new(0)));
        let (b, r) = (batches.clone(), running.clone());
        let run: LoadRunner = Arc::new(move |jobs: Vec<LoadJob>| {
            let alone = r.fetch_add(1, Ordering::SeqCst) == 0;
            std::thread::sleep(std::time::Duration::from_millis(5));
            r.fetch_sub(1, Ordering::SeqCst);
            let ids: Vec<String> = jobs.iter().map(|j| j.id.clone()).collect();
            b.lock().unwrap().push((ids.clone(), alone));
            assert!(!ids.contains(&"7".to_owned()), "the batch of load 7 panics");
            for mut j in jobs {
                j.tell(Ok(Load::NotStored));
            }
        });
        let mut answers = Vec::new();
        for i in 0..200 {
            let (j, rx) = job(&i.to_string());
            placing.load(j, run.clone());
            answers.push(rx);
        }
        // Every load was answered, or dropped with its batch, within the minute: a queue stuck
        // after the panic fails here rather than hanging.
        let mut answered = Vec::new();
        for (i, rx) in answers.into_iter().enumerate() {
            let a = tokio::time::timeout(std::time::Duration::from_secs(60), rx).await.expect("the queue went on");
            answered.push((i, a.is_ok()));
        }
        let batches = batches.lock().unwrap().clone();
        // In the order asked, one batch at a time, none larger than LOAD_BATCH, and the loads
        // queued while one ran went together.
        let order: Vec<String> = batches.iter().flat_map(|(ids, _)| ids.clone()).collect();
        assert_eq!(order, (0..200).map(|i| i.to_string()).collect::<Vec<_>>());
        assert!(batches.iter().all(|(ids, alone)| *alone && ids.len() <= LOAD_BATCH));
        assert!(batches.len() < 200, "no batch of more than one: {batches:?}");
        // Only the panicking batch's loads went unanswered.
        let lost: Vec<usize> = answered.iter().filter(|(_, ok)| !ok).map(|(i, _)| *i).collect();
        let with_7 = batches.iter().find(|(ids, _)| ids.contains(&"7".to_owned())).unwrap();
        assert_eq!(lost, with_7.0.iter().map(|i| i.parse::<usize>().unwrap()).collect::<Vec<_>>());
        // The queue ran dry and its thread ended: the next load starts another.
        while placing.loads.lock().unwrap().running {
            tokio::task::yield_now().await;
        }
        let (j, rx) = job("next");
        placing.load(j, run);
        let next = tokio::time::timeout(std::time::Duration::from_secs(60), rx).await.expect("a new thread ran it");
        assert!(matches!(next, Ok(Ok(Load::NotStored))));
    }
}
