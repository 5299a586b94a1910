//! A member's own settings: how they read the charts and hear the click.
//!
//! They are the member's, not the band's: the host keeps them for the member (every participant
//! of one name, [`member_key`]: a phone and a tablet, or the same person back after the resume
//! window), gives them to each of the member's devices in its welcome and whenever another of
//! them changes them, and to nobody else. They are never in the shared documents, so a singer's
//! lyrics-only view or a guitarist's capo changes no one else's chart.
//!
//! What belongs to a device stays on it: the output latency (earbuds), the audio device, the
//! chart's text size (a phone's is not a tablet's), the volume, the pedal's keys.

use serde::{Deserialize, Serialize};

use crate::chart::Notation;

/// What the chart's read view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ChartShow {
    /// Chords above the lyrics.
    #[default]
    Both,
    /// The lyrics alone (singers).
    Lyrics,
    /// The chords alone.
    Chords,
}

/// The furthest transpose either way, semitones.
pub const TRANSPOSE_MAX: i8 = 11;
/// The highest capo fret.
pub const CAPO_MAX: u8 = 11;
/// The bars a chart line may hold, for the auto-scroll.
pub const BARS_PER_LINE: [u8; 4] = [1, 2, 4, 8];
/// The most clicks a beat.
pub const SUBDIVISION_MAX: u8 = 8;
/// The longest count-in, bars (the session's `play` takes no more either).
pub const COUNT_IN_MAX: u8 = 8;

/// A member's own settings (the page's names, which it keeps them under). A field added later
/// needs a serde default, or the pages and hosts of before and after refuse each other's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Personal {
    /// Display-only transpose, semitones, −11 to 11.
    pub transpose: i8,
    /// Capo fret, 0 to 11: the read view also gives each chord's shape above it.
    pub capo: u8,
    /// How the read view writes chords: letters, Nashville numbers or Roman numerals.
    pub notation: Notation,
    /// What the read view shows: all of it, the lyrics alone or the chords alone.
    pub chart_show: ChartShow,
    /// The read view in two columns on wide screens.
    pub two_columns: bool,
    /// The chart scrolls with the band's bar.
    pub auto_scroll: bool,
    /// Bars of music a chart line holds, for the auto-scroll: 1, 2, 4 or 8.
    pub bars_per_line: u8,
    /// Clicks per beat, 1 to 8.
    pub subdivision: u8,
    /// A large flash on the downbeat.
    pub flash: bool,
    /// Count-in bars when this member starts the band (as leader), 0 to 8.
    pub count_in: u8,
}

impl Personal {
    /// Whether every setting is one the page offers, or why not.
    ///
    /// # Errors
    /// The first setting out of its range.
    pub fn check(&self) -> Result<(), &'static str> {
        if !(-TRANSPOSE_MAX..=TRANSPOSE_MAX).contains(&self.transpose) {
            return Err("transpose is -11 to 11 semitones");
        }
        if self.capo > CAPO_MAX {
            return Err("capo is 0 to 11");
        }
        if !BARS_PER_LINE.contains(&self.bars_per_line) {
            return Err("barsPerLine is 1, 2, 4 or 8");
        }
        if !(1..=SUBDIVISION_MAX).contains(&self.subdivision) {
            return Err("subdivision is 1 to 8 clicks a beat");
        }
        if self.count_in > COUNT_IN_MAX {
            return Err("countIn is 0 to 8 bars");
        }
        Ok(())
    }
}

/// The member a participant's name belongs to: names that differ only in the case of their
/// letters A to Z are one member's ("Ben" on a phone that capitalises, "ben" typed on a laptop).
/// Other letters compare as they are: Unicode's case tables would add 12 kB to the page.
#[must_use]
pub fn member_key(name: &str) -> String {
    name.to_ascii_lowercase()
}
