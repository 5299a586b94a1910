//! Whether a browser's output timestamps can be trusted. Web Audio's `getOutputTimestamp()` pairs
//! a context time with the moment (`performance.now()` time) its frame is heard: the best reading
//! of where the output stands, where it is sound. It is not everywhere: WebKitGTK's run in the
//! future; under load Chromium's now and then give one reading off. So each reading is judged:
//!
//! - it must not lie in the future, and it must advance at the context's own rate against the
//!   reading it is anchored to (checked over `CHECK_S` or more, so one callback's jitter does not
//!   count);
//! - a bad reading is skipped, and it costs a strike; `STRIKES` in a row and the timestamps are
//!   dropped for the reported latency (`currentTime` + `outputLatency`);
//! - dropped timestamps are still watched, and once `TRIAL_READINGS` in a row pass their check
//!   they are taken up again. One glitch never settles the page on the coarser source for good.
//!
//! Pure: the page hands each reading in, with its `performance.now()`.

use serde::{Deserialize, Serialize};

/// The span (s of context time) a reading is checked over, against its anchor.
pub const CHECK_S: f64 = 2.0;

/// How far the heard rate may stray from the context's (a sound card is within 0.1 %).
pub const RATE_TOLERANCE: f64 = 0.02;

/// A context's first half second of timestamps is skipped, and so is the first half second after
/// it resumes: the output is still starting. Chromium's first readings put its clicks about 5 ms
/// early; its first ones after a resume, once, 32 ms late.
pub const SETTLE_S: f64 = 0.5;

/// How far (ms) in the future a reading may claim to be heard: rounding, not a prediction.
pub const FUTURE_MS: f64 = 5.0;

/// Bad readings in a row (each on a fresh anchor) before the timestamps are dropped.
pub const STRIKES: u32 = 3;

/// Readings in a row that pass their check before dropped timestamps are taken up again (two
/// seconds of the page's readings, after the two of the first check).
pub const TRIAL_READINGS: u32 = 40;

/// Empty readings (zeros: the output has not started) in a row before the timestamps are dropped:
/// a browser that never fills them in still sounds, on its reported latency.
pub const EMPTY_READINGS: u32 = 40;

/// What to do with a reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "StampUse"))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Use the timestamp.
    Use,
    /// Skip this reading (a bad one, while the timestamps are still trusted).
    Skip,
    /// Use the reported latency instead.
    Reported,
}

/// A reading, as the page takes it.
#[derive(Debug, Clone, Copy, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "StampReading"))]
pub struct Reading {
    /// `contextTime`, s.
    pub context_s: f64,
    /// `performanceTime`, ms.
    pub heard_ms: f64,
    /// `performance.now()` when it was read, ms.
    pub now_ms: f64,
}

/// The judge of one context's output timestamps.
#[derive(Debug, Clone, Default)]
pub struct StampJudge {
    /// The reading later ones are checked against.
    anchor: Option<(f64, f64)>,
    /// Readings before this context time are skipped (`None`: set by the next reading, after a
    /// restart).
    settled_at: Option<f64>,
    /// Whether the timestamps are dropped for the reported latency.
    dropped: bool,
    /// Bad checks in a row (while trusted), good ones in a row (while dropped).
    run: u32,
    /// Whether the last verdict switched source: the device-clock filter starts afresh.
    switched: bool,
    /// Times the timestamps were dropped.
    drops: u32,
}

impl StampJudge {
    /// A judge for a fresh (or resumed) context: timestamps trusted until they fail.
    #[must_use]
    pub fn new() -> Self {
        StampJudge { settled_at: Some(SETTLE_S), ..StampJudge::default() }
    }

    /// Forgets the anchor (the context stopped and started again: its timestamps start over), and
    /// skips the next [`SETTLE_S`] of readings.
    pub fn restart(&mut self) {
        self.anchor = None;
        self.settled_at = None;
    }

    /// Whether the timestamps are in use.
    #[must_use]
    pub fn trusted(&self) -> bool {
        !self.dropped
    }

    /// Whether the last verdict changed the source (the filter's points are of the other one).
    #[must_use]
    pub fn switched(&self) -> bool {
        self.switched
    }

    /// Times the timestamps were dropped since the context was made.
    #[must_use]
    pub fn drops(&self) -> u32 {
        self.drops
    }

    /// Judges one reading; `None` when the browser has no output timestamps.
    pub fn judge(&mut self, r: Option<Reading>) -> Verdict {
        self.switched = false;
        let Some(r) = r else { return self.drop_now() };
        match (self.dropped, self.check(r)) {
            (false, Check::Good) => {
                self.run = 0;
                Verdict::Use
            }
            (false, Check::Pending) => Verdict::Use,
            (false, Check::Early) => Verdict::Skip,
            (false, Check::Empty) => {
                self.run += 1;
                if self.run >= EMPTY_READINGS { self.drop_now() } else { Verdict::Skip }
            }
            (false, Check::Bad) => {
                self.run += 1;
                if self.run >= STRIKES { self.drop_now() } else { Verdict::Skip }
            }
            (true, Check::Good) => {
                self.run += 1;
                if self.run >= TRIAL_READINGS {
                    self.dropped = false;
                    self.run = 0;
                    self.switched = true;
                    Verdict::Use
                } else {
                    Verdict::Reported
                }
            }
            (true, Check::Pending | Check::Early) => Verdict::Reported,
            (true, Check::Bad | Check::Empty) => {
                self.run = 0;
                Verdict::Reported
            }
        }
    }

    fn drop_now(&mut self) -> Verdict {
        if !self.dropped {
            self.dropped = true;
            self.switched = true;
            self.drops += 1;
        }
        self.run = 0;
        Verdict::Reported
    }

    /// Checks a reading against the anchor. A bad one drops the anchor: the next reading anchors
    /// afresh, so a glitch (in the anchor or the reading) costs one strike, not every reading's.
    fn check(&mut self, r: Reading) -> Check {
        let (c, p) = (r.context_s, r.heard_ms);
        if !(c.is_finite() && p.is_finite() && r.now_ms.is_finite()) {
            self.anchor = None;
            return Check::Bad;
        }
        if c <= 0.0 || p <= 0.0 {
            return Check::Empty;
        }
        if p > r.now_ms + FUTURE_MS {
            self.anchor = None;
            return Check::Bad;
        }
        let settled_at = *self.settled_at.get_or_insert(c + SETTLE_S);
        if c < settled_at {
            return Check::Early;
        }
        let Some((ac, ap)) = self.anchor else {
            self.anchor = Some((c, p));
            return Check::Pending;
        };
        if c - ac < CHECK_S {
            return Check::Pending;
        }
        let ratio = (p - ap) / 1000.0 / (c - ac);
        if (ratio - 1.0).abs() <= RATE_TOLERANCE {
            Check::Good
        } else {
            self.anchor = None;
            Check::Bad
        }
    }
}

/// A reading's check.
enum Check {
    /// Not in the future, and at the context's rate since the anchor.
    Good,
    /// In the future, or off the context's rate.
    Bad,
    /// Fine so far: it became the anchor, or lies too close to it to check.
    Pending,
    /// Zeros: the output has not started.
    Empty,
    /// The output's first [`SETTLE_S`]: skipped.
    Early,
}

#[cfg(test)]
mod tests;
