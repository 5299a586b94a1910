//! Meter: beats per bar, the beat unit, and how the bar's beats group into accents.

use super::TimelineError;
use crate::time::Beats;
use serde::{Deserialize, Serialize};

/// A time signature with its accent grouping.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Meter {
    /// Beats per bar (the numerator).
    pub beats: u8,
    /// The note value that gets one beat (the denominator): 1, 2, 4, 8, 16 or 32.
    pub unit: u8,
    /// How the bar's beats group, e.g. `[2, 2, 3]` for a 7/8 counted 1-2 1-2 1-2-3. The first beat
    /// of each group is accented; the bar's first beat is the downbeat. Sums to `beats`.
    pub groups: Vec<u8>,
}

impl Meter {
    /// Builds a meter with its usual accent grouping.
    ///
    /// # Errors
    /// Returns [`TimelineError::Meter`] for 0 or more than 32 beats, or a unit that is not a
    /// power of two from 1 to 32.
    pub fn new(beats: u8, unit: u8) -> Result<Self, TimelineError> {
        let groups = Self::default_groups(beats, unit);
        Self::with_groups(beats, unit, groups)
    }

    /// Builds a meter with an explicit accent grouping.
    ///
    /// # Errors
    /// Returns [`TimelineError::Meter`] if the meter is not sensible or the groups are empty,
    /// contain a zero, or do not sum to `beats`.
    pub fn with_groups(beats: u8, unit: u8, groups: Vec<u8>) -> Result<Self, TimelineError> {
        let bad = |why: &str| TimelineError::Meter(format!("{beats}/{unit}: {why}"));
        if beats == 0 || beats > 32 {
            return Err(bad("beats per bar must be 1 to 32"));
        }
        if !matches!(unit, 1 | 2 | 4 | 8 | 16 | 32) {
            return Err(bad("the beat unit must be 1, 2, 4, 8, 16 or 32"));
        }
        if groups.is_empty() || groups.contains(&0) {
            return Err(bad("accent groups must be non-empty and positive"));
        }
        if groups.iter().map(|&g| u32::from(g)).sum::<u32>() != u32::from(beats) {
            return Err(bad("accent groups must add up to the beats per bar"));
        }
        Ok(Meter { beats, unit, groups })
    }

    /// The conventional grouping: compound meters (6/8, 9/8, 12/8) in threes, 5 as 3+2, 7 as
    /// 2+2+3 in eighths, and otherwise one group per bar.
    #[must_use]
    pub fn default_groups(beats: u8, unit: u8) -> Vec<u8> {
        match (beats, unit) {
            (6 | 9 | 12, 8 | 16) => vec![3; usize::from(beats / 3)],
            (5, 8 | 16) => vec![3, 2],
            (7, 8 | 16) => vec![2, 2, 3],
            (b, _) => vec![b.max(1)],
        }
    }

    /// The length of one bar.
    #[must_use]
    pub fn bar_len(&self) -> Beats {
        Beats::whole(i64::from(self.beats))
    }

    /// How strongly the beat at `index` (0-based within the bar) is accented.
    #[must_use]
    pub fn accent(&self, index: u8) -> Accent {
        Accent::in_groups(&self.groups, index)
    }
}

impl Default for Meter {
    fn default() -> Self {
        Meter { beats: 4, unit: 4, groups: vec![4] }
    }
}

impl std::fmt::Display for Meter {
    /// `7/8`, or `7/8 3+2+2` when the accent groups are not the usual ones of the signature
    /// ([`Meter::default_groups`]: 7/8 is 2+2+3 unless it says otherwise): what
    /// [`Meter::from_str`](std::str::FromStr) reads back, and how the setlist stores a song's.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.beats, self.unit)?;
        if self.groups != Meter::default_groups(self.beats, self.unit) {
            let g: Vec<String> = self.groups.iter().map(u8::to_string).collect();
            write!(f, " {}", g.join("+"))?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Meter {
    type Err = TimelineError;

    /// `7/8`, optionally with its accent grouping: `7/8 2+2+3` or `7/8 (2+2+3)`.
    fn from_str(m: &str) -> Result<Self, TimelineError> {
        let m = m.trim();
        let bad = || TimelineError::Meter(format!("{m:?} is not like 7/8 or 7/8 2+2+3"));
        let (sig, groups) = match m.split_once(char::is_whitespace) {
            Some((s, g)) => (s, Some(g.trim().trim_start_matches('(').trim_end_matches(')'))),
            None => (m, None),
        };
        let (b, u) = sig.split_once('/').ok_or_else(bad)?;
        let (beats, unit) = (b.trim().parse::<u8>().map_err(|_| bad())?, u.trim().parse::<u8>().map_err(|_| bad())?);
        match groups {
            None => Meter::new(beats, unit),
            Some(g) => {
                let groups =
                    g.split('+').map(|x| x.trim().parse::<u8>()).collect::<Result<Vec<_>, _>>().map_err(|_| bad())?;
                Meter::with_groups(beats, unit, groups)
            }
        }
    }
}

/// How a click sounds relative to its neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Accent {
    /// The first beat of the bar.
    Downbeat,
    /// The first beat of an accent group inside the bar.
    Group,
    /// Any other beat.
    Beat,
}

impl Accent {
    /// The accent of the beat at `index` (0-based within the bar) in a bar of these accent
    /// groups: the one rule, for a [`Meter`] and for the audio thread's copy of its groups.
    #[must_use]
    pub fn in_groups(groups: &[u8], index: u8) -> Accent {
        if index == 0 {
            return Accent::Downbeat;
        }
        let mut start = 0u8;
        for &g in groups {
            if index == start {
                return Accent::Group;
            }
            start = start.saturating_add(g);
        }
        Accent::Beat
    }
}
