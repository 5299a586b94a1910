//! A band's library in and out: what a ChordPro file tells the setlist about its song, and a
//! song written back as a ChordPro file that carries what the setlist knows.

use super::parse;
use crate::timeline::{Meter, Tempo};
use serde::Serialize;

/// What a ChordPro file says about its song, for its setlist entry: what is missing or does not
/// read as a title, key, tempo or meter is `None`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ImportedSong"))]
pub struct Imported {
    /// `{title}`.
    pub title: Option<String>,
    /// `{key}`, if it names a key.
    pub key: Option<String>,
    /// `{tempo}` (written in BPM), if it is one BandSync can play.
    pub tempo: Option<Tempo>,
    /// `{time}`, if it is a meter (`7/8`, `2+2+3/8`).
    pub meter: Option<String>,
}

/// Reads what `text` says about its song.
#[must_use]
pub fn imported(text: &str) -> Imported {
    let m = parse(text).meta;
    // Read as a JSON number (`96`, `120.5`): `str::parse::<f64>`, core's float parser and its
    // tables, would add 14 kB of gzip to the page's wasm, which reads files through this too.
    let tempo = m
        .tempo
        .as_deref()
        .and_then(|t| serde_json::from_str::<f64>(t.trim()).ok())
        .and_then(|t| Tempo::from_bpm(t).ok());
    let meter = m.time.filter(|t| t.trim().parse::<Meter>().is_ok());
    let key = m.key.filter(|k| super::chord::note(k.trim()).is_some());
    Imported { title: m.title.filter(|t| !t.trim().is_empty()), key, tempo, meter }
}

/// A song's chart as a ChordPro file: the chart as written, after the directives it lacks for
/// what the setlist knows (title, key, tempo, meter), so that importing the file gives the song
/// back, its tempo in BPM. Empty fields and an unset tempo add nothing.
#[must_use]
pub fn exported(chart: &str, title: &str, key: &str, tempo: Option<Tempo>, meter: &str) -> String {
    let has = parse(chart).meta;
    let mut head = String::new();
    let mut add = |present: bool, name: &str, value: &str| {
        let value = value.trim();
        if !present && !value.is_empty() {
            for part in ["{", name, ": ", value, "}\n"] {
                head.push_str(part);
            }
        }
    };
    add(has.title.is_some(), "title", title);
    add(has.key.is_some(), "key", key);
    add(has.tempo.is_some(), "tempo", &tempo.map_or_else(String::new, |t| t.to_string()));
    add(has.time.is_some(), "time", meter);
    let mut out = head + chart;
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// The songs of one ChordPro file: several songs in a file are separated by `{new_song}` (`{ns}`)
/// lines. Each song's text is returned as written, without its separator; empty ones are dropped.
#[must_use]
pub fn songs(text: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if t.eq_ignore_ascii_case("{new_song}") || t.eq_ignore_ascii_case("{ns}") {
            out.push(String::new());
        } else if let Some(last) = out.last_mut() {
            last.push_str(line);
        }
    }
    out.retain(|s| !s.trim().is_empty());
    out
}

/// The file extensions ChordPro files go by.
pub const EXTENSIONS: [&str; 4] = ["cho", "chordpro", "pro", "crd"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_gives_its_song_and_an_exported_song_reads_back_the_same() {
        let file = "{title: Blue Bossa}\n{key: Cm}\n{tempo: 150}\n{time: 4/4}\n[Cm7]Sunny side\n";
        let s = imported(file);
        assert_eq!(
            s,
            Imported {
                title: Some("Blue Bossa".into()),
                key: Some("Cm".into()),
                tempo: Some(Tempo(150_000)),
                meter: Some("4/4".into())
            }
        );
        // A chart without directives gets them from the setlist; one with them is left as it is.
        let out = exported("[Cm7]Sunny side", "Blue Bossa", "Cm", Some(Tempo(150_000)), "4/4");
        assert_eq!(imported(&out), s);
        assert!(out.ends_with("[Cm7]Sunny side\n"));
        assert_eq!(exported(file, "Other", "D", Some(Tempo(90_000)), "3/4"), file);
        assert_eq!(exported("x\n", "", "", None, ""), "x\n");
    }

    #[test]
    fn a_file_of_several_songs_splits_at_new_song() {
        let both =
            format!("{}{{new_song}}\n{}", exported("a\n", "One", "", None, ""), exported("b\n", "Two", "", None, ""));
        let s = songs(&both);
        assert_eq!(s, ["{title: One}\na\n", "{title: Two}\nb\n"]);
        assert_eq!(songs("{ns}\n\n{title: X}\n"), ["\n{title: X}\n"]);
    }

    #[test]
    fn what_does_not_read_is_left_out() {
        let s = imported("{title: }\n{key: H}\n{tempo: fast}\n{time: waltz}\n");
        assert_eq!(s, Imported::default());
        assert_eq!(imported("{tempo: 5000}").tempo, None, "beyond what the metronome plays");
        assert_eq!(imported("{tempo: 120.5 }").tempo, Some(Tempo(120_500)));
        assert_eq!(exported("", "", "", Some(Tempo(120_500)), ""), "{tempo: 120.5}\n");
        assert_eq!(imported("{tempo: 120 bpm}").tempo, None);
    }
}
