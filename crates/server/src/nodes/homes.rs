//! How a node brings back the sessions that moved off it while it was away (killed, cut off
//! from the database, or drained for a restart). Their new holders keep them until their
//! members reconnect, and nothing makes them: a node back after a restart held nothing, and
//! another node held its share on top of its own; killed in turn, it moved half again as many
//! sessions, and its failover took over 5 s (`docs/BENCHMARKS.md`). The proxy's consistent hash
//! sends a session's members to the same node once that node is back, so the node asks for the
//! sessions whose home it is (`home` in `store/take.rs`): their holders hand them over, and
//! their members reconnect to it.

use crate::hub::Hub;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How many sessions a node asks back at a tick (a quarter of the lease time): 128 a second
/// with the default lease of 2 s, so that their members reconnect in waves, not all at once.
const AT_MOST: usize = 64;

/// A node's asking for its sessions back.
pub(super) struct Homecoming {
    /// From when: a lease time after the node started, or after the database last failed to
    /// answer it (cut off, its health check failed), by when the proxy's checks have brought
    /// it in (`docs/SCALING.md`: `inter` × `rise` well within the lease). Asked before, the
    /// members would reconnect to the node holding the session, which would take it again.
    from: Instant,
    lease_ttl: Duration,
    /// The ask under way: one at a time (the database may be slow to answer).
    asking: Option<tokio::task::JoinHandle<()>>,
    /// Set once an ask found none to ask for, and none left whose rows were held: every session
    /// whose home this node is was asked for (each is asked for once: `store/take.rs`). It asks
    /// again only after it was cut off, when it may have lost leases; until then it scans the
    /// leases no more.
    done: Arc<AtomicBool>,
    /// How many times the node was cut off: an ask started before the last time says nothing of
    /// the leases lost since, and does not set `done`.
    cut_offs: Arc<AtomicU64>,
}

impl Homecoming {
    pub(super) fn new(lease_ttl: Duration) -> Self {
        Self {
            from: Instant::now() + lease_ttl,
            lease_ttl,
            asking: None,
            done: Arc::default(),
            cut_offs: Arc::default(),
        }
    }
}

impl Hub {
    /// Asks for a batch of this node's sessions back, at a renewal's tick, unless an ask is
    /// under way, it is too early (see [`Homecoming`]), all were asked for (`done`), or the
    /// node is draining.
    pub(super) fn ask_for_homes(self: &Arc<Self>, homes: &mut Homecoming) {
        if self.cut_off() {
            homes.from = Instant::now() + homes.lease_ttl;
            homes.cut_offs.fetch_add(1, Ordering::AcqRel);
            homes.done.store(false, Ordering::Release);
        }
        let busy = homes.asking.as_ref().is_some_and(|a| !a.is_finished());
        if Instant::now() < homes.from || self.draining() || busy || homes.done.load(Ordering::Acquire) {
            return;
        }
        let (hub, done, cut_offs) = (self.clone(), homes.done.clone(), homes.cut_offs.clone());
        let since = cut_offs.load(Ordering::Acquire);
        let span = tracing::Span::current();
        homes.asking = Some(tokio::task::spawn_blocking(move || {
            let _node = span.enter();
            let Some((node, store)) = hub.node_store() else { return };
            match hub.ask_once() {
                // None asked for: done, unless some were passed over (their rows held), or it drained.
                Ok(0) => {
                    if !hub.draining()
                        && store.homes_left(&node.name).is_ok_and(|left| !left)
                        && cut_offs.load(Ordering::Acquire) == since
                    {
                        done.store(true, Ordering::Release);
                    }
                }
                Ok(n) => tracing::info!(sessions = n, "asking for the sessions back that moved off this node"),
                // Asked again at the next tick.
                Err(e) => tracing::warn!("could not ask for this node's sessions back: {e}"),
            }
        }));
    }

    /// One ask for this node's sessions back ([`crate::store::Store::claim_homes`]): how many it
    /// asked for. A drain that began while it was under way may have withdrawn the node's asks
    /// before this one was written (`drain`); then this one is withdrawn too, and none was asked
    /// for: handed to a node leaving, the sessions would lose their home (`store/take.rs`). So is
    /// one whose answer was lost (it may have been written).
    pub(super) fn ask_once(&self) -> Result<u64, crate::store::StoreError> {
        let Some((node, store)) = self.node_store() else { return Ok(0) };
        let asked = store.claim_homes(&node.name, AT_MOST);
        if self.draining() && !matches!(asked, Ok(0)) {
            if let Err(e) = store.withdraw_asks(&node.name) {
                tracing::warn!("could not withdraw this draining node's asks for sessions: {e}");
            }
            return asked.map(|_| 0);
        }
        asked
    }
}
