//! A token bucket, driven by `now` so that it is exact in simulated time.
//!
//! The peer server keeps one per connection. Each message takes a token; tokens refill at a steady
//! rate up to a burst capacity.

use crate::time::Micros;

/// A token bucket with integer arithmetic in micro-tokens.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// The most tokens that can accumulate: the allowed burst.
    capacity: u64,
    /// Tokens added per second.
    rate: u64,
    /// Tokens now, in micro-tokens (one token is 1 000 000).
    level: u64,
    /// When `level` was last brought up to date.
    last: Micros,
}

impl TokenBucket {
    /// A full bucket.
    #[must_use]
    pub fn new(capacity: u32, per_sec: u32, now: Micros) -> Self {
        TokenBucket {
            capacity: u64::from(capacity),
            rate: u64::from(per_sec),
            level: u64::from(capacity) * 1_000_000,
            last: now,
        }
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Micros) -> bool {
        let dt = u64::try_from((now - self.last).0).unwrap_or(0);
        self.last = self.last.max(now);
        self.level = (self.level + dt.saturating_mul(self.rate)).min(self.capacity * 1_000_000);
        if self.level >= 1_000_000 {
            self.level -= 1_000_000;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_steady_rate() {
        let mut b = TokenBucket::new(10, 100, Micros(0));
        let burst = (0..50).filter(|_| b.try_take(Micros(0))).count();
        assert_eq!(burst, 10);
        // 100 per second is one every 10 ms.
        assert!(!b.try_take(Micros(9_999)));
        assert!(b.try_take(Micros(10_000)));
        // After a long idle the bucket is full again, not more.
        let later = (0..50).filter(|_| b.try_take(Micros::from_secs(100))).count();
        assert_eq!(later, 10);
    }
}
