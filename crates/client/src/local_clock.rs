//! This device's clock, in microseconds, as the clock estimator sees it.
//!
//! Normally the monotonic clock. For tests and diagnostics it can be made deliberately wrong, by
//! an offset and a frequency error, so that a test with real processes on one machine can show
//! that the estimator removes the error (`bandsync join --clock-offset-ms X --clock-skew-ppm Y`).

use bandsync_core::Micros;
use bandsync_core::clock::Distortion;
use std::time::{Duration, Instant};

/// A monotonic clock, optionally offset and skewed.
#[derive(Debug, Clone)]
pub struct LocalClock {
    /// The instant the clock starts from.
    start: Instant,
    /// What it reads from there.
    distortion: Distortion,
}

impl LocalClock {
    /// The plain monotonic clock.
    #[must_use]
    pub fn system() -> Self {
        LocalClock { start: Instant::now(), distortion: Distortion { base_us: 0.0, rate: 1.0 } }
    }

    /// A clock that reads `offset_ms` ahead and runs `skew_ppm` fast.
    #[must_use]
    pub fn distorted(offset_ms: f64, skew_ppm: f64) -> Self {
        LocalClock { start: Instant::now(), distortion: Distortion::new(offset_ms, skew_ppm) }
    }

    /// The clock's reading now.
    #[must_use]
    pub fn now(&self) -> Micros {
        self.read(Instant::now())
    }

    fn read(&self, at: Instant) -> Micros {
        Micros(self.at(at).round() as i64)
    }

    /// The clock's reading at `at`, in fractional µs (for the audio device-clock mapping).
    #[must_use]
    pub fn at(&self, at: Instant) -> f64 {
        let el = at.saturating_duration_since(self.start).as_nanos() as f64 / 1000.0;
        self.distortion.read(el)
    }

    /// The tokio instant at which this clock reads `local`.
    #[must_use]
    pub fn instant_at(&self, local: Micros) -> tokio::time::Instant {
        let el_us = self.distortion.elapsed_at(local.0 as f64).max(0.0);
        tokio::time::Instant::from_std(self.start + Duration::from_nanos((el_us * 1000.0) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distorted_clock_runs_fast_and_maps_back() {
        let c = LocalClock::distorted(-5_000.0, 150.0);
        let t0 = Instant::now();
        let a = c.read(t0);
        let b = c.read(t0 + Duration::from_secs(10));
        assert_eq!(b.0 - a.0, 10_001_500);
        let at = c.instant_at(b).into_std();
        assert!(at.duration_since(t0).as_micros().abs_diff(10_000_000) <= 1);
    }
}
