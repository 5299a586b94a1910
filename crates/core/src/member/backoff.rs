//! Reconnect delays: exponential with full jitter, so that a band whose Wi-Fi blips does not
//! reconnect in lockstep.

use crate::time::Micros;

/// How a member retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay's upper bound.
    pub initial: Micros,
    /// The largest delay.
    pub max: Micros,
    /// Give up when the connection has been down this long; `None` never gives up (a phone that
    /// was in a pocket for five minutes should be back in the band when it comes out).
    pub give_up_after: Option<Micros>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Micros::from_millis(200),
            max: Micros::from_secs(5),
            give_up_after: Some(Micros::from_secs(60)),
        }
    }
}

impl Backoff {
    /// The delay before attempt `n` (1-based): uniform in `[cap/2, cap]` with
    /// `cap = min(max, initial * 2^(n-1))`; `unit_random` is in `[0, 1]`.
    #[must_use]
    pub fn delay(&self, attempt: u32, unit_random: f64) -> Micros {
        let exp = self.initial.0.saturating_mul(1i64 << attempt.saturating_sub(1).min(16));
        let cap = exp.min(self.max.0) as f64;
        Micros((cap * (0.5 + 0.5 * unit_random.clamp(0.0, 1.0))).round() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_cap_and_stay_jittered() {
        let b = Backoff::default();
        assert_eq!(b.delay(1, 1.0), Micros::from_millis(200));
        assert_eq!(b.delay(1, 0.0), Micros::from_millis(100));
        assert_eq!(b.delay(3, 1.0), Micros::from_millis(800));
        assert_eq!(b.delay(30, 1.0), Micros::from_secs(5));
        assert!(b.delay(30, 0.3) < Micros::from_secs(5));
    }
}
