//! Latency calibration: how much later than its own figures a device's clicks are heard, for the
//! latency no API reports (Bluetooth earbuds, a phone's speaker path, WebKitGTK's GStreamer).
//!
//! - [`loopback`]: the device plays a click train and records it (its microphone, or a monitor);
//!   [`onsets`] finds the clicks in the recording, and the lag that most clicks share is the
//!   device's extra latency. Times are local µs: where the output's own readings around the frame
//!   each click started on say it is heard ([`played_by_device`]), and when each onset was first
//!   in the program's hands by the input's deliveries ([`in_hand`]). [`probe_plan`] is the train;
//!   [`by_microphone`] is the same for a page.
//! - [`taps`] (`calibrate/taps.rs`): for earbuds no microphone hears, the player taps along; the
//!   median offset of the taps from the clicks they go with ([`along`]), outliers rejected, is the
//!   figure.
//!
//! Pure: the CLI, the app and the page hand the samples and times in.

use bandsync_core::timeline::{Segment, Tempo, Timeline, Transport};
use bandsync_core::{Beats, Meter, Micros};
use serde::{Deserialize, Serialize};

/// The click train a calibration plays: tempo, and clicks counted after one to settle.
pub const PROBE_BPM: f64 = 80.0;

/// Clicks played (the first is not counted: outputs open with a ramp or a glitch).
pub const PROBE_CLICKS: usize = 10;

/// The latencies a loopback can find (ms): beyond `MAX_LAG_MS` a click is taken for the next
/// one's (the train's period is 750 ms).
pub const MIN_LAG_MS: f64 = -20.0;

/// See [`MIN_LAG_MS`].
pub const MAX_LAG_MS: f64 = 700.0;

/// Clicks whose lags agree within this (ms) are one cluster.
pub const AGREE_MS: f64 = 2.0;

/// What a calibration found.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Calibration {
    /// The extra output latency, ms: clicks are heard this much later than the device says.
    pub latency_ms: f64,
    /// Median absolute deviation of the clicks' (or taps') offsets about it, ms.
    pub spread_ms: f64,
    /// Clicks (or taps) that agreed, of those played (or tapped).
    pub used: u32,
    /// Clicks played (or taps made).
    pub of: u32,
}

/// Why a calibration found nothing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrationError {
    /// Too few clicks were heard (too quiet, or the microphone is off), or too few taps agreed.
    #[error("only {got} of {of} agreed; {needed} are needed (is the microphone on and the volume up?)")]
    TooFew {
        /// Clicks or taps that agreed.
        got: usize,
        /// Clicks played or taps made.
        of: usize,
        /// How many must agree.
        needed: usize,
    },
    /// Too few of the probe's clicks were seen to play for enough to agree (a page that fell
    /// behind its sound, or whose output's timing changed during the run).
    #[error("only {seen} of the {of} clicks were seen to play; calibrate again")]
    Unseen {
        /// Clicks the device's figures placed.
        seen: usize,
        /// Clicks played.
        of: usize,
    },
    /// The recording is silent.
    #[error("nothing was heard")]
    Silent,
    /// The taps scatter too widely to give a figure.
    #[error("the taps scatter by {spread_ms} ms; tap again, with the click")]
    Scattered {
        /// Their median absolute deviation, whole ms (an integer: no float formatting in the
        /// page's wasm).
        spread_ms: i64,
    },
}

/// Onsets in a recording, in fractional frames: a sound rising above a quarter of the recording's
/// peak after at least 5 ms of quiet (below a twentieth of the peak, and above the hiss: three
/// times the median level). A click with full amplitude on its first frame (the classic click) is
/// found to within a frame.
#[must_use]
pub fn onsets(x: &[f32], rate: u32) -> Vec<f64> {
    let mut peak = 0.0f32;
    for s in x {
        peak = peak.max(s.abs());
    }
    if peak <= 1e-4 {
        return Vec::new();
    }
    let mut levels: Vec<f64> = Vec::with_capacity(x.len());
    for s in x {
        levels.push(f64::from(s.abs()));
    }
    let hiss = median(&levels) as f32;
    let quiet = (peak * 0.05).max(hiss * 3.0);
    let threshold = (peak * 0.25).max(quiet * 2.0);
    let ms = (rate as usize / 1000).max(1);
    let mut out: Vec<f64> = Vec::new();
    let mut quiet_run = 5 * ms;
    let mut armed = true;
    for (i, &s) in x.iter().enumerate() {
        let a = s.abs();
        if a < quiet {
            quiet_run += 1;
            if quiet_run >= 5 * ms {
                armed = true;
            }
            continue;
        }
        quiet_run = 0;
        if a > threshold && armed {
            // Back to where the sound left the quiet: the onset, not the threshold crossing.
            let mut j = i;
            while j > 0 && x[j - 1].abs() >= quiet && i - j < 2 * ms {
                j -= 1;
            }
            let prev = if j > 0 { x[j - 1].abs() } else { 0.0 };
            let frac = f64::from((quiet - prev) / (x[j].abs() - prev).max(f32::EPSILON)).clamp(0.0, 1.0);
            out.push(j as f64 - 1.0 + frac);
            armed = false;
        }
    }
    out
}

/// The extra latency from a loopback: `played_us`, where the device's own figures say each click
/// was heard ([`played_by_device`]); `heard_us`, when each onset was in hand ([`in_hand`]). The
/// lag most clicks share (within [`AGREE_MS`]) wins; at least two thirds of the clicks (and 6)
/// must agree. A click the device's figures could not place (NaN) counts as played, and not as
/// agreed; when too few were placed for enough to agree, that is the error.
pub fn loopback(played_us: &[f64], heard_us: &[f64]) -> Result<Calibration, CalibrationError> {
    if heard_us.is_empty() {
        return Err(CalibrationError::Silent);
    }
    // Plain loops, here and below: each iterator chain costs the page's wasm its own code.
    let mut lags: Vec<f64> = Vec::new();
    for p in played_us {
        for h in heard_us {
            let l = (h - p) / 1000.0;
            if (MIN_LAG_MS..=MAX_LAG_MS).contains(&l) {
                lags.push(l);
            }
        }
    }
    sort(&mut lags);
    // The densest window of AGREE_MS.
    let (mut best, mut best_n, mut j) = (0.0, 0, 0);
    for i in 0..lags.len() {
        while lags[i] - lags[j] > AGREE_MS {
            j += 1;
        }
        if i + 1 - j > best_n {
            best_n = i + 1 - j;
            best = (lags[i] + lags[j]) / 2.0;
        }
    }
    // Each played click's nearest onset to that lag.
    let mut agreed: Vec<f64> = Vec::new();
    for p in played_us {
        let mut nearest: Option<f64> = None;
        for h in heard_us {
            let l = (h - p) / 1000.0;
            if (l - best).abs() <= AGREE_MS && nearest.is_none_or(|n| (l - best).abs() < (n - best).abs()) {
                nearest = Some(l);
            }
        }
        agreed.extend(nearest);
    }
    let (needed, of) = ((played_us.len() * 2).div_ceil(3).max(6), played_us.len());
    if agreed.len() < needed {
        let mut seen = 0;
        for p in played_us {
            seen += usize::from(!p.is_nan());
        }
        return Err(if seen < needed {
            CalibrationError::Unseen { seen, of }
        } else {
            CalibrationError::TooFew { got: agreed.len(), of, needed }
        });
    }
    Ok(summary(&agreed, of))
}

/// A click train as a schedule for the click engine, natively and in a page: the probe's
/// ([`probe_plan`]) or the tap-along's ([`tap_plan`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ProbePlan {
    /// The clicks (the probe's: [`PROBE_CLICKS`] at [`PROBE_BPM`]), one beat to the bar (every
    /// click a downbeat), then stopped.
    pub transport: Transport,
    /// Where the counted clicks fall (the probe's first is not counted: outputs open with a ramp
    /// or a glitch), on the transport's clock.
    pub played_us: Vec<f64>,
    /// When the last click has been heard, however late it is within [`MAX_LAG_MS`].
    pub until_us: f64,
}

/// The probe train from `start_us` on (host µs in a page, local ones natively).
#[must_use]
pub fn probe_plan(start_us: f64) -> ProbePlan {
    train(start_us, PROBE_BPM, PROBE_CLICKS, 1)
}

/// `clicks` clicks at `bpm` from `start_us` on, one beat to the bar, then stopped; those from the
/// `first_counted` on are the plan's `played_us`.
#[must_use]
pub fn train(start_us: f64, bpm: f64, clicks: usize, first_counted: usize) -> ProbePlan {
    let period = 60e6 / bpm;
    let start = Micros(start_us.round() as i64);
    let last = start.0 as f64 + (clicks as f64 - 1.0) * period;
    let timeline =
        Timeline { tempo: Tempo::from_bpm(bpm).unwrap_or_default(), beat_origin: Beats::ZERO, time_origin: start };
    let meter = Meter::new(1, 4).unwrap_or_default();
    let segment = |at, playing| Segment {
        at,
        playing,
        timeline,
        meter: meter.clone(),
        bar_origin: Beats::ZERO,
        song_start: Beats::ZERO,
        song: None,
        flow: None,
    };
    let stop_at = Micros((last + period / 2.0).round() as i64);
    let mut played_us = Vec::new();
    for k in first_counted..clicks {
        played_us.push(start.0 as f64 + k as f64 * period);
    }
    ProbePlan {
        transport: Transport {
            segments: vec![segment(Micros(0), false), segment(start, true), segment(stop_at, false)],
        },
        played_us,
        until_us: last + period.min(MAX_LAG_MS * 1000.0 + 100_000.0),
    }
}

/// The µs at which `frames` of a recording were first in hand: the line at the input's rate
/// ([`rate_of`]) under every delivery ([`earliest_line`]), each delivery a point (the frame after
/// the last one delivered, the local µs it arrived, natively and in a page). A
/// delivery is never early and is late by however much the scheduler adds, so the line is when
/// each frame arrived, whatever the phase of the input's buffers.
#[must_use]
pub fn in_hand(points: &[(f64, f64)], rate: u32, frames: &[f64]) -> Vec<f64> {
    let slope = rate_of(points, 1e6 / f64::from(rate.max(1)));
    let Some(c) = earliest_line(points, slope) else { return Vec::new() };
    let mut at = Vec::with_capacity(frames.len());
    for f in frames {
        at.push(c + f * slope);
    }
    at
}

/// A loopback through a microphone whose deliveries were timed, as a page measures it, all in
/// local µs: the probe's counted clicks where the output's own figures say they were heard
/// ([`played_by_device`]), and `recording` came in as `deliveries` ([`in_hand`]). The figure is
/// the calibration the device needs, and the input's own time from the microphone to the
/// program's hands with it (no platform reports that; 0.5 to 1.2 ms in Chromium here), as
/// natively.
pub fn by_microphone(
    recording: &[f32],
    rate: u32,
    deliveries: &[(f64, f64)],
    played: &[f64],
) -> Result<Calibration, CalibrationError> {
    loopback(played, &in_hand(deliveries, rate, &onsets(recording, rate)))
}

/// The output's readings within this of a click (µs) time it ([`played_by_device`]).
pub const READINGS_NEAR_US: f64 = 500_000.0;

/// Where the output's own figures say each of the `plan`'s counted clicks was heard (local µs):
/// `clicks` are the probe's clicks as the engine started them (µs on the plan's clock: host µs in
/// a page, local ones natively; the device frame it started on), `readings` the output's (frame,
/// local µs it is heard) as it played. A click's time is the median of the readings within
/// [`READINGS_NEAR_US`] of its frame, each moved to that frame at the output's nominal `out_rate`:
/// the readings on the click's side of a step in the playout are the more. So a click is timed where it did play, though the frame map
/// that placed it had not yet followed the step (a page's first seconds, under load: up to 9 ms
/// here), and the clock estimate's moves during the run do not enter. NaN for a click the engine
/// was not seen to start, or with no readings near it.
#[must_use]
pub fn played_by_device(plan: &ProbePlan, clicks: &[(f64, f64)], readings: &[(f64, f64)], out_rate: u32) -> Vec<f64> {
    let us_per_frame = 1e6 / f64::from(out_rate.max(1));
    let near = READINGS_NEAR_US / us_per_frame;
    let mut played = Vec::with_capacity(plan.played_us.len());
    for p in &plan.played_us {
        let mut frame = None;
        for (host, f) in clicks {
            if (host - p).abs() < 1_000.0 {
                frame = Some(*f);
            }
        }
        let mut at: Vec<f64> = Vec::new();
        if let Some(f) = frame {
            for (rf, t) in readings {
                if (rf - f).abs() <= near {
                    at.push(t + (f - rf) * us_per_frame);
                }
            }
        }
        played.push(median(&at));
    }
    played
}

/// The line at `slope` (µs per frame) under every point (frame, local µs): `c` in `c + f * slope`,
/// the largest with every point on or above it. For an input's callbacks, (frame after the last
/// one delivered, when the callback ran): a callback never runs before its frames are in hand,
/// and runs late by however much the scheduler adds, so the line under them all is when each
/// frame was first in hand, whatever the phase of the host's own bookkeeping.
#[must_use]
pub fn earliest_line(points: &[(f64, f64)], slope: f64) -> Option<f64> {
    points.iter().map(|(f, t)| t - f * slope).min_by(f64::total_cmp)
}

/// The device's rate (µs per frame) from (frame, local µs) points: a least-squares line through
/// them, once they span two seconds and if it is within 0.1 % of `nominal` (a sound card's
/// crystal); `nominal` otherwise.
#[must_use]
pub fn rate_of(points: &[(f64, f64)], nominal: f64) -> f64 {
    let (Some(first), Some(last)) = (points.first(), points.last()) else { return nominal };
    if points.len() < 8 || (last.0 - first.0) * nominal < 2e6 {
        return nominal;
    }
    crate::filter::least_squares_rate(points.iter(), nominal).unwrap_or(nominal)
}

fn summary(v: &[f64], of: usize) -> Calibration {
    let m = median(v);
    Calibration { latency_ms: m, spread_ms: median(&deviations(v, m)), used: v.len() as u32, of: of as u32 }
}

/// One sort for every list here (each kind of sort costs the page's wasm kilobytes).
fn sort(v: &mut [f64]) {
    v.sort_unstable_by(f64::total_cmp);
}

/// How far each of `v` lies from `m`.
fn deviations(v: &[f64], m: f64) -> Vec<f64> {
    let mut d = Vec::with_capacity(v.len());
    for x in v {
        d.push((x - m).abs());
    }
    d
}

/// The median of `v`; NaN for none.
#[must_use]
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    sort(&mut s);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

mod taps;
#[cfg(test)]
mod tests;

pub use taps::{MAX_TAP_SPREAD_MS, TAP_BPM, TAP_NEAR_US, TAPS, along, tap_offset_ms, tap_plan, taps};
