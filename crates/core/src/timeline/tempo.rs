//! Tempo: integer milli-BPM, on the wire and in every timeline.

use super::TimelineError;
use crate::time::Micros;
use serde::{Deserialize, Serialize};

/// The lowest tempo a session accepts, in BPM.
pub const MIN_BPM: f64 = 20.0;
/// The highest tempo a session accepts, in BPM.
pub const MAX_BPM: f64 = 999.0;

/// A tempo in milli-BPM (120 BPM is 120 000), counted in the meter's beat unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(transparent)]
pub struct Tempo(pub u32);

impl Tempo {
    /// Checks and converts a tempo given in BPM.
    ///
    /// # Errors
    /// Returns [`TimelineError::Tempo`] unless `bpm` is finite and within 20–999 BPM.
    pub fn from_bpm(bpm: f64) -> Result<Self, TimelineError> {
        if !bpm.is_finite() || !(MIN_BPM..=MAX_BPM).contains(&bpm) {
            return Err(TimelineError::Tempo(bpm));
        }
        Ok(Tempo((bpm * 1000.0).round() as u32))
    }

    /// Checks a tempo given in milli-BPM, as the wire carries it.
    ///
    /// # Errors
    /// Returns [`TimelineError::Tempo`] unless it is within 20–999 BPM.
    pub fn checked(milli_bpm: u32) -> Result<Self, TimelineError> {
        let range = (MIN_BPM * 1000.0) as u32..=(MAX_BPM * 1000.0) as u32;
        if range.contains(&milli_bpm) {
            Ok(Tempo(milli_bpm))
        } else {
            Err(TimelineError::Tempo(f64::from(milli_bpm) / 1000.0))
        }
    }

    /// The tempo in BPM.
    #[must_use]
    pub fn bpm(self) -> f64 {
        f64::from(self.0) / 1000.0
    }

    /// The duration of one beat.
    #[must_use]
    pub fn beat_len(self) -> Micros {
        Micros((60_000_000_000i64 + i64::from(self.0) / 2) / i64::from(self.0))
    }
}

impl Default for Tempo {
    fn default() -> Self {
        Tempo(120_000)
    }
}

impl std::fmt::Display for Tempo {
    /// `120`, `96.5`, `133.333`: BPM with only the decimals it has.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (whole, milli) = (self.0 / 1000, self.0 % 1000);
        if milli == 0 {
            write!(f, "{whole}")
        } else {
            let frac = format!("{milli:03}");
            write!(f, "{whole}.{}", frac.trim_end_matches('0'))
        }
    }
}
