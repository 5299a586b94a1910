//! `bandsync calibrate`: measures the output latency no API reports. The output plays a click
//! train while the input records it (the microphone, or a monitor of the output); the lag most
//! clicks share, past what the output's own timestamps say, is the device's extra latency
//! (`bandsync_audio::loopback`, which the desktop app's calibration runs too). With `--taps`,
//! for earbuds no microphone hears, the player presses Enter with each click instead
//! (`bandsync_audio::tapalong`). The figure is stored for the output device, and `bandsync join`
//! starts from it.

use crate::output::emit;
use bandsync_audio::calibrate::{Calibration, TAP_BPM, TAPS};
use bandsync_audio::loopback::{self, LoopbackDevices, LoopbackError};
use bandsync_audio::offsets::LatencyStore;
use bandsync_audio::tapalong;
use bandsync_core::protocol::LATENCY_OFFSET_MS;
use serde_json::{Value, json};
use std::io::BufRead;
use std::time::Instant;

/// Arguments of `bandsync calibrate`.
#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {
    /// Output device (a part of its name); the default device otherwise.
    #[arg(long, value_name = "NAME")]
    pub audio_device: Option<String>,
    /// Input device that hears the output (a part of its name); the default input otherwise.
    #[arg(long, value_name = "NAME", conflicts_with = "taps")]
    pub input_device: Option<String>,
    /// Tap along instead, for earbuds no microphone hears: press Enter with each click you hear.
    #[arg(long)]
    pub taps: bool,
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
    if a.taps {
        return by_taps(a);
    }
    let devices =
        LoopbackDevices { output: a.audio_device.clone(), buffer_frames: None, input: a.input_device.clone() };
    let run = loopback::measure(&devices, |output, input| {
        emit(
            a.json,
            &json!({"event": "calibrating", "by": By::Microphone.name(), "output": output, "input": input}),
            || format!("calibrating {output}: listening through {input} for about 12 s…"),
        );
    })?;
    let device = &run.output;
    match &run.outcome {
        Ok(c) => {
            let stored = !a.no_save && run.store(&LatencyStore::user())?;
            let extra = json!({"by_host_capture_ms": run.by_host_capture_ms});
            report(a, device, c, stored, By::Microphone, extra);
            Ok(0)
        }
        Err(e) => {
            let ev = json!({
                "event": "calibration_failed", "by": By::Microphone.name(), "output": device, "message": e.to_string(),
                "recorded_s": run.recorded_s, "peak": run.peak, "onsets": run.onsets, "clicks": run.clicks,
            });
            emit(a.json, &ev, || {
                format!(
                    "no figure for {device}: {e} ({:.1} s recorded, peak {:.3}, {} onsets)",
                    run.recorded_s, run.peak, run.onsets
                )
            });
            Ok(1)
        }
    }
}

/// The tap-along: each line read from stdin is a tap, timed as it arrives.
fn by_taps(a: &CalibrateArgs) -> anyhow::Result<u8> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let mut stdin = std::io::stdin().lock();
        while matches!(stdin.read_line(&mut line), Ok(n) if n > 0) && tx.send(Instant::now()).is_ok() {
            line.clear();
        }
    });
    let run = tapalong::measure(a.audio_device.clone(), None, &rx, |output, lead| {
        let ev = json!({"event": "calibrating", "by": By::Taps.name(), "output": output, "taps": TAPS, "bpm": TAP_BPM});
        emit(a.json, &ev, || {
            format!(
                "calibrating {output}: press Enter with each click you hear, {TAPS} times (the clicks start in {:.0} s)…",
                lead.as_secs_f64()
            )
        });
    })?;
    let device = &run.output;
    match &run.outcome {
        Ok(c) => {
            let stored = !a.no_save && run.store(&LatencyStore::user())?;
            report(a, device, c, stored, By::Taps, json!({}));
            Ok(0)
        }
        Err(e) => {
            let why = match e {
                LoopbackError::Calibration(_) if run.taps < TAPS => {
                    format!("{} taps of the {TAPS} asked for; calibrate again and tap with every click", run.taps)
                }
                _ => e.to_string(),
            };
            let ev = json!({"event": "calibration_failed", "by": By::Taps.name(), "output": device, "message": why, "taps": run.taps});
            emit(a.json, &ev, || format!("no figure for {device}: {why}"));
            Ok(1)
        }
    }
}

/// How a figure is found: its events' `by`.
#[derive(Debug, Clone, Copy)]
enum By {
    Microphone,
    Taps,
}

impl By {
    fn name(self) -> &'static str {
        match self {
            By::Microphone => "microphone",
            By::Taps => "taps",
        }
    }

    /// What agrees on the figure: clicks heard, or taps.
    fn agreeing(self) -> &'static str {
        match self {
            By::Microphone => "clicks",
            By::Taps => "taps",
        }
    }
}

/// The figure, found `by` the microphone or taps, and where it was stored; `extra` adds to the
/// event.
fn report(a: &CalibrateArgs, device: &str, c: &Calibration, stored: bool, by: By, extra: Value) {
    let store = LatencyStore::user();
    let of = by.agreeing();
    let mut ev = json!({
        "event": "calibrated",
        "by": by.name(),
        "output": device,
        "latency_ms": c.latency_ms,
        "spread_ms": c.spread_ms,
        of: c.used,
        "of": c.of,
        "stored": stored.then(|| store.path().display().to_string()),
    });
    if let (Some(ev), Value::Object(extra)) = (ev.as_object_mut(), extra) {
        ev.extend(extra);
    }
    emit(a.json, &ev, || {
        format!(
            "{device}: clicks heard {:.1} ms later than the device reports (±{:.2} ms, {} of {} {of} agreed){}",
            c.latency_ms,
            c.spread_ms,
            c.used,
            c.of,
            if stored {
                format!("; stored in {}", store.path().display())
            } else if a.no_save {
                String::new()
            } else {
                let (lo, hi) = (LATENCY_OFFSET_MS.start(), LATENCY_OFFSET_MS.end());
                format!("; not stored: beyond the offsets a player may set, {lo} to {hi} ms")
            }
        )
    });
}
