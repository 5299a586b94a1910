//! The host clock: monotonic microseconds since the server started, plus a random epoch that
//! changes on every start so that members notice a host restart and re-sync.

use bandsync_core::Micros;
use std::time::Instant;

/// The clock every session timeline is expressed in.
#[derive(Debug, Clone)]
pub struct HostClock {
    /// The instant that reads as zero.
    start: Instant,
    /// Changes on every server start.
    epoch: u64,
}

impl HostClock {
    /// A clock reading zero now, with a fresh random epoch.
    #[must_use]
    pub fn new() -> Self {
        HostClock { start: Instant::now(), epoch: rand::random::<u64>() >> 11 }
    }

    /// Host time now.
    #[must_use]
    pub fn now(&self) -> Micros {
        Micros(self.start.elapsed().as_micros() as i64)
    }

    /// The epoch (53 bits, so that JavaScript reads it exactly).
    #[must_use]
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The tokio instant at host time `t`, for timers.
    #[must_use]
    pub fn instant_at(&self, t: Micros) -> tokio::time::Instant {
        let t = u64::try_from(t.0).unwrap_or(0);
        tokio::time::Instant::from_std(self.start + std::time::Duration::from_micros(t))
    }
}

impl Default for HostClock {
    fn default() -> Self {
        Self::new()
    }
}
