//! `bandsync serve` on several nodes that share one Postgres: each session is owned by one node
//! at a time, under a lease with a fencing token ([`crate::store::lease`]).
//!
//! - A proxy in front routes members by session id (`/ws?session=ID`, `/doc/ID`). The node a
//!   member reaches loads the session from the store on demand, once it can take the lease: at
//!   once when the lease is free, released (a node drained) or this node's; after it expires when
//!   its holder died. Meanwhile the member's connection waits (4 s, within its client's 5 s, or
//!   the lease time and a second if longer), then is told to retry (503).
//! - The node renews its leases every quarter of the lease time. A lease taken by another node,
//!   or one it could not renew before it expired (cut off from the database), ends the session
//!   here at once; its members reconnect through the proxy to the new owner. A node the proxy
//!   now sends a session's members to asks the holder for it, and the holder hands it over.
//! - Draining (SIGTERM) hands every lease over before the members are disconnected.
//!
//! The session's clock is its owner's: members of a moved session see a new clock epoch and
//! re-sync, and followers keep clicking through the gap on their own clocks.
//!
//! - `homes`: how a node back after it was away asks for its sessions back;
//! - `letting_go`: how a node lets a session go, and waits for the task it let go;
//! - `loading`: how a node loads the sessions its members reach, many at once;
//! - `placing`: how a node brings a session here for the members the proxy sends it.

pub use crate::config::NodeConfig;
use crate::hub::{Hub, HubError};
pub use crate::placements::Placement;
use crate::store::Store;
use crate::store::lease::Renewal;
use std::sync::Arc;
use std::time::Duration;

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Hub {
    fn node_store(&self) -> Option<(&NodeConfig, &Arc<Store>)> {
        Some((self.cfg.node.as_ref()?, self.cfg.store.as_ref()?))
    }

    /// Takes the lease of a session about to be stored by this node (a new one, or one loaded on
    /// demand whose lease was just taken); says whether it took one (a load took it before).
    pub(crate) fn lease_for_start(&self, id: &str) -> Result<bool, HubError> {
        let Some((node, store)) = self.node_store() else { return Ok(false) };
        if self.draining() {
            return Err(HubError::Store("this node is shutting down".into()));
        }
        if self.leases().contains_key(id) {
            return Ok(false);
        }
        match store.take_lease(id, &node.name, self.clock.wall_ms(), ms(node.lease_ttl)) {
            Ok(Some(l)) => {
                self.leases().insert(id.into(), l);
                Ok(true)
            }
            Ok(None) => Err(HubError::Store(format!("session {id} is held by another node"))),
            Err(e) => Err(HubError::Store(e.to_string())),
        }
    }

    /// Until shutdown, renews this node's leases, and lets go of the sessions whose lease was
    /// taken, asked for, or could not be renewed in time.
    pub async fn keep_leases(self: Arc<Self>) {
        let Some((node, _)) = self.node_store() else { return };
        // Every line it logs names the node (a cluster's nodes may log to one place).
        let (span, ttl) = (tracing::info_span!("leases", node = %node.name), node.lease_ttl);
        tracing::Instrument::instrument(self.renew_until_shutdown(ttl), span).await;
    }

    /// [`Hub::keep_leases`]'s loop, a tick every quarter of `ttl`.
    async fn renew_until_shutdown(self: Arc<Self>, ttl: Duration) {
        let period = ttl / 4;
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // A renewal the database has not answered yet: waited for again at the next tick, not
        // started again (a database that never answers would otherwise hold a thread a tick).
        let mut renewing = None;
        let mut homes = homes::Homecoming::new(ttl);
        loop {
            let due = tokio::select! {
                () = self.closing.cancelled() => return,
                due = tick.tick() => due,
            };
            // A runtime too busy to run this task on time is logged, as a renewal's own wait is.
            let late = due.elapsed();
            if late >= period / 2 {
                tracing::debug!(
                    target: "bandsync_server::renewals",
                    late_ms = late.as_secs_f64() * 1e3,
                    "the renewal's tick ran late"
                );
            }
            let held: Vec<(String, i64)> = self.leases().iter().map(|(k, l)| (k.to_string(), l.token)).collect();
            let mut job = renewing.take().unwrap_or_else(|| {
                let (hub, held) = (self.clone(), held.clone());
                let (asked, span) = (std::time::Instant::now(), tracing::Span::current());
                // All of them in one round trip (one statement on Postgres), not one a session.
                tokio::task::spawn_blocking(move || {
                    let _node = span.enter();
                    // A renewal that waits for a thread of the blocking pool (the loads' and the
                    // writes' too) is logged: the renewals unanswered for a lease time are traced.
                    let queued = asked.elapsed();
                    if queued.as_millis() >= 50 {
                        tracing::debug!(
                            target: "bandsync_server::renewals",
                            queued_ms = queued.as_secs_f64() * 1e3,
                            "the renewal waited for a blocking thread"
                        );
                    }
                    let (node, store) = hub.node_store().expect("only in a cluster");
                    let (now, ttl) = (hub.clock.wall_ms(), ms(node.lease_ttl));
                    // Holding none, the database is asked all the same ([`Hub::cut_off`]).
                    let renewed = if held.is_empty() {
                        store.ping().map(|()| Vec::new())
                    } else {
                        // Those renewed while the statement waits for rows a write holds run on
                        // at once, whatever the wait: see `Store::renew_leases_telling`.
                        store
                            .renew_leases_telling(&held, now, ttl, &mut |renewed| hub.renewed_until(renewed, now + ttl))
                    };
                    if renewed.is_ok() {
                        hub.heard_from_store(now);
                    }
                    (held, now + ttl, renewed)
                })
            });
            // A database that does not answer within a tick is as one that failed: this node
            // cannot know it still holds its leases, and lets each go once it has run out.
            let (held, renewed) = match tokio::time::timeout(period, &mut job).await {
                Ok(Ok((held, expires_ms, renewed))) => (held, renewed.map(|rs| (rs, expires_ms))),
                Ok(Err(_)) => continue,
                Err(_) => {
                    renewing = Some(job);
                    (held, Err(crate::store::StoreError::Engine("the database has not answered".into())))
                }
            };
            let expires_ms = renewed.as_ref().map_or(0, |(_, expires_ms)| *expires_ms);
            let results: Vec<(String, i64, Result<Renewal, String>)> = match renewed {
                Ok((rs, _)) => held.into_iter().zip(rs).map(|((id, token), r)| (id, token, Ok(r))).collect(),
                Err(e) => held.into_iter().map(|(id, token)| (id, token, Err(e.to_string()))).collect(),
            };
            self.ask_for_homes(&mut homes);
            self.ending().retain(|_, h| !h.ended.is_cancelled());
            for (id, token, r) in results {
                // Each answer is about the lease asked for: one let go and taken again since (an
                // answer held a tick or more) is another lease, and is left alone.
                let Some(lease) = self.leases().get(id.as_str()).copied().filter(|l| l.token == token) else {
                    continue;
                };
                match r {
                    Ok(Renewal::Held) => {
                        if let Some(l) = self.leases().get_mut(id.as_str()).filter(|l| l.token == token) {
                            l.expires_ms = expires_ms;
                        }
                    }
                    Ok(Renewal::Wanted(other)) => {
                        tracing::info!(session = %id, to = %other, "handing the session over");
                        // Off this task: a database that does not answer would hold it, and
                        // so would a task that takes its time to end.
                        tokio::spawn(self.clone().hand_over(id, token));
                    }
                    Ok(Renewal::Lost) => {
                        tracing::warn!(session = %id, "the lease was taken: the session is another node's now");
                        self.let_go(&id, token, true);
                    }
                    Err(e) => {
                        // Cut off from the database: once the lease has run out another node may
                        // own the session, so this one lets it go.
                        tracing::warn!(session = %id, "lease not renewed: {e}");
                        if self.clock.wall_ms() >= lease.expires_ms {
                            tracing::warn!(session = %id, "lease expired unrenewed: letting the session go");
                            self.let_go(&id, token, true);
                        }
                    }
                }
            }
        }
    }

    /// The database answered what this node asked it at `at_ms` (wall ms).
    fn heard_from_store(&self, at_ms: i64) {
        self.store_answered.fetch_max(at_ms, std::sync::atomic::Ordering::AcqRel);
    }

    /// Whether this node is cut off from the database: it has answered nothing this node asked
    /// (a renewal, a ping) for a lease time, so the node holds no session and can load
    /// none. Its health check then fails (`/healthz`, 503), and the proxy sends members to the
    /// other nodes. Never on a lone host.
    #[must_use]
    pub fn cut_off(&self) -> bool {
        self.node_store().is_some_and(|(node, _)| {
            let answered = self.store_answered.load(std::sync::atomic::Ordering::Acquire);
            self.clock.wall_ms() - answered > ms(node.lease_ttl)
        })
    }

    /// Releases and unlists the lease of a session that did not start after all, so that the next
    /// node can take it at once.
    pub(crate) fn give_back_lease(&self, id: &str) {
        let lease = self.leases().remove(id);
        if let Some(lease) = lease {
            self.release(id, lease.token, false);
        }
    }

    /// Releases lease `token` of session `id` in the store, so that the next node takes it at
    /// once; one not released expires by itself. `coming_back`: this node is draining, and is to
    /// come back (`Store::release_lease_to_come_back`).
    fn release(&self, id: &str, token: i64, coming_back: bool) {
        let Some((_, store)) = self.node_store() else { return };
        let now = self.clock.wall_ms();
        let released = if coming_back {
            store.release_lease_to_come_back(id, token, now)
        } else {
            store.release_lease(id, token, now)
        };
        if let Err(e) = released {
            tracing::warn!(session = id, "could not release the lease (it expires by itself): {e}");
        }
    }

    /// Notes that the database renewed leases `renewed` (session, token) until `expires_ms`: each
    /// one this node still holds under that token runs on until then.
    fn renewed_until(&self, renewed: &[(String, i64)], expires_ms: i64) {
        let mut leases = self.leases();
        for (id, token) in renewed {
            if let Some(l) = leases.get_mut(id.as_str()).filter(|l| l.token == *token) {
                l.expires_ms = l.expires_ms.max(expires_ms);
            }
        }
    }

    /// Whether this node is draining.
    pub(crate) fn draining(&self) -> bool {
        self.draining.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Ends the stored sessions no node has held for `idle` up to `now_ms` (a whole cluster
    /// restarted, and their bands did not come back): each under a lease taken for it, so that a
    /// node loading it for a member at that moment wins, or this one ends it first. Returns them.
    /// A cluster's nodes each do this as part of their idle expiry; any one of them ends it.
    pub fn expire_unheld(&self, now_ms: i64, idle: Duration) -> Vec<String> {
        let Some((node, store)) = self.node_store() else { return Vec::new() };
        let unheld = match store.unheld_since(now_ms - ms(idle)) {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!("could not list the sessions nobody holds: {e}");
                return Vec::new();
            }
        };
        let mut ended = Vec::new();
        for id in unheld {
            // Taking the lease fences out a node that loads it at the same moment; under
            // `loading`, after a load of it here has finished (it is then held).
            let one = self.starting();
            if self.draining() || self.get(&id).is_some() {
                continue;
            }
            match store.take_lease(&id, &node.name, now_ms, ms(node.lease_ttl)) {
                Ok(Some(_)) => match self.remove_started(&one, &id) {
                    Ok(_) => {
                        tracing::info!(session = %id, "expired: no node held it for {idle:?}");
                        ended.push(id);
                    }
                    Err(e) => tracing::error!(session = %id, "could not expire: {e}"),
                },
                Ok(None) => {}
                Err(e) => tracing::warn!(session = %id, "could not take the lease to expire it: {e}"),
            }
        }
        ended
    }
}

mod homes;
mod letting_go;
mod loading;
mod placing;
#[cfg(test)]
mod tests;
