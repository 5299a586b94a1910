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

/// Who may send cues to the band: the leader always; the leader may let every editor cue too
/// (the band's musical director, the drummer counting the band out).
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncQuality {
    /// Round-trip time to the server (µs).
    pub rtt_us: Micros,
    /// Estimated bound on the clock error (µs).
    pub error_us: Micros,
    /// Whether the participant is synced.
    pub synced: bool,
    /// Its audio output, when it plays the click.
    #[serde(default)]
    pub output: Option<OutputReport>,
    /// What the leader is warned about, judged by the host ([`SyncQuality::judged`]).
    #[serde(default)]
    pub concerns: Vec<super::concerns::SyncConcern>,
}

/// A member's audio output, as it reports it: how late its speaker (or earbuds) sound after the
/// click is rendered, where that figure comes from, and how many clicks it could not play on time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OutputReport {
    /// The output latency the click is compensated for (µs), 0 to 2 s.
    pub latency_us: Micros,
    /// Of `latency_us`, the engine's own buffering (µs): what a browser renders ahead
    /// (`baseLatency`) or the audio callback's buffer. Known exactly, unlike what the device and
    /// its speaker or earbuds add after it; 0 from members that do not say.
    #[serde(default)]
    pub buffer_us: Micros,
    /// Where that figure comes from.
    pub source: LatencySource,
    /// Clicks played since the output opened (the page: since sound was turned on; a native
    /// member: since its device, buffer or latency setting last changed).
    pub clicks: u32,
    /// Clicks that never sounded: due before they could be scheduled, or the output was
    /// suspended (a locked phone).
    pub missed: u32,
    /// Clicks that sounded later than the shared timeline says, by more than a millisecond.
    pub late: u32,
    /// What plays it, e.g. `cpal`, `web-audio WebKit`, at most 40 characters.
    pub engine: String,
}

/// Where an output latency figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LatencySource {
    /// What the platform reports (it may leave out Bluetooth and speaker processing).
    Reported,
    /// Measured on this device through its microphone.
    Measured,
    /// Set by the player: typed in, or found by tapping along.
    Calibrated,
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
