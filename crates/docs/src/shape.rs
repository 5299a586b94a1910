//! The setlist's shape: an array of songs, each a map of plain values. Anything else in it is
//! refused as it lands, because yrs cannot read it back safely.
//!
//! yrs reads an array element by element (`BlockIter::slice`). A crafted update can put a text's
//! string content straight into the `setlist` array (send text edits under that root's name, or
//! insert after one of its songs): reading it then costs the square of its length, and never ends
//! when the string holds a character outside the Basic Multilingual Plane (an emoji), because yrs
//! counts the item in UTF-16 units but reads it in chars (found by `fuzz/fuzz_targets/
//! stored_rows.rs`). A nested array in a song's field does the same when the field is read. No
//! client writes either: the UI and [`crate::SessionDoc`] insert songs as maps of strings and
//! numbers.
//!
//! So a deep observer on the setlist checks every transaction that changes it, from the events
//! yrs computes without that read (each added item's content, whole or nothing): the setlist's
//! new entries must be maps, one per added item, holding only plain values, and a song's changed
//! fields must be plain values. Anything else is noted, and [`Watch::take`] reports it after the
//! update is applied: the update is refused as [`crate::DocError::Poisoned`] and the server loads
//! the documents again from storage, without it.

use std::sync::{Arc, Mutex, PoisonError};
use yrs::types::map::MapEvent;
use yrs::types::{Change, EntryChange, Event, array::ArrayEvent};
use yrs::{ArrayRef, DeepObservable, Map, MapRef, Out, TransactionMut};

/// What broke the setlist's shape in the last transaction that did, until taken.
#[derive(Clone, Default)]
pub(crate) struct Watch(Arc<Mutex<Option<String>>>);

impl Watch {
    /// Watches `setlist` from now on.
    pub(crate) fn new(setlist: &ArrayRef) -> Watch {
        let watch = Watch::default();
        let noted = watch.clone();
        setlist.observe_deep("bandsync-shape", move |txn, events| {
            for e in events.iter() {
                let wrong = match e {
                    Event::Array(e) if e.path().is_empty() => added_songs(txn, e).err(),
                    Event::Map(e) if e.path().len() == 1 => changed_fields(txn, e).err(),
                    _ => Some("a setlist entry holds a nested shared type".to_owned()),
                };
                if let Some(why) = wrong {
                    noted.0.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(why);
                }
            }
        });
        watch
    }

    /// What broke the shape since the last call, if anything.
    pub(crate) fn take(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// The setlist's added entries: exactly one value per added item (a string item with characters
/// outside the BMP yields none; one with several values, several), each a song.
fn added_songs(txn: &TransactionMut, e: &ArrayEvent) -> Result<(), String> {
    let items = e.inserts(txn).len();
    let mut values = 0;
    for change in e.delta(txn) {
        if let Change::Added(added) = change {
            values += added.len();
            for v in added {
                match v {
                    Out::YMap(song) => plain_fields(txn, song)?,
                    other => return Err(format!("a setlist entry that is not a song ({})", kind(other))),
                }
            }
        }
    }
    if values != items {
        return Err(format!("new setlist entries: {items} items that read as {values} values"));
    }
    Ok(())
}

/// A new song's fields, set in the same transaction (no event of its own reports them).
fn plain_fields(txn: &TransactionMut, song: &MapRef) -> Result<(), String> {
    for (key, v) in song.iter(txn) {
        if !matches!(v, Out::Any(_)) {
            return Err(format!("a song's field {key:?} is {}, not a plain value", kind(&v)));
        }
    }
    Ok(())
}

/// An existing song's changed fields.
fn changed_fields(txn: &TransactionMut, e: &MapEvent) -> Result<(), String> {
    for (key, change) in e.keys(txn) {
        if let EntryChange::Inserted(v) | EntryChange::Updated(_, v) = change {
            if !matches!(v, Out::Any(_)) {
                return Err(format!("a song's field {key:?} set to {}, not a plain value", kind(v)));
            }
        }
    }
    Ok(())
}

fn kind(v: &Out) -> &'static str {
    match v {
        Out::Any(_) => "a value",
        Out::YText(_) => "a text",
        Out::YArray(_) => "an array",
        Out::YMap(_) => "a map",
        Out::YXmlElement(_) | Out::YXmlFragment(_) | Out::YXmlText(_) => "an XML type",
        Out::YDoc(_) => "a subdocument",
        _ => "a shared type",
    }
}
