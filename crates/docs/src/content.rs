//! The setlist and the charts: reading them, editing them, and restoring a version.

use crate::{DocError, SessionDoc, Song, is_empty_update};
use yrs::types::ToJson;
use yrs::{Any, Array, GetString, Map, MapPrelim, Out, ReadTxn, Text, TextPrelim, TextRef, Transact};

impl SessionDoc {
    /// Makes this document's content equal `version`'s, as one edit on top of the current state
    /// (so that every replica, including offline ones, merges it like any other edit). Charts
    /// change by their differing middle only, so cursors elsewhere in the text stay put; charts
    /// the version lacks are emptied, not removed, so that open editors stay bound. Returns the raw
    /// v1 update, or `None` if nothing differs.
    #[must_use]
    pub fn restore_from(&self, version: &SessionDoc) -> Option<Vec<u8>> {
        let songs = version.setlist();
        let charts: Vec<(String, String)> = {
            let txn = version.doc.transact();
            version
                .charts
                .iter(&txn)
                .filter_map(|(k, v)| match v {
                    Out::YText(t) => Some((k.to_owned(), t.get_string(&txn))),
                    _ => None,
                })
                .collect()
        };
        let same_setlist = self.setlist() == songs;
        let update = self.edit_raw(|txn| {
            if !same_setlist {
                let n = self.setlist.len(txn);
                self.setlist.remove_range(txn, 0, n);
                for s in &songs {
                    self.setlist.push_back(txn, song_prelim(s));
                }
            }
            let mine: Vec<String> = self.charts.keys(txn).map(str::to_owned).collect();
            for key in mine {
                if !charts.iter().any(|(k, _)| *k == key) {
                    if let Some(t) = self.chart_ref(txn, &key) {
                        replace_text(txn, &t, "");
                    }
                }
            }
            for (key, text) in &charts {
                let t = match self.chart_ref(txn, key) {
                    Some(t) => t,
                    None => self.charts.insert(txn, key.as_str(), TextPrelim::new("")),
                };
                replace_text(txn, &t, text);
            }
        });
        (!is_empty_update(&update)).then_some(update)
    }

    /// The setlist, in order.
    #[must_use]
    pub fn setlist(&self) -> Vec<Song> {
        let txn = self.doc.transact();
        self.setlist
            .iter(&txn)
            .filter_map(|v| match v {
                // Read by the one rule, the page's too (`bandsync_core::setlist`): a map's plain
                // values never fail to read as a song.
                Out::YMap(m) => yrs::encoding::serde::from_any::<Song>(&m.to_json(&txn)).ok(),
                _ => None,
            })
            .collect()
    }

    /// Replaces the setlist, as one edit. Returns the update to send.
    ///
    /// # Errors
    /// [`DocError::Setlist`] for a song without id or title, or a duplicate id.
    pub fn set_setlist(&self, songs: &[Song]) -> Result<Vec<u8>, DocError> {
        let mut ids = std::collections::HashSet::new();
        for s in songs {
            if s.id.trim().is_empty() || s.title.trim().is_empty() {
                return Err(DocError::Setlist("every song needs an id and a title".into()));
            }
            if !ids.insert(s.id.as_str()) {
                return Err(DocError::Setlist(format!("song id {:?} appears twice", s.id)));
            }
        }
        Ok(self.edit(|txn| {
            let n = self.setlist.len(txn);
            self.setlist.remove_range(txn, 0, n);
            for s in songs {
                self.setlist.push_back(txn, song_prelim(s));
            }
        }))
    }

    /// Appends one song to the setlist (leaving the others, and anyone's concurrent edits to
    /// them, alone). Returns the update to send.
    ///
    /// # Errors
    /// [`DocError::Setlist`] for a song without id or title, or an id already in the setlist.
    pub fn add_song(&self, s: &Song) -> Result<Vec<u8>, DocError> {
        if s.id.trim().is_empty() || s.title.trim().is_empty() {
            return Err(DocError::Setlist("every song needs an id and a title".into()));
        }
        if self.setlist().iter().any(|x| x.id == s.id) {
            return Err(DocError::Setlist(format!("song id {:?} is already in the setlist", s.id)));
        }
        Ok(self.edit(|txn| {
            self.setlist.push_back(txn, song_prelim(s));
        }))
    }

    /// Sets a song's key, tempo and meter (found by id), each only where it differs, so that
    /// anyone's concurrent edits to its other fields stay. Returns the update to send.
    ///
    /// # Errors
    /// [`DocError::Setlist`] when no song has that id.
    pub fn update_song(&self, s: &Song) -> Result<Vec<u8>, DocError> {
        let Some(old) = self.setlist().into_iter().find(|x| x.id == s.id) else {
            return Err(DocError::Setlist(format!("no song with id {:?}", s.id)));
        };
        Ok(self.edit(|txn| {
            let song = self.setlist.iter(txn).find_map(|v| match v {
                Out::YMap(m) if m.get(txn, "id").is_some_and(|id| id.to_string(txn) == s.id) => Some(m),
                _ => None,
            });
            let Some(m) = song else { return };
            if old.key != s.key {
                m.insert(txn, "key", s.key.clone());
            }
            if old.tempo != s.stored() {
                m.insert(txn, "tempo", stored_tempo(s));
            }
            if old.meter != s.meter {
                m.insert(txn, "meter", s.meter.clone());
            }
        }))
    }

    pub(crate) fn chart_ref(&self, txn: &impl ReadTxn, song: &str) -> Option<TextRef> {
        match self.charts.get(txn, song) {
            Some(Out::YText(t)) => Some(t),
            _ => None,
        }
    }

    /// The charts' visible text, in UTF-16 units, each of which the document's encoding holds
    /// in at least one byte: a lower bound on its size, read without encoding it (yrs keeps each
    /// text's length).
    pub(crate) fn chart_units(&self) -> usize {
        let txn = self.doc.transact();
        self.charts
            .iter(&txn)
            .map(|(_, v)| match v {
                Out::YText(t) => t.len(&txn) as usize,
                _ => 0,
            })
            .sum()
    }

    /// The chart of song `song` (by id).
    #[must_use]
    pub fn chart(&self, song: &str) -> Option<String> {
        let txn = self.doc.transact();
        self.chart_ref(&txn, song).map(|t| t.get_string(&txn))
    }

    /// Replaces a song's chart with `text`, as one edit: only the part that differs from the
    /// current text changes, so concurrent edits and cursors elsewhere survive. Returns the update
    /// to send.
    pub fn set_chart(&self, song: &str, text: &str) -> Vec<u8> {
        self.edit(|txn| {
            let t = match self.chart_ref(txn, song) {
                Some(t) => t,
                None => self.charts.insert(txn, song, TextPrelim::new("")),
            };
            replace_text(txn, &t, text);
        })
    }

    /// Inserts `text` at UTF-16 offset `at` of a song's chart (creating it), as one edit.
    pub fn insert_chart(&self, song: &str, at: u32, text: &str) -> Vec<u8> {
        self.edit(|txn| {
            let t = match self.chart_ref(txn, song) {
                Some(t) => t,
                None => self.charts.insert(txn, song, TextPrelim::new("")),
            };
            let at = at.min(t.len(txn));
            t.insert(txn, at, text);
        })
    }
}

fn song_prelim(s: &Song) -> MapPrelim {
    MapPrelim::from([
        ("id".to_owned(), yrs::In::from(s.id.clone())),
        ("title".to_owned(), yrs::In::from(s.title.clone())),
        ("key".to_owned(), yrs::In::from(s.key.clone())),
        ("tempo".to_owned(), yrs::In::Any(stored_tempo(s))),
        ("meter".to_owned(), yrs::In::from(s.meter.clone())),
        ("notes".to_owned(), yrs::In::from(s.notes.clone())),
        ("midi".to_owned(), yrs::In::from(s.midi.clone())),
        ("flow".to_owned(), yrs::In::from(s.flow.clone())),
    ])
}

/// A song's tempo as the document stores it: milli-BPM, an integer (as Yjs writes one), or `null`.
fn stored_tempo(s: &Song) -> Any {
    s.stored().map_or(Any::Null, |t| Any::Number(yrs::any::Number::Int(i64::from(t.0))))
}

/// Replaces `t`'s content with `new` by deleting and inserting only the differing middle
/// ([`bandsync_core::textdiff`], the rule the page's textareas follow): whole code points, in
/// UTF-16 units.
fn replace_text(txn: &mut yrs::TransactionMut, t: &TextRef, new: &str) {
    let old: Vec<u16> = t.get_string(txn).encode_utf16().collect();
    let new16: Vec<u16> = new.encode_utf16().collect();
    let Some(change) = bandsync_core::textdiff::diff(&old, &new16, None) else { return };
    if change.remove > 0 {
        t.remove_range(txn, change.index, change.remove);
    }
    if change.insert > 0 {
        t.insert(txn, change.index, &String::from_utf16_lossy(&new16[change.inserted()]));
    }
}
