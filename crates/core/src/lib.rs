//! BandSync's sans-IO core: everything that can be a pure function of its input and `now`.
//!
//! - [`time`]: typed time ([`Micros`]) and position ([`Beats`], integer micro-beats).
//! - [`timeline`]: tempo, meter, Link-style timelines and the transport schedule whose changes
//!   land on bar lines.
//! - [`protocol`]: the wire messages and their JSON encoding, error codes, version constants.
//! - [`clicks`]: the click grid, the one rule for where clicks fall, and a cursor over it.
//! - [`host_axis`]: which host clock a schedule is on, and how cursors move to the next one.
//! - [`clock`]: the clock estimator (ping cadence, the fit of offset and skew, slewing): host time
//!   read from this device's clock.
//! - [`session`]: the session state machine (participants, leadership, transport control).
//! - [`member`]: one participant's side of the protocol (join, resume, refusals, heartbeats, the
//!   clock-sync cadence, sync reports, reconnects), driven by the tokio client and the phone page.
//! - [`mirror`]: a member's copy of the session state, kept in step by server messages.
//! - [`chart`]: ChordPro charts read for display, chords written for one reader.
//! - [`chat`]: the chat rules.
//! - [`midi`]: MIDI for the band's gear: messages, and the cursor that turns the transport into
//!   timed MIDI events.
//! - [`patch`]: a song's MIDI patch, and the song cue the timeline carries.
//! - [`setlist`]: one song of the setlist, and the one rule that reads it from the document.
//! - [`link`]: the Ableton Link bridge's decisions: Link shows the session's timeline, and a
//!   Link peer's change becomes the leader's request.
//! - [`tap`]: tap tempo.
//! - [`textdiff`]: the one edit between two texts, in UTF-16 units (chart text edits, here and in
//!   the page).
//! - [`tagged`]: internally tagged enums read tag first, without serde's buffering.
//! - [`jitter`]: a small seeded random source (reconnect jitter, simulations).
//! - [`ratelimit`]: the per-connection token bucket.
//! - [`retention`]: how much history (versions, chat, activity) a session keeps.
//!
//! Nothing here opens a socket, spawns a task or reads a clock: time is always an argument, so
//! every test runs in simulated time.

pub mod chart;
pub mod chat;
pub mod clicks;
pub mod clock;
pub mod host_axis;
pub mod jitter;
pub mod link;
pub mod member;
pub mod midi;
pub mod mirror;
pub mod patch;
pub mod protocol;
pub mod ratelimit;
pub mod retention;
pub mod session;
pub mod setlist;
pub mod tagged;
pub mod tap;
pub mod textdiff;
pub mod time;
pub mod timeline;

pub use clock::{ClockConfig, ClockStatus, ClockSync};
pub use mirror::Mirror;
pub use protocol::{ClientMsg, ErrorCode, PROTOCOL_VERSION, ServerMsg};
pub use session::{ConnId, Output, Session, SessionConfig, SongChoice};
pub use time::{Beats, Micros};
pub use timeline::{Meter, Tempo, Timeline, Transport};
