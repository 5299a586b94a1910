//! What passes between the session and its driver: the connection ids, the session's limits
//! ([`SessionConfig`]), what the driver hands in besides messages (a [`JoinRequest`], a
//! [`SongChoice`], the [`SecretSource`]) and what it gets back ([`Output`]).

use crate::protocol::{ActivityKind, ParticipantId, Secret, ServerMsg};
use crate::time::Micros;
use crate::timeline::{Meter, Tempo};

/// Identifies one connection to the driver. A participant keeps its id across connections.
pub type ConnId = u64;

/// Limits and timings of a session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Most participants, online or away.
    pub max_members: usize,
    /// How long a leader who dropped may come back and take leadership back automatically.
    pub leader_grace: Micros,
    /// How long a participant who dropped stays in the list, resumable, before it is removed.
    pub resume_window: Micros,
    /// The least time between a change being sent and it landing, so every device hears it.
    pub min_lead: Micros,
    /// The most lead time, however slow a member's link.
    pub max_lead: Micros,
    /// The least time between two broadcasts of one participant's sync quality, unless what the
    /// list shows of it changed ([`crate::protocol::SyncQuality::shown_otherwise`]).
    pub sync_report_interval: Micros,
    /// The steady ping interval (ms) members are asked to keep (`welcome.ping_ms`); `None`
    /// leaves them at their own (50 ms).
    pub ping_ms: Option<u32>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            max_members: 512,
            leader_grace: Micros::from_secs(30),
            resume_window: Micros::from_secs(120),
            min_lead: Micros::from_millis(250),
            max_lead: Micros::from_millis(1_500),
            sync_report_interval: Micros::from_secs(5),
            ping_ms: None,
        }
    }
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send a message to one connection.
    Send(ConnId, ServerMsg),
    /// Send a message to every online member's connection.
    Broadcast(ServerMsg),
    /// Close a connection, with a reason for the close frame.
    Close(ConnId, &'static str),
    /// Something for the activity stream; the driver stamps, stores and broadcasts it.
    Activity {
        /// What kind of thing happened.
        kind: ActivityKind,
        /// Who did it.
        by: Option<ParticipantId>,
        /// A one-line summary.
        summary: String,
    },
}

/// A song the leader chose, as the driver found it in the setlist.
#[derive(Debug, Clone, Default)]
pub struct SongChoice {
    /// The song's id, or `None` to clear the current song.
    pub id: Option<String>,
    /// Its title, for the activity stream.
    pub title: Option<String>,
    /// Its tempo, when the setlist gives one.
    pub tempo: Option<Tempo>,
    /// Its meter, when the setlist gives one.
    pub meter: Option<Meter>,
    /// Its MIDI patch (checked with [`crate::patch::parse_patch`]), sent to the band's gear on the
    /// bar where it becomes current.
    pub midi: String,
}

/// The fields of a `join` that the session itself checks.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// The member's protocol version (`join.v`), already checked to be one the server speaks:
    /// refusals are sent in codes it can read.
    pub v: u16,
    /// Display name.
    pub name: String,
    /// Instrument.
    pub instrument: Option<String>,
    /// A resume token from an earlier welcome, or one proposed for a first join.
    pub resume: Option<Secret>,
    /// Claim leadership if it is free.
    pub leader: bool,
    /// The session secret from the join link.
    pub secret: Option<Secret>,
    /// The PIN, for typed joins.
    pub pin: Option<Secret>,
    /// Where the join comes from (the client's address, as the server sees it), so that wrong
    /// PINs are counted per source; `None` counts as one unknown source.
    pub source: Option<String>,
    /// A one-shot member (a script): its join and leave are not activity.
    pub once: bool,
}

/// A source of fresh secrets, injected so that the state machine stays free of IO.
pub struct SecretSource(pub Box<dyn FnMut() -> Secret + Send>);

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretSource")
    }
}
