//! The BandSync app's logic, behind its UI. No Tauri here, so all of it tests headless; the
//! Tauri shell (`src-tauri/`) only wires commands and channels to [`App`].
//!
//! - [`app`]: [`App`], one method per UI command: host, join, leave, send, discover, audio (each
//!   output device with its own latency figure), calibrate.
//! - [`options`]: [`AppOptions`], how the app runs (re-exported by [`app`]).
//! - [`target`]: what a typed join target means (a link, or `HOST:PORT` asked for its session).
//! - [`session`]: the task that runs one session: client events to UI events, the beat, and a
//!   hosted session's server and mDNS advertisement.
//! - [`beat_source`]: a session's beat source: the audio output while it plays, the visual beat
//!   otherwise, and the fall-back between them.
//! - [`events`]: the types the UI sees (rendered into `ui/src/bindings.ts` by `tests/bindings.rs`).
//! - [`metronome`]: the audio control thread around the cpal output (also used by the CLI);
//!   `output_report`: what it reports to the band (latency, clicks late and missed).
//! - [`midi`]: MIDI out to the band's gear and pedals in, for a session (also used by the CLI).
//! - [`beats`]: the visual beat when no audio plays, found ahead of time from the transport.
//! - `hosting`: what a hosted session keeps: its server, advertisement and join details.
//! - `browse`: a LAN browse for sessions on a thread of its own.
//! - `launch`: [`LaunchOptions`], the command line that opens hosting at once.
//! - [`link`]: a session's Ableton Link peer (the opt-in `link` feature).
//! - [`lan`]: a host's join links, one per LAN address.
//! - [`error`]: what a command can fail with.

pub mod app;
mod beat_source;
pub mod beats;
mod browse;
pub mod error;
pub mod events;
mod hosting;
pub mod lan;
mod launch;
pub mod link;
pub mod metronome;
pub mod midi;
mod options;
mod output_report;
mod session;
mod target;

pub use app::{App, AppOptions, DEFAULT_PORT};
pub use bandsync_audio::calibrate::Calibration;
pub use error::AppError;
pub use events::{
    AppEvent, AudioSettings, AudioStatus, BeatEvent, ClockReading, ConnectionState, DiscoveredSession, DiscoveryEvent,
    HostInfo, LinkStatus, MidiPorts, MidiSettings, MidiStatus,
};
pub use launch::LaunchOptions;

/// Where a stream of events goes: a Tauri `Channel` in the app, a queue in tests.
///
/// Thread-safety: yes; called from the session task and the discovery thread.
pub trait Sink<T>: Send + Sync + 'static {
    /// Delivers one event; `false` when nobody listens any more.
    fn send(&self, event: T) -> bool;
}

impl<T, F: Fn(T) -> bool + Send + Sync + 'static> Sink<T> for F {
    fn send(&self, event: T) -> bool {
        self(event)
    }
}
