//! Chord charts in ChordPro, read once here for every screen (the page through wasm, the CLI).
//!
//! [`parse`] reads a chart into lines: chords over lyrics, titles, comments, sections (chorus,
//! verse, bridge, tab, grid and any `start_of_X`), a recalled chorus (`{chorus}`), tab lines as
//! written and grid lines as cells. [`render`] then writes every chord for one reader: transposed
//! with the spelling the key wants, with its shape under a capo, or as Nashville or Roman numbers.
//! [`marks`] says where the chords and directives of the source are, for the editor.
//! Display only: nothing here changes the shared document.

pub mod chord;
pub mod flow;
mod grid;
pub mod library;
mod meta;
mod source;

pub use chord::{Notation, key_prefers_flats, transpose_chord, transpose_key};
pub use grid::Cell;
pub use meta::Meta;
use serde::{Deserialize, Serialize};
pub use source::{Mark, MarkKind, marks};

/// A chord (or none) and the lyric it sits over. A chord and its syllable wrap as one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ChartPair"))]
pub struct Pair {
    /// The chord as written, or as rendered for the reader.
    pub chord: Option<String>,
    /// The chord's shape under the reader's capo, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub shape: Option<String>,
    /// The lyric that follows the chord, up to the next one.
    pub text: String,
}

/// What kind of section a `start_of_…` opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ChartSectionKind"))]
#[serde(rename_all = "snake_case")]
pub enum SectionKind {
    /// `{start_of_chorus}`, `{soc}`.
    Chorus,
    /// `{start_of_verse}`, `{sov}`.
    Verse,
    /// `{start_of_bridge}`, `{sob}`.
    Bridge,
    /// `{start_of_tab}`, `{sot}`: lines shown as written, in a fixed-width font.
    Tab,
    /// `{start_of_grid}`, `{sog}`: chord grids.
    Grid,
    /// Any other `{start_of_X}`.
    Other,
}

/// How a comment is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ChartCommentStyle"))]
#[serde(rename_all = "snake_case")]
pub enum CommentStyle {
    /// `{comment}`, `{c}`, `{highlight}`.
    Plain,
    /// `{comment_italic}`, `{ci}`.
    Italic,
    /// `{comment_box}`, `{cb}`.
    Boxed,
}

/// One line of a chart, as a screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ChartLine"))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Line {
    /// `{title}`, `{t}`.
    Title {
        /// The title.
        text: String,
    },
    /// `{subtitle}`, `{st}`, and the credits (`{artist}`, `{composer}`, `{lyricist}`).
    Subtitle {
        /// The subtitle.
        text: String,
    },
    /// Lyrics with their chords (or chords alone).
    Lyrics {
        /// The chord-and-lyric pieces, in order.
        pairs: Vec<Pair>,
    },
    /// The start of a section; it runs to the matching [`Line::End`].
    Section {
        /// Its kind.
        section: SectionKind,
        /// Its label: the directive's, or the kind's name.
        label: String,
        /// Whether this repeats the last chorus (`{chorus}`): its lines follow, copied.
        recall: bool,
    },
    /// The end of a section.
    End,
    /// A comment to the reader.
    Comment {
        /// Its text.
        text: String,
        /// How it is set.
        style: CommentStyle,
    },
    /// A line of a tab section, as written.
    Tab {
        /// The line.
        text: String,
    },
    /// A line of a chord grid.
    Grid {
        /// Its cells: chords, bar lines, repeats, margins.
        cells: Vec<Cell>,
    },
    /// An empty line.
    Blank,
}

/// A chart read for display.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Chart {
    /// What the directives say about the song.
    pub meta: Meta,
    /// Its lines.
    pub lines: Vec<Line>,
}

/// Reads a ChordPro chart. Never fails: what it cannot read shows as it was written (an unknown
/// directive as a comment, an unclosed `[` as lyric text); `#` lines are the writer's notes and
/// are left out; formatting directives (fonts, sizes, page breaks) mean nothing on a screen.
#[must_use]
pub fn parse(text: &str) -> Chart {
    let mut p = meta::Parser::default();
    for (_, line) in source::lines(text) {
        p.line(line);
    }
    p.finish()
}

/// How one reader wants chords written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ChartView"))]
pub struct View {
    /// Semitones up (or down) from the chart as written.
    #[serde(default)]
    pub transpose: i32,
    /// The capo fret: chords are also given as the shapes played above it.
    #[serde(default)]
    pub capo: u8,
    /// Letters, Nashville numbers or Roman numerals.
    #[serde(default)]
    pub notation: Notation,
    /// The song's key as written, where the setlist knows it (else the chart's `{key}`, else its
    /// first chord).
    #[serde(default)]
    pub key: Option<String>,
}

/// A chart with every chord written for one reader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "RenderedChart"))]
pub struct Rendered {
    /// The chart, its chords rewritten.
    pub chart: Chart,
    /// The key it now sounds in, if known.
    pub key: Option<String>,
    /// The key of the shapes under the capo, if there is a capo and a key.
    pub shape_key: Option<String>,
}

/// Writes every chord of `chart` as `view` asks (see [`View`]).
#[must_use]
pub fn render(mut chart: Chart, view: &View) -> Rendered {
    let written = view.key.clone().filter(|k| chord::note(k.trim()).is_some()).or_else(|| chart.meta.key.clone());
    let written = written.or_else(|| first_chord(&chart));
    let key = written.as_deref().map(|k| transpose_key(k, view.transpose));
    // Without a key, spell as the direction of the move suggests (down: flats, up: sharps).
    let flats = key.as_deref().map_or(view.transpose < 0, key_prefers_flats);
    let capo = i32::from(view.capo);
    let shape_key = key.as_deref().filter(|_| capo > 0).map(|k| transpose_key(k, -capo));
    let shape_flats = shape_key.as_deref().map_or(flats, key_prefers_flats);
    let write = |c: &str| -> (String, Option<String>) {
        let sounding = transpose_chord(c, view.transpose, flats);
        match (view.notation, key.as_deref()) {
            (Notation::Letters, _) | (_, None) => {
                let shape = (capo > 0).then(|| transpose_chord(&sounding, -capo, shape_flats));
                (sounding, shape)
            }
            (n, Some(k)) => (chord::number(&sounding, k, n), None),
        }
    };
    for line in &mut chart.lines {
        match line {
            Line::Lyrics { pairs } => {
                for p in pairs {
                    if let Some(c) = p.chord.as_deref().filter(|c| !c.starts_with('*')) {
                        let (shown, shape) = write(c);
                        (p.chord, p.shape) = (Some(shown), shape);
                    }
                }
            }
            Line::Grid { cells } => {
                for cell in cells {
                    if let Cell::Chord { chord, shape } = cell {
                        let (shown, s) = write(chord);
                        (*chord, *shape) = (shown, s);
                    }
                }
            }
            _ => {}
        }
    }
    Rendered { chart, key, shape_key }
}

/// The first chord of a chart, standing for its key when none is given.
fn first_chord(chart: &Chart) -> Option<String> {
    chart.lines.iter().find_map(|l| match l {
        Line::Lyrics { pairs } => pairs.iter().find_map(|p| p.chord.clone().filter(|c| chord::note(c).is_some())),
        _ => None,
    })
}

/// The lines that stand for music (lyrics and chords, grid rows), for the song-length estimate.
#[must_use]
pub fn music_lines(chart: &Chart) -> usize {
    chart.lines.iter().filter(|l| matches!(l, Line::Lyrics { .. } | Line::Grid { .. })).count()
}

#[cfg(test)]
mod tests;
