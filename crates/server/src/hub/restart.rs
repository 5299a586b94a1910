//! How stored sessions start again: every one at once on a host restarted, or, on a node of a
//! cluster, those its members reach, many together ([`StartReads`]).

use super::{Begins, Hub, HubError, Secrets, SessionHandle, Starting};
use crate::store::{Store, StoreError, StoredSession};
use bandsync_core::protocol::Secret;
use std::collections::HashMap;

/// What a stored session's start reads besides its row and documents: what it carried (the
/// schedule's and the roster's JSON), and its journal's rows.
#[derive(Debug, Default)]
pub(crate) struct StartReads {
    carried: Option<(String, Option<String>)>,
    journal: crate::journal::Stored,
}

impl StartReads {
    /// What the starts of `ids` read, by id, in four statements for them all: a node taking
    /// over a dead node's sessions read them in four statements a session, one after another.
    pub(crate) fn read(store: &Store, ids: &[&str]) -> Result<HashMap<String, StartReads>, StoreError> {
        let (mut carried, journals) = (store.carried_of(ids)?, crate::journal::Stored::read(store, ids)?);
        Ok(journals
            .into_iter()
            .map(|(id, journal)| (id.clone(), StartReads { carried: carried.remove(&id), journal }))
            .collect())
    }
}

fn store_error(e: StoreError) -> HubError {
    HubError::Store(e.to_string())
}

impl Hub {
    /// Reopens every session the store holds, with its id, name, secret and documents.
    ///
    /// # Errors
    /// [`HubError::Store`] when the store cannot be read or a document does not load.
    pub fn restore_sessions(&self) -> Result<Vec<SessionHandle>, HubError> {
        let Some(store) = self.cfg.store.clone() else { return Ok(Vec::new()) };
        // A node of a cluster loads sessions on demand, as the proxy sends their members.
        if self.cfg.node.is_some() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let starting = self.starting();
        for s in store.sessions().map_err(store_error)? {
            // One session that does not load must not keep the others from starting.
            let id = s.id.clone();
            match self.start_stored(&starting, s, None) {
                Ok(h) => out.push(h),
                Err(e @ HubError::Store(_)) => tracing::error!(session = %id, "not restored: {e}"),
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Starts a stored session with its id, name, secrets and documents, under `loading`, and
    /// with what it carried and its journal's rows: as `read` ([`StartReads::read`]), or read now.
    pub(crate) fn start_stored(
        &self,
        starting: &Starting<'_>,
        s: StoredSession,
        read: Option<StartReads>,
    ) -> Result<SessionHandle, HubError> {
        let store = self.cfg.store.clone().ok_or_else(|| HubError::Store("no store".into()))?;
        let doc = crate::stored_doc::start_document(&store, &s.id).map_err(HubError::Store)?;
        let secrets = Secrets {
            secret: Some(Secret(s.secret.clone())),
            leader: s.leader_secret.clone().map(Secret),
            viewer: s.viewer_secret.clone().map(Secret),
            pin: s.pin.clone().map(Secret),
        };
        // A node taking the session over (or this host, restarted) resumes its members as the
        // same participants, with their roles and access, and keeps its schedule.
        let StartReads { carried, journal } = match read {
            Some(read) => read,
            None => StartReads::read(&store, &[&s.id]).map_err(store_error)?.remove(&s.id).unwrap_or_default(),
        };
        let carried = carried.and_then(|(data, roster)| {
            bandsync_core::session::carry::Carried::from_parts(&data, roster.as_deref())
                .map_err(|e| tracing::error!(session = %s.id, "carried state unreadable: {e}"))
                .ok()
        });
        self.start_session(starting, Some(&s), &s.name, secrets, Begins { doc, carried, journal: Some(journal) })
    }
}
