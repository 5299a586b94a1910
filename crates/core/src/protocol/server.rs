//! Messages from the server to a member.

use super::{
    ActivityEvent, ChatMessage, CueBy, ErrorCode, LeaveReason, Participant, ParticipantId, Personal, RoomStats, Secret,
    Snapshot, VersionInfo,
};
use crate::time::Micros;
use crate::timeline::Transport;
use serde::{Deserialize, Serialize};

/// How a host clock continues another's: the clock of epoch `from` read at the same instant,
/// plus `shift`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Rebase {
    /// The epoch of the clock this one continues.
    pub from: u64,
    /// This clock's reading minus that one's, at the same instant, µs.
    pub shift: Micros,
}

/// A message from the server to a member.
///
/// Read tag first ([`crate::tagged`]): servers write `type` as every message's first member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(tag = "type"))]
#[serde(remote = "Self", rename_all = "snake_case")]
pub enum ServerMsg {
    /// The answer to a successful `join`: who you are, and the whole session.
    Welcome {
        /// The protocol version the server speaks.
        v: u16,
        /// The joined participant's id.
        you: ParticipantId,
        /// A secret that lets this participant resume after a reconnect.
        resume: Secret,
        /// Whether this join resumed an earlier participant.
        resumed: bool,
        /// The host clock's epoch: it changes when the host restarts.
        epoch: u64,
        /// When the session came from another server (a node that died or drained, a host that
        /// restarted): how this clock continues that one's. A member whose clock is on epoch
        /// `from` moves its estimate by `shift` and keeps time, instead of syncing from nothing.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        rebase: Option<Rebase>,
        /// The steady ping interval (ms) the server asks its members to keep once their clock is
        /// warmed up, when not their own (a server for many bands asks for fewer pings). A member
        /// keeps within [`ASKED_PING_MS`](crate::clock::ASKED_PING_MS).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        ping_ms: Option<u32>,
        /// Everything about the session.
        snapshot: Snapshot,
        /// This member's own settings, where the host has them (a device of the member gave
        /// them): take them. Absent, the host has none: send yours (`personal`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        personal: Option<Box<Personal>>,
    },
    /// The whole session state, in answer to `sync`.
    Snapshot(Snapshot),
    /// Someone joined; sent to every member, the newcomer included.
    ParticipantJoined {
        /// The newcomer.
        participant: Participant,
    },
    /// Someone left, or was away for longer than the resume window.
    ParticipantLeft {
        /// Who left.
        id: ParticipantId,
        /// Why.
        reason: LeaveReason,
    },
    /// Someone's name, role, access, connection or sync quality changed.
    ParticipantUpdated {
        /// The participant as it is now.
        participant: Participant,
    },
    /// Member counts and the current leader.
    RoomStats(RoomStats),
    /// The transport schedule changed (tempo, meter, play, stop or seek).
    Transport {
        /// The schedule: the segment in effect and the ones that will land on future bar lines.
        transport: Transport,
        /// Who made the change.
        by: Option<ParticipantId>,
        /// Host time when the server sent this.
        now: Micros,
    },
    /// The answer to a `ping`, with the server's receive and send times.
    Pong {
        /// The ping's sequence number.
        n: u32,
        /// The member's send time, echoed.
        t0: Micros,
        /// Host time when the server received the ping.
        t1: Micros,
        /// Host time when the server sent the pong.
        t2: Micros,
        /// The host clock's epoch.
        epoch: u64,
    },
    /// To leaders only: the join credentials, on welcome, on becoming leader, and when they
    /// change. Build the join link as `http://HOST:PORT/s/SESSION#k=SECRET`.
    Credentials {
        /// The session secret (at least 128 random bits).
        secret: Secret,
        /// The PIN for typed joins, if one is set.
        pin: Option<Secret>,
        /// The view-only link's secret, where the host made one: who joins with it can only view,
        /// and stays a viewer when rejoining with it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        viewer: Option<Secret>,
    },
    /// The answer to a `heartbeat`.
    Heartbeat {
        /// The heartbeat's number, echoed.
        n: u32,
    },
    /// A cue to the band: show `text` at host time `at`, a bar line while playing.
    Cue {
        /// What to show.
        text: String,
        /// When it lands (host time).
        at: Micros,
        /// The bar it lands on (0 at the bar origin; negative in a count-in), while playing.
        bar: Option<i64>,
        /// Who sent it.
        by: ParticipantId,
    },
    /// Who besides the leader may send cues changed.
    CueBy {
        /// The leader alone, or every editor too.
        who: CueBy,
        /// The member who may cue as well, on every device of theirs, by name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        member: Option<String>,
    },
    /// This member's own settings changed, on any of its devices (the sender's too): take them.
    Personal {
        /// All of them.
        settings: Personal,
    },
    /// The current song changed; its tempo and meter arrive as a `transport` change.
    SongChanged {
        /// The song's id in the setlist, or `null` for none.
        song: Option<String>,
        /// Who changed it.
        by: Option<ParticipantId>,
    },
    /// A chat message was posted, edited, deleted or reacted to: here it is as it is now.
    Chat {
        /// The message.
        message: ChatMessage,
    },
    /// The answer to `chat_history`, oldest first.
    ChatHistory {
        /// The page.
        messages: Vec<ChatMessage>,
        /// Whether older messages remain.
        more: bool,
    },
    /// The answer to `chat_export`: the whole chat, written out.
    ChatExport {
        /// The format asked for.
        format: String,
        /// The export.
        text: String,
    },
    /// Something happened in the session.
    Activity {
        /// What.
        event: ActivityEvent,
    },
    /// The answer to `activity_history`, oldest first.
    ActivityHistory {
        /// The page.
        events: Vec<ActivityEvent>,
        /// Whether older events remain.
        more: bool,
    },
    /// The saved document versions, oldest first: the answer to `versions`, and sent to everyone
    /// when one is added.
    Versions {
        /// The versions.
        versions: Vec<VersionInfo>,
    },
    /// Something the member sent was refused. Nothing changed.
    Error {
        /// A stable, machine-readable code.
        code: ErrorCode,
        /// A human-readable explanation.
        message: String,
        /// The `type` of the refused message, when it could be read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        about: Option<String>,
    },
}

crate::tagged!(ServerMsg, "type");

impl ServerMsg {
    /// An error message.
    #[must_use]
    pub fn error(code: ErrorCode, message: impl Into<String>, about: Option<&str>) -> Self {
        ServerMsg::Error { code, message: message.into(), about: about.map(str::to_owned) }
    }
}
