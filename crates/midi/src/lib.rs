//! MIDI out on the shared timeline: the band's synths, sequencers and lighting follow BandSync's
//! clock, transport and song changes.
//!
//! What to send and when is the core's rule ([`bandsync_core::midi::MidiCursor`]); this crate only
//! places each event on a device. A feeder thread walks the transport a little ahead of host time
//! ([`feed`]) and hands timed events to the device's real-time callback through a lock-free ring.
//!
//! Backends, named by the target:
//! - JACK (`jack`: a port for the user to patch; `jack:CLIENT:PORT`: connected at start), which
//!   takes a frame offset for every event, so each lands on its exact sample;
//! - network MIDI, Apple's RTP-MIDI session (`rtp`: a session on UDP 5004/5005 that a Mac or iPad
//!   joins; `rtp:PORT`; `rtp:HOST:PORT`: invite that session), which sends each event at its
//!   moment;
//! - the system's MIDI ports (`system`: CoreMIDI, WinMM, the ALSA sequencer, through midir):
//!   `port:NAME` or a bare NAME (a synth, an interface, the IAC bus), or `virtual[:NAME]`, a port
//!   of ours that a DAW sees (not on Windows). These send at the moment, as network MIDI does.
//!
//! MIDI in ([`MidiIn`]) takes the same JACK and system targets.
//!
//! The modules:
//! - `target`: targets as a user writes them, and the network MIDI peer they invite;
//! - `feed`: the feeder, the core's cursor walked ahead of host time into device time;
//! - `jack_out` and `jack_in`: JACK, each event at its frame, and what arrives with its frame's
//!   time;
//! - `paced`: sending at the moment, for the backends that take no time stamp;
//! - `rtp_out`: network MIDI (AppleMIDI / RTP-MIDI) on two UDP ports;
//! - `port`: the system's MIDI ports, through midir;
//! - `worker`: a named thread that stops and is joined when its owner is dropped.

mod feed;
#[cfg(feature = "jack")]
mod jack_in;
#[cfg(feature = "jack")]
mod jack_out;
mod paced;
#[cfg(feature = "system")]
mod port;
mod rtp_out;
mod target;
mod worker;

pub use feed::{HORIZON, HostNow, Timed};
#[cfg(feature = "jack")]
pub use jack_out::cycle_span;
pub use target::{check_reachable, check_target};

use bandsync_core::Transport;
use bandsync_core::host_axis::HostAxis;
use std::sync::{Arc, Mutex};
#[cfg(not(all(feature = "jack", feature = "system")))]
use target::missing;
#[cfg(feature = "system")]
use target::which;
use target::{Target, parse_target};

/// Called with each MIDI message received and the time it came (µs of the backend's clock:
/// JACK's, or the network session's).
pub type OnMessage = Box<dyn FnMut(u64, &[u8]) + Send>;

/// Where and how to send MIDI.
#[derive(Debug, Clone)]
pub struct MidiOptions {
    /// What to open: see [`MidiOut::start`].
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
    #[error(
        "MIDI target {0:?}: expected jack, jack:CLIENT:PORT, rtp, rtp:PORT, rtp:HOST:PORT, port:NAME, virtual or virtual:NAME"
    )]
    Target(String),
    /// The backend refused.
    #[error("MIDI: {0}")]
    Backend(String),
}

/// A running MIDI output. Give it every transport the session sends; dropping it sends Stop if
/// the gear was playing, and closes the port.
pub struct MidiOut {
    pending: Arc<feed::Pending>,
    offset: Arc<feed::Offset>,
    out: Backend,
}

/// The running backend (its thread stops when dropped).
enum Backend {
    #[cfg(feature = "jack")]
    Jack(jack_out::JackOut),
    Rtp(rtp_out::RtpOut),
    #[cfg(feature = "system")]
    Port(port::PortOut),
}

impl Backend {
    fn port_name(&self) -> &str {
        match self {
            #[cfg(feature = "jack")]
            Backend::Jack(j) => j.port_name(),
            Backend::Rtp(r) => r.port_name(),
            #[cfg(feature = "system")]
            Backend::Port(p) => p.port_name(),
        }
    }
}

/// The system's MIDI ports by name, (outputs, inputs), for a user to choose from.
///
/// # Errors
/// [`MidiError::Backend`] when the system's MIDI cannot be opened, or this build has none.
pub fn system_ports(client_name: &str) -> Result<(Vec<String>, Vec<String>), MidiError> {
    #[cfg(feature = "system")]
    return port::list(client_name);
    #[cfg(not(feature = "system"))]
    {
        let _ = client_name;
        Err(missing("system MIDI"))
    }
}

impl std::fmt::Debug for MidiOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MidiOut").field("port", &self.port_name()).finish_non_exhaustive()
    }
}

impl MidiOut {
    /// Opens the target and starts sending. `host_now` reads the session's host time (µs), or
    /// `None` while the clock has not synced (nothing is sent then). Targets: `jack`,
    /// `jack:CLIENT:PORT`, `rtp`, `rtp:PORT`, `rtp:HOST:PORT`, `port:NAME` or a bare NAME (a
    /// system port), `virtual` or `virtual:NAME`.
    ///
    /// # Errors
    /// [`MidiError`] for an unknown target or a backend that cannot be opened (no JACK server, no
    /// port of that name: the error lists the ports).
    /// With `input`, what a network MIDI session's peers send is handed to it (a JACK port only
    /// sends; [`MidiIn`] receives through JACK).
    pub fn start(opts: &MidiOptions, host_now: HostNow, input: Option<OnMessage>) -> Result<Self, MidiError> {
        Self::open(parse_target(&opts.target)?, opts, host_now, input)
    }

    fn open(
        target: Target,
        opts: &MidiOptions,
        host_now: HostNow,
        input: Option<OnMessage>,
    ) -> Result<Self, MidiError> {
        let pending = Arc::new(Mutex::new(None));
        let offset = Arc::new(feed::Offset::from_ms(opts.offset_ms));
        let out = match target {
            #[cfg(feature = "jack")]
            Target::Jack(connect) => {
                if input.is_some() {
                    return Err(MidiError::Backend("MIDI in through JACK is its own port (--midi-in jack…)".into()));
                }
                let (p, o) = (Arc::clone(&pending), Arc::clone(&offset));
                Backend::Jack(jack_out::JackOut::start(opts, connect.as_deref(), host_now, p, o)?)
            }
            #[cfg(not(feature = "jack"))]
            Target::Jack(_) => return Err(missing("JACK")),
            Target::Rtp { listen, invite } => {
                let (p, o) = (Arc::clone(&pending), Arc::clone(&offset));
                Backend::Rtp(rtp_out::RtpOut::start(opts, listen, invite, host_now, p, o, input)?)
            }
            #[cfg(feature = "system")]
            Target::Port { name, virtual_port } => {
                if input.is_some() {
                    return Err(MidiError::Backend(
                        "MIDI in from a system port is its own port (--midi-in NAME)".into(),
                    ));
                }
                let which = which(name, virtual_port, &opts.client_name);
                let (p, o) = (Arc::clone(&pending), Arc::clone(&offset));
                Backend::Port(port::PortOut::start(opts, &which, host_now, p, o)?)
            }
            #[cfg(not(feature = "system"))]
            Target::Port { .. } => return Err(missing("system MIDI")),
        };
        Ok(MidiOut { pending, offset, out })
    }

    /// Sends every event `ms` earlier (later when negative) from now on, without reopening the
    /// port: the gear plays on, a network MIDI session keeps its peers. A change of up to 2 ms is
    /// slewed in (0.2 ms a second, as a new clock estimate is), so no clock interval jumps; a
    /// larger one is taken at once.
    pub fn set_offset_ms(&self, ms: f64) {
        self.offset.set_ms(ms);
    }

    /// The schedule to follow from now on (the latest the session sent), whose times are on host
    /// clock `axis`.
    pub fn set_transport(&self, t: &Transport, axis: HostAxis) {
        *self.pending.lock().expect("midi transport lock poisoned") = Some((t.clone(), axis));
    }

    /// The full name of the output port (`client:port`), or `rtp:ADDRESS` of the session's
    /// control port.
    #[must_use]
    pub fn port_name(&self) -> &str {
        self.out.port_name()
    }

    /// What went wrong after it opened: a network MIDI peer's name that has no address (looked
    /// up on a thread of its own, [`check_reachable`]).
    #[must_use]
    pub fn problem(&self) -> Option<String> {
        match &self.out {
            Backend::Rtp(r) => r.problem(),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The control port of a network MIDI session that waits for peers to join (`rtp`,
    /// `rtp:PORT`), to advertise; `None` for every other backend.
    #[must_use]
    pub fn rtp_listening(&self) -> Option<u16> {
        match &self.out {
            Backend::Rtp(r) => r.listening(),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

/// A running MIDI input: a JACK port, or a system port. Dropping it closes the port.
pub struct MidiIn {
    backend: InBackend,
}

/// The running input (closed when dropped).
enum InBackend {
    #[cfg(feature = "jack")]
    Jack(jack_in::JackIn),
    #[cfg(feature = "system")]
    Port(port::PortIn),
}

impl std::fmt::Debug for MidiIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MidiIn").field("port", &self.port_name()).finish_non_exhaustive()
    }
}

impl MidiIn {
    /// Opens `jack` (a JACK port to patch), `jack:CLIENT:PORT` (connected from that port at
    /// start), `port:NAME` or a bare NAME (a system port: the foot controller), or `virtual` or
    /// `virtual:NAME` (a port of ours that other apps send to). Each message goes to
    /// `on_message` with the backend's time stamp (µs), never on a real-time thread.
    ///
    /// # Errors
    /// [`MidiError`] for another target, or a backend that cannot be opened.
    // A build with neither backend refuses every target: nothing after the match runs.
    #[cfg_attr(not(any(feature = "jack", feature = "system")), allow(unreachable_code, unused_variables))]
    pub fn start(target: &str, client_name: &str, on_message: OnMessage) -> Result<Self, MidiError> {
        let backend = match parse_target(target)? {
            #[cfg(feature = "jack")]
            Target::Jack(connect) => {
                InBackend::Jack(jack_in::JackIn::start(connect.as_deref(), client_name, on_message)?)
            }
            #[cfg(feature = "system")]
            Target::Port { name, virtual_port } => {
                InBackend::Port(port::PortIn::start(&which(name, virtual_port, client_name), client_name, on_message)?)
            }
            Target::Rtp { .. } => return Err(MidiError::Target(target.to_owned())),
            #[cfg(not(feature = "jack"))]
            Target::Jack(_) => return Err(missing("JACK")),
            #[cfg(not(feature = "system"))]
            Target::Port { .. } => return Err(missing("system MIDI")),
        };
        Ok(MidiIn { backend })
    }

    /// The full name of the input port.
    #[must_use]
    pub fn port_name(&self) -> &str {
        match self.backend {
            #[cfg(feature = "jack")]
            InBackend::Jack(ref j) => j.port_name(),
            #[cfg(feature = "system")]
            InBackend::Port(ref p) => p.port_name(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Invite;

    /// A peer's name without an IPv4 address (an IPv6 literal: looked up without leaving the
    /// machine) opens the session anyway, and says why it invites no one.
    #[test]
    fn a_peer_without_an_address_is_a_problem_of_the_open_port() {
        let opts = MidiOptions { target: String::new(), client_name: "test".into(), offset_ms: 0.0 };
        let target = Target::Rtp { listen: 0, invite: Some(Invite::Name { host: "::1".into(), port: 9 }) };
        let out = MidiOut::open(target, &opts, Box::new(|| None), None).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let problem = loop {
            if let Some(p) = out.problem() {
                break p;
            }
            assert!(std::time::Instant::now() < deadline, "no problem reported in 10 s");
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        assert_eq!(problem, "MIDI: the network MIDI peer ::1 has no IPv4 address");
    }
}
