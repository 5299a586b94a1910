//! The native microphone loopback, from opening the devices to the figure: the output plays the
//! core's click train ([`crate::calibrate::probe_plan`]) while the input records it (the
//! microphone, or a monitor of the output). Each click is timed where it played, by the output's
//! own readings ([`crate::calibrate::played_by_device`]); the lag most clicks share past that is
//! the device's extra latency ([`crate::calibrate::loopback`]). `bandsync calibrate` and the
//! desktop app's calibration both run this, and store the figure with [`Loopback::store`].

use crate::calibrate::{self, Calibration, CalibrationError, ProbePlan};
use crate::device::{AudioError, AudioOptions, AudioOutput};
use crate::input::AudioInput;
use crate::offsets::{LatencyStore, Source};
use crate::{Ear, Levels};
use std::time::{Duration, Instant};

/// How long the output runs before the train: its device-clock filter settles (`device.rs`).
pub(crate) const LEAD: Duration = Duration::from_millis(3_300);

/// Which devices to measure.
#[derive(Debug, Clone, Default)]
pub struct LoopbackDevices {
    /// An output device whose name contains this; the default output otherwise.
    pub output: Option<String>,
    /// The output's buffer, in frames; the device's default otherwise.
    pub buffer_frames: Option<u32>,
    /// An input device (that hears the output) whose name contains this; the default otherwise.
    pub input: Option<String>,
}

/// Why a loopback gave no figure.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoopbackError {
    /// The output device went away while the train played.
    #[error("the output device went away during the calibration; calibrate again")]
    Gone,
    /// The recording did not give a figure (too quiet, too few clicks agreeing...).
    #[error(transparent)]
    Calibration(#[from] CalibrationError),
}

/// What one loopback found.
#[derive(Debug, Clone)]
pub struct Loopback {
    /// The output device's name: the key its figure is stored under.
    pub output: String,
    /// The input device's name.
    pub input: String,
    /// The figure, or why there is none.
    pub outcome: Result<Calibration, LoopbackError>,
    /// The figure by the input host's own capture times, for comparison (they wander by a
    /// fragment from run to run): `None` when those give none.
    pub by_host_capture_ms: Option<f64>,
    /// Seconds recorded.
    pub recorded_s: f64,
    /// The recording's peak level (0 to 1): a silent input reads near 0.
    pub peak: f32,
    /// Onsets found in the recording.
    pub onsets: usize,
    /// Clicks the train played.
    pub clicks: usize,
}

impl Loopback {
    /// Stores the figure for the output device, as measured: whether it did. Nothing without a
    /// figure, or for one beyond the offsets a player may set (no player would take it).
    ///
    /// # Errors
    /// The store cannot be written.
    pub fn store(&self, store: &LatencyStore) -> std::io::Result<bool> {
        let Ok(c) = &self.outcome else { return Ok(false) };
        store.keep(&self.output, c, Source::Measured)
    }
}

/// Plays the train and records it; `opened(output, input)` is called once both devices are
/// open, as the train is about to start (about 12 s before this returns). Blocks throughout.
///
/// # Errors
/// A device cannot be opened.
pub fn measure(devices: &LoopbackDevices, opened: impl FnOnce(&str, &str)) -> Result<Loopback, AudioError> {
    let base = Instant::now();
    let local_of = |i: Instant| micros_since(base, i);
    let mut out = train_output(devices.output.clone(), devices.buffer_frames)?;
    let mut input = AudioInput::start(devices.input.as_deref())?;
    let output = out.info().device;
    opened(&output, input.device());

    // The train from LEAD after the devices are open, however long opening them took (the core's
    // plan: its transport, the counted clicks, the end).
    let open = Instant::now();
    let plan = calibrate::probe_plan(local_of(open + LEAD));
    let played = play(&mut out, &plan, base, open, || {
        input.update(local_of);
        true
    });
    input.update(local_of);
    let gone = out.is_gone();
    drop(out);

    let rate = input.rate();
    // The onsets once, timed by when they were in hand and, for comparison, by the host's own
    // capture times.
    let found = calibrate::onsets(input.recorded(), rate);
    let heard = input.in_hand_at(&found);
    let by_host = input.captured_at(&found);
    let rec = input.recorded();
    Ok(Loopback {
        input: input.device().to_owned(),
        outcome: if gone { Err(LoopbackError::Gone) } else { calibrate::loopback(&played, &heard).map_err(Into::into) },
        by_host_capture_ms: calibrate::loopback(&played, &by_host).ok().map(|c| c.latency_ms),
        recorded_s: rec.len() as f64 / f64::from(rate),
        peak: rec.iter().fold(0.0f32, |m, s| m.max(s.abs())),
        onsets: heard.len(),
        clicks: plan.played_us.len(),
        output,
    })
}

/// The output a calibration plays its train on: the classic click, every click full, by the
/// device's own figures alone (no offset: the offset is what is measured).
///
/// # Errors
/// The device cannot be opened.
pub(crate) fn train_output(device: Option<String>, buffer_frames: Option<u32>) -> Result<AudioOutput, AudioError> {
    AudioOutput::start(AudioOptions {
        device,
        buffer_frames,
        ear: Ear::Both,
        sound: crate::sounds::ClickSound::Classic,
        latency_offset_ms: 0.0,
        latency_measured: false,
        latency_from_store: false,
        levels: Levels { downbeat: 1.0, group: 1.0, beat: 1.0, subdivision: 0.0, master: 0.9, mute: false },
        subdivision: 1,
        beat_sample: None,
        accent_sample: None,
    })
}

/// Local µs: since `base`, the start of a calibration.
pub(crate) fn micros_since(base: Instant, i: Instant) -> f64 {
    i.saturating_duration_since(base).as_nanos() as f64 / 1000.0
}

/// Plays `plan` (on the clock of µs since `base`; the train from [`LEAD`] after `open`) on `out`
/// until its end, or until `tick` (called every 10 ms) says to stop. Where each of the plan's
/// counted clicks was heard, by the output's own readings ([`calibrate::played_by_device`]: each
/// click timed where it played, as in a page); NaN for those not played.
pub(crate) fn play(
    out: &mut AudioOutput,
    plan: &ProbePlan,
    base: Instant,
    open: Instant,
    mut tick: impl FnMut() -> bool,
) -> Vec<f64> {
    let local_of = |i: Instant| micros_since(base, i);
    let stop_at = base + Duration::from_micros(plan.until_us as u64);
    let mut scheduled = false;
    // Each click as the engine started it (µs on the plan's clock, the frame), and the output's
    // readings meanwhile.
    let mut clicks: Vec<(f64, f64)> = Vec::new();
    while Instant::now() < stop_at {
        out.update(local_of, |l| Some((l, 0)));
        if !tick() {
            break;
        }
        if !scheduled && Instant::now() >= open + LEAD - Duration::from_millis(300) {
            out.keep_readings();
            out.set_schedule(&plan.transport, bandsync_core::host_axis::HostAxis::default());
            scheduled = true;
        }
        out.drain_beats(|b| clicks.push((b.click.host.0 as f64, b.frame as f64)));
        std::thread::sleep(Duration::from_millis(10));
    }
    out.drain_beats(|b| clicks.push((b.click.host.0 as f64, b.frame as f64)));
    calibrate::played_by_device(plan, &clicks, &out.take_readings(), out.info().sample_rate)
}
