//! One direction of a network path: how long a packet takes, or whether it is lost.

use crate::rng::Rng;

/// Delay, in µs of true time, of packets in one direction.
#[derive(Debug, Clone)]
pub struct Link {
    /// The least delay.
    pub base: f64,
    /// Uniform jitter added on top: `[0, 2 * jitter)`, so the mean is `base + jitter`.
    pub jitter: f64,
    /// Probability a packet is lost.
    pub loss: f64,
    /// Probability of a heavy-tailed Wi-Fi stall on one packet.
    pub stall_chance: f64,
    /// Range of such a stall's extra delay.
    pub stall: (f64, f64),
    /// Periodic congestion: every `period`, for `len`, every packet waits `extra` more.
    pub spikes: Option<Spikes>,
    /// Times (true µs) when the path is down: every packet sent then is lost.
    pub outages: Vec<(f64, f64)>,
}

/// Periodic congestion on a link.
#[derive(Debug, Clone, Copy)]
pub struct Spikes {
    /// Time between the starts of two spikes.
    pub period: f64,
    /// When in the period a spike starts.
    pub phase: f64,
    /// How long a spike lasts.
    pub len: f64,
    /// Extra delay during a spike.
    pub extra: f64,
}

impl Link {
    /// A link of `mean ± spread` ms: delays uniform in `[mean - spread, mean + spread]`.
    #[must_use]
    pub fn ms(mean: f64, spread: f64) -> Self {
        Link {
            base: (mean - spread) * 1000.0,
            jitter: spread * 1000.0,
            loss: 0.0,
            stall_chance: 0.0,
            stall: (50_000.0, 300_000.0),
            spikes: None,
            outages: Vec::new(),
        }
    }

    /// The delay of a packet sent at true time `t`, or `None` if it is lost.
    pub fn delay(&self, t: f64, rng: &mut Rng) -> Option<f64> {
        if self.outages.iter().any(|&(a, b)| t >= a && t < b) || rng.chance(self.loss) {
            return None;
        }
        let mut d = self.base + rng.range(0.0, 2.0 * self.jitter);
        if let Some(s) = self.spikes {
            if (t - s.phase).rem_euclid(s.period) < s.len {
                d += s.extra;
            }
        }
        if rng.chance(self.stall_chance) {
            // Pareto-like: mostly near the low end, sometimes the high end.
            let u = rng.unit();
            d += self.stall.0 + (self.stall.1 - self.stall.0) * u * u * u;
        }
        Some(d)
    }
}
