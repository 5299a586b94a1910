//! What comes out of a member: what the driver must do with the connection ([`Transmit`]) and
//! what happened ([`MemberEvent`]).

use crate::clock::ClockStatus;
use crate::host_axis::HostAxis;
use crate::protocol::{ErrorCode, Participant, ParticipantId, RoomStats, Secret, ServerMsg};
use crate::time::Micros;
use crate::timeline::Transport;
use serde::Serialize;

/// What the driver must do with the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transmit {
    /// Open a new connection to the target (racing its alternates); report the outcome.
    Connect,
    /// Send a text frame.
    Text(String),
    /// Send a binary (y-sync) frame.
    Binary(Vec<u8>),
    /// Close the connection (or abandon the one being opened).
    Close,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum MemberEvent {
    /// Joined (or re-joined) the session.
    Joined {
        /// Our participant id.
        you: ParticipantId,
        /// The session id.
        session: String,
        /// The session name.
        name: String,
        /// Whether the server resumed our earlier participant.
        resumed: bool,
    },
    /// The participant list or room stats changed.
    Participants {
        /// Everyone, in join order.
        participants: Vec<Participant>,
        /// Counts and leader.
        stats: RoomStats,
    },
    /// The transport schedule changed.
    Transport {
        /// The schedule.
        transport: Transport,
        /// Host time when the server sent it.
        now: Micros,
        /// The host clock its times are on: whatever remembers host times of the schedules
        /// before moves onto it ([`crate::host_axis`]).
        axis: HostAxis,
    },
    /// The server refused something we sent; nothing changed.
    Error {
        /// The stable code.
        code: ErrorCode,
        /// The explanation.
        message: String,
        /// The refused message's type.
        about: Option<String>,
    },
    /// The connection dropped; a reconnect follows.
    Disconnected {
        /// Why.
        reason: String,
    },
    /// Waiting `delay` before reconnect attempt `attempt` (1-based).
    Reconnecting {
        /// Which attempt.
        attempt: u32,
        /// The wait.
        delay: Micros,
    },
    /// The server refused the join for good. The member has ended.
    Refused {
        /// The stable code.
        code: ErrorCode,
        /// The explanation.
        message: String,
    },
    /// The connection could not be re-established in time. The member has ended.
    Lost {
        /// The last failure.
        reason: String,
    },
    /// We left the session. The member has ended.
    Left,
    /// Our participant was resumed on a newer connection (the same session opened in another
    /// tab or window). The member has ended rather than take it back.
    Replaced,
    /// The clock estimate, every `report_interval`.
    Clock {
        /// The estimate.
        status: ClockStatus,
    },
    /// The leader's cue: show `text` at host time `at` (a bar line while playing).
    Cue {
        /// What to show.
        text: String,
        /// When it lands (host time).
        at: Micros,
        /// The bar it lands on, while playing.
        bar: Option<i64>,
        /// Who sent it.
        by: ParticipantId,
    },
    /// A y-sync message for the documents (a binary frame from the server).
    Doc {
        /// The frame.
        bytes: Vec<u8>,
    },
    /// A server control message as received (with `forward_server_messages`).
    Server {
        /// The message.
        msg: ServerMsg,
    },
    /// To the leader: the join credentials as they are now (after a rotation the old link is
    /// revoked). [`JoinTarget::link`](super::JoinTarget::link) makes the link.
    Credentials {
        /// The session secret.
        secret: Secret,
        /// The PIN, if set.
        pin: Option<Secret>,
        /// The view-only link's secret, if the host made one.
        viewer: Option<Secret>,
    },
}
