//! A chart's source as an editor shows it: its lines, where they start, and what the reader
//! took each for, so that the editor marks chords and directives exactly where [`parse`]
//! (super::parse) finds them (not in a tab, a grid or a `#` note, where `[` is not a chord).

use super::meta::{Parser, Read, brackets};
use serde::Serialize;

/// What a stretch of the source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ChartMarkKind"))]
#[serde(rename_all = "snake_case")]
pub enum MarkKind {
    /// A chord in a lyric line, brackets included.
    Chord,
    /// A directive line (`{title: …}`, `{soc}`), without the blanks around it.
    Directive,
}

/// A stretch of the source, `[from, to)` in UTF-16 code units, as a browser counts a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ChartMark"))]
pub struct Mark {
    /// Where it starts.
    pub from: u32,
    /// Where it ends.
    pub to: u32,
    /// What it is.
    pub kind: MarkKind,
}

/// The chart's lines, each with where it starts (a byte offset), without its line break (`\n` or
/// `\r\n`) and without one more `\r` left at its end (a file made CRLF twice).
pub(super) fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_inclusive('\n').scan(0, |at, piece| {
        let start = *at;
        *at += piece.len();
        let line = piece.strip_suffix('\n').map_or(piece, |l| l.strip_suffix('\r').unwrap_or(l));
        Some((start, line.strip_suffix('\r').unwrap_or(line)))
    })
}

/// The chords and directives of a chart, in order, where the reader finds them.
#[must_use]
pub fn marks(text: &str) -> Vec<Mark> {
    let mut p = Parser::default();
    let mut out = Vec::new();
    // UTF-16 units before byte offset `to` of the text, counted on from the last call.
    let (mut byte, mut unit) = (0, 0);
    let mut units = |to: usize| {
        unit += text[byte..to].encode_utf16().count();
        byte = to;
        u32::try_from(unit).unwrap_or(u32::MAX)
    };
    for (start, line) in lines(text) {
        match p.line(line) {
            Read::Directive => {
                let lead = line.len() - line.trim_start().len();
                let (from, to) = (start + lead, start + line.trim_end().len());
                out.push(Mark { from: units(from), to: units(to), kind: MarkKind::Directive });
            }
            Read::Lyrics => {
                for (open, close) in brackets(line) {
                    let (from, to) = (units(start + open), units(start + close + 1));
                    out.push(Mark { from, to, kind: MarkKind::Chord });
                }
            }
            Read::Other => {}
        }
    }
    out
}
