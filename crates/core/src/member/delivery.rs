//! How late the server's messages reach this member: the one-way delay from the server's send
//! time to when the member handled the message, on the shared (host) clock.
//!
//! The round-trip time the clock filter keeps is its best exchange, which is right for the clock
//! and wrong for the lead time. A slow device (a phone's busy main thread, WebKit painting the
//! page) handles some messages tens of milliseconds after they arrived, and a change that lands
//! sooner than that after it is sent misses its first click on that device. So the member keeps
//! its recent delays, from every pong and schedule, and reports a high percentile of them; the
//! session's lead time covers it.

use crate::Micros;
use std::collections::VecDeque;

/// The recent one-way delays.
#[derive(Debug, Default, Clone)]
pub struct Delivery {
    delays: VecDeque<i64>,
}

impl Delivery {
    /// How many recent delays are kept (a few seconds of pongs at the warm ping rate, some
    /// minutes at the steady one).
    pub const KEPT: usize = 32;

    /// A message the server sent at host time `sent` was handled at host time `handled`.
    pub fn record(&mut self, sent: Micros, handled: Micros) {
        // A clock estimate a little ahead makes a fast delivery look negative: that is zero delay.
        let d = (handled.0 - sent.0).clamp(0, 60_000_000);
        if self.delays.len() == Self::KEPT {
            self.delays.pop_front();
        }
        self.delays.push_back(d);
    }

    /// The delay that all but one of the recent messages beat (the second largest of the 32 kept,
    /// the largest of fewer), once there are enough of them to say: about the 95th percentile.
    #[must_use]
    pub fn p95(&self) -> Option<Micros> {
        if self.delays.len() < 8 {
            return None;
        }
        let mut v: Vec<i64> = self.delays.iter().copied().collect();
        v.sort_unstable();
        Some(Micros(v[v.len() - 1 - v.len() / Self::KEPT]))
    }

    /// Forgets the delays: a new connection, or the host's clock restarted.
    pub fn clear(&mut self) {
        self.delays.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_stalls_set_the_figure_and_one_does_not() {
        let mut d = Delivery::default();
        for i in 0..7 {
            d.record(Micros(i * 1000), Micros(i * 1000 + 2_000));
        }
        assert_eq!(d.p95(), None, "seven delays say too little");
        d.record(Micros(0), Micros(2_000));
        assert_eq!(d.p95(), Some(Micros(2_000)));
        // One stall among 32 is an accident; the figure is the second largest.
        for _ in 0..30 {
            d.record(Micros(0), Micros(2_000));
        }
        d.record(Micros(0), Micros(300_000));
        assert_eq!(d.p95(), Some(Micros(2_000)));
        d.record(Micros(0), Micros(80_000));
        d.record(Micros(0), Micros(90_000));
        assert_eq!(d.p95(), Some(Micros(90_000)));
        // A clock a little ahead reads as no delay, not a negative one.
        let mut e = Delivery::default();
        for _ in 0..8 {
            e.record(Micros(5_000), Micros(4_900));
        }
        assert_eq!(e.p95(), Some(Micros(0)));
    }
}
