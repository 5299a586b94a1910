//! Where a session is placed for a member about to connect ([`Placement`]), and a node's
//! attempts to place sessions ([`Placing`]): the members' turns to load one, and the attempts
//! under way, which the members of one session share (`crate::nodes`).

use std::collections::HashMap;
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

/// A node's placing of sessions: the members' turns to load one (one at a time, waited for before
/// a blocking thread is taken), and the attempts under way, which the members of the same session
/// share.
#[derive(Debug)]
pub struct Placing {
    turns: Arc<tokio::sync::Semaphore>,
    /// By session: the outcome of the attempt under way (`None` until it ends).
    under_way: std::sync::Mutex<HashMap<Arc<str>, watch::Receiver<Option<Placement>>>>,
    /// Attempts made since the node started, each a read of the store (in the load log).
    attempts: AtomicU64,
}

impl Default for Placing {
    fn default() -> Self {
        Placing {
            turns: Arc::new(tokio::sync::Semaphore::new(1)),
            under_way: std::sync::Mutex::default(),
            attempts: AtomicU64::new(0),
        }
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
    /// The turns to load a session: one at a time.
    pub(crate) fn turns(&self) -> Arc<tokio::sync::Semaphore> {
        self.turns.clone()
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
