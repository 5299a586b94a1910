//! How a node lets a session go: its lease taken or lost (the session ends here at once), asked
//! for by another node, or the node draining (the session is handed over: stopped, then its
//! lease released, so the next node takes it at once); and the task it let go, which it waits
//! for before loading that session again.

use crate::hub::{Hub, SessionHandle};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

impl Hub {
    pub(super) fn ending(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<Arc<str>, SessionHandle>> {
        self.ending.lock().expect("hub lock poisoned")
    }

    /// Whether the task of session `id` that this node let go still runs.
    pub(super) fn still_ending(&self, id: &str) -> bool {
        let mut ending = self.ending();
        let running = ending.get(id).is_some_and(|h| !h.ended.is_cancelled());
        if !running {
            ending.remove(id);
        }
        running
    }

    /// Ends the session here without touching the store, if this node still holds its lease
    /// `token` (`false` if not: the lease was let go, or taken again since): its members
    /// reconnect and reach its new owner. `lease_lost`: another node may own it already (see
    /// [`SessionHandle`]'s `lease_lost`).
    pub(super) fn let_go(&self, id: &str, token: i64, lease_lost: bool) -> bool {
        self.stop_here(id, token, lease_lost).is_some()
    }

    /// Stops the session here, then releases its lease `token` (if this node still held it), so
    /// the next node takes it at once: once its task has ended (see [`Hub::ended_or_ran_out`]).
    pub(super) async fn hand_over(self: Arc<Self>, id: String, token: i64) {
        let Some(ended) = self.stop_here(&id, token, false) else { return };
        self.ended_or_ran_out(&id, ended, self.lease_time_from_now()).await;
        let _ = tokio::task::spawn_blocking(move || self.release(&id, token, false)).await;
    }

    /// Takes session `id` off this node and stops its task, if this node still holds lease
    /// `token` ([`Hub::let_go`]); what fires once that task has ended (`None`: it was not running).
    fn stop_here(&self, id: &str, token: i64, lease_lost: bool) -> Option<Option<CancellationToken>> {
        let h = self.take_off(id, token)?;
        Some(h.map(|h| {
            if lease_lost {
                h.lease_lost.cancel();
            }
            h.stop.cancel();
            h.ended.clone()
        }))
    }

    /// A lease time from now: by then a lease this node no longer renews has run out anyway.
    fn lease_time_from_now(&self) -> tokio::time::Instant {
        let ttl = self.node_store().map_or(Duration::ZERO, |(node, _)| node.lease_ttl);
        tokio::time::Instant::now() + ttl
    }

    /// Waits until a stopped task has ended (`ended`: what it was writing is written or refused,
    /// and the compactions it left have finished), or until `by`. Released at once, the next
    /// node's take fenced those writes: a member who had just joined was told so, but the roster
    /// that held her was refused, and the next node did not know her (17 members came back as
    /// someone else in a run of the cluster bench).
    async fn ended_or_ran_out(&self, id: &str, ended: Option<CancellationToken>, by: tokio::time::Instant) {
        if let Some(ended) = ended
            && tokio::time::timeout_at(by, ended.cancelled_owned()).await.is_err()
        {
            tracing::warn!(session = id, "its task did not end within a lease time: released all the same");
        }
    }

    /// Lets a session just made go (on a node of a cluster): see [`Hub::create_owned`]. Blocks
    /// until it is let go: call it off the async workers.
    pub(crate) fn hand_over_new(&self, id: &str) {
        let token = self.leases().get(id).map(|l| l.token);
        if let Some(token) = token
            && let Some(ended) = self.stop_here(id, token, false)
        {
            self.release_once_ended(id, token, ended, self.lease_time_from_now(), false);
        }
    }

    /// Releases lease `token` of session `id` once its stopped task has ended, or by `by`
    /// (`coming_back`: see [`Hub::release`]). Blocks: call it off the async workers.
    fn release_once_ended(
        &self,
        id: &str,
        token: i64,
        ended: Option<CancellationToken>,
        by: tokio::time::Instant,
        coming_back: bool,
    ) {
        tokio::runtime::Handle::current().block_on(self.ended_or_ran_out(id, ended, by));
        self.release(id, token, coming_back);
    }

    /// Hands every session over (SIGTERM on a node): the others take them at once. From now on
    /// the node loads no session: its members are told to retry (503 `moving`), its `/healthz`
    /// answers 503, and the proxy sends the retries elsewhere once its check has taken it out.
    /// Blocks until the sessions' tasks have ended: call it off the async workers
    /// (`spawn_blocking`).
    pub fn drain(&self) {
        // Under the loading lock: a load under way finishes first, and is handed over with the rest.
        let one = self.starting();
        self.draining.store(true, std::sync::atomic::Ordering::Release);
        drop(one);
        // Its asks for sessions withdrawn: handed to it now, their members would reach another
        // node, and the sessions would lose the home they had (`store/take.rs`).
        if let Some((node, store)) = self.node_store()
            && let Err(e) = store.withdraw_asks(&node.name)
        {
            tracing::warn!("could not withdraw this node's asks for sessions: {e}");
        }
        let held: Vec<(Arc<str>, i64)> = self.leases().iter().map(|(k, l)| (k.clone(), l.token)).collect();
        // Every task stopped first, then each lease released as its task ends (they end together),
        // within one lease time for them all.
        let stopped: Vec<_> =
            held.into_iter().filter_map(|(id, token)| Some((self.stop_here(&id, token, false)?, id, token))).collect();
        let by = self.lease_time_from_now();
        for (ended, id, token) in stopped {
            // This node is to come back (a restart, an upgrade): it asks for them back then.
            self.release_once_ended(&id, token, ended, by, true);
        }
    }
}
