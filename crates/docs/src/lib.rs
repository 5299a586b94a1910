//! BandSync's shared documents: the setlist and a chord chart per song, in one yrs (Yjs) document
//! per session, synced with the y-sync protocol in binary WebSocket frames.
//!
//! Sans-IO: [`SessionDoc`] applies and produces y-sync messages as bytes; the server and clients
//! move them. Text offsets are UTF-16 code units, so that positions agree with Yjs in a browser.
//!
//! Layout of the document:
//! - `setlist`: a `Y.Array` of `Y.Map`s `{id, title, key, tempo, meter, notes}`, in play order;
//! - `charts`: a `Y.Map` from song id to `Y.Text` (ChordPro-style, `[C]` marks chords).

use serde::{Deserialize, Serialize};
use yrs::sync::{Message, MessageReader, SyncMessage};
use yrs::updates::decoder::{Decode, DecoderV1};
use yrs::updates::encoder::{Encode, Encoder, EncoderV1};
use yrs::{
    Any, Array, ArrayRef, Doc, GetString, Map, MapPrelim, MapRef, OffsetKind, Options, Out, ReadTxn, StateVector, Text,
    TextPrelim, TextRef, Transact, Update,
};

/// Why a document operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// The bytes are not a y-sync message or not a valid update.
    #[error("not a valid y-sync message: {0}")]
    Malformed(String),
    /// A viewer tried to change the document.
    #[error("viewers cannot edit the documents")]
    ReadOnly,
    /// A setlist entry is not valid.
    #[error("bad setlist: {0}")]
    Setlist(String),
}

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
}

/// What to do with the bytes a member sent.
#[derive(Debug, Default)]
pub struct Reply {
    /// Messages for the sender.
    pub to_sender: Vec<Vec<u8>>,
    /// Messages for every other member (updates and awareness changes), in order.
    pub broadcast: Vec<Vec<u8>>,
    /// Whether the document changed (for persistence and the activity log).
    pub changed: bool,
    /// The changes as raw v1 updates, for storage.
    pub updates: Vec<Vec<u8>>,
}

/// A session's documents.
pub struct SessionDoc {
    doc: Doc,
    setlist: ArrayRef,
    charts: MapRef,
}

impl std::fmt::Debug for SessionDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionDoc").finish_non_exhaustive()
    }
}

impl Default for SessionDoc {
    fn default() -> Self {
        Self::new()
    }
}

fn encode(m: &Message) -> Vec<u8> {
    let mut e = EncoderV1::new();
    m.encode(&mut e);
    e.to_vec()
}

impl SessionDoc {
    /// An empty document with UTF-16 offsets (as Yjs uses).
    #[must_use]
    pub fn new() -> Self {
        let doc = Doc::with_options(Options { offset_kind: OffsetKind::Utf16, ..Options::default() });
        let setlist = doc.get_or_insert_array("setlist");
        let charts = doc.get_or_insert_map("charts");
        SessionDoc { doc, setlist, charts }
    }

    /// The whole document as one update, for storage.
    #[must_use]
    pub fn encode_state(&self) -> Vec<u8> {
        self.doc.transact().encode_state_as_update_v1(&StateVector::default())
    }

    /// The state vector, for a sync step 1.
    #[must_use]
    pub fn state_vector(&self) -> StateVector {
        self.doc.transact().state_vector()
    }

    /// Applies a v1 update (from storage or a peer).
    ///
    /// # Errors
    /// [`DocError::Malformed`] for bytes that are not an update.
    pub fn apply_update(&self, bytes: &[u8]) -> Result<(), DocError> {
        let u = Update::decode_v1(bytes).map_err(|e| DocError::Malformed(e.to_string()))?;
        self.doc.transact_mut().apply_update(u).map_err(|e| DocError::Malformed(e.to_string()))
    }

    /// The y-sync message that opens a sync: our state vector.
    #[must_use]
    pub fn sync_step1(&self) -> Vec<u8> {
        encode(&Message::Sync(SyncMessage::SyncStep1(self.state_vector())))
    }

    /// Handles a binary frame from a member, server side. `can_edit` is false for viewers: their
    /// updates are refused and nothing changes.
    ///
    /// # Errors
    /// [`DocError::Malformed`] or [`DocError::ReadOnly`]; the document is unchanged then.
    pub fn handle(&self, bytes: &[u8], can_edit: bool) -> Result<Reply, DocError> {
        self.handle_checked(bytes, can_edit, || {})
    }

    /// [`SessionDoc::handle`], calling `before_change` once the frame has passed its checks and
    /// just before it changes the document (the server summarises bursts of edits from there).
    ///
    /// # Errors
    /// [`DocError::Malformed`] or [`DocError::ReadOnly`]; the document is unchanged then.
    pub fn handle_checked(
        &self,
        bytes: &[u8],
        can_edit: bool,
        before_change: impl FnOnce(),
    ) -> Result<Reply, DocError> {
        let mut before_change = Some(before_change);
        let mut reply = Reply::default();
        let mut decoder = DecoderV1::from(bytes);
        let messages: Vec<Message> = MessageReader::new(&mut decoder)
            .collect::<Result<_, _>>()
            .map_err(|e| DocError::Malformed(e.to_string()))?;
        if messages.is_empty() {
            return Err(DocError::Malformed("an empty frame".into()));
        }
        // Check the whole frame before applying any of it: a frame is taken whole or not at all.
        for m in &messages {
            if let Message::Sync(SyncMessage::SyncStep2(u) | SyncMessage::Update(u)) = m {
                if !can_edit && !is_empty_update(u) {
                    return Err(DocError::ReadOnly);
                }
                Update::decode_v1(u).map_err(|e| DocError::Malformed(e.to_string()))?;
            }
        }
        for m in messages {
            match m {
                Message::Sync(SyncMessage::SyncStep1(sv)) => {
                    let update = self.doc.transact().encode_state_as_update_v1(&sv);
                    reply.to_sender.push(encode(&Message::Sync(SyncMessage::SyncStep2(update))));
                    // And ask for what the member has that we lack (its offline edits).
                    reply.to_sender.push(self.sync_step1());
                }
                Message::Sync(SyncMessage::SyncStep2(u) | SyncMessage::Update(u)) => {
                    if !can_edit {
                        // An empty step 2 (nothing to add) is harmless even from a viewer.
                        if is_empty_update(&u) {
                            continue;
                        }
                        return Err(DocError::ReadOnly);
                    }
                    if !is_empty_update(&u) {
                        if let Some(f) = before_change.take() {
                            f();
                        }
                    }
                    self.apply_update(&u)?;
                    reply.changed = true;
                    reply.broadcast.push(encode(&Message::Sync(SyncMessage::Update(u.clone()))));
                    reply.updates.push(u);
                }
                Message::Awareness(a) => reply.broadcast.push(encode(&Message::Awareness(a))),
                Message::AwarenessQuery | Message::Auth(_) | Message::Custom(..) => {}
            }
        }
        Ok(reply)
    }

    /// Applies the server's messages, client side, and returns the replies to send back.
    ///
    /// # Errors
    /// [`DocError::Malformed`].
    pub fn handle_from_server(&self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, DocError> {
        let mut decoder = DecoderV1::from(bytes);
        let mut out = Vec::new();
        for m in MessageReader::new(&mut decoder) {
            match m.map_err(|e| DocError::Malformed(e.to_string()))? {
                Message::Sync(SyncMessage::SyncStep1(sv)) => {
                    let update = self.doc.transact().encode_state_as_update_v1(&sv);
                    out.push(encode(&Message::Sync(SyncMessage::SyncStep2(update))));
                }
                Message::Sync(SyncMessage::SyncStep2(u) | SyncMessage::Update(u)) => self.apply_update(&u)?,
                _ => {}
            }
        }
        Ok(out)
    }

    /// Runs `edit` in one transaction and returns the update it made, as a y-sync message.
    fn edit(&self, edit: impl FnOnce(&mut yrs::TransactionMut)) -> Vec<u8> {
        update_message(self.edit_raw(edit))
    }

    /// Runs `edit` in one transaction and returns the raw v1 update it made: that transaction's
    /// items and deletions only (a state-vector diff would carry the document's whole delete set).
    fn edit_raw(&self, edit: impl FnOnce(&mut yrs::TransactionMut)) -> Vec<u8> {
        let mut txn = self.doc.transact_mut();
        edit(&mut txn);
        txn.encode_update_v1()
    }

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

    /// What the document holds, for summarising a burst of edits: the setlist's titles by id and
    /// each chart's length in UTF-16 units.
    #[must_use]
    pub fn summary(&self) -> Summary {
        let titles = self.setlist().into_iter().map(|s| (s.id, s.title)).collect();
        let txn = self.doc.transact();
        let mut chart_lens: Vec<(String, u32)> = self
            .charts
            .iter(&txn)
            .filter_map(|(k, v)| match v {
                Out::YText(t) => Some((k.to_owned(), t.len(&txn))),
                _ => None,
            })
            .collect();
        chart_lens.sort();
        Summary { titles, chart_lens }
    }

    /// The setlist, in order.
    #[must_use]
    pub fn setlist(&self) -> Vec<Song> {
        let txn = self.doc.transact();
        self.setlist
            .iter(&txn)
            .filter_map(|v| match v {
                Out::YMap(m) => {
                    let s = |k: &str| m.get(&txn, k).map(|o| o.to_string(&txn)).unwrap_or_default();
                    let tempo = match m.get(&txn, "tempo") {
                        Some(Out::Any(Any::Number(yrs::any::Number::Float(f)))) => f,
                        Some(Out::Any(Any::Number(yrs::any::Number::Int(i)))) => i as f64,
                        _ => 0.0,
                    };
                    Some(Song {
                        id: s("id"),
                        title: s("title"),
                        key: s("key"),
                        tempo,
                        meter: s("meter"),
                        notes: s("notes"),
                    })
                }
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

    fn chart_ref(&self, txn: &impl ReadTxn, song: &str) -> Option<TextRef> {
        match self.charts.get(txn, song) {
            Some(Out::YText(t)) => Some(t),
            _ => None,
        }
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
        ("tempo".to_owned(), yrs::In::from(s.tempo)),
        ("meter".to_owned(), yrs::In::from(s.meter.clone())),
        ("notes".to_owned(), yrs::In::from(s.notes.clone())),
    ])
}

/// A raw v1 update wrapped as a y-sync `update` message, ready for a binary frame.
#[must_use]
pub fn update_message(update: Vec<u8>) -> Vec<u8> {
    encode(&Message::Sync(SyncMessage::Update(update)))
}

/// What a document holds, in brief (see [`SessionDoc::summary`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Song id to title, in setlist order.
    pub titles: Vec<(String, String)>,
    /// Song id to chart length (UTF-16 units), sorted by id.
    pub chart_lens: Vec<(String, u32)>,
}

impl Summary {
    /// A one-line description of what changed from `before` to `self`, e.g.
    /// `chart "Wonderwall" +42 chars, setlist +1 song`; empty when nothing visible changed.
    #[must_use]
    pub fn describe_change(&self, before: &Summary) -> String {
        let mut parts = Vec::new();
        let title = |id: &str| {
            self.titles.iter().chain(&before.titles).find(|(i, _)| i == id).map_or(id.to_owned(), |(_, t)| t.clone())
        };
        for (id, len) in &self.chart_lens {
            let old = before.chart_lens.iter().find(|(i, _)| i == id).map_or(0, |(_, l)| *l);
            let d = i64::from(*len) - i64::from(old);
            if d != 0 {
                parts.push(format!("chart \"{}\" {d:+} chars", title(id)));
            }
        }
        let ds = self.titles.len() as i64 - before.titles.len() as i64;
        if ds != 0 {
            parts.push(format!("setlist {ds:+} song{}", if ds.abs() == 1 { "" } else { "s" }));
        } else if self.titles != before.titles {
            parts.push("setlist edited".to_owned());
        }
        parts.join(", ")
    }
}

/// Replaces `t`'s content with `new` by deleting and inserting only the differing middle.
/// Offsets are UTF-16 units; the common prefix and suffix never split a surrogate pair.
fn replace_text(txn: &mut yrs::TransactionMut, t: &TextRef, new: &str) {
    let old: Vec<u16> = t.get_string(txn).encode_utf16().collect();
    let new16: Vec<u16> = new.encode_utf16().collect();
    let mut pre = old.iter().zip(&new16).take_while(|(a, b)| a == b).count();
    while pre > 0 && (0xDC00..0xE000).contains(&new16.get(pre).copied().unwrap_or(0)) {
        pre -= 1;
    }
    let max_suf = old.len().min(new16.len()) - pre;
    let mut suf = old.iter().rev().zip(new16.iter().rev()).take(max_suf).take_while(|(a, b)| a == b).count();
    while suf > 0 && (0xDC00..0xE000).contains(&new16[new16.len() - suf]) && new16.len() - suf > pre {
        // The suffix starts on a low surrogate: include its high surrogate in the middle.
        suf -= 1;
    }
    let del = old.len() - pre - suf;
    if del > 0 {
        t.remove_range(txn, pre as u32, del as u32);
    }
    let ins = &new16[pre..new16.len() - suf];
    if !ins.is_empty() {
        t.insert(txn, pre as u32, &String::from_utf16_lossy(ins));
    }
}

fn is_empty_update(u: &[u8]) -> bool {
    // A v1 update with no structs and an empty delete set.
    u == [0, 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    /// UTF-16 offsets between characters (where an editor can put the cursor), 0 included.
    fn char_boundaries(text: &str) -> Vec<u32> {
        std::iter::once(0)
            .chain(text.chars().scan(0u32, |acc, c| {
                *acc += c.len_utf16() as u32;
                Some(*acc)
            }))
            .collect()
    }

    /// N members edit one chart concurrently through a server, as BandSync runs: each link is
    /// a FIFO queue (a WebSocket), delivered at random moments, so that messages from different
    /// members interleave in random order; links go down at random (partitions) while their
    /// members keep editing offline, and come back with a sync-step exchange. At the end every
    /// replica has the same text and no typed character is lost or doubled.
    // Indexes several per-member vectors at once; an iterator would hide that.
    #[allow(clippy::needless_range_loop)]
    fn converge(seed: u64, members: usize, steps: usize, deletes: bool) {
        use std::collections::VecDeque;
        let mut rng = Rng(seed | 1);
        let server = SessionDoc::new();
        let docs: Vec<SessionDoc> = (0..members).map(|_| SessionDoc::new()).collect();
        let mut up: Vec<VecDeque<Vec<u8>>> = vec![VecDeque::new(); members];
        let mut down: Vec<VecDeque<Vec<u8>>> = vec![VecDeque::new(); members];
        let mut online = vec![true; members];
        // The song's chart is created once, by whoever adds the song (song ids are random, so
        // two members never create the same one). Two replicas creating the same map key at once
        // would each fill their own Y.Text, and only one survives: Yjs's rule for map writes.
        server.handle(&docs[0].set_chart("s1", ""), true).unwrap();
        for d in &docs {
            for m in server.handle(&d.sync_step1(), true).unwrap().to_sender {
                d.handle_from_server(&m).unwrap();
            }
        }
        let mut tokens = Vec::new();
        let reconnect = |i: usize, up: &mut Vec<VecDeque<Vec<u8>>>, down: &mut Vec<VecDeque<Vec<u8>>>| {
            // A fresh connection: what was in flight is gone; the sync steps repair it.
            up[i].clear();
            down[i].clear();
            for m in server.handle(&docs[i].sync_step1(), true).unwrap().to_sender {
                for back in docs[i].handle_from_server(&m).unwrap() {
                    let r = server.handle(&back, true).unwrap();
                    for b in r.broadcast {
                        for (k, q) in down.iter_mut().enumerate() {
                            if k != i {
                                q.push_back(b.clone());
                            }
                        }
                    }
                }
            }
        };
        for step in 0..steps {
            let r = rng.below(members as u64) as usize;
            let text = docs[r].chart("s1").unwrap_or_default();
            // Editors place the cursor between characters, never inside a surrogate pair.
            let boundaries = char_boundaries(&text);
            let update = if deletes && boundaries.len() > 4 && rng.below(3) == 0 {
                let k = rng.below(boundaries.len() as u64 - 1) as usize;
                let (from, to) = (boundaries[k], boundaries[k + 1]);
                docs[r].edit(|txn| {
                    if let Some(t) = docs[r].chart_ref(txn, "s1") {
                        t.remove_range(txn, from, to - from);
                    }
                })
            } else {
                let tok = format!("<{r}.{step}é🎸>");
                tokens.push(tok.clone());
                let at = boundaries[rng.below(boundaries.len() as u64) as usize];
                docs[r].insert_chart("s1", at, &tok)
            };
            if online[r] {
                up[r].push_back(update);
            }
            // Links go down and come back.
            let flip = rng.below(members as u64 * 8) as usize;
            if flip < members {
                if online[flip] {
                    online[flip] = false;
                } else {
                    online[flip] = true;
                    reconnect(flip, &mut up, &mut down);
                }
            }
            // Deliver some messages on the live links, in FIFO order per link.
            for i in 0..members {
                if !online[i] {
                    continue;
                }
                while rng.below(2) == 0 {
                    let Some(m) = up[i].pop_front() else { break };
                    let reply = server.handle(&m, true).unwrap();
                    for b in reply.broadcast {
                        for (k, q) in down.iter_mut().enumerate() {
                            if k != i {
                                q.push_back(b.clone());
                            }
                        }
                    }
                }
                while rng.below(2) == 0 {
                    let Some(m) = down[i].pop_front() else { break };
                    docs[i].handle_from_server(&m).unwrap();
                }
            }
        }
        // Everyone comes back online and the links drain.
        for i in 0..members {
            if !online[i] {
                online[i] = true;
                reconnect(i, &mut up, &mut down);
            }
        }
        loop {
            let mut moved = false;
            for i in 0..members {
                while let Some(m) = up[i].pop_front() {
                    moved = true;
                    let reply = server.handle(&m, true).unwrap();
                    for b in reply.broadcast {
                        for (k, q) in down.iter_mut().enumerate() {
                            if k != i {
                                q.push_back(b.clone());
                            }
                        }
                    }
                }
                while let Some(m) = down[i].pop_front() {
                    moved = true;
                    docs[i].handle_from_server(&m).unwrap();
                }
            }
            if !moved {
                break;
            }
        }
        let mut texts: Vec<String> = docs.iter().map(|d| d.chart("s1").unwrap_or_default()).collect();
        texts.push(server.chart("s1").unwrap_or_default());
        assert!(texts.windows(2).all(|w| w[0] == w[1]), "seed {seed}: replicas diverged: {texts:#?}");
        if !deletes {
            // Insertions land inside one another, so count characters: every character every
            // member typed is in the final text, exactly once.
            let mut typed: Vec<char> = tokens.concat().chars().collect();
            let mut have: Vec<char> = texts[0].chars().collect();
            typed.sort_unstable();
            have.sort_unstable();
            assert_eq!(typed, have, "seed {seed}: an edit was lost or doubled");
        }
    }

    #[test]
    fn replicas_converge_under_concurrency_partitions_and_reordering() {
        for seed in 1..=30 {
            converge(seed, 2 + (seed % 4) as usize, 120, false);
            converge(seed * 7919, 3, 150, true);
        }
    }

    #[test]
    fn a_late_joiner_catches_up_with_sync_steps_and_offline_edits_merge() {
        let server = SessionDoc::new();
        let a = SessionDoc::new();
        server.handle(&a.set_chart("s1", "[C]Hello [G]world"), true).unwrap();
        // An offline member edits, then syncs: its edit reaches the server and the server's
        // state reaches it.
        let b = SessionDoc::new();
        let _offline = b.set_chart("s2", "[Am]offline");
        let reply = server.handle(&b.sync_step1(), true).unwrap();
        for m in reply.to_sender {
            for back in b.handle_from_server(&m).unwrap() {
                server.handle(&back, true).unwrap();
            }
        }
        assert_eq!(b.chart("s1").as_deref(), Some("[C]Hello [G]world"));
        assert_eq!(server.chart("s2").as_deref(), Some("[Am]offline"));
    }

    #[test]
    fn viewers_cannot_edit_and_nothing_changes() {
        let server = SessionDoc::new();
        let viewer = SessionDoc::new();
        let u = viewer.set_chart("s1", "vandalism");
        assert!(matches!(server.handle(&u, false), Err(DocError::ReadOnly)));
        assert_eq!(server.chart("s1"), None);
        // A viewer may still sync (read).
        assert!(server.handle(&viewer.sync_step1(), false).is_ok());
        assert!(matches!(server.handle(b"\xff\x00garbage", true), Err(DocError::Malformed(_))));
    }

    #[test]
    fn a_frame_is_taken_whole_or_not_at_all_and_every_change_is_relayed() {
        let server = SessionDoc::new();
        let member = SessionDoc::new();
        let first = member.set_chart("s1", "one");
        let second = member.insert_chart("s1", 3, " two");
        let frame: Vec<u8> = [first.clone(), second.clone()].concat();
        // From a viewer, the whole frame is refused, not its first half applied.
        assert!(matches!(server.handle(&frame, false), Err(DocError::ReadOnly)));
        assert_eq!(server.chart("s1"), None);
        // From an editor, both updates apply, and both are relayed.
        let reply = server.handle(&frame, true).unwrap();
        assert_eq!(server.chart("s1").as_deref(), Some("one two"));
        assert_eq!(reply.broadcast.len(), 2);
        assert_eq!(reply.updates.len(), 2);
    }

    #[test]
    fn setlist_round_trips_and_is_validated() {
        let d = SessionDoc::new();
        let songs = vec![
            Song {
                id: "a".into(),
                title: "Intro".into(),
                key: "Am".into(),
                tempo: 92.0,
                meter: "4/4".into(),
                notes: String::new(),
            },
            Song {
                id: "b".into(),
                title: "Seven".into(),
                key: "D".into(),
                tempo: 140.5,
                meter: "7/8".into(),
                notes: "2+2+3".into(),
            },
        ];
        let u = d.set_setlist(&songs).unwrap();
        assert_eq!(d.setlist(), songs);
        let other = SessionDoc::new();
        other.handle(&u, true).unwrap();
        assert_eq!(other.setlist(), songs);
        let dup = vec![songs[0].clone(), songs[0].clone()];
        assert!(d.set_setlist(&dup).is_err());
    }

    #[test]
    fn offsets_are_utf16_like_yjs() {
        let d = SessionDoc::new();
        d.set_chart("s", "🎸x");
        // The guitar is two UTF-16 units: offset 2 is between it and "x".
        d.insert_chart("s", 2, "!");
        assert_eq!(d.chart("s").as_deref(), Some("🎸!x"));
    }

    #[test]
    fn set_chart_changes_only_the_differing_middle_and_respects_surrogates() {
        let a = SessionDoc::new();
        let b = SessionDoc::new();
        b.handle_from_server(&a.set_chart("s", "[G]Hello 🎸 world")).unwrap();
        // b types at the end while a replaces a middle word: both survive.
        let from_b = b.insert_chart("s", 17, "!"); // "[G]Hello " is 9 UTF-16 units, the guitar 2, " world" 6
        let from_a = a.set_chart("s", "[G]Hello 🎻 world");
        a.handle_from_server(&from_b).unwrap();
        b.handle_from_server(&from_a).unwrap();
        assert_eq!(a.chart("s").unwrap(), "[G]Hello 🎻 world!");
        assert_eq!(b.chart("s").unwrap(), a.chart("s").unwrap());
        for (old, new) in [("😀😁", "😀😂"), ("x😀", "😀"), ("😀", ""), ("", "ab😀"), ("a😀b", "a😀😀b")]
        {
            let d = SessionDoc::new();
            d.set_chart("t", old);
            d.set_chart("t", new);
            assert_eq!(d.chart("t").unwrap(), new, "{old:?} -> {new:?}");
        }
    }

    #[test]
    fn restoring_a_version_is_one_edit_that_every_replica_merges() {
        let live = SessionDoc::new();
        let song = |id: &str, t: &str| Song {
            id: id.into(),
            title: t.into(),
            key: String::new(),
            tempo: 100.0,
            meter: "4/4".into(),
            notes: String::new(),
        };
        live.set_setlist(&[song("a", "Intro"), song("b", "Ballad")]).unwrap();
        live.set_chart("a", "[C]one");
        let saved = SessionDoc::new();
        saved.apply_update(&live.encode_state()).unwrap();
        let follower = SessionDoc::new();
        follower.apply_update(&live.encode_state()).unwrap();
        live.set_setlist(&[song("b", "Ballad")]).unwrap();
        live.set_chart("a", "[C]one two");
        live.set_chart("c", "new chart");
        let before = live.summary();
        let update = live.restore_from(&saved).expect("something differs");
        assert_eq!(live.setlist(), saved.setlist());
        assert_eq!((live.chart("a").unwrap().as_str(), live.chart("c").unwrap().as_str()), ("[C]one", ""));
        assert_eq!(
            live.summary().describe_change(&before),
            "chart \"Intro\" -4 chars, chart \"c\" -9 chars, setlist +1 song"
        );
        // A replica that never saw the later edits merges the restore to the same state.
        follower.apply_update(&live.encode_state()).unwrap();
        assert_eq!(follower.setlist(), live.setlist());
        assert_eq!(follower.chart("a"), live.chart("a"));
        assert!(live.restore_from(&saved).is_none(), "restoring twice changes nothing");
        drop(update);
    }

    /// Replicas exchange updates directly, each delivered to each other replica at a random later
    /// moment, in any order (not FIFO, not causal) and sometimes twice: yrs holds an update whose
    /// dependencies have not arrived and applies it once they do. Every replica ends identical to
    /// a reference that applied every update once, in the order they were made; without deletes,
    /// every typed token is there exactly once.
    fn converge_reordered(seed: u64, members: usize, steps: usize, deletes: bool) {
        let mut rng = Rng(seed | 1);
        let docs: Vec<SessionDoc> = (0..members).map(|_| SessionDoc::new()).collect();
        let base = docs[0].set_chart("s1", "");
        for d in &docs[1..] {
            d.handle_from_server(&base).unwrap();
        }
        // Pending deliveries: (replica, frame).
        let mut inflight: Vec<(usize, Vec<u8>)> = Vec::new();
        let mut inserted = Vec::new();
        let reference = SessionDoc::new();
        reference.handle_from_server(&base).unwrap();
        for step in 0..steps {
            let r = rng.below(members as u64) as usize;
            let text = docs[r].chart("s1").unwrap_or_default();
            let boundaries = char_boundaries(&text);
            let frame = if deletes && boundaries.len() > 4 && rng.below(3) == 0 {
                let k = rng.below(boundaries.len() as u64 - 2) as usize;
                let (from, to) = (boundaries[k], boundaries[k + 2]);
                docs[r].edit(|txn| {
                    if let Some(t) = docs[r].chart_ref(txn, "s1") {
                        t.remove_range(txn, from, to - from);
                    }
                })
            } else {
                let tok = format!("<{r}.{step}é🎸>");
                inserted.push(tok.clone());
                docs[r].insert_chart("s1", boundaries[rng.below(boundaries.len() as u64) as usize], &tok)
            };
            reference.handle_from_server(&frame).unwrap();
            for k in (0..members).filter(|&k| k != r) {
                inflight.push((k, frame.clone()));
                if rng.below(10) == 0 {
                    inflight.push((k, frame.clone())); // a duplicate
                }
            }
            // Deliver a random selection, in random order.
            let n = rng.below(inflight.len() as u64 + 1) as usize;
            for _ in 0..n {
                let i = rng.below(inflight.len() as u64) as usize;
                let (k, f) = inflight.swap_remove(i);
                docs[k].handle_from_server(&f).unwrap();
            }
        }
        while !inflight.is_empty() {
            let i = rng.below(inflight.len() as u64) as usize;
            let (k, f) = inflight.swap_remove(i);
            docs[k].handle_from_server(&f).unwrap();
        }
        let expected = reference.chart("s1").unwrap();
        for (i, d) in docs.iter().enumerate() {
            assert_eq!(d.chart("s1").unwrap(), expected, "seed {seed}: replica {i} differs from the reference");
        }
        if !deletes {
            // Later tokens land inside earlier ones, so compare characters, not tokens.
            let mut want: Vec<char> = inserted.iter().flat_map(|t| t.chars()).collect();
            let mut got: Vec<char> = expected.chars().collect();
            want.sort_unstable();
            got.sort_unstable();
            assert_eq!(got, want, "seed {seed}: a typed character was lost or doubled");
        }
    }

    #[test]
    fn replicas_converge_under_arbitrary_reordering_and_duplication() {
        for seed in 1..=40 {
            converge_reordered(seed, 2 + (seed % 4) as usize, 200, seed % 2 == 0);
        }
    }
}
