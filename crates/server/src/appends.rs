//! What a session stores as it goes (its document edits, chat messages and activity entries,
//! and the state a restarted host or another node carries on from) on its way to the disk:
//! written off the session's task, what arrives during one write together in the next (group
//! commit), and every frame that tells of it held until it is durable.
//!
//! An edit is applied to the documents in memory when it arrives, so that the next one applies on
//! top of it. Nobody hears of it until it is stored: not its sender (whose next sync step is its
//! receipt), not the members it is relayed to, not a member that syncs meanwhile (whose answer is
//! read from memory, which holds it). So each frame that carries the documents waits here behind
//! the appends made before it, and goes out, in order, once they are durable. The same holds for
//! a chat message, an activity entry, and the news of a step that changed what the session
//! carries (a join, a tempo): each waits for its own append, and the session's news keeps its
//! order. The session's task never waits for the disk on their account: a probe of the API, a
//! clock ping (answered by the connection) and the session's own work go on meanwhile.
//!
//! A write that fails loses its edits and every one queued after it (each was applied on top of
//! it): the documents are read back from the store (if it cannot be read either, it is given
//! the documents in memory whole at the next input), the senders are told and closed (they
//! resume, re-sync and send the edit again), and so is every member a held document frame was
//! for (its sync may have been one of them). Activity entries lost with a write are only logged:
//! their frames are dropped, and nobody is closed for them. Chat changes lost are put back as
//! they were and their senders told (`internal`); their frames are dropped. An answer read from
//! memory meanwhile (a page of the chat, the versions) may show what was lost: it is dropped, and
//! its question answered again. A carried state lost is logged and written again at the next
//! input, and what was held behind it goes out all the same (as when it was written on the
//! session's task). A new secret or PIN lost is put back, and its credentials, held while it was
//! written, are dropped: the leader is told, and given the ones in force (credentials whose
//! secret was stored go, whatever became of what was appended after it). Nothing a member was
//! told of is missing from the disk, unless the disk refused it and said so.
//!
//! - `rows`: what is appended, and what a failed write lost of it.

use crate::outbox::Outgoing;
use crate::store::{Appended, Store, StoreError};
use bandsync_core::{ClientMsg, ConnId};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

mod rows;
pub(crate) use rows::{Append, ChatChange, Lost, NewVersion, SecretsChange, SecretsUndo};

/// What is held for one connection.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Load {
    pub frames: usize,
    pub bytes: usize,
}

/// What a held frame is, which says what becomes of it if the write it waits for fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// It carries the documents: dropped, and whoever it was for is closed, if edits were lost
    /// (else sent).
    Doc,
    /// A chat message, an activity entry or a versions list, stored by the write: dropped.
    Entry,
    /// Credentials with a new secret or PIN: they wait for its append only (not for what was
    /// appended after it in the same step), and are dropped if that is lost.
    Credentials,
    /// The session's news, held behind its carried state: sent all the same.
    State,
    /// An answer read from memory (a page of the chat, the versions), which may show what the
    /// write stores: dropped if that is lost, and the question answered again once it is undone.
    Answer,
}

/// A frame waiting for the appends before it.
#[derive(Debug)]
pub(crate) struct Held {
    /// Durable through this append, it may go.
    after: u64,
    kind: Kind,
    /// To whom.
    pub to: Vec<ConnId>,
    /// The frame.
    pub frame: Outgoing,
    /// What a [`Kind::Answer`] answers.
    question: Option<Box<ClientMsg>>,
}

/// What a finished write means for the session.
#[derive(Debug)]
pub(crate) enum Written {
    /// Its edits are durable: these frames may go now, in this order.
    Durable {
        /// The frames released.
        frames: Vec<Held>,
        /// The session's log is due to be folded ([`crate::store::fold_due`]).
        fold_due: bool,
    },
    /// It failed: its appends, and every one queued after it, are not stored.
    Failed {
        /// Why.
        error: StoreError,
        /// What was lost, and whom to tell.
        lost: Box<Lost>,
        /// The frames to send all the same, in order: the news ([`Kind::State`]), and document
        /// frames when no edit was lost.
        released: Vec<Held>,
        /// Who the document frames dropped were for, each once (not the senders).
        waiting: Vec<ConnId>,
        /// The questions whose answers were dropped ([`Kind::Answer`]), to answer again.
        asked: Vec<(ConnId, ClientMsg)>,
    },
}

/// The write in flight.
struct Write {
    /// The last append it holds.
    upto: u64,
    /// The bytes of document updates it writes.
    updates: usize,
    /// What its rows mean if it fails.
    lost: Lost,
    job: tokio::sync::oneshot::Receiver<Result<bool, StoreError>>,
}

/// A session's appends to its stored document, and the frames waiting for them.
pub(crate) struct Appends {
    store: Arc<Store>,
    session: String,
    /// Numbered in order: the last append made, and the last one known durable.
    last: u64,
    durable: u64,
    /// The last append of a secret or PIN, which [`Kind::Credentials`] wait for.
    last_secrets: u64,
    /// Appends made while a write was in flight: the next write.
    queued: Vec<Append>,
    writing: Option<Write>,
    held: VecDeque<Held>,
    /// Of them, those that are not the documents' ([`Kind::Entry`], [`Kind::State`]): while any
    /// is held, the session's other news waits behind it, in order.
    news_held: usize,
    /// The frames and bytes held for each connection.
    load: HashMap<ConnId, Load>,
    /// Bytes of document updates queued or being written, and how many may be
    /// ([`Appends::behind`]).
    unwritten: usize,
    unwritten_max: usize,
}

impl Appends {
    pub(crate) fn new(store: Arc<Store>, session: &str, unwritten_max: usize) -> Self {
        Appends {
            store,
            session: session.to_owned(),
            last: 0,
            durable: 0,
            last_secrets: 0,
            queued: Vec::new(),
            writing: None,
            held: VecDeque::new(),
            news_held: 0,
            load: HashMap::new(),
            unwritten: 0,
            unwritten_max,
        }
    }

    /// Appends a row (an update applied in memory already, or an activity entry). It is written
    /// at once if no write is in flight, else with the others at the end of that one.
    pub(crate) fn push(&mut self, row: Append) {
        self.last += 1;
        match &row {
            Append::Secrets(_) => self.last_secrets = self.last,
            Append::Update(u, _) => self.unwritten += u.len(),
            _ => {}
        }
        self.queued.push(row);
        if self.writing.is_none() {
            self.start();
        }
    }

    /// Whether the document's edits on their way to the disk are past what may wait: the session
    /// takes no more until it catches up (`crate::ServerConfig::unwritten_max`).
    pub(crate) fn behind(&self) -> bool {
        self.unwritten > self.unwritten_max
    }

    /// Whether some append is not durable yet: a document frame must then wait ([`Appends::hold`]).
    pub(crate) fn pending(&self) -> bool {
        self.durable < self.last
    }

    /// Whether a new secret or PIN is on its way to the disk: whoever is given it must wait for
    /// it ([`Kind::Entry`]), as nobody may hear of one that a restart would not know.
    pub(crate) fn secrets_pending(&self) -> bool {
        self.writing.as_ref().is_some_and(|w| w.lost.secrets.is_some())
            || self.queued.iter().any(|r| matches!(r, Append::Secrets(_)))
    }

    /// Whether some of the session's news (not the documents) is held: the next must wait too.
    pub(crate) fn news_held(&self) -> bool {
        self.news_held > 0
    }

    /// Holds a frame until every append made so far is durable ([`Kind::Credentials`]: until
    /// the last secret or PIN is), and after the frames held before it. `question` is what a
    /// [`Kind::Answer`] answers. Returns the connections whose load it takes past `too_much` (the
    /// caller drops them; see `forget`).
    pub(crate) fn hold(
        &mut self,
        to: Vec<ConnId>,
        (frame, kind, question): (Outgoing, Kind, Option<ClientMsg>),
        too_much: impl Fn(ConnId, Load) -> bool,
    ) -> Vec<ConnId> {
        let bytes = frame_len(&frame);
        let mut over = Vec::new();
        for &c in &to {
            let load = self.load.entry(c).or_default();
            *load = Load { frames: load.frames + 1, bytes: load.bytes + bytes };
            if too_much(c, *load) {
                over.push(c);
            }
        }
        self.news_held += usize::from(kind != Kind::Doc);
        let after = if kind == Kind::Credentials { self.last_secrets } else { self.last };
        self.held.push_back(Held { after, kind, to, frame, question: question.map(Box::new) });
        over
    }

    /// Stops counting what is held for a connection that is gone (its frames go nowhere).
    pub(crate) fn forget(&mut self, conn: ConnId) {
        self.load.remove(&conn);
    }

    /// Whether a write is in flight: [`Appends::written`] then has something to wait for.
    pub(crate) fn busy(&self) -> bool {
        self.writing.is_some()
    }

    /// Waits for the write in flight to end (forever if there is none), and starts the next.
    /// Cancel-safe: the write goes on, and a later call waits for it.
    pub(crate) async fn written(&mut self) -> Written {
        let Some(w) = self.writing.as_mut() else {
            return std::future::pending().await;
        };
        let result = match (&mut w.job).await {
            Ok(r) => r,
            Err(e) => Err(StoreError::Engine(format!("the write stopped: {e}"))),
        };
        let w = self.writing.take().expect("a write in flight");
        self.unwritten -= w.updates;
        match result {
            Ok(fold_due) => {
                self.durable = w.upto;
                let n = self.held.iter().take_while(|h| h.after <= self.durable).count();
                let frames: Vec<Held> = self.held.drain(..n).collect();
                self.news_held -= frames.iter().filter(|h| h.kind != Kind::Doc).count();
                for h in &frames {
                    let bytes = frame_len(&h.frame);
                    for c in &h.to {
                        // Saturating: a connection let go and held for again before its
                        // disconnect arrived counts only what was held for it since.
                        if let Some(load) = self.load.get_mut(c) {
                            *load =
                                Load { frames: load.frames.saturating_sub(1), bytes: load.bytes.saturating_sub(bytes) };
                            if load.frames == 0 {
                                self.load.remove(c);
                            }
                        }
                    }
                }
                if !self.queued.is_empty() {
                    self.start();
                }
                Written::Durable { frames, fold_due }
            }
            Err(error) => {
                let mut lost = w.lost;
                let mut unwritten = Appended::default();
                for row in self.queued.drain(..) {
                    lost.take(row, &mut unwritten);
                }
                self.unwritten = 0;
                lost.senders.sort_unstable();
                lost.senders.dedup();
                let (mut waiting, mut released, mut asked) = (Vec::new(), Vec::new(), Vec::new());
                for h in self.held.drain(..) {
                    match h.kind {
                        // What it waited for is stored (credentials held behind later news).
                        _ if h.after <= self.durable => released.push(h),
                        // A document frame carries the edits lost, if any were: its member is
                        // closed. If none were (it waited behind chat or activity), it goes.
                        Kind::Doc if lost.updates => waiting.extend(h.to),
                        Kind::Doc | Kind::State => released.push(h),
                        Kind::Answer => {
                            let q = *h.question.expect("an answer holds its question");
                            asked.extend(h.to.into_iter().map(|c| (c, q.clone())));
                        }
                        Kind::Entry | Kind::Credentials => {}
                    }
                }
                waiting.sort_unstable();
                waiting.dedup();
                waiting.retain(|c| lost.senders.binary_search(c).is_err());
                self.load.clear();
                self.news_held = 0;
                self.durable = self.last;
                Written::Failed { error, lost: Box::new(lost), released, waiting, asked }
            }
        }
    }

    /// Waits until nothing is in flight or queued: before the documents are read back from the
    /// store, saved as a version, or let go.
    pub(crate) async fn settle(&mut self) -> Vec<Written> {
        let mut out = Vec::new();
        while self.busy() {
            out.push(self.written().await);
        }
        out
    }

    /// Writes everything queued, in one transaction, with what other sessions write at the same
    /// moment (`crate::store`'s group commit, on the runtime's blocking pool).
    fn start(&mut self) {
        let (mut lost, mut batch) = (Lost::default(), Appended::default());
        for row in std::mem::take(&mut self.queued) {
            lost.take(row, &mut batch);
        }
        let updates = batch.updates.iter().map(Vec::len).sum();
        let job = self.store.append_queued(&self.session, batch);
        self.writing = Some(Write { upto: self.last, updates, lost, job });
    }
}

fn frame_len(frame: &Outgoing) -> usize {
    match frame {
        Outgoing::Binary(b) => b.len(),
        Outgoing::Text(t) => t.len(),
        Outgoing::Close(_) => 0,
    }
}

#[cfg(test)]
mod tests;
