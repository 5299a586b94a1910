//! A cpal stream's clock against ours. A stream's timestamps (`StreamInstant`) count from an
//! origin of the host's choosing; read next to `Instant::now()` a few times, the tightest bracket
//! says where that origin lies. The output and the input layer both map their callbacks' times
//! through it.

use cpal::StreamInstant;
use std::time::Instant;

/// Where a stream's clock stands against `Instant`: a base `Instant`, and the µs to add to a
/// `StreamInstant` to get µs after that base.
#[derive(Debug, Clone, Copy)]
pub struct StreamClock {
    /// The `Instant` the offset is measured from.
    pub base: Instant,
    /// µs after `base` = stream µs + this.
    pub stream_to_base_us: f64,
}

impl StreamClock {
    /// Reads `now` (the stream's clock) between two reads of ours, five times, and keeps the
    /// narrowest bracket.
    #[must_use]
    pub fn read(now: impl Fn() -> StreamInstant) -> Self {
        let base = Instant::now();
        let mut best: Option<(f64, f64)> = None; // (width, instant - stream) in µs
        for _ in 0..5 {
            let a = Instant::now();
            let s = now();
            let b = Instant::now();
            let width = b.duration_since(a).as_nanos() as f64 / 1000.0;
            let mid = (a.duration_since(base).as_nanos() as f64 + b.duration_since(base).as_nanos() as f64) / 2000.0;
            let o = mid - s.as_nanos() as f64 / 1000.0;
            if best.is_none_or(|(w, _)| width < w) {
                best = Some((width, o));
            }
        }
        StreamClock { base, stream_to_base_us: best.map_or(0.0, |(_, o)| o) }
    }

    /// A stream time, in the caller's local µs (`base_local` is `base` in them).
    #[must_use]
    pub fn local(&self, i: StreamInstant, base_local: f64) -> f64 {
        base_local + i.as_nanos() as f64 / 1000.0 + self.stream_to_base_us
    }
}
