//! What the backends' feeder threads share with the session: host time, the newest schedule and
//! the user's offset. The feeder itself (the walk ahead and the map to the device's clock) is the
//! core's ([`bandsync_core::midi::feed`]), which the page's Web MIDI runs too.

use bandsync_core::Transport;
use bandsync_core::host_axis::HostAxis;
pub use bandsync_core::midi::feed::{Feeder, HORIZON, Timed};

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

/// Takes the newest schedule into `feeder`, if one came.
pub(crate) fn take(feeder: &mut Feeder, pending: &Pending) {
    if let Some((t, axis)) = pending.lock().expect("midi transport lock poisoned").take() {
        feeder.set(t, axis);
    }
}
