//! Messages from a member to the server, and which layer of the server handles each.

use super::{Access, CueBy, OutputReport, ParticipantId, Personal, Secret};
use crate::time::{Beats, Micros};
use crate::timeline::Tempo;
use serde::{Deserialize, Serialize};

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
        /// The resume token from an earlier `welcome`, to come back as the same participant; on a
        /// first join, a token the member proposes (32–64 characters of `[A-Za-z0-9_-]`, random):
        /// the server adopts it, so that a join whose `welcome` was lost is resumed by the next.
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
        /// A one-shot member: a script that joins to do one thing and leaves (`bandsync chart
        /// set`, `chat send`, `import`). Its coming and going is not activity; what it does is.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        once: bool,
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
        /// The tempo in milli-BPM (120 BPM is 120000), 20 000 to 999 000.
        tempo: Tempo,
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
        /// A host time on which a bar starts, in a grid of bars at the session's tempo and
        /// meter: the start (the count-in's first beat) lands on the first bar line of that grid
        /// at least a lead time ahead, instead of a lead time from now. The Link bridge passes
        /// Link's bar, so the band comes in on Ableton Live's bar. At most an hour from now.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_bar: Option<Micros>,
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
        /// Round-trip time to the server (µs), 0 to 60 s.
        rtt_us: Micros,
        /// Estimated bound on the member's clock error (µs), 0 to 60 s.
        error_us: Micros,
        /// Whether the member considers itself synced.
        synced: bool,
        /// The member's audio output, when it plays the click.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        output: Option<OutputReport>,
        /// How late (µs, 0 to 60 s) the member handles the server's messages: about the 95th
        /// percentile of the one-way delays of its recent pongs and schedules, stalls of a busy
        /// device included. The lead time of changes covers it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delivery_us: Option<Micros>,
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
    /// The leader (or, when the leader allows it with `cue_by`, an editor or the member named): a cue to the band
    /// ("Last chorus", "Break", "Key change"). It lands on the next bar line (at once when
    /// stopped), on every device together.
    Cue {
        /// 1 to 60 characters, no control characters.
        text: String,
    },
    /// Leader only: who besides the leader may send cues. Everyone hears of it in `cue_by`.
    CueBy {
        /// The leader alone, or every editor too.
        who: CueBy,
        /// A participant who may cue as well, with every device of that member (each a
        /// participant of the same name): an editor. Left out, nobody is named.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        member: Option<ParticipantId>,
    },
    /// This member's own settings changed ([`Personal`]): the host keeps them for the member
    /// and passes them to every device of the member (this one too), and to no one else.
    Personal {
        /// All of them.
        settings: Personal,
    },
    /// Leader only: moves the current song's flow. From the next bar line the band is at flow
    /// bar `bar` (the start of the part to repeat or go to), and with `vamp` it loops that part
    /// until the next move.
    Flow {
        /// The flow bar, 0 to 100 000 (0 is the song's first bar); left out with `vamp`, the band
        /// vamps on the bar it reaches, counting on.
        #[serde(default)]
        bar: Option<i64>,
        /// Whether to loop the part `bar` is in.
        #[serde(default)]
        vamp: bool,
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
    /// Asks for the whole chat written out as `json`, `csv` or `txt` (answered with
    /// `chat_export`): the host writes it, so every member's export is the CLI's.
    ChatExport {
        /// `json`, `csv` or `txt`.
        format: String,
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

/// Which layer of the server handles a message. One match, so that a new message cannot be
/// forgotten in one of several lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The connection itself: `join` (which it hands to the session with its outbox), and `ping`
    /// and `heartbeat`, answered as close to the wire as possible.
    Connection,
    /// The session state machine.
    Session,
    /// The session's documents first, then the state machine: `song` looks the song up in the
    /// setlist.
    Documents,
    /// The session's journal in storage: chat, the activity stream, versions.
    Journal,
}

impl ClientMsg {
    /// Which layer handles this message.
    #[must_use]
    pub fn route(&self) -> Route {
        use ClientMsg as M;
        match self {
            M::Join { .. } | M::Ping { .. } | M::Heartbeat { .. } => Route::Connection,
            M::Leave {}
            | M::Profile { .. }
            | M::Claim {}
            | M::Release {}
            | M::Handover { .. }
            | M::SetAccess { .. }
            | M::Tempo { .. }
            | M::Meter { .. }
            | M::Play { .. }
            | M::Stop {}
            | M::Seek { .. }
            | M::Sync {}
            | M::SyncReport { .. }
            | M::RotateSecret {}
            | M::SetPin { .. }
            | M::Cue { .. }
            | M::CueBy { .. }
            | M::Personal { .. }
            | M::Flow { .. } => Route::Session,
            M::Song { .. } => Route::Documents,
            M::Chat { .. }
            | M::ChatEdit { .. }
            | M::ChatDelete { .. }
            | M::ChatReact { .. }
            | M::ChatHistory { .. }
            | M::ChatExport { .. }
            | M::ActivityHistory { .. }
            | M::Versions {}
            | M::SaveVersion { .. }
            | M::RestoreVersion { .. } => Route::Journal,
        }
    }

    /// The message's `type` tag as it appears on the wire (read from its encoding, so that it can
    /// never disagree with it). For errors and logs.
    #[must_use]
    pub fn kind(&self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(m)) => m.get("type").and_then(|t| t.as_str()).unwrap_or("?").to_owned(),
            _ => "?".to_owned(),
        }
    }
}
