//! MIDI out on the shared timeline: the band's synths, sequencers and lighting follow BandSync's
//! clock, transport and song changes.
//!
//! What to send and when is the core's rule ([`bandsync_core::midi::MidiCursor`]); this crate only
//! places each event on a device. A feeder thread walks the transport a little ahead of host time
//! ([`feed`]) and hands timed events to the device's real-time callback through a lock-free ring.
//!
//! Backends: JACK ([`jack_out`]), which takes a frame offset for every event, so each lands on its
//! exact sample. Name a target as `jack` (an unconnected port, for the user to patch) or
//! `jack:CLIENT:PORT` (connected at start).

mod feed;
#[cfg(feature = "jack")]
mod jack_out;

pub use feed::{HORIZON, HostNow, Timed};
#[cfg(feature = "jack")]
pub use jack_out::cycle_span;

use bandsync_core::Transport;
use std::sync::{Arc, Mutex};

/// Where and how to send MIDI.
#[derive(Debug, Clone)]
pub struct MidiOptions {
    /// `jack` or `jack:CLIENT:PORT`.
    pub target: String,
    /// The JACK client name (a suffix is added by JACK if it is taken).
    pub client_name: String,
    /// Send this much earlier than the timeline says, for gear that sounds late (ms).
    pub offset_ms: f64,
}

/// Why MIDI out could not start.
#[derive(Debug, thiserror::Error)]
pub enum MidiError {
    /// The target names no backend this build has.
    #[error("--midi-out {0:?}: expected \"jack\" or \"jack:CLIENT:PORT\"")]
    Target(String),
    /// The backend refused.
    #[error("MIDI out through JACK: {0}")]
    Backend(String),
}

/// A running MIDI output. Give it every transport the session sends; dropping it sends Stop if
/// the gear was playing, and closes the port.
pub struct MidiOut {
    pending: Arc<Mutex<Option<Transport>>>,
    port: String,
    #[cfg(feature = "jack")]
    _out: jack_out::JackOut,
}

impl std::fmt::Debug for MidiOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MidiOut").field("port", &self.port).finish_non_exhaustive()
    }
}

impl MidiOut {
    /// Opens the target and starts sending. `host_now` reads the session's host time (µs), or
    /// `None` while the clock has not synced (nothing is sent then).
    ///
    /// # Errors
    /// [`MidiError`] for an unknown target or a backend that cannot be opened (no JACK server).
    pub fn start(opts: &MidiOptions, host_now: HostNow) -> Result<Self, MidiError> {
        let connect = match opts.target.split_once(':') {
            None if opts.target == "jack" => None,
            Some(("jack", port)) if port.contains(':') => Some(port.to_owned()),
            _ => return Err(MidiError::Target(opts.target.clone())),
        };
        let pending = Arc::new(Mutex::new(None));
        #[cfg(feature = "jack")]
        {
            let out = jack_out::JackOut::start(opts, connect.as_deref(), host_now, Arc::clone(&pending))?;
            Ok(MidiOut { pending, port: out.port_name().to_owned(), _out: out })
        }
        #[cfg(not(feature = "jack"))]
        {
            let _ = (connect, host_now);
            Err(MidiError::Backend("this build has no JACK support".into()))
        }
    }

    /// The schedule to follow from now on (the latest the session sent).
    pub fn set_transport(&self, t: &Transport) {
        *self.pending.lock().expect("midi transport lock poisoned") = Some(t.clone());
    }

    /// The full name of the output port (`client:port`).
    #[must_use]
    pub fn port_name(&self) -> &str {
        &self.port
    }
}
