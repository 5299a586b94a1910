//! One clock exchange's [`Sample`] (the offset it implies and its round trip), and the linear
//! map from local time to host time ([`Xform`]) that the fit produces.

use crate::time::Micros;

/// One exchange: the offset it implies and how long the round trip took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Local time halfway through the exchange.
    pub at: f64,
    /// Host minus local, µs.
    pub offset: f64,
    /// Round-trip time minus the host's processing time, µs.
    pub rtt: f64,
}

impl Sample {
    /// The sample from a ping sent at local `t0`, received by the host at `t1`, answered at host
    /// `t2`, and whose pong arrived at local `t3`.
    #[must_use]
    pub fn from_exchange(t0: Micros, t1: Micros, t2: Micros, t3: Micros) -> Self {
        let (t0, t1, t2, t3) = (t0.0 as f64, t1.0 as f64, t2.0 as f64, t3.0 as f64);
        Sample { at: (t0 + t3) / 2.0, offset: ((t1 - t0) + (t2 - t3)) / 2.0, rtt: ((t3 - t0) - (t2 - t1)).max(0.0) }
    }
}

/// A linear map from local time to host time: `host = local + a + b * (local - t_ref)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Xform {
    /// Local time the map is anchored at.
    pub t_ref: f64,
    /// Host minus local at `t_ref`, µs.
    pub a: f64,
    /// How much faster the host clock runs than the local one (0.0001 is 100 ppm).
    pub b: f64,
}

impl Xform {
    /// Host minus local at local time `t`.
    #[must_use]
    pub fn offset_at(&self, t: f64) -> f64 {
        self.a + self.b * (t - self.t_ref)
    }
}
