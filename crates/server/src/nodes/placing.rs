//! How a node brings a session here for the members the proxy sends it: the session loaded from
//! the store once its lease is free, or the member sent back through the proxy.
//!
//! Members of one session arriving together share one attempt ([`crate::placements::Placing`]),
//! and an attempt that finds another node's lease reads it again when that lease would run out,
//! not every tenth of a second. A node taking over a dead node's sessions had every member of
//! every one of them read the store ten times a second until the leases ran out, one attempt at a
//! time: at 5,500 members, failovers took 15–60 s.

use crate::hub::Hub;
use crate::placements::{Load, LoadJob, Placement};
use crate::store::lease::Lease;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a member's attempt waits at most before reading a lease another node holds again:
/// a holder may give it up early (a node draining releases its leases).
const LOOK_AGAIN_AT_MOST: Duration = Duration::from_millis(500);

/// How long a member's connection waits here for its session: as long as its client waits for an
/// answer to its connect, less a second for the answer to reach it, and at least the lease time
/// and a second (a holder that died has lost its lease by then). A member sent back sooner
/// reconnects through the proxy, which sends it here again, behind the members that came since: at
/// 5,500 members, hundreds a failover were sent back from the queue for a turn, some three times.
fn waits_at_most(lease_ttl: Duration) -> Duration {
    let client = Duration::from_micros(bandsync_core::member::CONNECT_TIMEOUT.0.unsigned_abs());
    client.saturating_sub(Duration::from_secs(1)).max(lease_ttl + Duration::from_secs(1))
}

/// How long it waits before trying again when it could not read the lease, or the task this node
/// let go of the session still runs.
const TRY_AGAIN: Duration = Duration::from_millis(100);

/// Set when dropped: see [`Hub::place_alone`].
struct GivesUp(Arc<AtomicBool>);

impl Drop for GivesUp {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

impl Hub {
    /// Brings session `id` to this node if it can, for a member about to connect.
    ///
    /// The members of one session that arrive while an attempt for it is under way wait for
    /// that attempt, and its outcome is theirs, each within its own time to wait.
    pub async fn place(self: &Arc<Self>, id: &str) -> Placement {
        let Some((node, _)) = self.node_store() else { return Placement::Here };
        let started = Instant::now();
        let deadline = started + waits_at_most(node.lease_ttl);
        loop {
            if self.get(id).is_some() {
                return Placement::Here;
            }
            match self.placing.join(id) {
                Ok(first) => {
                    let placed = self.place_alone(id, started).await;
                    // Sent before `first` unlists the attempt: whoever joined it reads this.
                    first.tell(placed);
                    return placed;
                }
                Err(mut under_way) => {
                    match tokio::time::timeout_at(deadline.into(), under_way.wait_for(Option::is_some)).await {
                        Ok(Ok(placed)) => return placed.expect("waited for an outcome"),
                        Err(_) => return Placement::Elsewhere,
                        // Its member went away before the attempt ended: this one tries, within
                        // the time it had left.
                        Ok(Err(_)) => {}
                    }
                }
            }
        }
    }

    /// One member's attempts to bring session `id` here, until it is here or the member is to be
    /// told otherwise.
    ///
    /// A member that waited here while another node held the lease, until that lease ran out
    /// unrenewed (its holder died), has the session loaded here at once: the proxy sends a
    /// session's members only to the node its hash names among those its checks find up, and
    /// does not redispatch them to any other while it has not yet noticed a death (a 503
    /// instead: the member retries). So every member that waits here for a dead holder's lease
    /// was sent here by the hash, once the proxy knew. (Should the proxy's view change while they
    /// wait, a node coming back or a check flapping, the node it names then asks for the session
    /// a lease time later: it moves twice. The proxy's checks notice within the lease time, so
    /// that window is narrow.) With redispatch, members landed on any node before the proxy
    /// noticed; the waiting node sent each back through the proxy when the lease ran out, and
    /// 99.5 % of them came back to the node that sent them, a reconnect each (p50 390–530 ms at
    /// 5,500 members), in the failover of nearly every session that moved.
    ///
    /// A member whose session another node took while it waited (a take raises the token) is
    /// sent back through the proxy: the proxy's view changed, and it names that node now.
    ///
    /// A node cut off from the database ([`Hub::cut_off`]) sends members on at once, and one whose
    /// database stops answering while a member waits sends it on by the deadline (the load under
    /// way then takes nothing when the answer comes): the proxy's check takes such a node out,
    /// and the retry reaches one that can load the session.
    /// `started`: when the member arrived.
    async fn place_alone(self: &Arc<Self>, id: &str, started: Instant) -> Placement {
        let Some((node, _)) = self.node_store() else { return Placement::Here };
        let deadline = started + waits_at_most(node.lease_ttl);
        let mut asked = false;
        // The lease another node held at this member's last attempt.
        let mut waited_on: Option<Lease> = None;
        loop {
            if self.get(id).is_some() {
                return Placement::Here;
            }
            if self.draining() || self.cut_off() || Instant::now() >= deadline {
                return Placement::Elsewhere;
            }
            // Ask the holder only once this member has waited a whole lease time: a holder that
            // died has lost the lease by then, so one still holding it is alive, and the proxy
            // keeps sending the session here. Asking at once would hand sessions back and forth
            // while the proxy's view of the nodes changes (a node noticed dead, or coming back).
            let ask = !asked && started.elapsed() >= node.lease_ttl;
            let (gave_up, begun) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
            // However this member stops waiting (it timed out below, or its connection went away
            // and this future was dropped), its load, if still queued, reads and takes nothing.
            let _gives_up = GivesUp(gave_up.clone());
            let (answer, load) = tokio::sync::oneshot::channel();
            let job = LoadJob {
                id: id.to_owned(),
                ask,
                waited_on,
                gave_up,
                begun: begun.clone(),
                arrived: started,
                answer: Some(answer),
            };
            // Loads run in batches, one batch at a time, in the order asked, on a thread of their
            // own ([`crate::placements::Placing::load`]): a member that stops waiting leaves the
            // queue having read nothing. Each on a blocking thread of its own, they filled
            // tokio's blocking pool (the renewals' too) when 277 sessions moved, and each read
            // after its member had given up: 30 s, not all back. Not news that the database
            // answers (`Hub::cut_off`): a load may use only the reader connection, while the
            // renewals' one hangs.
            let hub = self.clone();
            self.placing.load(job, Arc::new(move |jobs| hub.load_batch(jobs)));
            let Ok(load) = tokio::time::timeout_at(deadline.into(), load).await else {
                if begun.load(Ordering::Acquire) {
                    tracing::warn!(
                        session = id,
                        waited_ms = started.elapsed().as_secs_f64() * 1e3,
                        "the load did not end in time: the member goes back through the proxy"
                    );
                } else {
                    tracing::warn!(
                        session = id,
                        "too many sessions loading here: the member goes back through the proxy"
                    );
                }
                // The attempt goes on until the database answers it, and then takes nothing (or,
                // not begun, reads nothing: `_gives_up`): the member's retry may reach another
                // node, which would otherwise wait a lease time for this one to hand over a
                // session nobody reached here.
                return Placement::Elsewhere;
            };
            match load {
                Ok(Ok(Load::Loaded)) => return Placement::Here,
                Ok(Ok(Load::NotStored)) => return Placement::Unknown,
                Ok(Ok(Load::Held(lease))) => (waited_on, asked) = (lease, asked | ask),
                Ok(Ok(Load::TakenMeanwhile)) => {
                    tracing::info!(
                        session = id,
                        node = %node.name,
                        "another node took it meanwhile: the member goes back through the proxy"
                    );
                    return Placement::Elsewhere;
                }
                Ok(Err(e)) => tracing::warn!(session = id, "could not load: {e}"),
                Err(_) => tracing::error!(session = id, "the load gave no answer (it panicked, or never ran)"),
            }
            let now = Instant::now();
            if now >= deadline {
                return Placement::Elsewhere;
            }
            // Polling a lease another machine holds: no event says when it expires, but it says
            // when it would, unrenewed. The next look is then, or when this member is to ask for
            // it, and no later than `LOOK_AGAIN_AT_MOST`.
            let mut pause = match waited_on {
                Some(l) => {
                    let left = u64::try_from(l.expires_ms - self.clock.wall_ms()).unwrap_or(0);
                    LOOK_AGAIN_AT_MOST.min(Duration::from_millis(left + 10))
                }
                None => TRY_AGAIN,
            };
            if !asked {
                pause = pause.min((started + node.lease_ttl).saturating_duration_since(now));
            }
            let pause = pause.max(Duration::from_millis(20)).min(deadline - now);
            tokio::time::sleep(pause).await;
        }
    }
}
