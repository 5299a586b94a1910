//! What [`super::AudioOutput`] is asked for ([`AudioOptions`]), what it reports ([`AudioInfo`]),
//! and why it fails ([`AudioError`]). No cpal calls here.

use crate::engine::{Ear, Levels};

/// How to open the output.
#[derive(Debug, Clone, Default)]
pub struct AudioOptions {
    /// A device whose name contains this; the default device when `None`.
    pub device: Option<String>,
    /// Requested buffer size in frames (the host may round it).
    pub buffer_frames: Option<u32>,
    /// Which ear.
    pub ear: Ear,
    /// The built-in click sounds (sample files, when given, replace them).
    pub sound: crate::sounds::ClickSound,
    /// Extra output latency to compensate (Bluetooth headphones and the like), in ms.
    pub latency_offset_ms: f64,
    /// `latency_offset_ms` is a microphone's measurement (a loopback), not typed in or tapped:
    /// reported to the band as measured, even when it is 0.
    pub latency_measured: bool,
    /// Start from the figure `bandsync calibrate` stored for the device, when there is one
    /// ([`crate::offsets`]), instead of `latency_offset_ms`.
    pub latency_from_store: bool,
    /// Click levels.
    pub levels: Levels,
    /// Clicks per beat.
    pub subdivision: u8,
    /// A sample file for beats and group accents, instead of the built-in click.
    pub beat_sample: Option<std::path::PathBuf>,
    /// A sample file for the downbeat.
    pub accent_sample: Option<std::path::PathBuf>,
}

/// What the device turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    /// Device name.
    pub device: String,
    /// Frames per second.
    pub sample_rate: u32,
    /// Channels per frame.
    pub channels: u16,
    /// The sample format cpal negotiated.
    pub sample_format: String,
    /// Frames in the last callback.
    pub buffer_frames: u32,
    /// Playback minus callback time of the last callback: the output latency the device reports.
    pub output_latency_ms: f64,
    /// Underruns (xruns reported by the device, plus gaps seen in the playback timestamps).
    pub underruns: u64,
    /// Steps in the reported playout that the device-clock filter followed, and glitch readings
    /// it dropped ([`crate::filter`]).
    pub playout_steps: u64,
    /// See [`AudioInfo::playout_steps`].
    pub playout_outliers: u64,
    /// The extra latency compensated, ms.
    pub latency_offset_ms: f64,
    /// Where it comes from: `"reported"` (none: the device's own figure is trusted),
    /// `"calibrated"` (typed in or tapped), `"measured"` (a loopback, stored for this device).
    pub latency_source: &'static str,
}

/// Why the output could not start.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// There is no output device (or none matching the name asked for).
    #[error("no audio output device{0}")]
    NoDevice(String),
    /// There is no input device (or none matching the name asked for), to calibrate with.
    #[error("no microphone (audio input){0}")]
    NoInput(String),
    /// cpal refused the device or stream.
    #[error("audio device error: {0}")]
    Device(String),
    /// A click sample could not be used.
    #[error(transparent)]
    Sample(#[from] crate::sounds::SoundError),
}
