//! Reading a chart line by line: directives (`{name: value}`), the sections they open and close,
//! and what they say about the song.

use super::{CommentStyle, Line, Pair, SectionKind, chord, grid};
use serde::Serialize;

/// What a chart's directives say about the song (the first of each).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ChartMeta"))]
pub struct Meta {
    /// `{title}`.
    pub title: Option<String>,
    /// `{subtitle}`.
    pub subtitle: Option<String>,
    /// `{artist}`.
    pub artist: Option<String>,
    /// `{composer}`.
    pub composer: Option<String>,
    /// `{key}`, as written.
    pub key: Option<String>,
    /// `{tempo}`, in beats per minute as written.
    pub tempo: Option<String>,
    /// `{time}`: the meter, as written (`3/4`).
    pub time: Option<String>,
    /// `{capo}`: the writer's capo.
    pub capo: Option<String>,
    /// `{duration}`.
    pub duration: Option<String>,
}

impl Meta {
    fn set(&mut self, name: &str, value: &str) -> bool {
        let slot = match name {
            "title" | "t" => &mut self.title,
            "subtitle" | "st" => &mut self.subtitle,
            "artist" => &mut self.artist,
            "composer" => &mut self.composer,
            "key" => &mut self.key,
            "tempo" => &mut self.tempo,
            "time" => &mut self.time,
            "capo" => &mut self.capo,
            "duration" => &mut self.duration,
            _ => return false,
        };
        if slot.is_none() && !value.is_empty() {
            *slot = Some(value.to_owned());
        }
        true
    }
}

/// Directives that shape a printed page (fonts, sizes, colours, columns, page breaks, chord
/// diagrams, images) or file it (sorting, tags), and mean nothing on a stage screen.
const LAYOUT: &[&str] = &[
    "new_page",
    "np",
    "new_physical_page",
    "npp",
    "column_break",
    "colb",
    "columns",
    "col",
    "pagetype",
    "titles",
    "define",
    "chord",
    "grid",
    "g",
    "no_grid",
    "ng",
    "diagrams",
    "image",
    "new_song",
    "ns",
    "sorttitle",
    "lyricist",
    "arranger",
    "album",
    "year",
    "copyright",
    "tag",
    "meta",
    "x_",
];

fn layout(name: &str) -> bool {
    LAYOUT.iter().any(|l| name == *l || (l.ends_with('_') && name.starts_with(l)))
        || ["font", "size", "colour", "color"].iter().any(|s| name.ends_with(s))
}

/// The reader's state across lines.
#[derive(Debug, Default)]
pub(super) struct Parser {
    meta: Meta,
    lines: Vec<Line>,
    /// The open section.
    open: Option<SectionKind>,
    /// Where the open chorus's lines start, to be kept for `{chorus}`.
    chorus_from: Option<usize>,
    /// The last chorus: its label and lines.
    last_chorus: Option<(String, Vec<Line>)>,
    /// Semitones from `{transpose}`, applied to the chords that follow it.
    transpose: i32,
}

/// What the reader took a line for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Read {
    /// A directive.
    Directive,
    /// Lyrics with their chords.
    Lyrics,
    /// A `#` note, a tab or grid line, or a blank one.
    Other,
}

impl Parser {
    pub(super) fn line(&mut self, raw: &str) -> Read {
        let t = raw.trim();
        if let Some((name, value)) = directive(t) {
            self.directive(&name, value);
            return Read::Directive;
        }
        if raw.starts_with('#') {
            return Read::Other;
        }
        let (line, read) = match self.open {
            Some(SectionKind::Tab) => (Line::Tab { text: raw.to_owned() }, Read::Other),
            _ if t.is_empty() => (Line::Blank, Read::Other),
            Some(SectionKind::Grid) => {
                let mut cells = grid::parse_line(t);
                for c in &mut cells {
                    if let grid::Cell::Chord { chord, .. } = c {
                        *chord = self.moved(chord);
                    }
                }
                (Line::Grid { cells }, Read::Other)
            }
            _ => (Line::Lyrics { pairs: self.pairs(raw) }, Read::Lyrics),
        };
        self.lines.push(line);
        read
    }

    pub(super) fn finish(mut self) -> super::Chart {
        self.close();
        super::Chart { meta: self.meta, lines: self.lines }
    }

    fn directive(&mut self, name: &str, value: &str) {
        let known = self.meta.set(name, value.trim());
        let comment = |style| Line::Comment { text: value.to_owned(), style };
        let line = match name {
            "title" | "t" => Line::Title { text: value.to_owned() },
            "subtitle" | "st" => Line::Subtitle { text: value.to_owned() },
            "comment" | "c" | "highlight" => comment(CommentStyle::Plain),
            "comment_italic" | "ci" => comment(CommentStyle::Italic),
            "comment_box" | "cb" => comment(CommentStyle::Boxed),
            "chorus" => return self.recall(value),
            "transpose" => {
                self.transpose = value.trim().parse().unwrap_or(0);
                return;
            }
            _ if name.starts_with("start_of_") || matches!(name, "soc" | "sov" | "sob" | "sot" | "sog") => {
                return self.start(name, value);
            }
            _ if name.starts_with("end_of_") || matches!(name, "eoc" | "eov" | "eob" | "eot" | "eog") => {
                return self.close();
            }
            _ if known || layout(name) => return,
            // Unknown: shown as written, so that a misspelt directive is seen, not lost.
            _ if value.is_empty() => Line::Comment { text: format!("{{{name}}}"), style: CommentStyle::Italic },
            _ => Line::Comment { text: format!("{{{name}: {value}}}"), style: CommentStyle::Italic },
        };
        self.lines.push(line);
    }

    fn start(&mut self, name: &str, value: &str) {
        self.close();
        let (section, default) = match name {
            "start_of_chorus" | "soc" => (SectionKind::Chorus, "Chorus".to_owned()),
            "start_of_verse" | "sov" => (SectionKind::Verse, "Verse".to_owned()),
            "start_of_bridge" | "sob" => (SectionKind::Bridge, "Bridge".to_owned()),
            "start_of_tab" | "sot" => (SectionKind::Tab, "Tab".to_owned()),
            "start_of_grid" | "sog" => (SectionKind::Grid, "Grid".to_owned()),
            other => (SectionKind::Other, capitalized(other.trim_start_matches("start_of_"))),
        };
        let label = label(value, section).unwrap_or(default);
        self.lines.push(Line::Section { section, label, recall: false });
        self.open = Some(section);
        if section == SectionKind::Chorus {
            self.chorus_from = Some(self.lines.len());
        }
    }

    fn close(&mut self) {
        if self.open.take().is_none() {
            return;
        }
        if let Some(from) = self.chorus_from.take() {
            let label = match &self.lines[from - 1] {
                Line::Section { label, .. } => label.clone(),
                _ => "Chorus".to_owned(),
            };
            self.last_chorus = Some((label, self.lines[from..].to_vec()));
        }
        self.lines.push(Line::End);
    }

    /// `{chorus}`: the last chorus again, under its label (or the directive's).
    fn recall(&mut self, value: &str) {
        self.close();
        let (label, body) = self.last_chorus.clone().unwrap_or_else(|| ("Chorus".to_owned(), Vec::new()));
        let label = self::label(value, SectionKind::Chorus).unwrap_or(label);
        self.lines.push(Line::Section { section: SectionKind::Chorus, label, recall: true });
        self.lines.extend(body);
        self.lines.push(Line::End);
    }

    /// A chord as the chart's own `{transpose}` moves it.
    fn moved(&self, c: &str) -> String {
        if self.transpose == 0 {
            return c.to_owned();
        }
        let flats = self
            .meta
            .key
            .as_deref()
            .is_some_and(|k| chord::key_prefers_flats(&chord::transpose_key(k, self.transpose)));
        chord::transpose_chord(c, self.transpose, flats)
    }

    /// A lyric line's chord-and-lyric pieces. An unclosed `[` is lyric text.
    fn pairs(&self, line: &str) -> Vec<Pair> {
        let mut pairs = Vec::new();
        let (mut chord, mut from) = (None::<String>, 0);
        for (open, close) in brackets(line) {
            let text = &line[from..open];
            if !text.is_empty() || chord.is_some() {
                pairs.push(Pair { chord: chord.take(), shape: None, text: text.to_owned() });
            }
            chord = Some(self.moved(&line[open + 1..close]));
            from = close + 1;
        }
        let rest = &line[from..];
        if !rest.is_empty() || chord.is_some() || pairs.is_empty() {
            pairs.push(Pair { chord, shape: None, text: rest.to_owned() });
        }
        pairs
    }
}

/// A directive line's name (lower case, without any `-selector`) and value: `{name}`,
/// `{name: value}` or `{name value}`.
fn directive(t: &str) -> Option<(String, &str)> {
    let inner = t.strip_prefix('{')?.strip_suffix('}')?.trim_start();
    let end = inner.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).unwrap_or(inner.len());
    if end == 0 {
        return None;
    }
    let name = inner[..end].to_ascii_lowercase();
    let name = match name.split_once('-') {
        Some((base, _selector)) => base.to_owned(),
        None => name,
    };
    let rest = inner[end..].trim_start();
    let value = rest.strip_prefix(':').unwrap_or(rest).trim();
    Some((name, value))
}

/// A section's label: `label="…"`, or the plain value (for a grid, a value that is its shape,
/// `1+4x4+1`, is no label).
fn label(value: &str, section: SectionKind) -> Option<String> {
    if let Some(i) = value.find("label=\"") {
        let v = &value[i + 7..];
        return v.find('"').map(|end| v[..end].to_owned()).filter(|l| !l.is_empty());
    }
    if value.contains("=\"") || value.is_empty() {
        return None;
    }
    let shape = value.chars().all(|c| c.is_ascii_digit() || c == '+' || c == 'x');
    (!(section == SectionKind::Grid && shape)).then(|| value.to_owned())
}

fn capitalized(s: &str) -> String {
    let mut t = s.replace('_', " ");
    if let Some(f) = t.get_mut(..1) {
        f.make_ascii_uppercase();
    }
    t
}

/// Where each complete `[chord]` of a lyric line is: the byte offsets of its `[` and its `]`. An
/// unclosed `[` is lyric text, and so is everything after it.
pub(super) fn brackets(line: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut from = 0;
    std::iter::from_fn(move || {
        let open = from + line[from..].find('[')?;
        let close = open + 1 + line[open + 1..].find(']')?;
        from = close + 1;
        Some((open, close))
    })
}
