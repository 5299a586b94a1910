//! The feeder: walks the transport a horizon ahead of host time with [`MidiCursor`], and turns
//! each event's host time into the device's time (a JACK frame clock, a sender's pace clock, the
//! browser's `performance.now()` for Web MIDI). The map between the two is measured on every tick
//! and slewed in, so that the estimate's noise never stretches a clock interval.

use super::{MidiCursor, MidiEvent, MidiMessage};
use crate::host_axis::HostAxis;
use crate::time::Micros;
use crate::timeline::Transport;

/// How far ahead of now a device thread, ticking every few milliseconds, is handed events.
/// Changes land at least one lead time (250 ms or more) ahead, so nothing handed over is ever
/// taken back.
pub const HORIZON: Micros = Micros(40_000);

/// The user's offset (how much earlier than its moment each message is sent, for gear that
/// sounds late) is this many ms either way at most.
pub const MAX_OFFSET_MS: f64 = 100.0;

/// How fast the map from host time to device time may move: a new clock estimate is slewed in,
/// not jumped to. 200 ppm (1 µs a 5 ms tick) is well above any real drift.
const SLEW_PER_US: f64 = 200e-6;
/// The longest gap between ticks the slew allows for (µs): a feeder that did not tick for a
/// while (the clock not synced, another host's clock) takes a new estimate in as slowly as ever.
const SLEW_WINDOW: f64 = 250_000.0;
/// A change of the map larger than this is a new clock (a re-sync, another host), taken at once.
const STEP: f64 = 2_000.0;
/// The longest a reading of host time may take, between two readings of the device's clock, for
/// the pair to say where the device's clock stands (µs). Reading host time may wait on a lock
/// (natively, the member's state while its connection handles a message): a reading that waited
/// milliseconds measured the map that much off, and would be taken as a new clock.
const TIGHT: f64 = 200.0;

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

/// The feeder's state between ticks.
#[derive(Debug)]
pub struct Feeder {
    cursor: MidiCursor,
    transport: Option<Transport>,
    /// Device time less host time, as used.
    shift: Option<f64>,
    /// Host time of the last tick that moved the map.
    last: Option<f64>,
    horizon: Micros,
}

impl Default for Feeder {
    fn default() -> Self {
        Feeder::with_horizon(HORIZON)
    }
}

impl Feeder {
    /// A feeder that hands events out `horizon` ahead of host time: [`HORIZON`] for a thread
    /// that ticks every few milliseconds, more for a browser's main thread, whose ticks a long
    /// task can hold up.
    #[must_use]
    pub fn with_horizon(horizon: Micros) -> Self {
        Feeder { cursor: MidiCursor::new(), transport: None, shift: None, last: None, horizon }
    }

    /// Takes a new schedule on host clock `axis` (ignored unless valid): what was handed out
    /// moves onto that clock.
    pub fn set(&mut self, t: Transport, axis: HostAxis) {
        if t.is_valid() {
            self.cursor.move_to(axis);
            self.transport = Some(t);
        }
    }

    /// Whether the gear was told to play (and not to stop since).
    #[must_use]
    pub fn running(&self) -> bool {
        self.cursor.running()
    }

    /// One tick of a device's feeder: reads host time (µs, and the epoch of the host clock it
    /// is on, or `None` before the clock has synced) between two readings of the device's clock
    /// (`device_now`, µs), and hands out what [`Feeder::tick`] does, each event `early` µs before
    /// its moment (what the gear adds, and the user's offset). A reading that took longer than
    /// [`TIGHT`] leaves the map as it was.
    pub fn step(
        &mut self,
        host_now: impl FnOnce() -> Option<(f64, u64)>,
        device_now: impl Fn() -> f64,
        early: f64,
        push: &mut impl FnMut(Timed),
    ) {
        let before = device_now();
        let Some((host, epoch)) = host_now() else { return };
        let after = device_now();
        let measured = (after - before <= TIGHT).then_some(before - host - early);
        self.tick(host, epoch, measured, push);
    }

    /// One tick: host time is `host` now, on the host clock of `epoch`, and the device's clock
    /// reads `host + measured` at the same moment (as far as this tick could tell). Calls `push`
    /// with every event up to `host + horizon` not handed out before. Nothing is handed out while
    /// the estimate is on another clock than the schedule (the moment between a welcome from
    /// another server and its schedule).
    pub fn tick(&mut self, host: f64, epoch: u64, measured: Option<f64>, push: &mut impl FnMut(Timed)) {
        if self.cursor.epoch().is_some_and(|e| e != epoch) {
            return;
        }
        // As far as the map may have moved since the last tick (at least 1 µs; after a gap, as
        // far as in a quarter of a second at most: 50 µs).
        let slew = self.last.map_or(1.0, |l| ((host - l).clamp(0.0, SLEW_WINDOW) * SLEW_PER_US).max(1.0));
        let shift = match (self.shift, measured) {
            (Some(s), Some(m)) if (m - s).abs() <= STEP => s + (m - s).clamp(-slew, slew),
            (_, Some(m)) => m,
            (Some(s), None) => s,
            (None, None) => return,
        };
        self.shift = Some(shift);
        self.last = Some(host);
        let Some(t) = &self.transport else { return };
        let now = Micros(host.round() as i64);
        self.cursor.take(&t.segments, now, now + self.horizon, &mut |e: MidiEvent| {
            let at = (e.host.0 as f64 + shift).round().max(0.0) as u64;
            push(Timed::new(at, e.msg));
        });
    }
}

#[cfg(test)]
mod tests;
