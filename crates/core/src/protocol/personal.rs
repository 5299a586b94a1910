//! A member's own settings: how they read the charts and hear the click.
//!
//! They are the member's, not the band's: the host keeps them for the member (every participant
//! of one name, [`member_key`]: a phone and a tablet, or the same person back after the resume
//! window), gives them to each of the member's devices in its welcome and whenever one of them
//! changes them (that one too), and to nobody else. They are never in the shared documents, so a
//! singer's lyrics-only view or a guitarist's capo changes no one else's chart.
//!
//! Transpose and capo may differ by song (`songs`): a song without its own reads with the
//! member's `transpose` and `capo`.
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
/// The most songs with their own transpose and capo a member keeps.
pub const SONGS_MAX: usize = 500;
/// The longest setlist song id, bytes, a member's song settings are kept under.
pub const SONG_ID_MAX: usize = 64;

/// How a member reads one song: `[id, transpose, capo]`, the song's setlist id, the key the
/// singer takes it in (display-only transpose, semitones, −11 to 11) and the capo fret the
/// guitarist plays it with (0 to 11). A list, not an object: the page's wasm reads it with less
/// code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SongLook(pub String, pub i8, pub u8);

impl SongLook {
    fn check(&self) -> Result<(), &'static str> {
        check_look(self.1, self.2)?;
        if self.0.is_empty() || self.0.len() > SONG_ID_MAX {
            return Err("a song id is 1 to 64 bytes");
        }
        Ok(())
    }
}

fn check_look(transpose: i8, capo: u8) -> Result<(), &'static str> {
    if !(-TRANSPOSE_MAX..=TRANSPOSE_MAX).contains(&transpose) {
        return Err("transpose is -11 to 11 semitones");
    }
    if capo > CAPO_MAX {
        return Err("capo is 0 to 11");
    }
    Ok(())
}

/// A member's own settings (the page's names, which it keeps them under). A field added later
/// needs a serde default, or the pages and hosts of before and after refuse each other's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Personal {
    /// Display-only transpose, semitones, −11 to 11, for songs without their own (`songs`).
    pub transpose: i8,
    /// Capo fret, 0 to 11, for songs without their own: the read view also gives each chord's
    /// shape above it.
    pub capo: u8,
    /// Songs read with their own transpose and capo (at most [`SONGS_MAX`], one entry a song).
    /// Always written; read as none when left out.
    #[serde(default)]
    pub songs: Vec<SongLook>,
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
        check_look(self.transpose, self.capo)?;
        if self.songs.len() > SONGS_MAX {
            return Err("at most 500 songs have their own transpose and capo");
        }
        for (i, look) in self.songs.iter().enumerate() {
            look.check()?;
            if self.songs[..i].iter().any(|other| other.0 == look.0) {
                return Err("a song has one entry of its own");
            }
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
/// Other letters compare as they are: Unicode's case tables would add 10 kB of gzip to the page.
#[must_use]
pub fn member_key(name: &str) -> String {
    name.to_ascii_lowercase()
}
