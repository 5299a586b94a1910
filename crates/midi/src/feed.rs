//! The feeder: walks the transport [`HORIZON`] ahead of host time with the core's
//! [`MidiCursor`], and turns each event's host time into the device's time.

use bandsync_core::Micros;
use bandsync_core::Transport;
use bandsync_core::midi::{MidiCursor, MidiEvent, MidiMessage};

/// How far ahead of now events are handed to the device. Changes land at least one lead time
/// (250 ms or more) ahead, so nothing handed over is ever taken back.
pub const HORIZON: Micros = Micros(40_000);

/// Reads the session's host time now (µs), or `None` before the clock has synced.
pub type HostNow = Box<dyn Fn() -> Option<f64> + Send>;

/// One event for the device: when, in the device's clock (µs), and what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timed {
    /// Device time, µs.
    pub at: u64,
    /// The message.
    pub msg: MidiMessage,
}

impl Timed {
    /// `msg` at device time `at`.
    #[must_use]
    pub fn new(at: u64, msg: MidiMessage) -> Self {
        Timed { at, msg }
    }
}

/// How far the map from host time to device time may move in one tick (µs): a new clock estimate
/// is slewed in, not jumped to, so that no clock interval stretches by the estimate's noise.
/// 1 µs a 5 ms tick is 200 ppm, well above any real drift.
const SLEW: f64 = 1.0;
/// A change of the map larger than this is a new clock (a re-sync, another host), taken at once.
const STEP: f64 = 2_000.0;

/// The feeder's state between ticks.
#[derive(Debug, Default)]
pub(crate) struct Feeder {
    cursor: MidiCursor,
    transport: Option<Transport>,
    /// Device time less host time, as used.
    shift: Option<f64>,
}

impl Feeder {
    /// Takes a new schedule (ignored unless valid).
    pub(crate) fn set(&mut self, t: Transport) {
        if t.is_valid() {
            self.transport = Some(t);
        }
    }

    /// Whether the gear was told to play.
    pub(crate) fn running(&self) -> bool {
        self.cursor.running()
    }

    /// One tick: host time is `host` now, and the device's clock reads `host + shift` at the same
    /// moment. Calls `push` with every event up to `host + HORIZON` not handed out before.
    pub(crate) fn tick(&mut self, host: f64, measured: f64, push: &mut impl FnMut(Timed)) {
        let shift = match self.shift {
            Some(s) if (measured - s).abs() <= STEP => s + (measured - s).clamp(-SLEW, SLEW),
            _ => measured,
        };
        self.shift = Some(shift);
        let Some(t) = &self.transport else { return };
        let now = Micros(host.round() as i64);
        // Host time jumped back (a new host after a failover): start over on its timeline.
        if self.cursor.done().is_some_and(|d| d - (now + HORIZON) > Micros::from_secs(1)) {
            self.cursor = MidiCursor::new();
        }
        self.cursor.take(&t.segments, now, now + HORIZON, &mut |e: MidiEvent| {
            let at = (e.host.0 as f64 + shift).round().max(0.0) as u64;
            push(Timed::new(at, e.msg));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bandsync_core::timeline::Transport;

    fn playing() -> Transport {
        let mut t = Transport::new(Micros(0));
        t.segments[0].playing = true;
        t
    }

    /// Clock times handed out over `ticks` 5 ms ticks, with the measured map from `shift(k)`.
    fn clocks(ticks: i64, shift: impl Fn(i64) -> f64) -> Vec<u64> {
        let mut f = Feeder::default();
        f.set(playing());
        let mut out = Vec::new();
        for k in 0..ticks {
            f.tick((k * 5_000) as f64, shift(k), &mut |e| {
                if e.msg == MidiMessage::Clock {
                    out.push(e.at);
                }
            });
        }
        out
    }

    #[test]
    fn a_noisy_clock_estimate_is_slewed_in_and_a_new_clock_is_taken_at_once() {
        // ±30 µs of estimate noise: no pulse interval (20 833 µs at 120 BPM) moves by more than
        // the slew over one interval.
        let noisy = clocks(400, |k| 1e6 + if k % 2 == 0 { 30.0 } else { -30.0 });
        let worst = noisy.windows(2).map(|w| (w[1] as f64 - w[0] as f64 - 20_833.3).abs()).fold(0.0, f64::max);
        assert!(worst <= 6.0, "interval off by {worst} µs");
        // A 50 ms step (a new host clock): taken at once.
        let stepped = clocks(400, |k| if k < 200 { 1e6 } else { 1e6 + 50_000.0 });
        assert!(stepped.windows(2).any(|w| w[1] - w[0] > 60_000));
    }
}
