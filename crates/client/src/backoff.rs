//! Reconnect delays: exponential with full jitter, so that a band whose Wi-Fi blips does not
//! reconnect in lockstep.

use std::time::Duration;

/// How a client retries.
#[derive(Debug, Clone)]
pub struct Backoff {
    /// The first delay's upper bound.
    pub initial: Duration,
    /// The largest delay.
    pub max: Duration,
    /// Give up when the connection has been down this long.
    pub give_up_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(5),
            give_up_after: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// The delay before attempt `n` (1-based): uniform in `[cap/2, cap]` with
    /// `cap = min(max, initial * 2^(n-1))`.
    #[must_use]
    pub fn delay(&self, attempt: u32, unit_random: f64) -> Duration {
        let exp = self.initial.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let cap = exp.min(self.max);
        cap.mul_f64(0.5 + 0.5 * unit_random.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_cap_and_stay_jittered() {
        let b = Backoff::default();
        assert_eq!(b.delay(1, 1.0), Duration::from_millis(200));
        assert_eq!(b.delay(1, 0.0), Duration::from_millis(100));
        assert_eq!(b.delay(3, 1.0), Duration::from_millis(800));
        assert_eq!(b.delay(30, 1.0), Duration::from_secs(5));
        assert!(b.delay(30, 0.3) < Duration::from_secs(5));
    }
}
