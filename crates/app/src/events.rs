//! The types the UI sees: what commands take and return, and the events they stream.
//!
//! Every type here is serialised as JSON over Tauri's IPC and rendered into `ui/src/bindings.ts`
//! by `tests/bindings.rs` (feature `ts`). What the types *do* lives elsewhere: the session driver
//! in [`crate::session`], the beat sources in [`crate::beats`] and [`crate::metronome`].

use bandsync_core::protocol::{ErrorCode, ServerMsg};
use bandsync_core::timeline::Accent;
use bandsync_core::{Beats, Micros};
use serde::{Deserialize, Serialize};

/// One event of a session, on the `Channel` given to `host_session` or `join_session`. Tagged by
/// `kind`. In a phone browser the UI builds the same events itself from the WebSocket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppEvent {
    /// A control message from the server, in wire order: every one except `pong` and `heartbeat`.
    Server {
        /// The message.
        msg: ServerMsg,
    },
    /// One y-sync binary frame from the server, for the documents.
    Doc {
        /// The frame.
        data: Vec<u8>,
    },
    /// The shared-clock estimate, about once a second.
    Clock {
        /// The estimate.
        clock: ClockReading,
    },
    /// The connection changed state.
    Connection {
        /// The new state.
        state: ConnectionState,
        /// A human-readable explanation (why it was lost or refused, when it reconnects).
        detail: String,
        /// Why the session refused the join, when it did (`refused` for good also comes of a
        /// reconnect given up, which has none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        code: Option<ErrorCode>,
    },
    /// A click, sent ahead of time so that the UI can flash it when it sounds.
    Beat {
        /// The click.
        beat: BeatEvent,
    },
    /// The audio output opened, changed or failed (the beat stream goes on visually).
    Audio {
        /// The output's state.
        audio: AudioStatus,
    },
    /// The host's join details changed (the leader rotated the secret or set a PIN): the old
    /// link and QR code are revoked. Only for a session this app hosts.
    Host {
        /// The join details as they are now.
        host: HostInfo,
    },
    /// Ableton Link on this device changed: turned on or off, or other Link apps came or went.
    Link {
        /// Link as it is now.
        link: LinkStatus,
    },
    /// MIDI on this device changed: its ports opened, or could not be.
    Midi {
        /// MIDI as it is now.
        midi: MidiStatus,
    },
    /// A pedal was pressed: what it did (`next`, `previous`, `play`, `stop`, `tempo`, `cue`), or
    /// why it did nothing. The host may still refuse what it sent (not the leader).
    Pedal {
        /// What the press sent.
        action: Option<String>,
        /// Why it sent nothing.
        refused: Option<String>,
    },
}

/// Ableton Link on this device (`App::set_link`): the session's timeline shown to Ableton Live
/// and every Link app on the network, and, as the leader, their tempo and start/stop taken as
/// requests to the session (`bandsync_core::link`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LinkStatus {
    /// Whether this build has Link. The Link library is GPL-2.0-or-later, so it is the opt-in
    /// `link` feature; the default build leaves it out.
    pub available: bool,
    /// Whether this device is in the Link session of its network.
    pub on: bool,
    /// Other Link apps in it.
    pub peers: u32,
}

/// MIDI on this device, as the user set it (the app's settings, `join`'s options).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MidiSettings {
    /// Where clock, transport and each song's patch go, or nowhere: a system port's name (or
    /// `port:NAME`), `virtual[:NAME]`, `rtp[:PORT]`, `rtp:HOST:PORT`, `jack[:CLIENT:PORT]`.
    pub out: Option<String>,
    /// Where pedals come from, or nowhere: the same targets, and `rtp` (the network MIDI
    /// session of `out`).
    pub input: Option<String>,
    /// What each note or controller does (`note 62=next; cc 64=playstop; note 65=cue Break`).
    pub map: String,
    /// Send MIDI this much earlier, for gear that sounds late (ms, -100 to 100).
    pub offset_ms: f64,
}

/// MIDI on this device as it is: the ports open, or why they are not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MidiStatus {
    /// The port MIDI out sends on.
    pub out: Option<String>,
    /// The port pedals come from.
    pub input: Option<String>,
    /// Why the settings could not be opened (no such port, no JACK server, ...), or what went
    /// wrong after (a network MIDI peer's name without an address).
    pub error: Option<String>,
    /// The name Macs and iPads list the network MIDI session by (Bonjour), when it is advertised.
    pub bonjour: Option<String>,
}

/// The system's MIDI ports, to choose from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MidiPorts {
    /// Ports MIDI out can send to.
    pub outputs: Vec<String>,
    /// Ports pedals can come from.
    pub inputs: Vec<String>,
    /// Why the system's MIDI could not be listed.
    pub error: Option<String>,
}

/// What `host_session` returns: how the band joins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HostInfo {
    /// The session id.
    pub session: String,
    /// The session name.
    pub name: String,
    /// The join link to show and to put in the QR code: the first LAN address, with the others
    /// in its fragment (`&a=IP:PORT,...`) so that a member can try them all.
    pub link: String,
    /// One plain join link per LAN address, for a person to pick the right network by hand.
    pub links: Vec<String>,
    /// The QR code of `link`, as an SVG document.
    pub qr_svg: String,
    /// The port the embedded server listens on (7878 unless it was taken).
    pub port: u16,
    /// The PIN for joins typed by hand (`HOST:PORT` plus PIN), when the leader set one.
    pub pin: Option<String>,
    /// Whether the session is advertised on the LAN over mDNS.
    pub mdns: bool,
    /// Why it is not advertised, when mDNS was wanted but failed.
    pub mdns_error: Option<String>,
}

/// The shared-clock estimate: the core estimator's status, plus host time now.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ClockReading {
    /// Offset, skew, RTT, error bound, synced and samples, as the estimator reports them.
    #[serde(flatten)]
    #[cfg_attr(feature = "ts", ts(flatten))]
    pub clock: bandsync_core::ClockStatus,
    /// Host time when this status was taken, through the estimate: lets the UI map host times
    /// (`BeatEvent.at_host_us`) onto its own clock. `null` before the first sample.
    pub host_now_us: Option<Micros>,
}

/// Where the connection to the session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// Connecting, or waiting to reconnect.
    Connecting,
    /// Joined.
    Online,
    /// The connection dropped; reconnecting follows.
    Lost,
    /// We left the session (final).
    Left,
    /// The session refused us, or could not be reached in time (final; `detail` says why).
    Refused,
}

/// A click, for the visual beat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BeatEvent {
    /// Host time at which the click sounds.
    pub at_host_us: Micros,
    /// How long before `at_host_us` this event was sent, µs (negative if it was late): a UI
    /// without a clock mapping can flash it `lead_us` after it arrives.
    pub lead_us: i64,
    /// Position, in micro-beats (1 000 000 per beat).
    pub position: Beats,
    /// Bar number counted from the schedule's bar origin (negative during count-in).
    pub bar: i64,
    /// Beat within the bar, from 0.
    pub beat: u8,
    /// Whether this is a subdivision between beats.
    pub subdivision: bool,
    /// How it is accented.
    pub accent: Accent,
    /// Whether it is part of the count-in.
    pub count_in: bool,
    /// Whether the audio engine plays it (false: visual only).
    pub audible: bool,
}

impl BeatEvent {
    /// The audio engine's click, sent at host time `now`.
    #[must_use]
    pub fn from_click(b: &bandsync_core::clicks::Click, now: Option<Micros>, audible: bool) -> Self {
        BeatEvent {
            at_host_us: b.host,
            lead_us: now.map_or(0, |n| b.host.0 - n.0),
            position: b.position,
            bar: b.bar,
            beat: b.beat_in_bar,
            subdivision: b.subdivision,
            accent: b.accent,
            count_in: b.count_in,
            audible,
        }
    }
}

/// The audio output's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AudioStatus {
    /// Whether clicks are played (false: visual beat only).
    pub active: bool,
    /// The output device.
    pub device: Option<String>,
    /// Frames per second.
    pub sample_rate: u32,
    /// Frames per callback.
    pub buffer_frames: u32,
    /// The output latency the device reports, ms.
    pub output_latency_ms: f64,
    /// Underruns since the output opened.
    pub underruns: u64,
    /// What went wrong, if anything.
    pub error: Option<String>,
}

/// How the metronome plays, set with `set_audio`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AudioSettings {
    /// Play clicks through the sound card; when false the beat is visual only.
    pub enabled: bool,
    /// An output device whose name contains this (from `audio_devices`); the default when `null`.
    pub device: Option<String>,
    /// Which ear gets the click.
    pub channel: bandsync_audio::Ear,
    /// The click sounds.
    #[serde(default)]
    pub sound: bandsync_audio::sounds::ClickSound,
    /// Master volume, 0 to 1.
    pub volume: f32,
    /// Clicks per beat, 1 to 8.
    pub subdivision: u8,
    /// Extra output latency to compensate (Bluetooth headphones), ms, -200 to 500
    /// (`LATENCY_OFFSET_MS`): a figure set for this output device (remembered for it, 0 forgets
    /// it), or `null` for the device's own (the one remembered for it, else none). `set_audio`
    /// answers with the figure in force.
    pub latency_offset_ms: Option<f64>,
    /// The offset is the microphone's measurement (`calibrate`), not typed in or tapped: the
    /// band sees it as measured.
    #[serde(default)]
    pub latency_measured: bool,
    /// Requested buffer size in frames; the device's default when `null`.
    pub buffer_frames: Option<u32>,
    /// The microphone a calibration listens through: an input device whose name contains this
    /// (from `audio_inputs`); the default input when `null`.
    #[serde(default)]
    pub input_device: Option<String>,
}

impl Default for AudioSettings {
    fn default() -> Self {
        AudioSettings {
            enabled: true,
            device: None,
            channel: bandsync_audio::Ear::Both,
            sound: bandsync_audio::sounds::ClickSound::Classic,
            volume: 0.8,
            subdivision: 1,
            latency_offset_ms: None,
            latency_measured: false,
            buffer_frames: None,
            input_device: None,
        }
    }
}

/// What `discover` streams: BandSync sessions coming and going on the LAN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DiscoveryEvent {
    /// A session appeared.
    Found {
        /// The session.
        session: DiscoveredSession,
    },
    /// A known session's record changed (members, addresses).
    Updated {
        /// The session as it is now.
        session: DiscoveredSession,
    },
    /// A session went away.
    Removed {
        /// Its advertised name.
        name: String,
        /// Its session id, if it had been resolved.
        id: Option<String>,
    },
}

/// A session advertised on the LAN. Never carries the secret: join it with its `url` and the PIN,
/// or scan the host's QR code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DiscoveredSession {
    /// The session's name.
    pub name: String,
    /// The session id.
    pub id: String,
    /// The host's addresses, IPv4 first.
    pub addrs: Vec<String>,
    /// The host's port.
    pub port: u16,
    /// The protocol version the host speaks.
    pub protocol: u16,
    /// Participants.
    pub members: u32,
    /// Whether joining needs the secret (QR code or link) or the PIN.
    pub secret_required: bool,
    /// Tells two hosts of the same name apart.
    pub fingerprint: String,
    /// The join link without the secret (`http://IP:PORT/s/SESSION`), for `join_session` with a
    /// PIN; `null` when the host has no address yet.
    pub url: Option<String>,
}

impl From<&bandsync_discovery::SessionAd> for DiscoveredSession {
    fn from(s: &bandsync_discovery::SessionAd) -> Self {
        let url = s.addrs.first().map(|a| {
            let host = match a {
                std::net::IpAddr::V6(v6) => format!("[{v6}]"),
                v4 => v4.to_string(),
            };
            format!("http://{host}:{}/s/{}", s.port, s.session)
        });
        DiscoveredSession {
            name: s.name.clone(),
            id: s.session.clone(),
            addrs: s.addrs.iter().map(ToString::to_string).collect(),
            port: s.port,
            protocol: s.protocol,
            members: s.members,
            secret_required: s.secret_required,
            fingerprint: s.fingerprint.clone(),
            url,
        }
    }
}
