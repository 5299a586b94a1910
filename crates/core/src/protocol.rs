//! The wire protocol: every message a member and the peer server exchange.
//!
//! Control messages are JSON objects in WebSocket text frames, tagged by `"type"`. Binary frames
//! are reserved for document sync (y-sync). `docs/PROTOCOL.md` documents each message: its fields,
//! who may send it, what it causes, and its errors. This file holds only types and their
//! (de)serialisation; what a message *does* lives in [`crate::session`].

use crate::chat::{ActivityEvent, ChatMessage, VersionInfo};
use crate::time::{Beats, Micros};
use crate::timeline::{Meter, Transport};
use serde::{Deserialize, Serialize};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 1;
/// The oldest protocol version this build still accepts.
pub const MIN_PROTOCOL_VERSION: u16 = 1;
/// The largest control or document frame a member may send, in bytes. A frame of this size or
/// more is refused with [`ErrorCode::FrameTooLarge`].
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// A participant's id, unique within its session and stable across reconnects.
pub type ParticipantId = u32;

/// A message from a member to the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMsg {
    /// Joins a session, or resumes a participant after a reconnect. Comes before any other message except `ping` and `heartbeat`.
    Join {
        /// The protocol version the member speaks.
        v: u16,
        /// The session to join.
        session: String,
        /// Display name, 1 to 40 characters after trimming.
        name: String,
        /// What the member plays, up to 40 characters.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instrument: Option<String>,
        /// The resume token from an earlier `welcome`, to come back as the same participant.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<Secret>,
        /// Claims leadership on join if it is free.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        leader: bool,
        /// The session secret from the join link. Not needed to resume with a valid token.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<Secret>,
        /// The session PIN, for joins typed by hand instead of a link.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pin: Option<Secret>,
    },
    /// Leaves the session for good; the participant is removed at once.
    Leave {},
    /// Changes the sender's own name, instrument or colour.
    Profile {
        /// A new display name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// A new instrument; an empty string clears it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instrument: Option<String>,
        /// A colour as `#rrggbb`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        color: Option<String>,
    },
    /// Takes leadership if nobody holds it.
    Claim {},
    /// Gives up leadership, leaving it free.
    Release {},
    /// Leader only: hands leadership to another online participant.
    Handover {
        /// Who becomes leader.
        to: ParticipantId,
    },
    /// Leader only: sets another participant's document access.
    SetAccess {
        /// Whose access changes.
        participant: ParticipantId,
        /// The new access.
        access: Access,
    },
    /// Leader only: sets the tempo, landing on the next bar line.
    Tempo {
        /// Beats per minute, 20 to 999.
        bpm: f64,
    },
    /// Leader only: sets the meter, landing on the next bar line.
    Meter {
        /// Beats per bar, 1 to 32.
        beats: u8,
        /// Beat unit: 1, 2, 4, 8, 16 or 32.
        unit: u8,
        /// Accent grouping; defaults to the conventional one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        groups: Option<Vec<u8>>,
    },
    /// Leader only: starts the metronome, after an optional count-in.
    Play {
        /// Bars of count-in, 0 to 8.
        #[serde(default)]
        count_in: u8,
    },
    /// Leader only: stops the metronome at the next bar line.
    Stop {},
    /// Leader only: moves the position, landing on the next bar line.
    Seek {
        /// The new position, in micro-beats.
        position: Beats,
    },
    /// Asks for a fresh full snapshot.
    Sync {},
    /// A clock-sync probe; answered at once with a `pong`.
    Ping {
        /// A sequence number echoed in the pong.
        n: u32,
        /// The member's clock when it sent the ping (µs).
        t0: Micros,
    },
    /// The member's clock-sync quality, shown to everyone in the participant view.
    SyncReport {
        /// Round-trip time to the server (µs).
        rtt_us: i64,
        /// Estimated bound on the member's clock error (µs).
        error_us: i64,
        /// Whether the member considers itself synced.
        synced: bool,
    },
    /// Leader only: replaces the session secret, revoking every join link given out so far.
    /// Members already in stay in.
    RotateSecret {},
    /// Leader only: sets (or with `null` clears) a 4-to-8-digit PIN for typed joins.
    SetPin {
        /// The PIN, or `null` for none.
        pin: Option<Secret>,
    },
    /// Keeps an idle connection alive; answered with a `heartbeat`.
    Heartbeat {
        /// Echoed back.
        #[serde(default)]
        n: u32,
    },
    /// Leader only: makes a setlist song current (or with `null`, none). Its tempo and meter land
    /// on the next bar line, and the song starts there.
    Song {
        /// The song's id in the setlist.
        id: Option<String>,
    },
    /// Posts a chat message.
    Chat {
        /// The text, 1 to 2000 characters.
        text: String,
        /// The message this one answers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<u64>,
    },
    /// Edits one of the sender's own chat messages.
    ChatEdit {
        /// Which message.
        id: u64,
        /// Its new text.
        text: String,
    },
    /// Deletes one of the sender's own chat messages.
    ChatDelete {
        /// Which message.
        id: u64,
    },
    /// Toggles the sender's emoji reaction on a chat message.
    ChatReact {
        /// Which message.
        id: u64,
        /// One emoji.
        emoji: String,
    },
    /// Asks for a page of chat history, optionally only messages matching `query`.
    ChatHistory {
        /// Only messages older than this id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<u64>,
        /// At most this many (default 50, at most 500).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
        /// Case-insensitive text to search for in messages and author names.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        query: Option<String>,
    },
    /// Asks for a page of the activity stream.
    ActivityHistory {
        /// Only events older than this id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<u64>,
        /// At most this many (default 50, at most 500).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// Asks for the list of saved document versions.
    Versions {},
    /// Editors only: saves the documents as they are now, as a named version.
    SaveVersion {
        /// A name for it, 1 to 80 characters.
        label: String,
    },
    /// Editors only: brings the documents back to a saved version, as one new edit that everyone
    /// receives (nothing is lost: the state before the restore is saved as a version first).
    RestoreVersion {
        /// Which version.
        id: u64,
    },
}

impl ClientMsg {
    /// The message's `type` tag as it appears on the wire.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            ClientMsg::Join { .. } => "join",
            ClientMsg::Leave {} => "leave",
            ClientMsg::Profile { .. } => "profile",
            ClientMsg::Claim {} => "claim",
            ClientMsg::Release {} => "release",
            ClientMsg::Handover { .. } => "handover",
            ClientMsg::SetAccess { .. } => "set_access",
            ClientMsg::Tempo { .. } => "tempo",
            ClientMsg::Meter { .. } => "meter",
            ClientMsg::Play { .. } => "play",
            ClientMsg::Stop {} => "stop",
            ClientMsg::Seek { .. } => "seek",
            ClientMsg::Sync {} => "sync",
            ClientMsg::Ping { .. } => "ping",
            ClientMsg::SyncReport { .. } => "sync_report",
            ClientMsg::Heartbeat { .. } => "heartbeat",
            ClientMsg::RotateSecret {} => "rotate_secret",
            ClientMsg::SetPin { .. } => "set_pin",
            ClientMsg::Song { .. } => "song",
            ClientMsg::Chat { .. } => "chat",
            ClientMsg::ChatEdit { .. } => "chat_edit",
            ClientMsg::ChatDelete { .. } => "chat_delete",
            ClientMsg::ChatReact { .. } => "chat_react",
            ClientMsg::ChatHistory { .. } => "chat_history",
            ClientMsg::ActivityHistory { .. } => "activity_history",
            ClientMsg::Versions {} => "versions",
            ClientMsg::SaveVersion { .. } => "save_version",
            ClientMsg::RestoreVersion { .. } => "restore_version",
        }
    }

    /// Whether this is a chat, activity or document-version message: the server's storage side
    /// handles those, not the session state machine.
    #[must_use]
    pub fn is_journal(&self) -> bool {
        matches!(
            self,
            ClientMsg::Chat { .. }
                | ClientMsg::ChatEdit { .. }
                | ClientMsg::ChatDelete { .. }
                | ClientMsg::ChatReact { .. }
                | ClientMsg::ChatHistory { .. }
                | ClientMsg::ActivityHistory { .. }
                | ClientMsg::Versions {}
                | ClientMsg::SaveVersion { .. }
                | ClientMsg::RestoreVersion { .. }
        )
    }

    /// Every `type` a member may send, for telling an unknown type from a malformed message.
    pub const KINDS: &'static [&'static str] = &[
        "join",
        "leave",
        "profile",
        "claim",
        "release",
        "handover",
        "set_access",
        "tempo",
        "meter",
        "play",
        "stop",
        "seek",
        "sync",
        "ping",
        "sync_report",
        "heartbeat",
        "rotate_secret",
        "set_pin",
        "song",
        "chat",
        "chat_edit",
        "chat_delete",
        "chat_react",
        "chat_history",
        "activity_history",
        "versions",
        "save_version",
        "restore_version",
    ];
}

/// A message from the server to a member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
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
        /// Everything about the session.
        snapshot: Snapshot,
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
        /// Why: `left`, `timeout` or `replaced`.
        reason: String,
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
    },
    /// The answer to a `heartbeat`.
    Heartbeat {
        /// The heartbeat's number, echoed.
        n: u32,
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

impl ServerMsg {
    /// An error message.
    #[must_use]
    pub fn error(code: ErrorCode, message: impl Into<String>, about: Option<&str>) -> Self {
        ServerMsg::Error { code, message: message.into(), about: about.map(str::to_owned) }
    }
}

/// A secret (session secret, PIN). Its `Debug` is redacted so that no log can print it, and
/// comparison takes the same time whatever the input.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    /// Compares in time independent of where the strings differ.
    #[must_use]
    pub fn matches(&self, other: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), other.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    /// The secret's text, for building a join link.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Everything a member needs to render the session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Snapshot {
    /// The session's id.
    pub session: String,
    /// The session's name.
    pub name: String,
    /// The current setlist song, if the leader chose one.
    #[serde(default)]
    pub song: Option<String>,
    /// Every participant, online or away, in join order.
    pub participants: Vec<Participant>,
    /// The leader, if anyone holds leadership.
    pub leader: Option<ParticipantId>,
    /// The transport schedule.
    pub transport: Transport,
    /// Member counts.
    pub stats: RoomStats,
    /// Host time when the snapshot was taken.
    pub now: Micros,
}

/// A member of the session, as everyone sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Participant {
    /// Stable id within the session.
    pub id: ParticipantId,
    /// Display name.
    pub name: String,
    /// What they play.
    pub instrument: Option<String>,
    /// Leader or follower.
    pub role: Role,
    /// What they may do to the documents.
    pub access: Access,
    /// Whether they are connected now.
    pub connection: Connection,
    /// Their colour, `#rrggbb`, for cursors and the participant view.
    pub color: String,
    /// Their clock-sync quality, once they have reported one.
    pub sync: Option<SyncQuality>,
    /// Host time when they first joined.
    pub joined_at: Micros,
}

/// Who controls the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Controls tempo, meter, start, stop and position. At most one per session.
    Leader,
    /// Follows the leader.
    Follower,
}

/// What a participant may do to the session's documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// May edit charts, the setlist and chat.
    Editor,
    /// May only read.
    Viewer,
}

/// Whether a participant is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Connection {
    /// Connected now.
    Online,
    /// Lost the connection, and may still resume.
    Away,
}

/// How well a participant's clock agrees with the host's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncQuality {
    /// Round-trip time to the server (µs).
    pub rtt_us: i64,
    /// Estimated bound on the clock error (µs).
    pub error_us: i64,
    /// Whether the participant is synced.
    pub synced: bool,
}

/// Member counts and the leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RoomStats {
    /// Participants, online or away.
    pub members: u32,
    /// Participants connected now.
    pub online: u32,
    /// The leader, if any.
    pub leader: Option<ParticipantId>,
}

/// The stable error codes. Documented in `docs/PROTOCOL.md`; never renumber or rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not valid JSON, or a field is missing or of the wrong type.
    Malformed,
    /// The `type` is not one this server knows.
    UnknownType,
    /// The member's protocol version is not supported.
    VersionUnsupported,
    /// The frame is 64 KiB or larger.
    FrameTooLarge,
    /// The member sends faster than its rate limit.
    RateLimited,
    /// A message other than `join` arrived before joining.
    NotJoined,
    /// A second `join` on a joined connection.
    AlreadyJoined,
    /// There is no session with that id.
    UnknownSession,
    /// The session or server has no room for another member.
    Full,
    /// Only the leader may do that.
    NotLeader,
    /// Someone else holds leadership.
    LeaderTaken,
    /// No participant has that id, or it is not online.
    UnknownParticipant,
    /// The tempo is outside 20 to 999 BPM.
    InvalidTempo,
    /// The meter or its accent groups are not sensible.
    InvalidMeter,
    /// A name, instrument or colour is empty, too long or has control characters.
    InvalidName,
    /// A position or count-in is out of range.
    InvalidPosition,
    /// A binary frame arrived, but documents are not enabled on this server.
    Unsupported,
    /// The session needs its secret (from the join link) or its PIN.
    AuthRequired,
    /// The secret or PIN is wrong, or was revoked by a rotation.
    BadSecret,
    /// Too many wrong PINs lately: PIN joins are paused for a minute.
    TooManyAttempts,
    /// A viewer tried to change the documents.
    ReadOnly,
    /// The server hit an unexpected problem; the message was not applied.
    Internal,
    /// Not yours to change: another member's chat message.
    Forbidden,
    /// There is no chat message, song or version with that id.
    UnknownMessage,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Malformed => "malformed",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::VersionUnsupported => "version_unsupported",
            ErrorCode::FrameTooLarge => "frame_too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::NotJoined => "not_joined",
            ErrorCode::AlreadyJoined => "already_joined",
            ErrorCode::UnknownSession => "unknown_session",
            ErrorCode::Full => "full",
            ErrorCode::NotLeader => "not_leader",
            ErrorCode::LeaderTaken => "leader_taken",
            ErrorCode::UnknownParticipant => "unknown_participant",
            ErrorCode::InvalidTempo => "invalid_tempo",
            ErrorCode::InvalidMeter => "invalid_meter",
            ErrorCode::InvalidName => "invalid_name",
            ErrorCode::InvalidPosition => "invalid_position",
            ErrorCode::Unsupported => "unsupported",
            ErrorCode::AuthRequired => "auth_required",
            ErrorCode::BadSecret => "bad_secret",
            ErrorCode::TooManyAttempts => "too_many_attempts",
            ErrorCode::ReadOnly => "read_only",
            ErrorCode::Internal => "internal",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::UnknownMessage => "unknown_message",
        }
    }

    /// Whether a member that receives this code in answer to `join` should give up rather than
    /// retry: the CLI exits with code 3 on these.
    #[must_use]
    pub fn is_refusal(self) -> bool {
        matches!(
            self,
            ErrorCode::VersionUnsupported
                | ErrorCode::UnknownSession
                | ErrorCode::Full
                | ErrorCode::InvalidName
                | ErrorCode::AuthRequired
                | ErrorCode::BadSecret
                | ErrorCode::TooManyAttempts
        )
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a text frame could not be turned into a [`ClientMsg`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct DecodeError {
    /// [`ErrorCode::Malformed`], [`ErrorCode::UnknownType`] or [`ErrorCode::FrameTooLarge`].
    pub code: ErrorCode,
    /// What was wrong.
    pub message: String,
    /// The `type` tag, when it could be read.
    pub about: Option<String>,
}

impl DecodeError {
    /// The error frame to send back.
    #[must_use]
    pub fn to_msg(&self) -> ServerMsg {
        ServerMsg::error(self.code, self.message.clone(), self.about.as_deref())
    }
}

/// Parses a text frame from a member.
///
/// # Errors
/// [`ErrorCode::FrameTooLarge`] for 64 KiB or more, [`ErrorCode::UnknownType`] for a `type` this
/// build does not know, and [`ErrorCode::Malformed`] for anything else that is not a valid
/// message, including unknown fields.
pub fn decode_client(text: &str) -> Result<ClientMsg, DecodeError> {
    if text.len() >= MAX_FRAME_BYTES {
        return Err(DecodeError {
            code: ErrorCode::FrameTooLarge,
            message: format!("frame of {} bytes; the limit is {} bytes", text.len(), MAX_FRAME_BYTES - 1),
            about: None,
        });
    }
    match serde_json::from_str::<ClientMsg>(text) {
        Ok(msg) => Ok(msg),
        Err(e) => {
            #[derive(Deserialize)]
            struct Probe {
                #[serde(rename = "type")]
                kind: Option<serde_json::Value>,
            }
            let kind = serde_json::from_str::<Probe>(text).ok().and_then(|p| p.kind);
            match kind {
                Some(serde_json::Value::String(k)) if !ClientMsg::KINDS.contains(&k.as_str()) => Err(DecodeError {
                    code: ErrorCode::UnknownType,
                    message: format!("unknown message type {k:?}"),
                    about: Some(truncate(&k, 40)),
                }),
                Some(serde_json::Value::String(k)) => Err(DecodeError {
                    code: ErrorCode::Malformed,
                    message: format!("bad {k:?} message: {e}"),
                    about: Some(k),
                }),
                _ => Err(DecodeError {
                    code: ErrorCode::Malformed,
                    message: format!("not a BandSync message: {e}"),
                    about: None,
                }),
            }
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Serialises a server message to its JSON text.
#[must_use]
pub fn encode_server(msg: &ServerMsg) -> String {
    serde_json::to_string(msg).expect("server messages always serialise")
}

/// Meter fields as a client sends them, turned into a checked [`Meter`].
///
/// # Errors
/// See [`Meter::with_groups`].
pub fn meter_from_wire(beats: u8, unit: u8, groups: Option<Vec<u8>>) -> Result<Meter, crate::timeline::TimelineError> {
    match groups {
        Some(g) => Meter::with_groups(beats, unit, g),
        None => Meter::new(beats, unit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_round_trips() {
        let m = ClientMsg::Join {
            v: 1,
            session: "abc".into(),
            name: "Ana".into(),
            instrument: None,
            resume: None,
            leader: true,
            secret: None,
            pin: None,
        };
        let s = serde_json::to_string(&m).unwrap();
        assert_eq!(s, r#"{"type":"join","v":1,"session":"abc","name":"Ana","leader":true}"#);
        assert_eq!(decode_client(&s).unwrap(), m);
    }

    #[test]
    fn unknown_type_and_malformed_are_told_apart() {
        assert_eq!(decode_client(r#"{"type":"dance"}"#).unwrap_err().code, ErrorCode::UnknownType);
        assert_eq!(decode_client(r#"{"type":"tempo","bpm":"fast"}"#).unwrap_err().code, ErrorCode::Malformed);
        assert_eq!(decode_client("{not json").unwrap_err().code, ErrorCode::Malformed);
        assert_eq!(decode_client(r#"{"bpm":120}"#).unwrap_err().code, ErrorCode::Malformed);
    }

    #[test]
    fn leftover_fields_are_rejected() {
        let e = decode_client(r#"{"type":"tempo","bpm":120,"extra":1}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::Malformed);
        assert_eq!(e.about.as_deref(), Some("tempo"));
        let e = decode_client(r#"{"type":"stop","extra":1}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::Malformed);
    }

    #[test]
    fn oversized_frame_is_refused_before_parsing() {
        let big = format!(r#"{{"type":"heartbeat","pad":"{}"}}"#, "x".repeat(MAX_FRAME_BYTES));
        assert_eq!(decode_client(&big).unwrap_err().code, ErrorCode::FrameTooLarge);
    }

    #[test]
    fn kinds_list_matches_every_variant() {
        let samples = [
            r#"{"type":"leave"}"#,
            r#"{"type":"claim"}"#,
            r#"{"type":"release"}"#,
            r#"{"type":"stop"}"#,
            r#"{"type":"sync"}"#,
            r#"{"type":"heartbeat"}"#,
            r#"{"type":"play"}"#,
            r#"{"type":"tempo","bpm":90}"#,
            r#"{"type":"seek","position":0}"#,
            r#"{"type":"ping","n":1,"t0":5}"#,
        ];
        for s in samples {
            let m = decode_client(s).unwrap();
            assert!(ClientMsg::KINDS.contains(&m.kind()));
        }
    }

    #[test]
    fn error_codes_serialise_as_their_names() {
        for c in [ErrorCode::NotLeader, ErrorCode::FrameTooLarge, ErrorCode::VersionUnsupported] {
            assert_eq!(serde_json::to_value(c).unwrap(), serde_json::Value::String(c.as_str().into()));
        }
    }
}
