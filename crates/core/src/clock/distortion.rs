//! A device clock made wrong on purpose, so that a test with real processes on one machine can
//! show that the clock sync removes the error: it reads an offset ahead and runs a frequency
//! error fast (`bandsync join --clock-offset-ms X --clock-skew-ppm Y`, and the page's
//! `?clock_offset_ms=X&clock_skew_ppm=Y`). The native client and the page both take it from here.

use serde::Serialize;

/// An affine clock: what it reads after `elapsed` µs of the real one is
/// `base_us + elapsed × rate`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ClockDistortion"))]
pub struct Distortion {
    /// What it reads when the real clock starts.
    pub base_us: f64,
    /// Its µs per real µs.
    pub rate: f64,
}

impl Distortion {
    /// A clock that reads `offset_ms` ahead and runs `skew_ppm` fast. Non-finite values count
    /// as zero.
    #[must_use]
    pub fn new(offset_ms: f64, skew_ppm: f64) -> Self {
        let finite = |x: f64| if x.is_finite() { x } else { 0.0 };
        // Far enough from zero that a negative offset still reads positive.
        Distortion { base_us: 1e12 + finite(offset_ms) * 1000.0, rate: 1.0 + finite(skew_ppm) * 1e-6 }
    }

    /// What the clock reads `elapsed_us` after the real one started.
    #[must_use]
    pub fn read(&self, elapsed_us: f64) -> f64 {
        self.base_us + elapsed_us * self.rate
    }

    /// How long after the real clock started this one reads `local_us`.
    #[must_use]
    pub fn elapsed_at(&self, local_us: f64) -> f64 {
        (local_us - self.base_us) / self.rate
    }
}

#[cfg(test)]
mod tests {
    use super::Distortion;

    #[test]
    fn a_distorted_clock_reads_ahead_runs_fast_and_maps_back() {
        let d = Distortion::new(-5_000.0, 150.0);
        assert_eq!(d.read(0.0), 1e12 - 5e6);
        // One real second later it has run 150 µs more than a second.
        assert!((d.read(1e6) - d.read(0.0) - 1_000_150.0).abs() < 1e-3);
        // Within the nanosecond a reading near 1e12 µs resolves.
        assert!((d.elapsed_at(d.read(42_000.0)) - 42_000.0).abs() < 1e-3);
        assert_eq!(Distortion::new(f64::NAN, f64::INFINITY), Distortion::new(0.0, 0.0));
    }
}
