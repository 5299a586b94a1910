//! A handle to one running session: what reaches its task, and what the HTTP API reads of it
//! without asking the task (its counters).

use crate::session_task::{Counters, SessionInput};
use bandsync_core::protocol::{Secret, Snapshot};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// A session as the HTTP API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session id.
    pub id: String,
    /// The session name.
    pub name: String,
    /// Participants, online or away.
    pub members: u32,
    /// Participants connected now.
    pub online: u32,
}

/// What reaches one session's task.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    pub(crate) id: Arc<str>,
    pub(crate) name: Arc<str>,
    pub(crate) tx: mpsc::Sender<SessionInput>,
    pub(crate) counters: Arc<Counters>,
    /// The secret the session started with, for the host's first join link. The leader can
    /// rotate it; the current one reaches the leader in `credentials` messages.
    pub(crate) first_secret: Secret,
    /// The leader's link's secret, for sessions an organizer made.
    pub(crate) leader_secret: Option<Secret>,
    /// The view-only link's secret.
    pub(crate) viewer_secret: Secret,
    /// Ends this session's task (deletion, expiry).
    pub(crate) stop: CancellationToken,
    /// Cancelled with `stop` when this node lost the session's lease (taken, or run out
    /// unrenewed): what the task still has on its way to the disk would be refused (fenced), so
    /// its members are sent on at once, not after it.
    pub(crate) lease_lost: CancellationToken,
    /// Cancelled once the session's task has ended (returned or was dropped), and with it the
    /// work it left running (a compaction of its stored log): after its last write.
    pub(crate) ended: CancellationToken,
}

impl SessionHandle {
    /// The session as the HTTP API shows it.
    #[must_use]
    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            id: self.id.to_string(),
            name: self.name.to_string(),
            members: self.counters.members.load(Ordering::Relaxed),
            online: self.counters.online.load(Ordering::Relaxed),
        }
    }

    /// The secret the session started with.
    #[must_use]
    pub fn first_secret(&self) -> &Secret {
        &self.first_secret
    }

    /// The leader's link's secret, for sessions an organizer made.
    #[must_use]
    pub fn leader_secret(&self) -> Option<&Secret> {
        self.leader_secret.as_ref()
    }

    /// The view-only link's secret.
    #[must_use]
    pub fn viewer_secret(&self) -> &Secret {
        &self.viewer_secret
    }

    /// A full snapshot, asked of the session task.
    ///
    /// Returns `None` if the session has ended.
    pub async fn snapshot(&self) -> Option<Snapshot> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(SessionInput::Snapshot { reply }).await.ok()?;
        rx.await.ok()
    }
}
