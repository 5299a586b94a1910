//! This device's clock, in microseconds, as the clock estimator sees it.
//!
//! Normally the monotonic clock. For tests and diagnostics it can be made deliberately wrong, by
//! an offset and a frequency error, so that a test with real processes on one machine can show
//! that the estimator removes the error (`bandsync join --clock-offset-ms X --clock-skew-ppm Y`).

use bandsync_core::Micros;
use std::time::{Duration, Instant};

/// A monotonic clock, optionally offset and skewed.
#[derive(Debug, Clone)]
pub struct LocalClock {
    /// The instant that reads as `offset_us`.
    start: Instant,
    /// What the clock reads at `start`.
    offset_us: f64,
    /// Frequency error: 1.5e-4 runs 150 ppm fast.
    skew: f64,
}

impl LocalClock {
    /// The plain monotonic clock.
    #[must_use]
    pub fn system() -> Self {
        LocalClock { start: Instant::now(), offset_us: 0.0, skew: 0.0 }
    }

    /// A clock that reads `offset_ms` ahead and runs `skew_ppm` fast.
    #[must_use]
    pub fn distorted(offset_ms: f64, skew_ppm: f64) -> Self {
        // Start far enough from zero that a negative offset still reads positive.
        LocalClock { start: Instant::now(), offset_us: 1e12 + offset_ms * 1000.0, skew: skew_ppm * 1e-6 }
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
        self.offset_us + el * (1.0 + self.skew)
    }

    /// The tokio instant at which this clock reads `local`.
    #[must_use]
    pub fn instant_at(&self, local: Micros) -> tokio::time::Instant {
        let el_us = ((local.0 as f64 - self.offset_us) / (1.0 + self.skew)).max(0.0);
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
