//! The host clock: monotonic microseconds since the server started, plus a random epoch that
//! changes on every start so that members notice a host restart and re-sync.
//!
//! It is the server's one source of time. Its monotonic side runs on tokio's clock, so a test on
//! tokio's paused time (`start_paused`, `tokio::time::advance`) moves every session timer, the
//! journal's bursts of edits and host time together. Its wall side (for times people read, the
//! leases, and for moving a session's schedule between machines) is the system's, unless a test
//! gives it another ([`HostClock::with_wall`]).

use bandsync_core::Micros;
use std::sync::Arc;
use tokio::time::Instant;

/// A wall clock: Unix microseconds now.
type Wall = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The clock every session timeline is expressed in.
#[derive(Clone)]
pub struct HostClock {
    /// The instant that reads as zero.
    start: Instant,
    /// Changes on every server start.
    epoch: u64,
    /// The wall clock, when not the system's.
    wall: Option<Wall>,
}

impl std::fmt::Debug for HostClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostClock").field("epoch", &self.epoch).field("own_wall", &self.wall.is_some()).finish()
    }
}

impl HostClock {
    /// A clock reading zero now, with a fresh random epoch.
    #[must_use]
    pub fn new() -> Self {
        HostClock { start: Instant::now(), epoch: rand::random::<u64>() >> 11, wall: None }
    }

    /// This clock with `wall` (Unix microseconds now) in place of the system's wall clock.
    #[must_use]
    pub fn with_wall(self, wall: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        HostClock { wall: Some(Arc::new(wall)), ..self }
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
    pub fn instant_at(&self, t: Micros) -> Instant {
        let t = u64::try_from(t.0).unwrap_or(0);
        self.start + std::time::Duration::from_micros(t)
    }

    /// The tokio instant now (on a paused test runtime, the paused one).
    #[must_use]
    pub fn instant(&self) -> Instant {
        Instant::now()
    }

    /// The wall clock, Unix microseconds.
    #[must_use]
    pub fn wall_us(&self) -> i64 {
        if let Some(wall) = &self.wall {
            return wall();
        }
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |t| i64::try_from(t.as_micros()).unwrap_or(i64::MAX))
    }

    /// The wall clock, Unix milliseconds (the times people read: chat, activity, versions).
    #[must_use]
    pub fn wall_ms(&self) -> i64 {
        self.wall_us() / 1000
    }
}

impl Default for HostClock {
    fn default() -> Self {
        Self::new()
    }
}
