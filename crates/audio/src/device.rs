//! The cpal layer: opens the output device, runs the engine in the callback, and keeps the
//! engine's frame-to-host-time map fitted from the callbacks' playback timestamps.
//!
//! Thread-safety: [`AudioOutput`] is owned by one non-real-time thread (the "audio control"
//! thread), which calls [`AudioOutput::update`] every few tens of milliseconds. It is not `Send`
//! on every platform (cpal streams are not), so create it on the thread that uses it.
//!
//! The callback's side lives in `device/callback.rs`; the options, figures and errors in
//! `device/options.rs`; the reading of the callbacks' stamps (part of `update`) in
//! `device/readings.rs`; the stream's first seconds in `device/start.rs`; the timing trace in
//! `device/trace.rs`.

mod callback;
mod options;
mod readings;
mod start;
pub mod trace;

pub use options::{AudioError, AudioInfo, AudioOptions, ReportedDelay};

use crate::engine::{Command, Engine, FrameMap, PlayedClick};
use crate::filter::DeviceClockFilter;
use crate::schedule::FixedSchedule;
use bandsync_core::host_axis::HostAxis;
use bandsync_core::protocol::LatencySource;
use bandsync_core::timeline::Transport;
use callback::{CallbackState, Stamp, build};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use trace::TraceLine;

/// The running output.
pub struct AudioOutput {
    stream: cpal::Stream,
    commands: rtrb::Producer<Command>,
    beats: rtrb::Consumer<PlayedClick>,
    stamps: rtrb::Consumer<Stamp>,
    underruns: Arc<AtomicU64>,
    /// `underruns` as the trace last accounted for them: the rest the host reported.
    underruns_seen: u64,
    gone: Arc<AtomicBool>,
    info: AudioInfo,
    filter: DeviceClockFilter,
    last_stamp: Option<Stamp>,
    opts: AudioOptions,
    /// The last schedule sent, resent after a device change.
    schedule: FixedSchedule,
    /// When the stream started: its first seconds' timestamps are dropped from the fit once
    /// later ones exist, because hosts settle their latency then (PulseAudio's creeps by
    /// milliseconds), which a regression would read as clock drift.
    started: Instant,
    settled: bool,
    /// Whether a jump in its playback times is an underrun yet ([`start::StreamStart`]).
    start: start::StreamStart,
    /// The last schedule did not fit in the command queue: sent again.
    schedule_pending: bool,
    /// The last latency offset did not fit in the command queue: sent again.
    offset_pending: bool,
    /// `BANDSYNC_AUDIO_TRACE`'s lines, if asked for.
    trace: trace::Trace,
    /// The output's readings, kept while a calibration asks ([`AudioOutput::keep_readings`]).
    readings: Option<Vec<(f64, f64)>>,
    /// The latency the device reports, over its last callbacks.
    delay: ReportedDelay,
}

impl std::fmt::Debug for AudioOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioOutput").field("info", &self.info()).finish_non_exhaustive()
    }
}

/// How long a new stream's timestamps are used only until better ones exist.
const SETTLE: Duration = Duration::from_secs(3);

/// Whether any output device exists (the CLI's default for `--audio`).
#[must_use]
pub fn output_available() -> bool {
    cpal::default_host().default_output_device().is_some()
}

/// The names of the output devices, the default first; any of them (or a part of one) can be
/// given as [`AudioOptions::device`]. Empty when there is no output at all.
#[must_use]
pub fn output_devices() -> Vec<String> {
    let host = cpal::default_host();
    default_first(host.default_output_device(), host.output_devices().into_iter().flatten())
}

/// The names of `all` devices, `default` first, each once.
pub(crate) fn default_first(default: Option<cpal::Device>, all: impl Iterator<Item = cpal::Device>) -> Vec<String> {
    let mut names: Vec<String> = default.map(|d| d.to_string()).into_iter().collect();
    for name in all.map(|d| d.to_string()) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// The JACK server's output (`--audio-device jack`): a JACK client whose ports connect to the
/// system's playback ports, each callback stamped with JACK's own cycle times and the ports'
/// playback latency.
#[cfg(target_os = "linux")]
fn jack_output() -> Result<cpal::Device, AudioError> {
    let host = cpal::host_from_id(cpal::HostId::Jack).map_err(|e| AudioError::Device(format!("JACK: {e}")))?;
    host.default_output_device().ok_or_else(|| AudioError::NoDevice(" on JACK (is a JACK server running?)".into()))
}

#[cfg(not(target_os = "linux"))]
fn jack_output() -> Result<cpal::Device, AudioError> {
    Err(AudioError::Device("JACK output is built on Linux only".into()))
}

/// The output device that [`AudioOptions::device`] names: `"jack"` (JACK's), the first whose name
/// contains it, or the default for `None`.
fn output_device(want: Option<&str>) -> Result<cpal::Device, AudioError> {
    match want {
        Some("jack") => jack_output(),
        None => cpal::default_host().default_output_device().ok_or_else(|| AudioError::NoDevice(String::new())),
        Some(want) => cpal::default_host()
            .output_devices()
            .map_err(|e| AudioError::Device(e.to_string()))?
            .find(|d| d.to_string().contains(want))
            .ok_or_else(|| AudioError::NoDevice(format!(" named like {want:?}"))),
    }
}

/// The full name of the output device that `want` names (as [`AudioOptions::device`]): the name
/// its stored latency is kept under ([`crate::offsets::LatencyStore`]). Lists the devices (ALSA's
/// from its hints, opening none): call it off an async runtime's threads.
///
/// # Errors
/// No device matches.
pub fn output_name(want: Option<&str>) -> Result<String, AudioError> {
    output_device(want).map(|d| d.to_string())
}

impl AudioOutput {
    /// Opens the device and starts the stream (silent until a map and a schedule arrive).
    ///
    /// # Errors
    /// When no device matches, or cpal cannot open it.
    pub fn start(opts: AudioOptions) -> Result<Self, AudioError> {
        let device = output_device(opts.device.as_deref())?;
        // JACK stamps each callback with its own clock's cycle times (see `jack_output`): its
        // filter follows them as they are.
        let filter = if opts.device.as_deref() == Some("jack") {
            DeviceClockFilter::following()
        } else {
            DeviceClockFilter::new(8192)
        };
        let mut opts = opts;
        if opts.latency_from_store {
            match crate::offsets::LatencyStore::user().get(&device.to_string()) {
                Ok(Some(l)) => {
                    opts.latency_offset_ms = l.latency_ms;
                    opts.latency_measured = l.source == crate::offsets::Source::Measured;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!("stored latencies not read: {e}"),
            }
        }
        let latency_source = LatencySource::of(opts.latency_offset_ms, opts.latency_measured);
        let supported = device.default_output_config().map_err(|e| AudioError::Device(e.to_string()))?;
        let mut config: cpal::StreamConfig = supported.into();
        if let Some(b) = opts.buffer_frames {
            config.buffer_size = cpal::BufferSize::Fixed(b);
        }
        let rate = config.sample_rate;
        let channels = config.channels;
        let (commands, cmd_rx) = rtrb::RingBuffer::<Command>::new(256);
        let (beat_tx, beats) = rtrb::RingBuffer::<PlayedClick>::new(1024);
        let (stamp_tx, stamps) = rtrb::RingBuffer::<Stamp>::new(1024);
        let underruns = Arc::new(AtomicU64::new(0));
        let gone = Arc::new(AtomicBool::new(false));
        let mut engine = Engine::new(rate);
        // Sounds are made (and samples decoded) here, before the stream starts: never on the
        // audio thread.
        let mut sounds = crate::sounds::Sounds::set(opts.sound, rate);
        if let Some(p) = &opts.beat_sample {
            sounds.load(crate::sounds::Sound::Beat, p, rate)?;
            sounds.load(crate::sounds::Sound::Group, p, rate)?;
        }
        if let Some(p) = &opts.accent_sample {
            sounds.load(crate::sounds::Sound::Downbeat, p, rate)?;
        }
        engine.replace_sounds(sounds);
        engine.apply(Command::Ear(opts.ear));
        engine.apply(Command::Levels(opts.levels));
        engine.apply(Command::Subdivision(opts.subdivision.max(1)));
        engine.apply(Command::Offset(opts.latency_offset_ms * 1000.0));
        let state = CallbackState {
            engine,
            commands: cmd_rx,
            beats: beat_tx,
            stamps: stamp_tx,
            frame: 0,
            scratch: vec![0.0; 1 << 16],
        };
        let fmt = supported.sample_format();
        let stream = match fmt {
            cpal::SampleFormat::F32 => build::<f32>(&device, config, state, &underruns, &gone),
            cpal::SampleFormat::I16 => build::<i16>(&device, config, state, &underruns, &gone),
            cpal::SampleFormat::I32 => build::<i32>(&device, config, state, &underruns, &gone),
            cpal::SampleFormat::U16 => build::<u16>(&device, config, state, &underruns, &gone),
            cpal::SampleFormat::U8 => build::<u8>(&device, config, state, &underruns, &gone),
            cpal::SampleFormat::F64 => build::<f64>(&device, config, state, &underruns, &gone),
            other => return Err(AudioError::Device(format!("unsupported sample format {other:?}"))),
        }?;
        stream.play().map_err(|e| AudioError::Device(e.to_string()))?;
        let info = AudioInfo {
            device: device.to_string(),
            sample_rate: rate,
            channels,
            sample_format: format!("{fmt:?}"),
            buffer_frames: 0,
            output_latency_ms: 0.0,
            underruns: 0,
            playout_steps: 0,
            playout_outliers: 0,
            latency_offset_ms: opts.latency_offset_ms,
            latency_source,
        };
        Ok(AudioOutput {
            stream,
            commands,
            beats,
            stamps,
            underruns,
            underruns_seen: 0,
            gone,
            info,
            filter,
            last_stamp: None,
            opts,
            schedule: FixedSchedule::default(),
            started: Instant::now(),
            settled: false,
            start: start::StreamStart::default(),
            schedule_pending: false,
            offset_pending: false,
            trace: trace::Trace::from_env(rate),
            readings: None,
            delay: ReportedDelay::default(),
        })
    }

    /// Keeps every reading of the output from now on: each callback's first frame, and the local
    /// µs the device says it is heard. A calibration times its clicks by them
    /// ([`crate::calibrate::played_by_device`]); [`AudioOutput::take_readings`] hands them over.
    pub fn keep_readings(&mut self) {
        self.readings = Some(Vec::new());
    }

    /// The readings kept since [`AudioOutput::keep_readings`], and no more kept.
    pub fn take_readings(&mut self) -> Vec<(f64, f64)> {
        self.readings.take().unwrap_or_default()
    }

    /// The device and its current figures.
    #[must_use]
    pub fn info(&self) -> AudioInfo {
        AudioInfo {
            output_latency_ms: self.delay.ms(),
            underruns: self.underruns.load(Ordering::Relaxed),
            playout_steps: self.filter.steps(),
            playout_outliers: self.filter.outliers(),
            ..self.info.clone()
        }
    }

    /// Plays by another latency figure from the next buffer on ([`Command::Offset`]), without
    /// reopening the stream: the clicks move by the change at once (the engine plays at once any
    /// it jumps over, up to `ClickCursor::CATCH_UP`, not counted late; one jumped further is
    /// skipped), and the device's line and its first seconds' settling are kept.
    /// A player dragging the offset slider while the band plays hears the click move, not stop.
    pub fn set_latency_offset(&mut self, offset_ms: f64, measured: bool) {
        (self.opts.latency_offset_ms, self.opts.latency_measured) = (offset_ms, measured);
        self.offset_pending = self.commands.push(Command::Offset(offset_ms * 1000.0)).is_err();
        self.info.latency_offset_ms = offset_ms;
        self.info.latency_source = LatencySource::of(offset_ms, measured);
    }

    /// Whether the device went away (the caller restarts on the default device).
    #[must_use]
    pub fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Relaxed)
    }

    /// The options it was opened with.
    #[must_use]
    pub fn options(&self) -> &AudioOptions {
        &self.opts
    }

    /// Sends a new transport schedule, whose times are on host clock `axis`, to the engine.
    pub fn set_schedule(&mut self, t: &Transport, axis: HostAxis) {
        self.schedule = FixedSchedule::on(t, axis);
        self.schedule_pending = self.commands.push(Command::Schedule(self.schedule)).is_err();
    }

    /// Sends a command to the engine (levels, channel, subdivision).
    pub fn send(&mut self, c: Command) {
        let _ = self.commands.push(c);
    }

    /// Reads the callbacks' timestamps, refits the device clock, and sends the engine a new
    /// frame-to-host-time map. `local_of` converts an `Instant` to this device's local clock (µs)
    /// and `to_host` local time to host time and the epoch of that host clock; `None` while the
    /// clock is not synced yet.
    pub fn update(&mut self, local_of: impl Fn(Instant) -> f64, to_host: impl Fn(f64) -> Option<(f64, u64)>) {
        // The last update's trace lines, to the file (a killed process loses one update's).
        self.trace.flush();
        let clock = crate::stream_clock::StreamClock::read(|| self.stream.now());
        let base_local = local_of(clock.base);
        if !self.settled && self.started.elapsed() >= SETTLE {
            self.settled = true;
            self.filter.reset();
            self.trace.line(TraceLine::Reset);
        }
        let us_per_frame = 1e6 / f64::from(self.info.sample_rate);
        // The underruns the host reported (its error callback) since the last update.
        let reported = self.underruns.load(Ordering::Relaxed);
        if reported > self.underruns_seen {
            self.trace.line(TraceLine::Xrun { count: reported - self.underruns_seen });
            self.underruns_seen = reported;
        }
        self.read_stamps(&clock, base_local, us_per_frame);
        let Some(last) = self.last_stamp else { return };
        let frame_ref = last.frame;
        // One fit (a pass over the whole window) gives both points.
        let Some((fm, lm, slope)) = self.filter.fit(us_per_frame) else { return };
        let (steps, outliers) = (self.filter.steps(), self.filter.outliers());
        self.trace.line(TraceLine::Fit { frame: fm, local_us: lm, us_per_frame: slope, steps, outliers });
        let l0 = lm + (frame_ref as f64 - fm) * slope;
        let l1 = l0 + f64::from(self.info.sample_rate) * slope;
        let (Some((h0, epoch)), Some((h1, e1))) = (to_host(l0), to_host(l1)) else { return };
        if e1 != epoch {
            return;
        }
        // The device's own map: the engine adds the latency offset ([`Command::Offset`]).
        let map =
            FrameMap { frame_ref, host_at_ref: h0, us_per_frame: (h1 - h0) / f64::from(self.info.sample_rate), epoch };
        // A schedule or offset that did not fit (the callback stalled) goes first; a map only when
        // there is room left for the next schedule, so a stop or tempo change is never crowded out.
        if self.schedule_pending {
            self.schedule_pending = self.commands.push(Command::Schedule(self.schedule)).is_err();
        }
        let offset_us = self.opts.latency_offset_ms * 1000.0;
        if self.offset_pending {
            self.offset_pending = self.commands.push(Command::Offset(offset_us)).is_err();
        }
        if !self.schedule_pending && self.commands.slots() > 1 {
            self.trace.line(TraceLine::Map(FrameMap { host_at_ref: h0 + offset_us, ..map }));
            let _ = self.commands.push(Command::Map(map));
        }
    }

    /// Hands every click scheduled since the last call to `f`, in order (and traces each one:
    /// [`TraceLine::Click`]).
    pub fn drain_beats(&mut self, mut f: impl FnMut(PlayedClick)) {
        while let Ok(b) = self.beats.pop() {
            self.trace.line(TraceLine::Click { frame: b.frame, host_us: b.click.host.0 });
            f(b);
        }
    }
}
