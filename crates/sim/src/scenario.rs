//! The named scenarios of `sync-sim`, each a [`Setup`] built from a seed.

use crate::link::{Link, Spikes};
use crate::rng::Rng;
use crate::world::{ClockModel, Setup};

/// Every scenario, in table order.
pub const NAMES: &[&str] = &["lan", "wifi", "bad-wifi", "remote", "leader-drop-60s", "host-restart", "drift-1h"];

const S: f64 = 1_000_000.0;

/// Wi-Fi's occasional stalls: one packet in 500 waits 50 to 300 ms more, in one direction.
fn wifi(mean: f64, spread: f64) -> Link {
    Link { stall_chance: 0.002, ..Link::ms(mean, spread) }
}

/// Builds scenario `name` for `followers` followers, or `None` for an unknown name.
#[must_use]
pub fn setup(name: &str, followers: usize, seed: u64) -> Option<Setup> {
    let mut rng = Rng::new(seed);
    let mut clocks: Vec<ClockModel> = (0..followers)
        .map(|_| ClockModel {
            offset: rng.range(-3600.0, 3600.0) * S,
            skew: rng.range(-200.0, 200.0) * 1e-6,
            drift: 0.0,
        })
        .collect();
    let joins: Vec<f64> = (0..followers).map(|i| 0.5 * S + i as f64 * 0.37 * S).collect();
    let both = |up: Link, down: Link| (vec![up; followers], vec![down; followers]);
    let mut restarts = Vec::new();
    let (duration, (up, down)) = match name {
        "lan" => (60.0 * S, both(Link::ms(0.2, 0.05), Link::ms(0.2, 0.05))),
        "wifi" => (120.0 * S, both(wifi(5.0, 3.0), wifi(5.0, 3.0))),
        "bad-wifi" => {
            // 20 ± 5 ms with 5 % asymmetry (20.5 ms up, 19.5 ms down), 1 % loss, stalls, and a
            // 200 ms congestion spike every 30 s, lasting 1 s, on the way down.
            let mut up = wifi(20.5, 5.0);
            up.loss = 0.01;
            let mut down = wifi(19.5, 5.0);
            down.loss = 0.01;
            down.spikes = Some(Spikes { period: 30.0 * S, phase: 15.0 * S, len: 1.0 * S, extra: 200_000.0 });
            (300.0 * S, both(up, down))
        }
        // 40 ± 10 ms round trip halves, split 60/40 between the directions.
        "remote" => (120.0 * S, both(Link::ms(48.0, 6.0), Link::ms(32.0, 4.0))),
        "leader-drop-60s" => {
            let mut up = wifi(5.0, 3.0);
            up.outages.push((60.0 * S, 120.0 * S));
            let mut down = up.clone();
            down.outages = up.outages.clone();
            (180.0 * S, both(up, down))
        }
        "host-restart" => {
            restarts.push(60.0 * S);
            (120.0 * S, both(wifi(5.0, 3.0), wifi(5.0, 3.0)))
        }
        "drift-1h" => {
            for (i, c) in clocks.iter_mut().enumerate() {
                // 200 ppm, drifting by up to 2 ppm over the hour (a crystal warming up).
                c.skew = if i % 2 == 0 { 200e-6 } else { -200e-6 };
                c.drift = rng.range(-2e-6, 2e-6) / (3600.0 * S);
            }
            (3600.0 * S, both(wifi(5.0, 3.0), wifi(5.0, 3.0)))
        }
        _ => return None,
    };
    Some(Setup { duration, clocks, joins, up, down, restarts, settle: 1.0 * S, seed: rng.next_u64() })
}
