//! Sending at the moment, for backends that take no time stamp (network MIDI, the system's MIDI
//! ports): a feeder thread walks the transport a little ahead of host time into a lock-free ring,
//! and the sending thread sends each event when it is due. The sender sleeps until the next event
//! and no longer than 1 ms at a time (so that it can look at its sockets); in the last 300 µs
//! before an event it yields instead, since a sleep can overshoot. It asks for real-time
//! scheduling, as audio threads have, and takes no lock: reading host time locks the member's
//! state, which the connection's task holds while it handles a message.

use crate::MidiError;
use crate::feed::{Feeder, HostNow, Offset, Pending, Timed, take};
use crate::worker::Worker;
use bandsync_core::midi::MidiMessage;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often the transport is walked ahead.
const FEED: Duration = Duration::from_millis(5);
/// Events the feeder may have handed over and the sender not yet sent.
const RING: usize = 4096;
/// The longest sleep between looks at the sockets.
const NAP: Duration = Duration::from_millis(1);
/// Closer than this to an event (µs), the sender yields instead of sleeping.
const SPIN: u64 = 300;

/// The sender's clock: µs since it started, far from zero. Shared by the two threads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PaceClock(Instant);

impl PaceClock {
    pub(crate) fn new() -> Self {
        PaceClock(Instant::now())
    }

    /// Now, µs.
    pub(crate) fn now(self) -> u64 {
        1_000_000 + self.0.elapsed().as_micros() as u64
    }
}

/// The sending thread's side: the events the feeder handed over, in time order.
pub(crate) struct Due {
    ring: rtrb::Consumer<Timed>,
    batch: Vec<MidiMessage>,
    /// Whether the feeder left the gear playing when it stopped.
    playing: Arc<AtomicBool>,
}

impl Due {
    /// Calls `send` with everything due at `now`, one batch per moment (and the moment).
    pub(crate) fn send_due(&mut self, now: u64, mut send: impl FnMut(u64, &[MidiMessage])) {
        while let Some(first) = self.ring.peek().ok().copied().filter(|e| e.at <= now) {
            self.batch.clear();
            while let Some(e) = self.ring.peek().ok().filter(|e| e.at == first.at) {
                self.batch.push(e.msg);
                let _ = self.ring.pop();
            }
            send(first.at, &self.batch);
        }
    }

    /// Waits for the next event (or [`NAP`], whichever is sooner); `clock` says when it is.
    pub(crate) fn pause(&self, clock: PaceClock) {
        let wake = self.ring.peek().map_or(u64::MAX, |e| e.at).saturating_sub(clock.now());
        if wake <= SPIN {
            std::thread::yield_now();
        } else {
            std::thread::sleep(NAP.min(Duration::from_micros(wake - SPIN)));
        }
    }

    /// Whether the gear was left playing (for a Stop when the sender stops; the feeder stops
    /// first).
    pub(crate) fn left_playing(&self) -> bool {
        self.playing.load(Ordering::Acquire)
    }
}

/// Starts the feeder thread (`name`): every [`FEED`], the newest schedule from `pending` walked
/// ahead on `clock`, each event `offset` early (read on every tick). Drop the feeder before the sender: it says then
/// whether the gear was left playing.
pub(crate) fn start_feeder(
    name: &str,
    host_now: HostNow,
    pending: Arc<Pending>,
    clock: PaceClock,
    offset: Arc<Offset>,
) -> Result<(Worker, Due), MidiError> {
    let (mut tx, ring) = rtrb::RingBuffer::<Timed>::new(RING);
    let playing = Arc::new(AtomicBool::new(false));
    let left = Arc::clone(&playing);
    let feeder = Worker::spawn(name, move |stop| {
        let mut feeder = Feeder::default();
        while !stop.load(Ordering::Relaxed) {
            take(&mut feeder, &pending);
            feeder.step(&host_now, || clock.now() as f64, offset.us(), &mut |e| {
                if tx.push(e).is_err() {
                    tracing::warn!("a MIDI event dropped: the sender did not keep up");
                }
            });
            std::thread::sleep(FEED);
        }
        left.store(feeder.running(), Ordering::Release);
    })?;
    Ok((feeder, Due { ring, batch: Vec::new(), playing }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bandsync_core::Transport;
    use bandsync_core::host_axis::HostAxis;
    use std::sync::Mutex;

    /// The sender's loop, as a backend runs it, records when each Clock left against its moment:
    /// a second of pulses at 120 BPM all leave, each when due rather than at the feeder's next
    /// tick (5 ms apart).
    #[test]
    fn each_pulse_leaves_at_its_moment() {
        let clock = PaceClock::new();
        // Host time is the pace clock less 1 s, already synced.
        let host_now: HostNow = Box::new(move || Some((clock.now() as f64 - 1e6, 1)));
        let pending = Arc::new(Mutex::new(None));
        let mut t = Transport::new(bandsync_core::Micros(0));
        t.segments[0].playing = true;
        *pending.lock().unwrap() = Some((t, HostAxis::new(1)));
        let (feeder, mut due) = start_feeder("test-feed", host_now, pending, clock, Arc::default()).unwrap();
        let mut late = Vec::new();
        let end = clock.now() + 1_000_000;
        while clock.now() < end {
            due.send_due(clock.now(), |at, batch| {
                if batch.contains(&MidiMessage::Clock) {
                    late.push(clock.now() as f64 - at as f64);
                }
            });
            due.pause(clock);
        }
        drop(feeder);
        assert!(due.left_playing(), "the feeder says the gear plays on");
        assert!(late.len() >= 45, "a second of pulses at 120 BPM: {} sent", late.len());
        late.sort_by(f64::total_cmp);
        let median = late[late.len() / 2];
        assert!(median < 1_000.0, "pulses left a median {median:.0} µs after their moment");
    }
}
