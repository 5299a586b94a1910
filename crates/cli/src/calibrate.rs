//! `bandsync calibrate`: measures the output latency no API reports. The output plays a click
//! train (`bandsync_audio::calibrate::probe_plan`) while the input records it (the microphone, or
//! a monitor of the output); the lag most clicks share, past what the output's own timestamps
//! say, is the device's extra latency. It is stored for the output device, and `bandsync join`
//! starts from it.

use crate::output::emit;
use bandsync_audio::calibrate::{self, Calibration};
use bandsync_audio::device::{AudioOptions, AudioOutput};
use bandsync_audio::input::AudioInput;
use bandsync_audio::offsets::{LatencyStore, Source, StoredLatency};
use bandsync_audio::{Ear, Levels};
use serde_json::json;
use std::time::{Duration, Instant};

/// How long the output runs before the train: its device-clock filter settles (`device.rs`).
const LEAD: Duration = Duration::from_millis(3_300);

/// Arguments of `bandsync calibrate`.
#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {
    /// Output device (a part of its name); the default device otherwise.
    #[arg(long, value_name = "NAME")]
    pub audio_device: Option<String>,
    /// Input device that hears the output (a part of its name); the default input otherwise.
    #[arg(long, value_name = "NAME")]
    pub input_device: Option<String>,
    /// Measure only: do not store the figure for the output device.
    #[arg(long)]
    pub no_save: bool,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
}

/// Plays the train, measures, stores. Exit 0 with a figure, 1 without one.
///
/// # Errors
/// The devices cannot be opened, or the figure cannot be stored.
pub fn run(a: &CalibrateArgs) -> anyhow::Result<u8> {
    let base = Instant::now();
    let local_of = |i: Instant| i.saturating_duration_since(base).as_nanos() as f64 / 1000.0;
    let opts = AudioOptions {
        device: a.audio_device.clone(),
        buffer_frames: None,
        ear: Ear::Both,
        sound: bandsync_audio::sounds::ClickSound::Classic,
        latency_offset_ms: 0.0,
        latency_from_store: false,
        levels: Levels { downbeat: 1.0, group: 1.0, beat: 1.0, subdivision: 0.0, master: 0.9, mute: false },
        subdivision: 1,
        beat_sample: None,
        accent_sample: None,
    };
    let mut out = AudioOutput::start(opts)?;
    let mut input = AudioInput::start(a.input_device.as_deref())?;
    let device = out.info().device;
    emit(a.json, &json!({"event": "calibrating", "output": device, "input": input.device()}), || {
        format!("calibrating {device}: listening through {} for about 12 s…", input.device())
    });

    // The train from LEAD after the devices are open, however long opening them took (the core's
    // plan: its transport, the counted clicks, the end).
    let opened = Instant::now();
    let plan = calibrate::probe_plan(local_of(opened + LEAD));
    let stop_at = base + Duration::from_micros(plan.until_us as u64);
    let mut scheduled = false;
    // Each click as the engine started it (µs on the plan's clock, the frame), and the output's
    // readings meanwhile: each click is timed where it played, as in a page.
    let mut clicks: Vec<(f64, f64)> = Vec::new();
    while Instant::now() < stop_at {
        out.update(local_of, |l| Some((l, 0)));
        input.update(local_of);
        if !scheduled && Instant::now() >= opened + LEAD - Duration::from_millis(300) {
            out.keep_readings();
            out.set_schedule(&plan.transport, bandsync_core::host_axis::HostAxis::default());
            scheduled = true;
        }
        out.drain_beats(|b| clicks.push((b.click.host.0 as f64, b.frame as f64)));
        std::thread::sleep(Duration::from_millis(10));
    }
    input.update(local_of);
    let played = calibrate::played_by_device(&plan, &clicks, &out.take_readings(), out.info().sample_rate);
    let gone = out.is_gone();
    drop(out);
    if gone {
        let message = "the output device went away during the calibration; calibrate again";
        emit(a.json, &json!({"event": "calibration_failed", "output": device, "message": message}), || {
            format!("no figure for {device}: {message}")
        });
        return Ok(1);
    }

    let rate = input.rate();
    // The onsets once, timed by when they were in hand and, for comparison, by the host's own
    // capture times (which wander by a fragment from run to run).
    let onsets = calibrate::onsets(input.recorded(), rate);
    let heard = input.in_hand_at(&onsets);
    let by_host = input.captured_at(&onsets);
    let host_figure = calibrate::loopback(&played, &by_host).ok().map(|c| c.latency_ms);
    match calibrate::loopback(&played, &heard) {
        Ok(c) => {
            report(a, &device, &c, host_figure)?;
            Ok(0)
        }
        Err(e) => {
            let rec = input.recorded();
            let peak = rec.iter().fold(0.0f32, |m, s| m.max(s.abs()));
            let recorded_s = rec.len() as f64 / f64::from(rate);
            let ev = json!({
                "event": "calibration_failed", "output": device, "message": e.to_string(),
                "recorded_s": recorded_s, "peak": peak, "onsets": heard.len(), "clicks": plan.played_us.len(),
            });
            emit(a.json, &ev, || {
                format!(
                    "no figure for {device}: {e} ({recorded_s:.1} s recorded, peak {peak:.3}, {} onsets)",
                    heard.len()
                )
            });
            Ok(1)
        }
    }
}

fn report(a: &CalibrateArgs, device: &str, c: &Calibration, host_figure: Option<f64>) -> anyhow::Result<()> {
    let store = LatencyStore::user();
    if !a.no_save {
        store.set(
            device,
            StoredLatency { latency_ms: c.latency_ms, source: Source::Measured, spread_ms: c.spread_ms },
        )?;
    }
    emit(
        a.json,
        &json!({
            "event": "calibrated",
            "output": device,
            "latency_ms": c.latency_ms,
            "spread_ms": c.spread_ms,
            "clicks": c.used,
            "of": c.of,
            "by_host_capture_ms": host_figure,
            "stored": (!a.no_save).then(|| store.path().display().to_string()),
        }),
        || {
            format!(
                "{device}: clicks heard {:.1} ms later than the device reports (±{:.2} ms, {} of {} clicks){}",
                c.latency_ms,
                c.spread_ms,
                c.used,
                c.of,
                if a.no_save { String::new() } else { format!("; stored in {}", store.path().display()) }
            )
        },
    );
    Ok(())
}
