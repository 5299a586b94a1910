//! One song of the setlist, as the setlist's `Y.Map` holds it.

use serde::{Deserialize, Serialize};

/// One song of the setlist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Song {
    /// Stable id; its chart is `charts[id]`.
    pub id: String,
    /// Title.
    pub title: String,
    /// Musical key, e.g. "Am".
    #[serde(default)]
    pub key: String,
    /// Tempo in BPM (0 when unset).
    #[serde(default)]
    pub tempo: f64,
    /// Meter, e.g. "7/8".
    #[serde(default)]
    pub meter: String,
    /// Free notes.
    #[serde(default)]
    pub notes: String,
    /// The MIDI patch sent to the band's gear when the song becomes current, e.g.
    /// `bank 0:2; pc 17; cc 7 100 @2` (read by `bandsync_core::patch::parse_patch`).
    #[serde(default)]
    pub midi: String,
    /// The song's flow, its parts and their bars: `Intro 4, V1 16, C 8` (read by
    /// `bandsync_core::chart::flow::parse`).
    #[serde(default)]
    pub flow: String,
}

impl Song {
    /// A song with only an id and a title (no key, tempo, meter, notes, patch or flow yet).
    #[must_use]
    pub fn new(id: impl Into<String>, title: impl Into<String>) -> Song {
        Song {
            id: id.into(),
            title: title.into(),
            key: String::new(),
            tempo: 0.0,
            meter: String::new(),
            notes: String::new(),
            midi: String::new(),
            flow: String::new(),
        }
    }
}
