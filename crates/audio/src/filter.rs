//! The device-clock filter: a regression from device frames to local time over many callbacks,
//! like Link's `HostTimeFilter`. Callback timing jitters and the sound card's crystal drifts from
//! the host's; a least-squares line through the last few hundred (frame, playback time) points
//! follows the drift and averages the jitter away. Pure, so it is tested in simulated time.
//!
//! The line's slope (the card's rate) comes from the whole window, its position from the last
//! 8 s only. Measured at the speaker through PulseAudio, a stream's reported playout wanders
//! against the host clock by ±200 µs over seconds, and at times shifts for good; a least-squares
//! intercept over a minute lagged such a shift, and two followers once played 0.9 ms apart while
//! each believed itself on time. Shorter stretches follow the report's noise instead (replayed
//! offline against recordings: 1 s gave p99 errors twice those of 8 s). See `docs/BENCHMARKS.md`,
//! "native followers".

use std::collections::VecDeque;

/// The points must span this long (µs) before the slope is fitted rather than nominal.
pub const MIN_SLOPE_SPAN_US: f64 = 2e6;

/// The line's position is the mean of the points of this last stretch (µs of frames)...
pub const INTERCEPT_SPAN_US: f64 = 8e6;

/// ...or of at least this many of the last points, when the stretch holds fewer.
pub const INTERCEPT_MIN_POINTS: usize = 16;

/// A least-squares fit of local time (µs) against device frame, over a sliding window.
#[derive(Debug, Clone)]
pub struct DeviceClockFilter {
    points: VecDeque<(f64, f64)>,
    capacity: usize,
}

impl DeviceClockFilter {
    /// A filter over the last `capacity` points (at least 2).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        DeviceClockFilter { points: VecDeque::with_capacity(capacity), capacity: capacity.max(2) }
    }

    /// Adds a point: device frame `frame` is heard at local time `local_us`.
    pub fn push(&mut self, frame: u64, local_us: f64) {
        if self.points.len() == self.capacity {
            self.points.pop_front();
        }
        self.points.push_back((frame as f64, local_us));
    }

    /// Forgets every point (after an underrun or a device change, the old line no longer holds).
    pub fn reset(&mut self) {
        self.points.clear();
    }

    /// Points held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether there are no points.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The fitted line as (frame, local µs at that frame, local µs per frame); `None` without
    /// points.
    ///
    /// The slope is a least-squares fit over the whole window (up to about a minute of callbacks):
    /// a sound card's rate against the host clock is steady, so a long line averages callback
    /// jitter away and gives clicks whose spacing in device frames is constant. Until the points
    /// span `MIN_SLOPE_SPAN_US` the slope is the nominal rate. The line passes through the mean of
    /// the last `INTERCEPT_SPAN_US` of points (at least `INTERCEPT_MIN_POINTS`), so it follows
    /// the stream's playout as it wanders.
    #[must_use]
    pub fn fit(&self, nominal_us_per_frame: f64) -> Option<(f64, f64, f64)> {
        let n = self.points.len();
        if n == 0 {
            return None;
        }
        let fm = self.points.iter().map(|p| p.0).sum::<f64>() / n as f64;
        let lm = self.points.iter().map(|p| p.1).sum::<f64>() / n as f64;
        let span_us = (self.points.back()?.0 - self.points.front()?.0) * nominal_us_per_frame;
        let slope = if n >= 8 && span_us >= MIN_SLOPE_SPAN_US {
            let sxx: f64 = self.points.iter().map(|p| (p.0 - fm).powi(2)).sum();
            let sxy: f64 = self.points.iter().map(|p| (p.0 - fm) * (p.1 - lm)).sum();
            let s = sxy / sxx;
            // A sound card is within ±1000 ppm of nominal; anything else is a glitch in the data.
            if (s / nominal_us_per_frame - 1.0).abs() < 1e-3 { s } else { nominal_us_per_frame }
        } else {
            nominal_us_per_frame
        };
        let last = self.points.back()?.0;
        let since = last - INTERCEPT_SPAN_US / nominal_us_per_frame;
        let recent =
            self.points.iter().rev().enumerate().take_while(|(i, p)| p.0 >= since || *i < INTERCEPT_MIN_POINTS).count();
        let (mut rf, mut rl) = (0.0, 0.0);
        for p in self.points.iter().rev().take(recent) {
            rf += p.0;
            rl += p.1;
        }
        Some((rf / recent as f64, rl / recent as f64, slope))
    }

    /// Local time (µs) at which `frame` is heard, through the fit.
    #[must_use]
    pub fn local_at(&self, frame: u64, nominal_us_per_frame: f64) -> Option<f64> {
        let (fm, lm, slope) = self.fit(nominal_us_per_frame)?;
        Some(lm + (frame as f64 - fm) * slope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_spans_use_the_nominal_rate() {
        let nominal = 1e6 / 48_000.0;
        let mut f = DeviceClockFilter::new(4096);
        for k in 0..90u64 {
            let frame = k * 512;
            f.push(frame, frame as f64 * nominal * 1.0002);
        }
        let (_, _, slope) = f.fit(nominal).unwrap();
        assert_eq!(slope, nominal, "under 2 s of points");
    }

    #[test]
    fn drift_is_followed_and_jitter_averaged() {
        // A 48 kHz card running 100 ppm fast; callbacks every 512 frames with ±500 µs of jitter.
        let nominal = 1e6 / 48_000.0;
        let true_us_per_frame = nominal / (1.0 + 100e-6);
        let mut f = DeviceClockFilter::new(4096);
        let mut seed = 12345u64;
        for k in 0..3000u64 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let jitter = ((seed >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 1000.0;
            let frame = k * 512;
            f.push(frame, 5_000_000.0 + frame as f64 * true_us_per_frame + jitter);
        }
        let frame = 3000 * 512 + 24_000;
        let want = 5_000_000.0 + frame as f64 * true_us_per_frame;
        let got = f.local_at(frame, nominal).unwrap();
        assert!((got - want).abs() < 60.0, "{got} vs {want}");
        let (_, _, slope) = f.fit(nominal).unwrap();
        assert!(((slope / true_us_per_frame) - 1.0).abs() < 3e-5, "slope error {}", slope / true_us_per_frame - 1.0);
    }

    #[test]
    fn the_line_follows_a_shifted_playout_within_the_intercept_span() {
        // Callbacks every 512 frames whose playout moves 200 µs later 50 s into a minute: 10 s on,
        // the line is on it (a fit of the whole minute is 83 µs off).
        let nominal = 1e6 / 48_000.0;
        let mut f = DeviceClockFilter::new(8192);
        let at = |frame: u64| frame as f64 * nominal + if frame >= 50 * 48_000 { 200.0 } else { 0.0 };
        let mut k = 0;
        while k * 512 < 60 * 48_000 {
            f.push(k * 512, at(k * 512));
            k += 1;
        }
        let frame = k * 512 + 4800;
        let got = f.local_at(frame, nominal).unwrap();
        assert!((got - at(frame)).abs() < 20.0, "{got} vs {}", at(frame));
    }
}
