//! The estimator's tuning: [`ClockConfig`], whose defaults are what `bandsync` uses.

use crate::time::Micros;
use std::ops::RangeInclusive;

/// The steady ping intervals (ms) a server may ask its members for (`welcome.ping_ms`): no
/// faster than their own 50 ms, no slower than a second. A server carrying many bands asks for
/// fewer pings (each is answered by a frame, and the pongs are most of what it sends), at some
/// cost in accuracy (docs/SCALING.md: 5 a second still holds every target of the clock's).
pub const ASKED_PING_MS: RangeInclusive<u32> = 50..=1000;

/// Tuning of the estimator. The defaults are what `bandsync` uses.
#[derive(Debug, Clone)]
pub struct ClockConfig {
    /// Pings in the warm-up burst.
    pub burst_count: u32,
    /// Interval between warm-up pings.
    pub burst_interval: Micros,
    /// Interval between pings once warmed up.
    pub steady_interval: Micros,
    /// How far back samples are kept.
    pub window: Micros,
    /// Most samples kept.
    pub max_samples: usize,
    /// Fraction of the window's samples, those with the smallest round trip, that the fit uses.
    pub keep_fraction: f64,
    /// Fewest samples the fit uses (when there are that many).
    pub min_keep: usize,
    /// How fast the path's asymmetry is assumed to wander (µs per √s). Larger follows a changed
    /// route sooner; smaller averages more samples.
    pub asymmetry_walk_us: f64,
    /// The largest skew believed, in ppm: crystals are within ±200 ppm.
    pub max_skew_ppm: f64,
    /// Fastest slew of a correction, in parts per million of elapsed time.
    pub slew_ppm: f64,
    /// A correction larger than this is stepped instead of slewed.
    pub step_threshold: Micros,
    /// A ping unanswered after this long counts as lost.
    pub ping_timeout: Micros,
    /// The estimated error under which the clock counts as synced.
    pub synced_error: Micros,
    /// How fast the error bound grows without fresh samples (ppm), for outages.
    pub holdover_ppm: f64,
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig {
            burst_count: 40,
            burst_interval: Micros::from_millis(15),
            steady_interval: Micros::from_millis(50),
            window: Micros::from_secs(60),
            max_samples: 1200,
            keep_fraction: 1.0,
            min_keep: 5,
            asymmetry_walk_us: 30.0,
            max_skew_ppm: 500.0,
            slew_ppm: 1_000.0,
            step_threshold: Micros::from_millis(20),
            ping_timeout: Micros::from_secs(2),
            synced_error: Micros::from_millis(1),
            holdover_ppm: 2.0,
        }
    }
}
