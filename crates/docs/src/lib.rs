//! BandSync's shared documents: the setlist and a chord chart per song, in one yrs (Yjs) document
//! per session, synced with the y-sync protocol in binary WebSocket frames.
//!
//! Sans-IO: [`SessionDoc`] applies and produces y-sync messages as bytes; the server and clients
//! move them. Text offsets are UTF-16 code units, so that positions agree with Yjs in a browser.
//!
//! Layout of the document:
//! - `setlist`: a `Y.Array` of `Y.Map`s `{id, title, key, tempo, meter, notes, midi, flow}`, in play order
//!   (`tempo` in milli-BPM; read by [`Song`]'s `Deserialize`);
//! - `charts`: a `Y.Map` from song id to `Y.Text` (ChordPro-style, `[C]` marks chords).
//!
//! Modules:
//! - this file: [`SessionDoc`], the y-sync exchange and the size limit;
//! - `content`: the setlist and the charts, read, edited and restored from a version;
//! - [`guard`]: a member's frame checked before yrs reads it;
//! - `lib0`: a reader of Yjs's binary encoding that never trusts a length (used by [`guard`]);
//! - `causal`: whether an update depends only on what the documents hold;
//! - `shape`: the setlist's shape, checked as each update lands;
//! - `summary`: [`Summary`], a document in brief for the activity log.

mod causal;
mod content;
pub mod guard;
mod lib0;
mod shape;
mod summary;

/// One entry of the setlist, and the one rule that reads it (the page's too, through the wasm core).
pub use bandsync_core::setlist::Song;
pub use summary::Summary;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use yrs::sync::{Message, SyncMessage};
use yrs::updates::encoder::{Encode, Encoder, EncoderV1};
use yrs::{ArrayRef, Doc, MapRef, OffsetKind, Options, ReadTxn, StateVector, Transact};

/// Why a document operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// The bytes are not a y-sync message or not a valid update.
    #[error("not a valid y-sync message: {0}")]
    Malformed(String),
    /// A viewer tried to change the document.
    #[error("viewers cannot edit the documents")]
    ReadOnly,
    /// An update was refused partway through applying it (yrs checks some things, such as a
    /// parent that is not a shared type, only as it integrates), or left the document unable to
    /// encode itself: the document in memory must be discarded and loaded again from storage.
    #[error("the update was refused partway through ({0}); load the documents again")]
    Poisoned(String),
    /// The change would take the document past its size limit.
    #[error("the documents are full: {size} bytes, and this change adds {added}; the limit is {limit}")]
    TooLarge {
        /// The document's size now, or as much of it as is known: at least this.
        size: usize,
        /// What the refused change would add.
        added: usize,
        /// [`MAX_DOC_BYTES`].
        limit: usize,
    },
    /// A setlist entry is not valid.
    #[error("bad setlist: {0}")]
    Setlist(String),
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
    /// At least the document's encoded size: see [`SessionDoc::check_room`].
    size_bound: AtomicUsize,
    /// Whether `size_bound` is the size as measured, nothing having changed since: a full
    /// document then refuses the next update without encoding itself again.
    size_exact: AtomicBool,
    /// How many times the document was encoded whole to decide on room.
    #[cfg(test)]
    measured: AtomicUsize,
    /// Whether an update broke the setlist's shape (see [`shape`]).
    shape: shape::Watch,
}

/// The most a session's documents may hold, encoded: 8 MiB, hundreds of charts with their
/// history. Past it members' edits are refused with [`DocError::TooLarge`]. Clients accept
/// frames of twice this, so a full document still reaches everyone.
pub const MAX_DOC_BYTES: usize = 8 << 20;

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
        let shape = shape::Watch::new(&setlist);
        SessionDoc {
            doc,
            setlist,
            charts,
            size_bound: AtomicUsize::new(0),
            size_exact: AtomicBool::new(false),
            #[cfg(test)]
            measured: AtomicUsize::new(0),
            shape,
        }
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
        self.apply(guard::decode_update(bytes)?, bytes.len())
    }

    /// Applies a decoded update of `len` bytes, and checks the document still encodes and its
    /// setlist still holds only songs.
    fn apply(&self, u: yrs::Update, len: usize) -> Result<(), DocError> {
        // yrs checks some things only with its own arithmetic as it integrates: a crafted update
        // whose struct lands inside a skip it overruns made it subtract with overflow (found by
        // the `ysync` fuzz target's ten-minute run, 2026-12-04). Refused partway: poisoned.
        let applied =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.doc.transact_mut().apply_update(u)));
        // Taken whatever yrs answered: a note left behind would refuse the next update.
        if let Some(why) = self.shape.take() {
            return Err(DocError::Poisoned(why));
        }
        applied
            .map_err(|_| DocError::Poisoned("it broke yrs's arithmetic as it was integrated".into()))?
            .map_err(|e| DocError::Poisoned(e.to_string()))?;
        self.check_not_poisoned()?;
        self.grew(len);
        Ok(())
    }

    /// After an update left structs or deletions waiting for missing dependencies: whether the
    /// document still encodes (a crafted pending update made yrs panic on every later encode).
    ///
    /// # Errors
    /// [`DocError::Poisoned`]: discard this document and load it again.
    fn check_not_poisoned(&self) -> Result<(), DocError> {
        let pending = {
            let txn = self.doc.transact();
            txn.store().pending_update().is_some() || txn.store().pending_ds().is_some()
        };
        if !pending {
            return Ok(());
        }
        let encodes = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.encode_state()));
        encodes.map(drop).map_err(|_| DocError::Poisoned("it left the document unable to encode".into()))
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
        let mut refs = guard::check_frame(bytes)?.into_iter();
        let mut before_change = Some(before_change);
        let mut reply = Reply::default();
        let messages = guard::decode_messages(bytes)?;
        // Check the whole frame before applying any of it: a frame is taken whole or not at all.
        let mut decoded = std::collections::VecDeque::new();
        let mut added = 0;
        // What the documents hold, as the frame's updates extend it (read only if it has one).
        let mut known: Option<yrs::StateVector> = None;
        // Awareness (presence: which chart, a cursor) is relayed from viewers too: it passed the
        // same checks as everyone's (guard.rs) and changes no document.
        for m in &messages {
            if let Message::Sync(SyncMessage::SyncStep2(u) | SyncMessage::Update(u)) = m {
                if !can_edit && !is_empty_update(u) {
                    return Err(DocError::ReadOnly);
                }
                let update = guard::decode_walked(u)?;
                let known = known.get_or_insert_with(|| self.state_vector());
                causal::check(&update, &refs.next().unwrap_or_default(), known)?;
                for (client, clock) in update.state_vector().iter() {
                    known.set_max(*client, *clock);
                }
                decoded.push_back(update);
                added += u.len();
            }
        }
        self.check_room(added)?;
        for m in messages {
            match m {
                Message::Sync(SyncMessage::SyncStep1(sv)) => {
                    let update = self.doc.transact().encode_state_as_update_v1(&sv);
                    reply.to_sender.push(encode(&Message::Sync(SyncMessage::SyncStep2(update))));
                    // And ask for what the member has that we lack (its offline edits).
                    reply.to_sender.push(self.sync_step1());
                }
                Message::Sync(SyncMessage::SyncStep2(u) | SyncMessage::Update(u)) => {
                    let update =
                        decoded.pop_front().ok_or_else(|| DocError::Malformed("an update went missing".into()))?;
                    // An empty step 2 (nothing to add) is harmless even from a viewer.
                    if is_empty_update(&u) {
                        continue;
                    }
                    if let Some(f) = before_change.take() {
                        f();
                    }
                    self.apply(update, u.len())?;
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

    /// Whether `added` more bytes of updates fit under [`MAX_DOC_BYTES`], deciding from bounds on
    /// the document's encoded size where they suffice, because measuring it means encoding it
    /// whole (an 8 MiB document takes about 19 ms of the session's task; yrs copies each string):
    /// - above: the size last measured (or 0) plus every update since, each at least what it
    ///   adds. While it leaves room, the update fits.
    /// - below: the charts' visible text ([`SessionDoc::chart_units`]). While that leaves no room,
    ///   the update is refused.
    ///
    /// Between the two the document is measured, once until it changes again. (Measured for every
    /// update it refused, a full document let one editor keep the session's task encoding 8 MiB at
    /// the rate limit; and once on its way to full, it was that one stall that took an honest
    /// member's round trip past twice its own, `benches/hostile.rs`.)
    fn check_room(&self, added: usize) -> Result<(), DocError> {
        let bound = self.size_bound.load(Ordering::Relaxed);
        if added == 0 || bound + added <= MAX_DOC_BYTES {
            return Ok(());
        }
        let size = if self.size_exact.load(Ordering::Relaxed) {
            bound
        } else {
            let floor = self.chart_units();
            if floor + added > MAX_DOC_BYTES {
                return Err(DocError::TooLarge { size: floor, added, limit: MAX_DOC_BYTES });
            }
            let size = self.encode_state().len();
            self.size_bound.store(size, Ordering::Relaxed);
            self.size_exact.store(true, Ordering::Relaxed);
            #[cfg(test)]
            self.measured.fetch_add(1, Ordering::Relaxed);
            size
        };
        if size + added > MAX_DOC_BYTES {
            return Err(DocError::TooLarge { size, added, limit: MAX_DOC_BYTES });
        }
        Ok(())
    }

    /// Applies the server's messages, client side, and returns the replies to send back.
    ///
    /// # Errors
    /// [`DocError::Malformed`].
    pub fn handle_from_server(&self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, DocError> {
        guard::check_frame(bytes)?;
        let mut out = Vec::new();
        for m in guard::decode_messages(bytes)? {
            match m {
                Message::Sync(SyncMessage::SyncStep1(sv)) => {
                    let update = self.doc.transact().encode_state_as_update_v1(&sv);
                    out.push(encode(&Message::Sync(SyncMessage::SyncStep2(update))));
                }
                // Walked whole by check_frame above.
                Message::Sync(SyncMessage::SyncStep2(u) | SyncMessage::Update(u)) => {
                    self.apply(guard::decode_walked(&u)?, u.len())?;
                }
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
        let update = txn.encode_update_v1();
        drop(txn);
        self.grew(update.len());
        update
    }

    /// The document changed by an update of `len` bytes: the bound grows by it, and is no longer
    /// the measured size.
    fn grew(&self, len: usize) {
        self.size_bound.fetch_add(len, Ordering::Relaxed);
        self.size_exact.store(false, Ordering::Relaxed);
    }
}

/// A raw v1 update wrapped as a y-sync `update` message, ready for a binary frame.
#[must_use]
pub fn update_message(update: Vec<u8>) -> Vec<u8> {
    encode(&Message::Sync(SyncMessage::Update(update)))
}

fn is_empty_update(u: &[u8]) -> bool {
    // A v1 update with no structs and an empty delete set.
    u == [0, 0]
}

#[cfg(test)]
mod tests;
