//! Typed time and musical position.
//!
//! [`Micros`] is host time in integer microseconds: the only unit of time on the wire and in the
//! state machines. [`Beats`] is a musical position in integer micro-beats (one beat is
//! 1 000 000 micro-beats), as Ableton Link does, so that positions compare exactly and never
//! accumulate floating-point error. Conversions between the two live in [`crate::timeline`].

use serde::{Deserialize, Serialize};
use std::ops::{Add, AddAssign, Neg, Sub};

/// A point or span of time in integer microseconds.
///
/// Which clock a value belongs to is a property of where it lives: the session state machine and
/// every timeline speak the *host* clock (the peer server's monotonic clock); a client converts to
/// and from its own clock with its clock estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(transparent)]
pub struct Micros(pub i64);

impl Micros {
    /// Zero: the origin of a clock, or an empty span.
    pub const ZERO: Micros = Micros(0);
    /// A very late time, used as "never" when comparing deadlines.
    pub const MAX: Micros = Micros(i64::MAX);

    /// A span of `ms` milliseconds.
    #[must_use]
    pub const fn from_millis(ms: i64) -> Self {
        Micros(ms * 1_000)
    }

    /// A span of `s` seconds.
    #[must_use]
    pub const fn from_secs(s: i64) -> Self {
        Micros(s * 1_000_000)
    }

    /// The value in (fractional) milliseconds, for display only.
    #[must_use]
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1_000.0
    }

    /// The value in (fractional) seconds, for display only.
    #[must_use]
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1_000_000.0
    }

    /// Saturating addition, so that "now + a long timeout" never wraps.
    #[must_use]
    pub const fn saturating_add(self, rhs: Micros) -> Micros {
        Micros(self.0.saturating_add(rhs.0))
    }

    /// The absolute value of a span.
    #[must_use]
    pub const fn abs(self) -> Micros {
        Micros(self.0.abs())
    }
}

impl Add for Micros {
    type Output = Micros;
    fn add(self, rhs: Micros) -> Micros {
        Micros(self.0 + rhs.0)
    }
}
impl AddAssign for Micros {
    fn add_assign(&mut self, rhs: Micros) {
        self.0 += rhs.0;
    }
}
impl Sub for Micros {
    type Output = Micros;
    fn sub(self, rhs: Micros) -> Micros {
        Micros(self.0 - rhs.0)
    }
}
impl Neg for Micros {
    type Output = Micros;
    fn neg(self) -> Micros {
        Micros(-self.0)
    }
}

/// A musical position or length in integer micro-beats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(transparent)]
pub struct Beats(pub i64);

impl Beats {
    /// Micro-beats in one beat.
    pub const ONE: i64 = 1_000_000;
    /// Position zero: the first beat of the first bar.
    pub const ZERO: Beats = Beats(0);

    /// A whole number of beats.
    #[must_use]
    pub const fn whole(n: i64) -> Self {
        Beats(n * Self::ONE)
    }

    /// Converts a fractional beat count, rounding to the nearest micro-beat.
    ///
    /// Returns `None` for a value that is not finite or does not fit.
    #[must_use]
    pub fn from_f64(b: f64) -> Option<Self> {
        let v = (b * Self::ONE as f64).round();
        if v.is_finite() && v.abs() < 9.0e18 { Some(Beats(v as i64)) } else { None }
    }

    /// The value as fractional beats, for display only.
    #[must_use]
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / Self::ONE as f64
    }

    /// The largest multiple of `quantum` at or below `self`, counted from `origin`.
    ///
    /// # Panics
    /// Panics if `quantum` is not positive.
    #[must_use]
    pub fn floor_to(self, origin: Beats, quantum: Beats) -> Beats {
        assert!(quantum.0 > 0, "quantum must be positive");
        let rel = self.0 - origin.0;
        Beats(origin.0 + rel.div_euclid(quantum.0) * quantum.0)
    }

    /// The smallest multiple of `quantum` at or above `self`, counted from `origin`.
    ///
    /// # Panics
    /// Panics if `quantum` is not positive.
    #[must_use]
    pub fn ceil_to(self, origin: Beats, quantum: Beats) -> Beats {
        let f = self.floor_to(origin, quantum);
        if f == self { f } else { Beats(f.0 + quantum.0) }
    }
}

impl Add for Beats {
    type Output = Beats;
    fn add(self, rhs: Beats) -> Beats {
        Beats(self.0 + rhs.0)
    }
}
impl Sub for Beats {
    type Output = Beats;
    fn sub(self, rhs: Beats) -> Beats {
        Beats(self.0 - rhs.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_and_ceil_to_bar_work_for_negative_positions() {
        let bar = Beats::whole(4);
        assert_eq!(Beats(-1).floor_to(Beats::ZERO, bar), Beats::whole(-4));
        assert_eq!(Beats(-1).ceil_to(Beats::ZERO, bar), Beats::ZERO);
        assert_eq!(Beats::whole(4).ceil_to(Beats::ZERO, bar), Beats::whole(4));
        assert_eq!(Beats(4_000_001).ceil_to(Beats::ZERO, bar), Beats::whole(8));
        assert_eq!(Beats::whole(5).floor_to(Beats::whole(1), bar), Beats::whole(5));
    }

    #[test]
    fn from_f64_rejects_non_finite() {
        assert_eq!(Beats::from_f64(f64::NAN), None);
        assert_eq!(Beats::from_f64(1.5), Some(Beats(1_500_000)));
    }
}
