//! The driver of one session: a short `select!` loop around the sans-IO [`Session`].
//!
//! Inputs arrive on a channel from connection tasks; outputs are serialised once and pushed to
//! each member's outbox. A member whose outbox is full is too slow: its outbox is dropped, which
//! makes its connection task close it, and nobody else waits for it.

use crate::clock::HostClock;
use crate::journal::{Effect, Journal, Sender};
use axum::extract::ws::Utf8Bytes;
use bandsync_core::protocol::Route;
use bandsync_core::protocol::{Access, ErrorCode, ServerMsg};
use bandsync_core::protocol::{Snapshot, encode_server};
use bandsync_core::session::JoinRequest;
use bandsync_core::{ClientMsg, ConnId, Output, Session, SongChoice};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// What a connection's outbox carries.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// A serialised server message; cloning shares the bytes.
    Text(Utf8Bytes),
    /// A y-sync message for the documents.
    Binary(axum::body::Bytes),
    /// Close the connection with this reason.
    Close(&'static str),
}

/// The sending side of a connection's outbox.
pub type Outbox = mpsc::Sender<Outgoing>;

/// An input for a session task.
#[derive(Debug)]
pub enum SessionInput {
    /// A connection's `join`.
    Join {
        /// The connection.
        conn: ConnId,
        /// The checked join fields.
        req: JoinRequest,
        /// A fresh resume token, used unless the join resumes.
        token: bandsync_core::protocol::Secret,
        /// Where the connection's messages go.
        outbox: Outbox,
        /// Whether the session let it in (its welcome or refusal is in the outbox first).
        answer: oneshot::Sender<bool>,
    },
    /// Any other message from a connection.
    Msg {
        /// The connection.
        conn: ConnId,
        /// The message.
        msg: ClientMsg,
    },
    /// The connection closed or died.
    Disconnect {
        /// The connection.
        conn: ConnId,
    },
    /// A binary (y-sync) frame from a joined connection.
    Doc {
        /// The connection.
        conn: ConnId,
        /// The frame.
        bytes: axum::body::Bytes,
    },
    /// A plain y-sync connection (`/doc/{session}`, as a stock y-websocket client makes), which is
    /// not a participant: it only syncs the documents, as an editor, if its secret is right.
    DocPeer {
        /// The connection.
        conn: ConnId,
        /// The secret it presented.
        secret: String,
        /// Where its frames go.
        outbox: Outbox,
        /// Whether it was let in; the error explains a refusal.
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// The HTTP API asks for the state.
    Snapshot {
        /// Where to answer.
        reply: oneshot::Sender<Snapshot>,
    },
}

/// Counters a session task keeps up to date for readers that must not wait on it (the HTTP API).
#[derive(Debug, Default)]
pub struct Counters {
    /// Participants, online or away.
    pub members: std::sync::atomic::AtomicU32,
    /// Participants connected now.
    pub online: std::sync::atomic::AtomicU32,
}

/// What a session task runs with besides its state machine.
pub(crate) struct Context {
    pub clock: HostClock,
    pub counters: Arc<Counters>,
    pub closing: CancellationToken,
    /// Durable storage, if the host has a data directory.
    pub store: Option<Arc<crate::store::Store>>,
    /// The session's setlist and charts.
    pub doc: bandsync_docs::SessionDoc,
    /// See `ServerConfig::edit_idle`.
    pub edit_idle: std::time::Duration,
}

/// Everything a session task drives besides the state machine.
struct Driver {
    doc: bandsync_docs::SessionDoc,
    store: Option<Arc<crate::store::Store>>,
    journal: Journal,
    /// Participants' connections.
    outboxes: HashMap<ConnId, Outbox>,
    /// Plain y-sync connections.
    doc_peers: HashMap<ConnId, Outbox>,
}

/// Runs a session until every handle to it is gone.
pub(crate) async fn run(mut session: Session, mut rx: mpsc::Receiver<SessionInput>, ctx: Context) {
    let Context { clock, counters, closing, store, doc, edit_idle } = ctx;
    let journal = match Journal::load(session.id(), store.clone(), edit_idle) {
        Ok(j) => j,
        Err(e) => {
            tracing::error!(session = session.id(), error = %e, "could not load the chat and activity; starting empty");
            Journal::load(session.id(), None, edit_idle).expect("an empty journal needs no storage")
        }
    };
    let mut d = Driver { doc, store, journal, outboxes: HashMap::new(), doc_peers: HashMap::new() };
    let mut saved_secret = session.secret().clone();
    loop {
        let deadline = session.poll_timeout().map(|t| clock.instant_at(t));
        let edits_due = d.journal.deadline().map(tokio::time::Instant::from_std);
        tokio::select! {
            () = closing.cancelled() => break,
            input = rx.recv() => {
                let Some(input) = input else { break };
                let now = clock.now();
                match input {
                    SessionInput::Join { conn, req, token, outbox, answer } => {
                        d.outboxes.insert(conn, outbox);
                        session.handle_join(now, conn, req, token);
                        // The answer goes before the welcome: whatever the member sends once it has
                        // its welcome finds its connection already counted as joined.
                        let _ = answer.send(session.participant_of(conn).is_some());
                    }
                    SessionInput::Msg { conn, msg } => match (msg.route(), msg) {
                        (Route::Documents, ClientMsg::Song { id }) => d.on_song(&mut session, now, conn, id),
                        (Route::Journal, msg) => d.on_journal(&session, conn, msg),
                        (_, msg) => session.handle_input(now, conn, msg),
                    },
                    SessionInput::Disconnect { conn } => {
                        d.outboxes.remove(&conn);
                        d.doc_peers.remove(&conn);
                        session.handle_disconnect(now, conn);
                    }
                    SessionInput::Doc { conn, bytes } => d.on_doc(&session, conn, &bytes),
                    SessionInput::DocPeer { conn, secret, outbox, reply } => {
                        if session.secret().matches(&secret) {
                            d.doc_peers.insert(conn, outbox);
                            let _ = reply.send(Ok(()));
                        } else {
                            let _ = reply.send(Err("bad_secret: the secret is wrong or was rotated".into()));
                        }
                    }
                    SessionInput::Snapshot { reply } => {
                        let _ = reply.send(session.snapshot(now));
                    }
                }
            }
            () = sleep_until(deadline), if deadline.is_some() => session.handle_timeout(clock.now()),
            () = sleep_until(edits_due), if edits_due.is_some() => {
                match d.journal.flush(&d.doc) {
                    Ok(effects) => d.apply_effects(&session, None, effects),
                    Err((_, m)) => tracing::error!(session = session.id(), "could not close a burst of edits: {m}"),
                }
            }
        }
        // A rotated secret is saved before anyone hears of it.
        if let Some(st) = &d.store {
            if *session.secret() != saved_secret {
                saved_secret = session.secret().clone();
                let s = crate::store::StoredSession {
                    id: session.id().to_owned(),
                    name: session.name().to_owned(),
                    secret: saved_secret.expose().to_owned(),
                };
                if let Err(e) = st.put_session(&s) {
                    tracing::error!(session = session.id(), error = %e, "could not save the rotated secret");
                }
            }
        }
        d.drain(&mut session);
        let stats = session.stats();
        counters.members.store(stats.members, Ordering::Relaxed);
        counters.online.store(stats.online, Ordering::Relaxed);
    }
    tracing::debug!(session = session.id(), "session task ended");
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

impl Driver {
    /// A y-sync frame: answer the sender, relay changes to everyone else, refuse viewers' edits.
    fn on_doc(&mut self, session: &Session, conn: ConnId, bytes: &[u8]) {
        let peer = self.doc_peers.contains_key(&conn);
        let Some(ob) = self.outboxes.get(&conn).or_else(|| self.doc_peers.get(&conn)).cloned() else { return };
        let (access, who) = if peer {
            (Access::Editor, "a y-websocket client".to_owned())
        } else {
            let Some(access) = session.access_of(conn) else {
                let e = ServerMsg::error(ErrorCode::NotJoined, "join before syncing documents", Some("doc"));
                let _ = ob.try_send(Outgoing::Text(Utf8Bytes::from(encode_server(&e))));
                return;
            };
            (access, name_on(session, conn))
        };
        let reply = match self
            .doc
            .handle_checked(bytes, access == Access::Editor, || self.journal.editing(who, &self.doc))
        {
            Ok(r) => r,
            Err(e) => {
                let code = match e {
                    bandsync_docs::DocError::ReadOnly => ErrorCode::ReadOnly,
                    _ => ErrorCode::Malformed,
                };
                // A plain y-sync peer has no text channel: it is closed instead.
                let m = if peer {
                    Outgoing::Close("malformed y-sync frame")
                } else {
                    Outgoing::Text(Utf8Bytes::from(encode_server(&ServerMsg::error(code, e.to_string(), Some("doc")))))
                };
                let _ = ob.try_send(m);
                return;
            }
        };
        // Durable before anyone hears of it: the sender's next sync step is its receipt.
        for u in &reply.updates {
            if let Err(e) = self.persist_update(session.id(), u) {
                tracing::error!(session = session.id(), error = %e, "could not save a document update");
                let m = ServerMsg::error(ErrorCode::Internal, "the edit could not be saved", Some("doc"));
                let _ = ob.try_send(Outgoing::Text(Utf8Bytes::from(encode_server(&m))));
                return;
            }
        }
        for m in reply.to_sender {
            let _ = ob.try_send(Outgoing::Binary(m.into()));
        }
        for b in reply.broadcast {
            self.broadcast_binary(session, Some(conn), axum::body::Bytes::from(b));
        }
    }

    fn persist_update(&self, session: &str, update: &[u8]) -> Result<(), crate::store::StoreError> {
        match &self.store {
            Some(st) => crate::journal::blocking(|| st.append_update(session, update, || self.doc.encode_state())),
            None => Ok(()),
        }
    }

    fn broadcast_binary(&self, session: &Session, except: Option<ConnId>, b: axum::body::Bytes) {
        let members = session.connections().filter_map(|c| self.outboxes.get(&c).map(|o| (c, o)));
        for (c, o) in members.chain(self.doc_peers.iter().map(|(c, o)| (*c, o))) {
            if Some(c) != except {
                let _ = o.try_send(Outgoing::Binary(b.clone()));
            }
        }
    }

    /// The leader chose a song: look it up in the setlist and let the session schedule it.
    fn on_song(&mut self, session: &mut Session, now: bandsync_core::Micros, conn: ConnId, id: Option<String>) {
        let choice = match &id {
            None => Ok(SongChoice::default()),
            Some(id) => match self.doc.setlist().into_iter().find(|s| s.id == *id) {
                None => Err((ErrorCode::UnknownMessage, format!("no song {id:?} in the setlist"))),
                Some(song) => song_choice(song),
            },
        };
        if let Err((code, message)) = choice.and_then(|c| session.select_song(now, conn, c)) {
            self.reply(conn, &ServerMsg::error(code, message, Some("song")));
        }
    }

    fn on_journal(&mut self, session: &Session, conn: ConnId, msg: ClientMsg) {
        let kind = msg.kind();
        let (Some(id), Some(access)) = (session.participant_of(conn), session.access_of(conn)) else {
            self.reply(conn, &ServerMsg::error(ErrorCode::NotJoined, "send a join first", Some(&kind)));
            return;
        };
        let name = name_on(session, conn);
        let from = Sender { id, name: &name, access };
        match self.journal.handle(msg, &from, &self.doc) {
            Ok(effects) => self.apply_effects(session, Some(conn), effects),
            Err((code, message)) => self.reply(conn, &ServerMsg::error(code, message, Some(&kind))),
        }
    }

    fn apply_effects(&mut self, session: &Session, conn: Option<ConnId>, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::Reply(m) => {
                    if let Some(c) = conn {
                        self.reply(c, &m);
                    }
                }
                Effect::Broadcast(m) => self.broadcast(session, &m),
                Effect::DocUpdate(update) => {
                    if let Err(e) = self.persist_update(session.id(), &update) {
                        tracing::error!(session = session.id(), error = %e, "could not save a restored version");
                    }
                    let frame = axum::body::Bytes::from(bandsync_docs::update_message(update));
                    self.broadcast_binary(session, None, frame);
                }
            }
        }
    }

    fn reply(&self, conn: ConnId, m: &ServerMsg) {
        if let Some(ob) = self.outboxes.get(&conn) {
            let _ = ob.try_send(Outgoing::Text(Utf8Bytes::from(encode_server(m))));
        }
    }

    fn broadcast(&self, session: &Session, m: &ServerMsg) {
        let text = Utf8Bytes::from(encode_server(m));
        for c in session.connections() {
            if let Some(ob) = self.outboxes.get(&c) {
                let _ = ob.try_send(Outgoing::Text(text.clone()));
            }
        }
    }

    fn drain(&mut self, session: &mut Session) {
        let mut slow = Vec::new();
        while let Some(out) = session.poll_output() {
            match out {
                Output::Send(conn, msg) => {
                    let text = Utf8Bytes::from(encode_server(&msg));
                    if let Some(ob) = self.outboxes.get(&conn) {
                        if ob.try_send(Outgoing::Text(text)).is_err() {
                            slow.push(conn);
                        }
                    }
                }
                Output::Broadcast(msg) => {
                    let text = Utf8Bytes::from(encode_server(&msg));
                    for conn in session.connections() {
                        if let Some(ob) = self.outboxes.get(&conn) {
                            if ob.try_send(Outgoing::Text(text.clone())).is_err() {
                                slow.push(conn);
                            }
                        }
                    }
                }
                Output::Close(conn, reason) => {
                    if let Some(ob) = self.outboxes.remove(&conn) {
                        let _ = ob.try_send(Outgoing::Close(reason));
                    }
                }
                Output::Activity { kind, by, summary } => match self.journal.record(kind, by, summary) {
                    Ok(effects) => self.apply_effects(session, None, effects),
                    Err((_, m)) => tracing::error!(session = session.id(), "could not record activity: {m}"),
                },
            }
        }
        for conn in slow {
            if self.outboxes.remove(&conn).is_some() {
                tracing::warn!(session = session.id(), conn, "member too slow to read; dropping its connection");
            }
        }
    }
}

fn name_on(session: &Session, conn: ConnId) -> String {
    let id = session.participant_of(conn);
    session.participants().find(|p| Some(p.id) == id).map_or_else(String::new, |p| p.name.clone())
}

/// A setlist song's tempo and meter, checked as the protocol checks a leader's `tempo` and `meter`.
fn song_choice(song: bandsync_docs::Song) -> Result<SongChoice, (ErrorCode, String)> {
    let tempo = if song.tempo > 0.0 {
        let t = bandsync_core::Tempo::from_bpm(song.tempo)
            .map_err(|e| (ErrorCode::InvalidTempo, format!("song {:?}: {e}", song.title)))?;
        Some(t)
    } else {
        None
    };
    let meter = match song.meter.trim() {
        "" => None,
        m => Some(
            m.parse::<bandsync_core::Meter>()
                .map_err(|e| (ErrorCode::InvalidMeter, format!("song {:?}: {e}", song.title)))?,
        ),
    };
    Ok(SongChoice { id: Some(song.id), title: Some(song.title), tempo, meter })
}
