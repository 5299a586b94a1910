//! The stable error codes, and why a frame could not be read.

use super::ServerMsg;
use serde::{Deserialize, Serialize};

/// Why a request is refused: its code, and a message for the sender.
pub type Refusal = (ErrorCode, String);

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
    /// The secret is wrong or was revoked by a rotation (or, to a version-2 member, the PIN is
    /// wrong: see [`ErrorCode::spoken_in`]).
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
    /// The change would take the session's documents past their size limit.
    DocumentFull,
    /// A song's MIDI patch in the setlist cannot be read.
    InvalidPatch,
    /// The PIN is wrong, or the session has none. Since protocol version 3.
    WrongPin,
    /// A code this build does not know: a newer server's. Members read it, and servers never
    /// send it. In answer to `join` it counts as a refusal: the member stops and shows the server's
    /// message rather than retry blind. Members built before it (protocol 2, and the first
    /// builds of 3) drop a frame they cannot read; from here on a new code needs no version of
    /// its own.
    #[serde(other)]
    Unknown,
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
            ErrorCode::DocumentFull => "document_full",
            ErrorCode::InvalidPatch => "invalid_patch",
            ErrorCode::WrongPin => "wrong_pin",
            ErrorCode::Unknown => "unknown",
        }
    }

    /// The code as a member that speaks protocol version `v` can read it: a code newer than its
    /// version becomes the older code that covered it (`wrong_pin` was `bad_secret` before 3).
    #[must_use]
    pub fn spoken_in(self, v: u16) -> ErrorCode {
        match self {
            ErrorCode::WrongPin if v < 3 => ErrorCode::BadSecret,
            code => code,
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
                | ErrorCode::WrongPin
                | ErrorCode::Unknown
                | ErrorCode::TooManyAttempts
        )
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a text frame could not be turned into a [`ClientMsg`](super::ClientMsg).
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
