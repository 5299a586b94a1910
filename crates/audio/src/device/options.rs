//! What [`super::AudioOutput`] is asked for ([`AudioOptions`]), what it reports ([`AudioInfo`], its
//! latency through [`ReportedDelay`]), and why it fails ([`AudioError`]). No cpal calls here.

use crate::engine::{Ear, Levels};
use bandsync_core::protocol::LatencySource;

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
    /// Playback minus callback time, the output latency the device reports: its median over the
    /// last callbacks ([`ReportedDelay`]), 0 before the first.
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
    /// Where it comes from ([`LatencySource::of`]): none (the device's own figure is trusted),
    /// calibrated (typed in or tapped), measured (a loopback, stored for this device).
    pub latency_source: LatencySource,
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

/// The output latency a device reports, as the band is told it (`bandsync_app`'s metronome sends
/// it again when it moves by a millisecond): the median of the last [`ReportedDelay::CALLBACKS`]
/// callbacks' delays (playback minus callback time). One callback's
/// figure moves by up to a buffer with its phase: through PulseAudio here, 57 to 67 ms from one
/// callback to the next with 1 365-frame buffers; the median moves by about 1 ms
/// (`docs/BENCHMARKS.md`).
/// A median needs no order: the newest delay takes the oldest's place in a ring.
#[derive(Debug, Clone, Default)]
pub struct ReportedDelay {
    delays: Vec<f64>,
    next: usize,
}

impl ReportedDelay {
    /// How many callbacks the median is over.
    pub const CALLBACKS: usize = 128;

    /// One callback's delay, ms.
    pub fn push(&mut self, ms: f64) {
        if self.delays.len() < Self::CALLBACKS {
            self.delays.push(ms);
        } else {
            self.delays[self.next] = ms;
        }
        self.next = (self.next + 1) % Self::CALLBACKS;
    }

    /// The median, ms; 0 before the first callback.
    #[must_use]
    pub fn ms(&self) -> f64 {
        if self.delays.is_empty() {
            return 0.0;
        }
        crate::calibrate::median(&self.delays)
    }
}

#[cfg(test)]
mod tests {
    use super::ReportedDelay;

    #[test]
    fn the_delay_reported_is_the_median_of_the_last_callbacks() {
        let mut d = ReportedDelay::default();
        assert_eq!(d.ms(), 0.0);
        // Callbacks in bursts: the delay steps down through a buffer and back, over and over.
        for i in 0..1000 {
            d.push(57.0 + f64::from(i % 8) * 1.25);
        }
        assert!((d.ms() - 61.375).abs() < 0.7, "{}", d.ms());
        // Only the last callbacks count: a device whose delay moved for good is read anew.
        for _ in 0..ReportedDelay::CALLBACKS / 2 + 1 {
            d.push(20.0);
        }
        assert_eq!(d.ms(), 20.0);
        // One stalled callback does not move it (a mean would by 3.5 ms).
        for _ in 0..ReportedDelay::CALLBACKS - 1 {
            d.push(60.0);
        }
        d.push(500.0);
        assert_eq!(d.ms(), 60.0);
    }
}
