//! Where a session is placed for a member about to connect ([`Placement`]), and a node's
//! attempts to place sessions ([`Placing`]): the loads, one after another on a thread of their
//! own, and the attempts under way, which the members of one session share (`crate::nodes`).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::watch;

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

/// A node's placing of sessions: the loads (one at a time, in the order asked, on a blocking
/// thread that runs them one after another while any is queued), and the attempts under way,
/// which the members of the same session share.
#[derive(Debug, Default)]
pub struct Placing {
    loads: Arc<std::sync::Mutex<Loads>>,
    /// By session: the outcome of the attempt under way (`None` until it ends).
    under_way: std::sync::Mutex<HashMap<Arc<str>, watch::Receiver<Option<Placement>>>>,
    /// Attempts made since the node started, each a read of the store (in the load log).
    attempts: AtomicU64,
}

/// A load asked for: it runs on the loads' thread.
pub(crate) type LoadJob = Box<dyn FnOnce() + Send>;

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
    /// none runs). Loads each took a turn before: a semaphore's, then a blocking thread's. On a
    /// node taking over hundreds of sessions, with its workers busy with the members' traffic,
    /// the hand-overs between turns took longer than the loads: 50 loads a second, each 5–7 ms.
    /// Must be called inside a tokio runtime.
    pub(crate) fn load(&self, load: LoadJob) {
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
                let next = {
                    let mut loads = all.lock().expect("loads lock poisoned");
                    let next = loads.queued.pop_front();
                    loads.running = next.is_some();
                    next
                };
                let Some(next) = next else { break };
                // A load that panics drops its answer (its member hears so), and the next goes on.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(next));
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn loads_run_one_at_a_time_in_order_and_one_that_panics_stops_none() {
        let placing = Placing::default();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let running = Arc::new(AtomicU64::new(0));
        for i in 0..20 {
            let (tx, running) = (tx.clone(), running.clone());
            placing.load(Box::new(move || {
                let alone = running.fetch_add(1, Ordering::SeqCst) == 0;
                std::thread::sleep(std::time::Duration::from_millis(2));
                running.fetch_sub(1, Ordering::SeqCst);
                assert!(i != 7, "load 7 panics");
                tx.send((i, alone)).unwrap();
            }));
        }
        drop(tx);
        // Every load ran (or was dropped with its sender) within the minute: a queue stuck after
        // the panic fails here rather than hanging.
        let ran = tokio::time::timeout(std::time::Duration::from_secs(60), async {
            let mut ran = Vec::new();
            while let Some(r) = rx.recv().await {
                ran.push(r);
            }
            ran
        })
        .await
        .expect("the queue went on after the panic");
        let expected: Vec<(u32, bool)> = (0..20).filter(|&i| i != 7).map(|i| (i, true)).collect();
        assert_eq!(ran, expected);
        // The queue ran dry and its thread ended: the next load starts another.
        while placing.loads.lock().unwrap().running {
            tokio::task::yield_now().await;
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        placing.load(Box::new(move || tx.send(()).unwrap()));
        tokio::time::timeout(std::time::Duration::from_secs(60), rx).await.expect("a new thread ran it").unwrap();
    }
}
