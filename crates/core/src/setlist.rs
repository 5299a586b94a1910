//! One song of the setlist, and the rule that reads it from the session's document (PROTOCOL
//! §12): the host reads the document's `Y.Map` with yrs through [`Song`]'s `Deserialize`; the page
//! reads its Yjs copy's tempo numbers through the wasm core ([`stored_tempo_of`]), and its text
//! fields as below.
//!
//! The document is written by every member, so reading never fails on a field: text that is not
//! a string reads as its JSON text (a number `5` as `"5"`), and a missing one, `null`, or a list
//! or map as empty. A tempo is milli-BPM (`96500`); a number below 1 000 is BPM, as documents
//! written before protocol version 4 hold it (`96.5`). No tempo BandSync plays is below 20 000
//! milli-BPM or above 999 BPM, so the two never meet. Whether a tempo can be played is checked
//! where it is used ([`Tempo::checked`], when a leader picks the song), so that a song whose
//! tempo cannot be played is refused clearly rather than read as having none.

use crate::timeline::Tempo;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One song of the setlist, as the setlist's `Y.Map` holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Song {
    /// Stable id; its chart is `charts[id]`.
    #[serde(default, deserialize_with = "text")]
    pub id: String,
    /// Title.
    #[serde(default, deserialize_with = "text")]
    pub title: String,
    /// Musical key, e.g. "Am".
    #[serde(default, deserialize_with = "text")]
    pub key: String,
    /// Tempo in milli-BPM, unchecked (`null` when unset). Stored as a number; see the module's
    /// note for the BPM of older documents.
    #[serde(default, deserialize_with = "stored_tempo")]
    pub tempo: Option<Tempo>,
    /// Meter, e.g. "7/8", or with an unusual accent grouping "7/8 3+2+2" (read by
    /// `Meter::from_str`).
    #[serde(default, deserialize_with = "text")]
    pub meter: String,
    /// Free notes.
    #[serde(default, deserialize_with = "text")]
    pub notes: String,
    /// The MIDI patch sent to the band's gear when the song becomes current, e.g.
    /// `bank 0:2; pc 17; cc 7 100 @2` (read by [`crate::patch::parse_patch`]).
    #[serde(default, deserialize_with = "text")]
    pub midi: String,
    /// The song's flow, its parts and their bars: `Intro 4, V1 16, C 8` (read by
    /// [`crate::chart::flow::parse`]).
    #[serde(default, deserialize_with = "text")]
    pub flow: String,
}

/// A stored tempo number below this is BPM, as documents before protocol 4 hold it; so no tempo
/// under this many milli-BPM is stored or read.
const BPM_BELOW: u32 = 1_000;

impl Song {
    /// The tempo as the document stores it: milli-BPM, or none for a tempo under [`BPM_BELOW`]
    /// milli-BPM, which would read back as BPM ([`stored_tempo_of`]).
    #[must_use]
    pub fn stored(&self) -> Option<Tempo> {
        self.tempo.filter(|t| t.0 >= BPM_BELOW)
    }

    /// A song with only an id and a title (no key, tempo, meter, notes, patch or flow yet).
    #[must_use]
    pub fn new(id: impl Into<String>, title: impl Into<String>) -> Song {
        Song {
            id: id.into(),
            title: title.into(),
            key: String::new(),
            tempo: None,
            meter: String::new(),
            notes: String::new(),
            midi: String::new(),
            flow: String::new(),
        }
    }
}

/// A stored tempo number as milli-BPM: below 1 000 it is BPM (older documents); 0, negative or
/// not finite is none. Rounded to the nearest milli-BPM, and held within `u32`. A tempo under
/// 1 000 milli-BPM (BPM below 1) is none: written back, it would read as BPM (see
/// [`Song::stored`]).
#[must_use]
pub fn stored_tempo_of(v: f64) -> Option<Tempo> {
    if !v.is_finite() || v <= 0.0 {
        return None;
    }
    let below = f64::from(BPM_BELOW);
    let milli = if v < below { v * 1000.0 } else { v };
    let milli = milli.round().min(f64::from(u32::MAX));
    (milli >= below).then_some(Tempo(milli as u32))
}

/// What a document field holds, read without failing: the fields' two readers.
struct Lenient<T>(fn(Field<'_>) -> T);

/// One plain value of a field, as a visitor meets it (made text only by the text reader: the
/// page's wasm reads tempos alone, without a number writer).
enum Field<'a> {
    Text(&'a str),
    Int(i64),
    UInt(u64),
    Float(f64),
    Other,
}

impl<'de, T> Visitor<'de> for Lenient<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a plain value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Ok(self.0(Field::Text(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        Ok(self.0(Field::Text(if v { "true" } else { "false" })))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        Ok(self.0(Field::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        Ok(self.0(Field::UInt(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        Ok(self.0(Field::Float(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok(self.0(Field::Other))
    }
    fn visit_none<E: de::Error>(self) -> Result<T, E> {
        Ok(self.0(Field::Other))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<T, E> {
        Ok(self.0(Field::Other))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<T, A::Error> {
        while a.next_element::<IgnoredAny>()?.is_some() {}
        Ok(self.0(Field::Other))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<T, A::Error> {
        while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(self.0(Field::Other))
    }
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(Lenient(|f| match f {
        Field::Text(s) => s.to_owned(),
        Field::Int(v) => v.to_string(),
        Field::UInt(v) => v.to_string(),
        // As JavaScript writes a number as text: `5` for 5.0.
        Field::Float(v) if v.fract() == 0.0 && v.abs() < 1e15 => (v as i64).to_string(),
        Field::Float(v) => v.to_string(),
        Field::Other => String::new(),
    }))
}

fn stored_tempo<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Tempo>, D::Error> {
    d.deserialize_any(Lenient(|f| match f {
        Field::Int(v) => stored_tempo_of(v as f64),
        Field::UInt(v) => stored_tempo_of(v as f64),
        Field::Float(v) => stored_tempo_of(v),
        Field::Text(_) | Field::Other => None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Song {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_tempo_is_milli_bpm_and_an_older_document_s_bpm_reads_as_the_same_tempo() {
        assert_eq!(read(r#"{"tempo":96500}"#).tempo, Some(Tempo(96_500)));
        assert_eq!(read(r#"{"tempo":96.5}"#).tempo, Some(Tempo(96_500)));
        assert_eq!(read(r#"{"tempo":120}"#).tempo, Some(Tempo(120_000)));
        assert_eq!(read(r#"{"tempo":999.9999}"#).tempo, Some(Tempo(1_000_000)), "unchecked: refused where used");
        assert_eq!(read(r#"{"tempo":1500}"#).tempo, Some(Tempo(1_500)), "1 500 milli-BPM, which no one can play");
        for below_one_bpm in ["0.5", "0.0004"] {
            assert_eq!(read(&format!(r#"{{"tempo":{below_one_bpm}}}"#)).tempo, None, "{below_one_bpm}: BPM below 1");
        }
        assert_eq!(read(r#"{"tempo":133333.4}"#).tempo, Some(Tempo(133_333)));
        assert_eq!(read(r#"{"tempo":1e300}"#).tempo, Some(Tempo(u32::MAX)));
        for none in ["0", "-5", "null", r#""96""#, "true", "[96]", r#"{"a":1}"#] {
            assert_eq!(read(&format!(r#"{{"tempo":{none}}}"#)).tempo, None, "{none}");
        }
        assert_eq!(read("{}").tempo, None);
    }

    #[test]
    fn every_field_reads_whatever_a_member_wrote() {
        let s = read(r#"{"id":"a","title":5,"key":null,"meter":[1],"notes":{"x":2},"midi":true,"flow":1.5,"other":3}"#);
        assert_eq!((s.id.as_str(), s.title.as_str(), s.key.as_str(), s.meter.as_str()), ("a", "5", "", ""));
        assert_eq!((s.notes.as_str(), s.midi.as_str(), s.flow.as_str()), ("", "true", "1.5"));
        assert_eq!(read(r#"{"title":5.0}"#).title, "5", "as JavaScript's String(5)");
    }

    #[test]
    fn a_song_round_trips_through_its_json() {
        let mut s = Song::new("id", "Title");
        s.tempo = Some(Tempo(96_500));
        s.meter = "7/8 3+2+2".into();
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(r#""tempo":96500"#), "{json}");
        assert_eq!(read(&json), s);
        assert_eq!(read(&serde_json::to_string(&Song::new("i", "t")).unwrap()).tempo, None);
    }

    #[test]
    fn what_is_stored_reads_back_the_same() {
        for milli in [1, 500, 999, 1000, 20_000, 96_500, 999_000, 1_500_000, u32::MAX] {
            let mut s = Song::new("i", "t");
            s.tempo = Some(Tempo(milli));
            let stored = s.stored();
            assert_eq!(stored.and_then(|t| stored_tempo_of(f64::from(t.0))), stored, "{milli}");
            assert_eq!(stored.is_some(), milli >= 1000, "{milli}");
        }
    }
}
