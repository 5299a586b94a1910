//! `bandsync calibrate`: measures the output latency no API reports. The output plays a click
//! train while the input records it (the microphone, or a monitor of the output); the lag most
//! clicks share, past what the output's own timestamps say, is the device's extra latency
//! (`bandsync_audio::loopback`, which the desktop app's calibration runs too). It is stored for
//! the output device, and `bandsync join` starts from it.

use crate::output::emit;
use bandsync_audio::calibrate::Calibration;
use bandsync_audio::loopback::{self, LoopbackDevices};
use bandsync_audio::offsets::LatencyStore;
use bandsync_core::protocol::LATENCY_OFFSET_MS;
use serde_json::json;

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
    let devices =
        LoopbackDevices { output: a.audio_device.clone(), buffer_frames: None, input: a.input_device.clone() };
    let run = loopback::measure(&devices, |output, input| {
        emit(a.json, &json!({"event": "calibrating", "output": output, "input": input}), || {
            format!("calibrating {output}: listening through {input} for about 12 s…")
        });
    })?;
    let device = &run.output;
    match &run.outcome {
        Ok(c) => {
            report(a, &run, c)?;
            Ok(0)
        }
        Err(e) => {
            let ev = json!({
                "event": "calibration_failed", "output": device, "message": e.to_string(),
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

fn report(a: &CalibrateArgs, run: &loopback::Loopback, c: &Calibration) -> anyhow::Result<()> {
    let store = LatencyStore::user();
    let save = !a.no_save && run.store(&store)?;
    let device = &run.output;
    emit(
        a.json,
        &json!({
            "event": "calibrated",
            "output": device,
            "latency_ms": c.latency_ms,
            "spread_ms": c.spread_ms,
            "clicks": c.used,
            "of": c.of,
            "by_host_capture_ms": run.by_host_capture_ms,
            "stored": save.then(|| store.path().display().to_string()),
        }),
        || {
            format!(
                "{device}: clicks heard {:.1} ms later than the device reports (±{:.2} ms, {} of {} clicks){}",
                c.latency_ms,
                c.spread_ms,
                c.used,
                c.of,
                if save {
                    format!("; stored in {}", store.path().display())
                } else if a.no_save {
                    String::new()
                } else {
                    let (lo, hi) = (LATENCY_OFFSET_MS.start(), LATENCY_OFFSET_MS.end());
                    format!("; not stored: beyond the offsets a player may set, {lo} to {hi} ms")
                }
            )
        },
    );
    Ok(())
}
