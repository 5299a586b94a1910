//! How sessions end: removed (by their organizer, or the host's API), or expired once nobody
//! has been connected to them for the idle time.

use super::{Hub, HubError, Starting};
use std::collections::HashMap;
use std::sync::Arc;

impl Hub {
    /// Ends a session: its members are told it ended, and everything stored of it is deleted.
    /// `false` if there was no such session. Under `loading`: a load or start of it under way
    /// on this node finishes first, and is ended with the rest.
    ///
    /// # Errors
    /// [`HubError::Store`] when the store refuses the deletion.
    pub fn remove_session(&self, id: &str) -> Result<bool, HubError> {
        let starting = self.starting();
        self.remove_started(&starting, id)
    }

    /// [`Hub::remove_session`], `loading` already held.
    pub(crate) fn remove_started(&self, _starting: &Starting<'_>, id: &str) -> Result<bool, HubError> {
        let local = self.forget_local(id);
        if let Some(h) = &local {
            h.stop.cancel();
        }
        if let Some(store) = &self.cfg.store {
            let st = |e: crate::store::StoreError| HubError::Store(e.to_string());
            // In a cluster the session may be another node's: its rows go all the same, its
            // lease with them, and that node lets it go when it next renews.
            let elsewhere = local.is_none() && self.cfg.node.is_some() && store.session(id).map_err(st)?.is_some();
            if local.is_none() && !elsewhere {
                return Ok(false);
            }
            if elsewhere {
                store.forget_lease(id);
            }
            store.delete_session(id).map_err(st)?;
        } else if local.is_none() {
            return Ok(false);
        }
        self.leases().remove(id);
        tracing::info!(session = %id, "session removed");
        Ok(true)
    }

    /// Until shutdown, ends sessions that nobody has been connected to for `idle`.
    pub async fn expire_idle(self: Arc<Self>, idle: std::time::Duration) {
        let mut since: HashMap<String, tokio::time::Instant> = HashMap::new();
        let mut tick = tokio::time::interval(
            (idle / 4).clamp(std::time::Duration::from_millis(100), std::time::Duration::from_secs(5)),
        );
        loop {
            tokio::select! {
                () = self.closing.cancelled() => return,
                _ = tick.tick() => {}
            }
            // In a cluster, also the stored sessions no node has loaded for as long.
            if self.cfg.node.is_some() {
                let hub = self.clone();
                let now_ms = self.clock.wall_ms();
                let _ = tokio::task::spawn_blocking(move || hub.expire_unheld(now_ms, idle)).await;
            }
            let now = tokio::time::Instant::now();
            let sessions = self.list();
            since.retain(|id, _| sessions.iter().any(|s| &s.id == id));
            for s in sessions {
                if s.online > 0 {
                    since.remove(&s.id);
                    continue;
                }
                let first = *since.entry(s.id.clone()).or_insert(now);
                if now.duration_since(first) >= idle {
                    since.remove(&s.id);
                    // Off the runtime's threads: it waits for the store, and for any load under way.
                    let (hub, id) = (self.clone(), s.id.clone());
                    match tokio::task::spawn_blocking(move || hub.remove_session(&id)).await {
                        Ok(Ok(_)) => tracing::info!(session = %s.id, "expired after {idle:?} with nobody connected"),
                        Ok(Err(e)) => tracing::error!(session = %s.id, "could not expire: {e}"),
                        Err(e) => tracing::error!(session = %s.id, "could not expire: {e}"),
                    }
                }
            }
        }
    }
}
