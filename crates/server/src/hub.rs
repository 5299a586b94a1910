//! The registry of sessions: create one, find one by id, list them for the HTTP API.
//!
//! Each session runs in its own task (see [`crate::session_task`]); the hub only holds the
//! handles that reach those tasks and the counters the HTTP API reads without asking them.
//!
//! - `ending`: how sessions end (removed, or expired when idle);
//! - `restart`: how stored sessions start again (this host restarted, or a node taking them
//!   over, many at once);
//! - `tests`: what a stored session's start may write of its row.

use crate::clock::HostClock;
use crate::config::ServerConfig;
pub use crate::handle::{SessionHandle, SessionInfo};
use crate::session_task::{self, Counters};
use crate::tokens::new_token;
use bandsync_core::Session;
use bandsync_core::protocol::Secret;
use bandsync_core::session::SecretSource;
use std::collections::HashMap;
use std::sync::{Arc, MutexGuard, RwLock};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

mod ending;
pub(crate) mod restart;
#[cfg(test)]
mod tests;

/// The secrets a session starts with; those not given are made.
#[derive(Debug, Default)]
struct Secrets {
    /// The members' link's (a restored session keeps its own).
    secret: Option<Secret>,
    /// The leader's link's, for sessions an organizer makes.
    leader: Option<Secret>,
    /// The view-only link's.
    viewer: Option<Secret>,
    /// The PIN a restored session had.
    pin: Option<Secret>,
}

/// What a session starts from: its documents, and, stored, what it carried and its journal's
/// rows if they were read already.
#[derive(Debug, Default)]
struct Begins {
    doc: bandsync_docs::SessionDoc,
    carried: Option<bandsync_core::session::carry::Carried>,
    journal: Option<crate::journal::Stored>,
}

/// `loading` held ([`Hub::starting`]): one session is loaded, started or removed at a time on
/// this node. What needs it takes one, so that it cannot be handed another lock's guard.
pub(crate) struct Starting<'a> {
    _held: MutexGuard<'a, ()>,
}

/// Why a session could not be created.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The server holds as many sessions as it may.
    #[error("this server already holds {0} sessions")]
    Full(usize),
    /// The session name is empty or too long.
    #[error("a session name must be 1 to 60 characters")]
    BadName,
    /// The store could not be read or written.
    #[error("{0}")]
    Store(String),
    /// The organizer holds as many sessions as its quota allows.
    #[error("this organizer already holds {0} sessions, its quota")]
    Quota(u32),
}

/// Every session on this server.
#[derive(Debug)]
pub struct Hub {
    sessions: RwLock<HashMap<Arc<str>, SessionHandle>>,
    pub(crate) clock: HostClock,
    pub(crate) cfg: ServerConfig,
    pub(crate) tracker: TaskTracker,
    /// Fires at shutdown; session tasks end on it even while handles to them remain.
    pub(crate) closing: CancellationToken,
    /// Limits per source address.
    pub(crate) addresses: Arc<crate::addresses::Addresses>,
    /// Held while an organizer's session is created (the quota check and the creation are one).
    creating: std::sync::Mutex<()>,
    /// On a node of a cluster: the leases it holds ([`crate::nodes`]).
    leases: std::sync::Mutex<HashMap<Arc<str>, crate::store::lease::Lease>>,
    /// Held while a session is loaded, started or removed ([`Hub::starting`]): one at a time,
    /// so that the sessions' lock is held only to insert one (never across the store's reads and
    /// writes, which would stall every lookup behind a slow database), the list can only shrink
    /// between the check of `max_sessions` and the insertion, and no removal comes between a
    /// start's rows and its insertion.
    pub(crate) loading: std::sync::Mutex<()>,
    /// On a node of a cluster: the loads of sessions for the members that came for them, and the
    /// attempts under way ([`Hub::place`]).
    pub(crate) placing: crate::placements::Placing,
    /// On a node of a cluster: the sessions it let go whose tasks (or the compactions they left
    /// running) may still run, so that it loads none of them again until they have ended
    /// ([`crate::nodes`]).
    pub(crate) ending: std::sync::Mutex<HashMap<Arc<str>, SessionHandle>>,
    /// Set (under `loading`) once the node drains: it loads and starts no session after that.
    pub(crate) draining: std::sync::atomic::AtomicBool,
    /// On a node of a cluster: when (wall ms) the database last answered its renewal
    /// ([`Hub::cut_off`]).
    pub(crate) store_answered: std::sync::atomic::AtomicI64,
}

impl Hub {
    /// An empty hub.
    #[must_use]
    pub fn new(cfg: ServerConfig, clock: HostClock) -> Arc<Self> {
        let addresses = crate::addresses::Addresses::new(
            cfg.address_max_connections,
            cfg.address_rate_burst,
            cfg.address_rate_per_sec,
        );
        Arc::new(Hub {
            addresses,
            sessions: RwLock::new(HashMap::new()),
            cfg,
            tracker: TaskTracker::new(),
            closing: CancellationToken::new(),
            creating: std::sync::Mutex::new(()),
            leases: std::sync::Mutex::default(),
            loading: std::sync::Mutex::new(()),
            placing: crate::placements::Placing::default(),
            ending: std::sync::Mutex::default(),
            draining: std::sync::atomic::AtomicBool::new(false),
            store_answered: std::sync::atomic::AtomicI64::new(clock.wall_ms()),
            clock,
        })
    }

    /// The host clock.
    #[must_use]
    pub fn clock(&self) -> &HostClock {
        &self.clock
    }

    pub(crate) fn leases(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, crate::store::lease::Lease>> {
        self.leases.lock().expect("hub lock poisoned")
    }

    /// Takes `loading`, for a session's load, start or removal.
    pub(crate) fn starting(&self) -> Starting<'_> {
        Starting { _held: self.loading.lock().expect("hub lock poisoned") }
    }

    /// Takes the session off this node's list (its task goes on until stopped).
    pub(crate) fn forget_local(&self, id: &str) -> Option<SessionHandle> {
        self.sessions.write().expect("hub lock poisoned").remove(id)
    }

    /// On a node of a cluster: takes the session off this node's list with its lease, if this
    /// node still holds lease `token` (`None` if not), and lists its task among those ending.
    /// Under the sessions' lock, then the leases', then the ending's: no load of the session
    /// comes between.
    ///
    /// A lease listed for a session not in the list is one a start under way took (a load or a
    /// creation; the session goes in once its rows are written and read), or one a removal under
    /// way is about to drop. Both run under `loading`, and nothing else leaves a lease without
    /// its session (but closing every session, at shutdown), so `loading` is held exactly then:
    /// `None`, and the renewal's next answer, which says the same, finds the session started (or
    /// gone). Taken off now, a session starting would start after, with no lease to renew and
    /// every write fenced.
    pub(crate) fn take_off(&self, id: &str, token: i64) -> Option<Option<SessionHandle>> {
        let mut sessions = self.sessions.write().expect("hub lock poisoned");
        let mut leases = self.leases();
        if leases.get(id).is_none_or(|l| l.token != token) {
            return None;
        }
        if !sessions.contains_key(id) && self.loading.try_lock().is_err() {
            return None;
        }
        leases.remove(id);
        let h = sessions.remove(id);
        if let Some(h) = &h {
            self.ending.lock().expect("hub lock poisoned").insert(h.id.clone(), h.clone());
        }
        Some(h)
    }

    /// Creates a session and starts its task. Must be called inside a tokio runtime.
    ///
    /// # Errors
    /// [`HubError::Full`] when the server holds `max_sessions`, [`HubError::BadName`] for an empty
    /// name or one over 60 characters.
    pub fn create_session(&self, name: &str) -> Result<SessionHandle, HubError> {
        let starting = self.starting();
        self.start_session(&starting, None, name, Secrets::default(), Begins::default())
    }

    /// Creates a session for an organizer of `bandsync serve`, within its quota, with a leader's
    /// link, and records the owner.
    ///
    /// # Errors
    /// [`HubError::Quota`] at the organizer's quota; as [`Hub::create_session`] otherwise;
    /// [`HubError::Store`] without a store (organizers live in it).
    pub fn create_owned(&self, name: &str, org: &crate::organizers::Organizer) -> Result<SessionHandle, HubError> {
        let store = self.cfg.store.clone().ok_or_else(|| HubError::Store("organizers need a data directory".into()))?;
        // One organizer's creations go one at a time, so two at once cannot both pass the quota.
        let _one = self.creating.lock().expect("hub lock poisoned");
        let held = store.sessions_of(&org.name).map_err(|e| HubError::Store(e.to_string()))?;
        if held.len() >= org.quota as usize {
            return Err(HubError::Quota(org.quota));
        }
        let lead = Secret(new_token());
        let secrets = Secrets { leader: Some(lead), ..Secrets::default() };
        let starting = self.starting();
        let h = self.start_session(&starting, None, name, secrets, Begins::default())?;
        drop(starting);
        store.set_owner(&h.id, &org.name).map_err(|e| HubError::Store(e.to_string()))?;
        // In a cluster the session belongs where the proxy will send its members, not where the
        // organizer's request happened to land: it is stored, and its lease let go at once, so
        // the node its first member reaches takes it without waiting.
        self.hand_over_new(&h.id);
        Ok(h)
    }

    /// Starts a session, a new one or `stored`; `_starting`: no other start or removal comes
    /// between the checks made here and the insertion, and the store's work is done outside the
    /// sessions' lock. A lease this start took is given back if the session does not start.
    fn start_session(
        &self,
        _starting: &Starting<'_>,
        stored: Option<&crate::store::StoredSession>,
        name: &str,
        secrets: Secrets,
        begins: Begins,
    ) -> Result<SessionHandle, HubError> {
        let Secrets { secret, leader: leader_secret, viewer, pin } = secrets;
        let Begins { doc, carried, journal } = begins;
        // Every session has a view-only link; a restored one keeps its own.
        let viewer_secret = viewer.unwrap_or_else(|| Secret(new_token()));
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
            return Err(HubError::BadName);
        }
        let id: Arc<str> = {
            let map = self.sessions.read().expect("hub lock poisoned");
            if map.len() >= self.cfg.max_sessions {
                return Err(HubError::Full(self.cfg.max_sessions));
            }
            match stored {
                Some(s) => s.id.as_str().into(),
                None => loop {
                    let id = new_session_id();
                    if !map.contains_key(id.as_str()) {
                        break id.into();
                    }
                },
            }
        };
        // A restored session keeps its secret (its links and QR codes still work).
        let mut first = secret;
        let secrets = SecretSource(Box::new(move || first.take().unwrap_or_else(|| Secret(new_token()))));
        let mut session =
            Session::new(&*id, name, self.clock.epoch(), self.cfg.session.clone(), self.clock.now(), secrets);
        session.set_leader_secret(leader_secret.clone());
        session.set_viewer_secret(Some(viewer_secret.clone()));
        session.restore_pin(pin.clone());
        if let Some(c) = carried {
            session.take_over(c, self.clock.now(), self.clock.wall_us());
        }
        let first_secret = session.secret().clone();
        // In a cluster, the session is this node's before anything of it is written.
        let took = self.lease_for_start(&id)?;
        let row = crate::store::StoredSession {
            id: id.to_string(),
            name: name.to_owned(),
            secret: first_secret.expose().to_owned(),
            leader_secret: leader_secret.as_ref().map(|s| s.expose().to_owned()),
            viewer_secret: Some(viewer_secret.expose().to_owned()),
            pin: pin.as_ref().map(|p| p.expose().to_owned()),
        };
        let journal = self.store_start(&row, stored.map(|s| s == &row), journal).inspect_err(|_| {
            if took {
                self.give_back_lease(&id);
            }
        })?;
        let (tx, rx) = mpsc::channel(1024);
        let counters = Arc::new(Counters::default());
        let (stop, lease_lost, ended) =
            (self.closing.child_token(), CancellationToken::new(), CancellationToken::new());
        let handle = SessionHandle {
            id: id.clone(),
            name: name.into(),
            tx,
            counters: counters.clone(),
            first_secret,
            leader_secret,
            viewer_secret,
            stop: stop.clone(),
            lease_lost: lease_lost.clone(),
            ended: ended.clone(),
        };
        // Made before the task runs, and moved into it with the context: a task dropped before
        // it first ran has ended too. Its compactions hold it as well.
        let ctx = session_task::Context {
            running: Arc::new(ended.drop_guard()),
            clock: self.clock.clone(),
            counters,
            closing: stop,
            lease_lost,
            store: self.cfg.store.clone(),
            doc,
            journal,
            carry: self.cfg.store.is_some(),
            unwritten_max: self.cfg.unwritten_max,
        };
        self.tracker.spawn(session_task::run(session, rx, ctx));
        self.sessions.write().expect("hub lock poisoned").insert(id, handle.clone());
        tracing::info!(session = %handle.id, name = %handle.name, "session started");
        Ok(handle)
    }

    /// A start's store work: the session's row written (before anyone can join it) unless it is
    /// stored as it is, its journal read (unless `read` already). `unchanged`: `None` for a new
    /// session, whether its row is stored as it is for a restored or loaded one. A stored
    /// session's row is only ever updated: one deleted since it was read (an organizer deleted it
    /// while a node loaded it) is refused (deleted, or in a cluster fenced: the deletion took
    /// the lease row too), not made again.
    fn store_start(
        &self,
        row: &crate::store::StoredSession,
        unchanged: Option<bool>,
        read: Option<crate::journal::Stored>,
    ) -> Result<crate::journal::Journal, HubError> {
        if let Some(store) = self.cfg.store.as_ref() {
            match unchanged {
                None => store.put_session(row, self.clock.wall_ms()),
                Some(false) => store.write(&row.id, |db| crate::store::update_session(db, row)),
                Some(true) => Ok(()),
            }
            .map_err(|e| HubError::Store(e.to_string()))?;
        }
        // A store that cannot be read refuses the session, rather than running it on an empty
        // journal whose new entries would collide with the stored ones.
        crate::journal::Journal::load(&row.id, self.cfg.store.clone(), read, self.cfg.edit_idle, self.clock.clone())
            .map_err(|e| HubError::Store(format!("its chat, activity and versions: {e}")))
    }

    /// The session with this id.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<SessionHandle> {
        self.sessions.read().expect("hub lock poisoned").get(id).cloned()
    }

    /// A stored session as a listing shows it: with its live counts where this server runs it,
    /// none where it does not (in a cluster, another node's).
    pub(crate) fn stored_info(&self, s: &crate::store::StoredSession) -> SessionInfo {
        self.get(&s.id)
            .map_or_else(|| SessionInfo { id: s.id.clone(), name: s.name.clone(), members: 0, online: 0 }, |h| h.info())
    }

    /// Every session, for listings.
    #[must_use]
    pub fn list(&self) -> Vec<SessionInfo> {
        let mut v: Vec<_> =
            self.sessions.read().expect("hub lock poisoned").values().map(SessionHandle::info).collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Ends every session task, so the tracker can drain.
    pub(crate) fn close_all(&self) {
        self.closing.cancel();
        self.sessions.write().expect("hub lock poisoned").clear();
    }
}

/// Ten characters from an alphabet without look-alikes: about 50 bits.
fn new_session_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..10).map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char).collect()
}
