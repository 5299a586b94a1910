//! The feeder: walks the transport [`HORIZON`] ahead of host time with the core's
//! [`MidiCursor`], and turns each event's host time into the device's time.

use bandsync_core::Micros;
use bandsync_core::Transport;
use bandsync_core::host_axis::HostAxis;
use bandsync_core::midi::{MidiCursor, MidiEvent, MidiMessage};

/// How far ahead of now events are handed to the device. Changes land at least one lead time
/// (250 ms or more) ahead, so nothing handed over is ever taken back.
pub const HORIZON: Micros = Micros(40_000);

/// Reads the session's host time now (µs) and the epoch of the host clock it is on, or `None`
/// before the clock has synced.
pub type HostNow = Box<dyn Fn() -> Option<(f64, u64)> + Send>;

/// The newest schedule and the host clock it is on, for the feeder to take.
pub type Pending = std::sync::Mutex<Option<(Transport, HostAxis)>>;

/// The user's offset (how much earlier every event is sent, µs), read by the feeder on every
/// tick, so that a new one takes effect at once without reopening the port.
#[derive(Debug, Default)]
pub struct Offset(std::sync::atomic::AtomicU64);

impl Offset {
    /// An offset of `ms` milliseconds.
    #[must_use]
    pub fn from_ms(ms: f64) -> Self {
        let o = Offset::default();
        o.set_ms(ms);
        o
    }

    /// Sets it to `ms` milliseconds.
    pub fn set_ms(&self, ms: f64) {
        self.0.store((ms * 1000.0).to_bits(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Now, µs.
    #[must_use]
    pub fn us(&self) -> f64 {
        f64::from_bits(self.0.load(std::sync::atomic::Ordering::Relaxed))
    }
}

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
/// The longest a reading of host time may take, between two readings of the device's clock, for
/// the pair to say where the device's clock stands (µs). Reading host time locks the member's
/// state, which the connection's task holds while it handles a message: a reading that waited
/// milliseconds for it measured the map that much off, and was taken as a new clock.
const TIGHT: f64 = 200.0;

/// The feeder's state between ticks.
#[derive(Debug, Default)]
pub(crate) struct Feeder {
    cursor: MidiCursor,
    transport: Option<Transport>,
    /// Device time less host time, as used.
    shift: Option<f64>,
}

impl Feeder {
    /// Takes a new schedule on host clock `axis` (ignored unless valid): what was handed out
    /// moves onto that clock.
    pub(crate) fn set(&mut self, t: Transport, axis: HostAxis) {
        if t.is_valid() {
            self.cursor.move_to(axis);
            self.transport = Some(t);
        }
    }

    /// One tick of a backend's feeder thread: reads host time between two readings of the
    /// device's clock (`device_now`, µs), and hands out what [`Feeder::tick`] does, each event
    /// `early` µs before its moment (what the gear adds, and the user's offset). A reading that
    /// took longer than [`TIGHT`] leaves the map as it was.
    pub(crate) fn step(
        &mut self,
        host_now: &HostNow,
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

    /// Takes the newest schedule, if one came.
    pub(crate) fn take(&mut self, pending: &Pending) {
        if let Some((t, axis)) = pending.lock().expect("midi transport lock poisoned").take() {
            self.set(t, axis);
        }
    }

    /// Whether the gear was told to play.
    pub(crate) fn running(&self) -> bool {
        self.cursor.running()
    }

    /// One tick: host time is `host` now, on the host clock of `epoch`, and the device's clock
    /// reads `host + shift` at the same moment. Calls `push` with every event up to
    /// `host + HORIZON` not handed out before. Nothing is handed out while the estimate is on
    /// another clock than the schedule (the moment between a welcome from another server and its
    /// schedule).
    pub(crate) fn tick(&mut self, host: f64, epoch: u64, measured: Option<f64>, push: &mut impl FnMut(Timed)) {
        if self.cursor.epoch().is_some_and(|e| e != epoch) {
            return;
        }
        let shift = match (self.shift, measured) {
            (Some(s), Some(m)) if (m - s).abs() <= STEP => s + (m - s).clamp(-SLEW, SLEW),
            (_, Some(m)) => m,
            (Some(s), None) => s,
            (None, None) => return,
        };
        self.shift = Some(shift);
        let Some(t) = &self.transport else { return };
        let now = Micros(host.round() as i64);
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
        f.set(playing(), HostAxis::default());
        let mut out = Vec::new();
        for k in 0..ticks {
            f.tick((k * 5_000) as f64, 0, Some(shift(k)), &mut |e| {
                if e.msg == MidiMessage::Clock {
                    out.push(e.at);
                }
            });
        }
        out
    }

    #[test]
    fn a_session_carried_to_another_servers_clock_keeps_the_gear_running_on_the_same_pulses() {
        use bandsync_core::protocol::Rebase;
        let shift = -1_300_000i64;
        let mut f = Feeder::default();
        f.set(playing(), HostAxis::new(1));
        let mut pulses = Vec::new();
        let mut other = Vec::new();
        for k in 0..400i64 {
            // The device's clock runs on; the host clock changes at tick 200, the estimate first,
            // the new server's schedule (the same one, moved onto its clock) three ticks later.
            let device = 1e6 + (k * 5_000) as f64;
            let (host, epoch) = if k < 200 { ((k * 5_000) as f64, 1) } else { ((k * 5_000 + shift) as f64, 2) };
            if k == 203 {
                let mut t = playing();
                for s in &mut t.segments {
                    s.at += Micros(shift);
                    s.timeline.time_origin += Micros(shift);
                }
                f.set(t, HostAxis { epoch: 2, continues: Some(Rebase { from: 1, shift: Micros(shift) }) });
            }
            f.tick(host, epoch, Some(device - host), &mut |e| {
                if e.msg == MidiMessage::Clock { pulses.push(e.at) } else { other.push(e.msg) }
            });
        }
        assert_eq!(other, [MidiMessage::Start], "no Stop, no second Start or Continue");
        let worst = pulses.windows(2).map(|w| (w[1] as f64 - w[0] as f64 - 20_833.3).abs()).fold(0.0, f64::max);
        assert!(worst <= 1.0, "a pulse interval off by {worst} µs");
        assert_eq!(pulses.len(), 98, "2 s of pulses at 120 BPM, and the 40 ms horizon");
    }

    #[test]
    fn a_host_time_reading_that_waited_leaves_the_map_as_it_was() {
        use std::cell::Cell;
        // The device's clock reads host time + 1 s. Reading host time takes 5 µs, but at tick 100
        // the thread is held up 3 ms before it reads (a step's worth, were the pair believed).
        let mut f = Feeder::default();
        f.set(playing(), HostAxis::new(1));
        let mut pulses = Vec::new();
        for tick in 0..400i64 {
            let held = if tick == 100 { 3_000.0 } else { 0.0 };
            let host = (tick * 5_000) as f64;
            let host_now: HostNow = Box::new(move || Some((host + held, 1)));
            let first = Cell::new(true);
            let device_now = || 1e6 + host + if first.replace(false) { 0.0 } else { held + 5.0 };
            f.step(&host_now, device_now, 0.0, &mut |e| {
                if e.msg == MidiMessage::Clock {
                    pulses.push(e.at);
                }
            });
        }
        let worst = pulses.windows(2).map(|w| (w[1] as f64 - w[0] as f64 - 20_833.3).abs()).fold(0.0, f64::max);
        assert!(worst <= 1.0, "a pulse interval off by {worst} µs");
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
