//! Chat messages, the activity stream and document versions, as they travel.

use super::ParticipantId;
use serde::{Deserialize, Serialize};

/// A chat message as everyone sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChatMessage {
    /// Increasing id within the session.
    pub id: u64,
    /// Who wrote it.
    pub from: ParticipantId,
    /// Their display name when they wrote it.
    pub name: String,
    /// The text; empty once deleted.
    pub text: String,
    /// When it was posted (Unix ms, host wall clock).
    pub at: i64,
    /// When it was last edited (Unix ms), if ever.
    pub edited_at: Option<i64>,
    /// Whether its author deleted it.
    pub deleted: bool,
    /// The message this one answers.
    pub reply_to: Option<u64>,
    /// Emoji reactions, in the order they were first given.
    pub reactions: Vec<Reaction>,
    /// Who it mentions (`@Ben`, `@drums`, `@all`; see [`crate::chat::mentions`]), read when it
    /// was posted or last edited.
    #[serde(default)]
    pub mentions: Vec<ParticipantId>,
}

/// One emoji and who gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Reaction {
    /// The emoji (one grapheme, at most 16 bytes).
    pub emoji: String,
    /// Who gave it, in order.
    pub by: Vec<ParticipantId>,
}

/// What happened, for the activity stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ActivityKind {
    /// Someone joined.
    Join,
    /// Someone left or timed out.
    Leave,
    /// Leadership changed hands.
    Role,
    /// Someone's document access changed.
    Access,
    /// The tempo changed.
    Tempo,
    /// The meter changed.
    Meter,
    /// The metronome started.
    Play,
    /// The metronome stopped.
    Stop,
    /// The position moved.
    Seek,
    /// The current song changed.
    Song,
    /// The leader cued the band.
    Cue,
    /// The documents were edited (a summary of a burst of edits).
    Edit,
    /// A document version was saved or restored.
    Version,
}

/// One entry of the activity stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ActivityEvent {
    /// Increasing id within the session.
    pub id: u64,
    /// When (Unix ms, host wall clock).
    pub at: i64,
    /// What kind of thing happened.
    pub kind: ActivityKind,
    /// Who did it, when one participant did.
    pub by: Option<ParticipantId>,
    /// A one-line, human-readable summary.
    pub summary: String,
}

/// A saved version of the session's documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VersionInfo {
    /// Increasing id within the session.
    pub id: u64,
    /// When it was saved (Unix ms).
    pub at: i64,
    /// What it is: a member's label, or a summary of the edits it closes.
    pub label: String,
    /// Its encoded size in bytes.
    pub size: u64,
    /// Whether a member saved it with a label (kept longer than the automatic ones: see
    /// [`crate::retention`]).
    #[serde(default)]
    pub named: bool,
}
