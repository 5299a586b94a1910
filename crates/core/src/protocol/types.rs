//! The values messages carry: the session snapshot, participants and their roles, sync quality,
//! secrets.

use crate::time::Micros;
use crate::timeline::Transport;
use serde::{Deserialize, Serialize};

/// A participant's id, unique within its session and stable across reconnects.
pub type ParticipantId = u32;

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
    /// Who may send cues besides the leader.
    #[serde(default)]
    pub cue_by: CueBy,
    /// The member the leader lets cue as well (on every device of theirs), by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub cue_member: Option<String>,
    /// Host time when the snapshot was taken.
    pub now: Micros,
}

/// The longest cue, in characters.
pub const CUE_MAX_CHARS: usize = 60;

/// A cue's text as the band sees it (trimmed), or why it cannot be one. Every way of cueing (the
/// leader's button, the CLI, a pedal's map) is held to this rule by the host.
///
/// # Errors
/// Empty, longer than [`CUE_MAX_CHARS`], or with control characters.
pub fn cue_text(text: &str) -> Result<&str, &'static str> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > CUE_MAX_CHARS || text.chars().any(char::is_control) {
        return Err("a cue is 1 to 60 characters, without control characters");
    }
    Ok(text)
}

/// Who may send cues to the band: the leader always; the leader may let every editor cue too, or
/// name one member who may (the band's musical director, the drummer counting the band out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CueBy {
    /// The leader alone.
    #[default]
    Leader,
    /// The leader and every participant who may edit (not viewers).
    Editors,
}

impl CueBy {
    /// Whether `p`, if not the leader, may send cues: an editor, when the leader lets every editor
    /// cue, or when `p` is the member the leader named (`member`), on any of their devices.
    /// Viewers never.
    #[must_use]
    pub fn allows(self, member: Option<&str>, p: &Participant) -> bool {
        p.access == Access::Editor && (self == CueBy::Editors || member.is_some_and(|name| p.is_called(name)))
    }
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
    pub sync: Option<super::concerns::SyncQuality>,
    /// Host time when they first joined.
    pub joined_at: Micros,
}

impl Participant {
    /// Whether this participant is the member called `name`. One member may be on several
    /// devices, each a participant of the same name ([`super::member_key`]).
    #[must_use]
    pub fn is_called(&self, name: &str) -> bool {
        super::member_key(&self.name) == super::member_key(name)
    }
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

/// Why a participant left the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    /// It sent `leave`.
    Left,
    /// It was away for longer than the resume window.
    Timeout,
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
