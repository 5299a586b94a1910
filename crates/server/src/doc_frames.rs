//! A session's documents on the wire: y-sync frames in (answered, relayed, refused), each edit
//! stored before anyone hears of it (`crate::appends`: written off the session's task, with the
//! frames that carry it held until it is durable; without a store, kept in an in-memory shadow),
//! and the documents read back after a failure.

use crate::appends::{Append, ChatChange, Kind, Lost, NewVersion, Written};
use crate::driver::{Driver, name_on};
use crate::outbox::{Outbox, Outgoing};
use axum::extract::ws::Utf8Bytes;
use bandsync_core::protocol::{Access, ActivityEvent, ErrorCode, ServerMsg, VersionInfo, encode_server};
use bandsync_core::{ClientMsg, ConnId, Session};
use std::sync::Arc;

/// Updates in the in-memory shadow before it is folded into one state.
const SHADOW_COMPACT_AFTER: usize = 256;

/// The bytes of frames held for one connection while the disk is slow: an honest member's are
/// one sync answer (the documents, at most [`bandsync_docs::MAX_DOC_BYTES`]) and relays of edits.
const HELD_BYTES: usize = 2 * bandsync_docs::MAX_DOC_BYTES;

impl Driver {
    /// Loads the documents again from the store, which holds every acknowledged edit, or without
    /// one from the in-memory shadow. Says whether it could.
    pub(crate) fn reload_doc(&mut self) -> bool {
        let session = self.id.as_str();
        let Some(st) = &self.store else {
            let doc = bandsync_docs::SessionDoc::new();
            for u in &self.shadow {
                if let Err(e) = doc.apply_update(u) {
                    tracing::error!(session, "the in-memory documents did not reload: {e}");
                    return false;
                }
            }
            tracing::warn!(session, "documents reloaded from memory");
            self.doc = doc;
            return true;
        };
        // Off the runtime's thread: it runs when the store is failing or slow.
        match crate::journal::blocking(|| crate::stored_doc::load_document(st, session)) {
            Ok(doc) => {
                tracing::warn!(session, "documents reloaded from the store");
                self.doc = doc;
                // Memory is what the disk holds again: nothing of it is to be caught up.
                self.redo.documents = false;
                true
            }
            Err(e) => {
                tracing::error!(session, "could not reload the documents: {e}");
                false
            }
        }
    }

    /// After a write lost edits and the documents could not be read back either (`documents` in
    /// [`crate::driver::Redo`]): memory holds edits the disk does not, and edits made since build
    /// on them (the disk alone would never load those). The whole state is appended, before
    /// anyone hears of what comes next.
    pub(crate) fn catch_up(&mut self) {
        tracing::warn!(session = self.id, "writing the documents in memory, which the disk is behind");
        let state = self.doc.encode_state();
        self.persist_update(state, None);
    }

    /// A y-sync frame: answer the sender, relay changes to everyone else, refuse viewers' edits.
    /// Says whether the documents were left half-changed (yrs panicked partway through): the
    /// caller then reads them back from the store (`Driver::reload_doc`, after the appends in flight).
    #[must_use]
    pub(crate) fn on_doc(&mut self, session: &Session, conn: ConnId, bytes: &[u8]) -> bool {
        let peer = self.doc_peers.get(&conn).map(|(_, access)| *access);
        if peer.is_none() && !self.outboxes.contains_key(&conn) {
            return false;
        }
        let (access, who) = if let Some(access) = peer {
            (access, "a y-websocket client".to_owned())
        } else {
            let Some(access) = session.access_of(conn) else {
                let e = ServerMsg::error(ErrorCode::NotJoined, "join before syncing documents", Some("doc"));
                self.reply(conn, &e);
                return false;
            };
            if self.old_readers.contains(&conn) {
                let m = format!(
                    "the setlist and charts need protocol version {} (tempos in milli-BPM). Update this app; \
                     the metronome and chat work meanwhile.",
                    bandsync_core::protocol::DOCS_PROTOCOL_VERSION
                );
                self.reply(conn, &ServerMsg::error(ErrorCode::VersionUnsupported, m, Some("doc")));
                return false;
            }
            (access, name_on(session, conn))
        };
        let behind = self.appends.as_ref().is_some_and(crate::appends::Appends::behind);
        let reply = match self
            .doc
            .handle_checked(bytes, access == Access::Editor && !behind, || self.journal.editing(who, &self.doc))
        {
            Ok(r) => r,
            Err(bandsync_docs::DocError::ReadOnly) if behind && access == Access::Editor => {
                self.refuse_behind(conn);
                return false;
            }
            Err(e) => {
                let poisoned = matches!(e, bandsync_docs::DocError::Poisoned(_));
                let code = match e {
                    bandsync_docs::DocError::ReadOnly => ErrorCode::ReadOnly,
                    bandsync_docs::DocError::TooLarge { .. } => ErrorCode::DocumentFull,
                    _ => ErrorCode::Malformed,
                };
                // A plain y-sync peer has no text channel: it is closed instead, with the reason.
                let m = if peer.is_some() {
                    Outgoing::Close(match code {
                        ErrorCode::ReadOnly => "read_only: a view-only link cannot change the documents",
                        ErrorCode::DocumentFull => "document_full: the documents are at their size limit",
                        _ => "malformed y-sync frame",
                    })
                } else {
                    Outgoing::Text(Utf8Bytes::from(encode_server(&ServerMsg::error(code, e.to_string(), Some("doc")))))
                };
                // After the answers held for what it sent before: a member hears in its order.
                self.send_doc(vec![conn], m);
                return poisoned;
            }
        };
        // Durable before anyone hears of it: the sender's next sync step is its receipt. With a
        // store the frames wait for the appends (`crate::appends`); without one, the shadow in
        // memory is all there is.
        for u in reply.updates {
            self.persist_update(u, Some(conn));
        }
        for m in reply.to_sender {
            self.send_doc(vec![conn], Outgoing::Binary(m.into()));
        }
        for b in reply.broadcast {
            self.broadcast_binary(session, Some(conn), axum::body::Bytes::from(b));
        }
        false
    }

    /// An edit while the disk is behind ([`crate::appends::Appends::behind`]) is not taken. Its
    /// sender holds it: its connection closes at once, and it resumes, re-syncs and sends the
    /// edit again, by when the disk may have caught up (else the same again).
    fn refuse_behind(&mut self, conn: ConnId) {
        tracing::warn!(session = self.id, conn, "the disk is behind: an edit refused, its sender closed");
        if let Some(ob) = self.outboxes.get(&conn).or_else(|| self.doc_peers.get(&conn).map(|(ob, _)| ob)) {
            let _ = ob.try_send(Outgoing::Close("the server's disk is behind; reconnect"));
        }
        self.forget(conn);
    }

    /// Stores an update the documents in memory hold now: queued for the disk with a store
    /// (whose frames then wait for it), else kept in the shadow.
    pub(crate) fn persist_update(&mut self, update: Vec<u8>, from: Option<ConnId>) {
        if let Some(a) = &mut self.appends {
            a.push(Append::Update(update, from));
        } else if self.shadow.len() >= SHADOW_COMPACT_AFTER {
            self.shadow = vec![self.doc.encode_state()];
        } else {
            self.shadow.push(update);
        }
    }

    /// Sends a frame that carries the documents: at once, or after the appends made before it.
    /// What waits for a connection is bounded as its outbox is (frames), and by [`HELD_BYTES`]:
    /// past either, it is dropped as a member too slow to read would be (it resumes and re-syncs),
    /// so that a stalled disk and a member asking for the documents again and again do not hold
    /// copies of them without end.
    fn send_doc(&mut self, to: Vec<ConnId>, frame: Outgoing) {
        self.send_held(to, frame, Kind::Doc);
    }

    /// Stores an activity entry with the documents' appends, and sends it to everyone once it is
    /// durable (a lost one is only logged: see `crate::appends`).
    pub(crate) fn persist_activity(&mut self, session: &Session, event: ActivityEvent, gone: Option<u64>) {
        let frame = Outgoing::Text(Utf8Bytes::from(encode_server(&ServerMsg::Activity { event: event.clone() })));
        if let Some(a) = &mut self.appends {
            a.push(Append::Activity(event, gone));
        }
        self.send_held(session.connections().collect(), frame, Kind::Entry);
    }

    /// Stores a chat change with the appends, and sends it to everyone once it is durable (if it
    /// is lost, it is put back and its sender told: [`Driver::on_written`]).
    pub(crate) fn persist_chat(&mut self, session: &Session, change: ChatChange) {
        let frame =
            Outgoing::Text(Utf8Bytes::from(encode_server(&ServerMsg::Chat { message: change.message.clone() })));
        if let Some(a) = &mut self.appends {
            a.push(Append::Chat(Box::new(change)));
        }
        self.send_held(session.connections().collect(), frame, Kind::Entry);
    }

    /// Stores a version with the appends, and sends everyone the list with it once it is durable
    /// (if it is lost, the list is read back and whoever asked is told: [`Driver::on_written`]).
    pub(crate) fn persist_version(&mut self, session: &Session, v: NewVersion, list: Vec<VersionInfo>) {
        let frame = Outgoing::Text(Utf8Bytes::from(encode_server(&ServerMsg::Versions { versions: list })));
        if let Some(a) = &mut self.appends {
            a.push(Append::Version(Box::new(v)));
        }
        self.send_held(session.connections().collect(), frame, Kind::Entry);
    }

    /// Stores what the session carries to a restarted host or another node (JSON) with the
    /// appends, and holds the session's news from now until the step ends
    /// ([`Driver::news_due`]) behind it: nobody hears of a change before it is carried.
    pub(crate) fn persist_carried(&mut self, parts: bandsync_core::session::carry::CarriedParts) {
        if let Some(a) = &mut self.appends {
            a.push(Append::Carried(parts));
            self.news_due = true;
        }
    }

    /// Sends a frame at once, or after the appends made before it: a document frame while any
    /// append is pending, an activity entry after its own, and the session's other news while
    /// its step carried a change or earlier news is still held (news keeps its order).
    pub(crate) fn send_held(&mut self, to: Vec<ConnId>, frame: Outgoing, kind: Kind) {
        self.send_or_hold(to, (frame, kind, None));
    }

    /// [`Driver::send_held`] for an answer read from memory ([`Kind::Answer`]), with the
    /// question it answers: asked again if what it shows is lost ([`Driver::on_written`]).
    pub(crate) fn answer(&mut self, conn: ConnId, m: &ServerMsg, question: ClientMsg) {
        if self.outboxes.contains_key(&conn) {
            let frame = Outgoing::Text(Utf8Bytes::from(encode_server(m)));
            self.send_or_hold(vec![conn], (frame, Kind::Answer, Some(question)));
        }
    }

    fn send_or_hold(&mut self, mut to: Vec<ConnId>, held: (Outgoing, Kind, Option<ClientMsg>)) {
        let (news_due, kind) = (self.news_due, held.1);
        let Some(a) = self.appends.as_mut().filter(|a| match kind {
            Kind::Doc | Kind::Entry | Kind::Credentials => a.pending(),
            Kind::State | Kind::Answer => a.pending() && (news_due || a.news_held()),
        }) else {
            for c in to {
                self.send_to(c, held.0.clone());
            }
            return;
        };
        let (outboxes, peers) = (&self.outboxes, &self.doc_peers);
        // A connection let go (too slow) is still in the session until its disconnect arrives:
        // nothing is held for it (`send_to` sends nothing to it either).
        to.retain(|c| outboxes.contains_key(c) || peers.contains_key(c));
        let over = a.hold(to, held, |c, load| {
            let cap = outboxes.get(&c).or_else(|| peers.get(&c).map(|(ob, _)| ob)).map(Outbox::max_capacity);
            cap.is_some_and(|cap| load.frames > cap) || load.bytes > HELD_BYTES
        });
        for c in over {
            tracing::warn!(conn = c, "too much held for a member while the disk is slow; dropping its connection");
            self.forget(c);
        }
    }

    /// Waits for the appends in flight and queued, and acts on each write (before the documents
    /// are read back, saved as a version, or let go).
    pub(crate) async fn settle(&mut self) {
        let Some(a) = &mut self.appends else { return };
        for w in a.settle().await {
            self.on_written(w);
        }
    }

    /// A write of the document's appends ended.
    pub(crate) fn on_written(&mut self, w: Written) {
        match w {
            Written::Durable { frames, fold_due } => {
                for h in frames {
                    for c in h.to {
                        self.send_to(c, h.frame.clone());
                    }
                }
                if let (true, Some(st)) = (fold_due, &self.store) {
                    self.compact(st.clone());
                }
            }
            Written::Failed { error: crate::store::StoreError::Deleted(_), lost, waiting, .. } => {
                // Deleted while its task still ran: what it held goes nowhere, as the session ends.
                tracing::info!(session = self.id, "edits after the session's deletion not saved");
                for c in lost.senders.into_iter().chain(waiting) {
                    self.send_to(c, Outgoing::Close("the session was deleted"));
                    self.forget(c);
                }
            }
            Written::Failed { error, lost, released, waiting, asked } => {
                // The news held behind what failed goes out all the same, first (it came before);
                // a carried state is written again at the next input; chat changes are put back
                // and their senders told, and so are those who asked for a version. Lost activity
                // entries are only logged.
                let Lost { senders, updates, carried, chat, versions, secrets } = *lost;
                self.secrets_not_stored(&error, secrets);
                tracing::error!(session = self.id, error = %error, updates, carried, "could not save the session's appends");
                self.redo.carried |= carried;
                for h in released {
                    for c in h.to {
                        self.send_to(c, h.frame.clone());
                    }
                }
                self.journal.chat_lost(&chat);
                let m = ServerMsg::error(
                    ErrorCode::Internal,
                    "the server could not save that; nothing changed",
                    Some("chat"),
                );
                for c in chat.iter().filter_map(|c| c.from) {
                    self.reply(c, &m);
                }
                if let Some(asked) = versions {
                    self.journal.versions_lost();
                    let m =
                        ServerMsg::error(ErrorCode::Internal, "the version could not be saved", Some("save_version"));
                    for c in asked {
                        self.reply(c, &m);
                    }
                }
                if updates {
                    self.lost_edits(senders, waiting);
                }
                // Answers that may have shown what was lost are dropped: asked again now.
                for (c, question) in asked {
                    let _ = self.ask(c, question);
                }
            }
        }
    }

    /// After a write that lost document edits: memory is ahead of the disk now, so back to what
    /// the disk holds, so that nobody syncs an edit a restart would lose (and the edit, sent
    /// again, is new here and saved). If the store cannot be read either, memory stays ahead,
    /// and the disk is given all of it before the next input ([`Driver::catch_up`]). A sender
    /// must not believe its edit landed: its connection closes; it resumes, re-syncs, and sends
    /// the edit again. So does each member a held document frame was for: it may have been the
    /// answer to its sync. Their connections are let go at once: what they send after this
    /// (built on the edits lost) is not applied to the documents read back.
    fn lost_edits(&mut self, senders: Vec<ConnId>, waiting: Vec<ConnId>) {
        self.redo.documents = !self.reload_doc();
        let m = ServerMsg::error(ErrorCode::Internal, "the edit could not be saved", Some("doc"));
        let m = Outgoing::Text(Utf8Bytes::from(encode_server(&m)));
        for c in senders {
            self.send_to(c, m.clone());
            self.send_to(c, Outgoing::Close("the edit could not be saved; reconnect"));
            self.forget(c);
        }
        for c in waiting {
            self.send_to(c, Outgoing::Close("the documents could not be saved; reconnect"));
            self.forget(c);
        }
    }

    /// Folds the stored log into its snapshot on the runtime's blocking pool: for a document of
    /// megabytes that is milliseconds of encoding, which would otherwise stall this session (and
    /// hold the database from every other) each time the log is due ([`crate::store::fold_due`]).
    fn compact(&self, st: Arc<crate::store::Store>) {
        use std::sync::atomic::Ordering;
        if self.compacting.swap(true, Ordering::AcqRel) {
            return;
        }
        /// Lowers the flag however the fold ends: a fold that panicked (yrs on a stored update)
        /// must not stop every later one.
        struct Done(Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Done {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Release);
            }
        }
        let (done, id, running) = (Done(self.compacting.clone()), self.id.clone(), self.running.clone());
        let job = move || {
            // The session's task is not over (a node loads it again only after) until this is.
            let _running = running;
            let _done = done;
            crate::stored_doc::compact_document(&st, &id);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(job)),
            Err(_) => job(),
        }
    }

    /// A document frame for every member and plain y-sync peer but `except`.
    pub(crate) fn broadcast_binary(&mut self, session: &Session, except: Option<ConnId>, b: axum::body::Bytes) {
        let peers = self.doc_peers.keys().copied();
        let to = session
            .connections()
            .filter(|c| !self.old_readers.contains(c))
            .chain(peers)
            .filter(|c| Some(*c) != except)
            .collect();
        self.send_doc(to, Outgoing::Binary(b));
    }
}
