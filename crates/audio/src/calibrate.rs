//! Latency calibration: how much later than its own figures a device's clicks are heard, for the
//! latency no API reports (Bluetooth earbuds, a phone's speaker path, WebKitGTK's GStreamer).
//!
//! - [`loopback`]: the device plays a click train and records it (its microphone, or a monitor);
//!   [`onsets`] finds the clicks in the recording, and the lag that most clicks share is the
//!   device's extra latency. Times are local µs: where each click should be heard by the device's
//!   own figures, and where each onset was captured by the input's.
//! - [`taps`]: for earbuds no microphone hears, the player taps along; the median offset of the
//!   taps from the clicks, outliers rejected, is the figure.
//!
//! Pure: the CLI, the app and the page hand the samples and times in.

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

/// Taps that scatter more than this (median absolute deviation, ms) give no figure.
pub const MAX_TAP_SPREAD_MS: f64 = 20.0;

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
    let peak = x.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    if peak <= 1e-4 {
        return Vec::new();
    }
    let levels: Vec<f64> = x.iter().map(|s| f64::from(s.abs())).collect();
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

/// The extra latency from a loopback: `played_us`, where each click should be heard by the
/// device's own figures; `heard_us`, where each onset was captured. The lag most clicks share
/// (within [`AGREE_MS`]) wins; at least two thirds of the clicks (and 6) must agree.
pub fn loopback(played_us: &[f64], heard_us: &[f64]) -> Result<Calibration, CalibrationError> {
    if heard_us.is_empty() {
        return Err(CalibrationError::Silent);
    }
    let mut lags: Vec<f64> = played_us
        .iter()
        .flat_map(|p| heard_us.iter().map(move |h| (h - p) / 1000.0))
        .filter(|l| (MIN_LAG_MS..=MAX_LAG_MS).contains(l))
        .collect();
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
    let agreed: Vec<f64> = played_us
        .iter()
        .filter_map(|p| {
            heard_us
                .iter()
                .map(|h| (h - p) / 1000.0)
                .filter(|l| (l - best).abs() <= AGREE_MS)
                .min_by(|a, b| (a - best).abs().total_cmp(&(b - best).abs()))
        })
        .collect();
    let needed = (played_us.len() * 2).div_ceil(3).max(6);
    if agreed.len() < needed {
        return Err(CalibrationError::TooFew { got: agreed.len(), of: played_us.len(), needed });
    }
    Ok(summary(&agreed, played_us.len()))
}

/// The offset from taps along with the click: each tap's offset (ms) from the click nearest it.
/// Taps more than three median deviations (15 to 60 ms) off the median are rejected; at least
/// two thirds of the taps (and 8) must remain, within `MAX_TAP_SPREAD_MS` of their median.
pub fn taps(offsets_ms: &[f64]) -> Result<Calibration, CalibrationError> {
    let all: Vec<f64> = offsets_ms.iter().copied().filter(|x| x.is_finite()).collect();
    let needed = (offsets_ms.len() * 2).div_ceil(3).max(8);
    if all.len() < needed {
        return Err(CalibrationError::TooFew { got: all.len(), of: offsets_ms.len(), needed });
    }
    let m = median(&all);
    let mad = median(&all.iter().map(|x| (x - m).abs()).collect::<Vec<_>>());
    let kept: Vec<f64> = all.iter().copied().filter(|x| (x - m).abs() <= (3.0 * mad).clamp(15.0, 60.0)).collect();
    if kept.len() < needed {
        return Err(CalibrationError::TooFew { got: kept.len(), of: offsets_ms.len(), needed });
    }
    let c = summary(&kept, offsets_ms.len());
    if c.spread_ms > MAX_TAP_SPREAD_MS {
        return Err(CalibrationError::Scattered { spread_ms: c.spread_ms.round() as i64 });
    }
    Ok(c)
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
    Calibration {
        latency_ms: m,
        spread_ms: median(&v.iter().map(|x| (x - m).abs()).collect::<Vec<_>>()),
        used: v.len() as u32,
        of: of as u32,
    }
}

/// One sort for every list here (each kind of sort costs the page's wasm kilobytes).
fn sort(v: &mut [f64]) {
    v.sort_unstable_by(f64::total_cmp);
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    sort(&mut s);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests;
