//! What a session task does with an input besides the state machine: the journal (chat,
//! activity, versions), the song chosen, the outboxes, and recovery after a panic. The documents'
//! frames and their durability are `doc_frames.rs`, on the same [`Driver`].

use crate::appends::{Appends, Kind};
use crate::journal::{Author, Effect, Journal};
use crate::outbox::{Outbox, Outgoing};
use axum::extract::ws::Utf8Bytes;
use bandsync_core::protocol::{Access, ErrorCode, ServerMsg, encode_server};
use bandsync_core::{ClientMsg, ConnId, Output, Session, SongChoice};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// A session's secret and PIN, as stored or on their way (`crate::stored_secrets`).
pub(crate) type SecretAndPin = (bandsync_core::protocol::Secret, Option<bandsync_core::protocol::Secret>);

/// Everything a session task drives besides the state machine.
pub(crate) struct Driver {
    /// The session's id.
    pub(crate) id: String,
    pub(crate) doc: bandsync_docs::SessionDoc,
    pub(crate) store: Option<Arc<crate::store::Store>>,
    pub(crate) journal: Journal,
    /// With a store: the document's appends in flight, and the frames waiting for them.
    pub(crate) appends: Option<Appends>,
    /// Participants' connections.
    pub(crate) outboxes: HashMap<ConnId, Outbox>,
    /// Members that joined with a protocol version that reads the documents otherwise (below
    /// [`bandsync_core::protocol::DOCS_PROTOCOL_VERSION`]): no document frame goes to them, and
    /// theirs are refused.
    pub(crate) old_readers: HashSet<ConnId>,
    /// Plain y-sync connections, with what their link lets them do.
    pub(crate) doc_peers: HashMap<ConnId, (Outbox, Access)>,
    /// Without a store: the documents' last good state and the updates since, kept in memory so
    /// that an update refused partway through can be undone (see [`Driver::reload_doc`]).
    pub(crate) shadow: Vec<Vec<u8>>,
    /// A compaction of the stored log is running (off this task): one at a time.
    pub(crate) compacting: Arc<std::sync::atomic::AtomicBool>,
    /// Held while the task runs, and by each compaction ([`crate::session_task::Context`]).
    pub(crate) running: Arc<tokio_util::sync::DropGuard>,
    /// This step carried a change to the store: its news waits for it ([`Driver::persist_carried`]).
    pub(crate) news_due: bool,
    /// What failed writes left to write again, as the next input arrives.
    pub(crate) redo: Redo,
    /// The secret and PIN as the store holds them once the appends are written.
    pub(crate) secrets: SecretAndPin,
    /// What a failed write lost of them: put back at the end of the step.
    pub(crate) secrets_lost: Option<crate::appends::SecretsUndo>,
}

/// What failed writes left to write again. It is written as the next input arrives (the step
/// takes it all, `std::mem::take`), not at the end of the step that heard of the failure: a disk
/// refusing everything would otherwise be asked again without end.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Redo {
    /// A write lost edits and the documents could not be read back: memory is ahead of the
    /// disk, which is given the whole state ([`Driver::catch_up`]).
    pub(crate) documents: bool,
    /// A write of the carried state failed: the state is written again.
    pub(crate) carried: bool,
    /// A write of the secret and PIN failed, and they were put back: the disk may hold either,
    /// so the row in force is written again ([`Driver::store_secrets`]).
    pub(crate) secrets: bool,
}

impl Driver {
    /// After a panic while handling an input: the documents may hold half an edit, and members
    /// may have missed messages. Everyone is disconnected (they resume with their tokens and
    /// re-sync), and the documents are reloaded from the store, which holds every acknowledged
    /// edit. Without a store the documents in memory are kept.
    pub(crate) async fn recover(&mut self, session: &mut Session, now: bandsync_core::Micros, why: &str) {
        tracing::error!(session = session.id(), "the session task panicked ({why}); reconnecting everyone");
        // The write in flight ends first, so that the documents read back hold it. The frames it
        // releases go before the close (everyone reconnects and re-syncs), and what a failed
        // write lost is undone as at any other time: the chat and versions read back, the carried
        // state written again, the secret and PIN put back.
        self.settle().await;
        self.news_due = false;
        self.close_everyone("the session restarted; reconnect");
        let conns: Vec<ConnId> = session.connections().collect();
        for c in conns {
            session.handle_disconnect(now, c);
        }
        self.reload_doc();
        self.store_secrets(session, false);
        while session.poll_output().is_some() {}
    }

    /// Closes every member's and y-sync peer's connection, with `why`.
    pub(crate) fn close_everyone(&mut self, why: &'static str) {
        for ob in self.outboxes.values().chain(self.doc_peers.values().map(|(ob, _)| ob)) {
            let _ = ob.try_send(Outgoing::Close(why));
        }
        self.outboxes.clear();
        self.old_readers.clear();
        self.doc_peers.clear();
    }

    /// Lets go of a connection's outbox (which closes it) and of what is counted as held for it.
    pub(crate) fn forget(&mut self, conn: ConnId) {
        self.outboxes.remove(&conn);
        self.old_readers.remove(&conn);
        self.doc_peers.remove(&conn);
        if let Some(a) = &mut self.appends {
            a.forget(conn);
        }
    }

    /// Queues `m` for `conn`. A full outbox is never skipped silently (that member's documents or
    /// chat would diverge without anyone knowing): the outbox is dropped, which closes the
    /// connection, and the member resumes and re-syncs when it reads again.
    pub(crate) fn send_to(&mut self, conn: ConnId, m: Outgoing) {
        let Some(ob) = self.outboxes.get(&conn).or_else(|| self.doc_peers.get(&conn).map(|(ob, _)| ob)) else {
            return;
        };
        match ob.try_send(m) {
            Ok(()) => {}
            Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => {
                self.forget(conn);
                tracing::warn!(conn, "member too slow to read; dropping its connection");
            }
            // The connection already closed; its disconnect is on the way.
            Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => self.forget(conn),
        }
    }

    /// The leader chose a song: look it up in the setlist and let the session schedule it.
    pub(crate) fn on_song(
        &mut self,
        session: &mut Session,
        now: bandsync_core::Micros,
        conn: ConnId,
        id: Option<String>,
    ) {
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

    pub(crate) fn on_journal(&mut self, session: &Session, conn: ConnId, msg: ClientMsg) {
        let kind = msg.kind();
        let (Some(id), Some(access)) = (session.participant_of(conn), session.access_of(conn)) else {
            self.reply(conn, &ServerMsg::error(ErrorCode::NotJoined, "send a join first", Some(&kind)));
            return;
        };
        let Some(msg) = self.ask(conn, msg) else { return };
        let name = name_on(session, conn);
        let people: Vec<_> = session.participants().cloned().collect();
        let from = Author { id, name: &name, access, people: &people };
        match self.journal.handle(msg, &from, &self.doc) {
            Ok(effects) => self.apply_effects(session, Some(conn), effects),
            Err((code, message)) => self.reply(conn, &ServerMsg::error(code, message, Some(&kind))),
        }
    }

    /// Answers a question read from memory (its answer may show what is on its way to the disk,
    /// and is asked again if that is lost: [`Driver::answer`]); gives back any other message.
    pub(crate) fn ask(&mut self, conn: ConnId, msg: ClientMsg) -> Option<ClientMsg> {
        let Some(answer) = self.journal.answer(&msg) else { return Some(msg) };
        match answer {
            Ok(m) => self.answer(conn, &m, msg),
            Err((code, message)) => self.reply(conn, &ServerMsg::error(code, message, Some(&msg.kind()))),
        }
        None
    }

    pub(crate) fn apply_effects(&mut self, session: &Session, conn: Option<ConnId>, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::Reply(m) => {
                    if let Some(c) = conn {
                        self.reply(c, &m);
                    }
                }
                Effect::Broadcast(m) => self.broadcast(session, &m),
                Effect::Activity { event, gone } => self.persist_activity(session, event, gone),
                Effect::Version { info, data, gone, list } => {
                    let v = crate::appends::NewVersion { info, data, gone, from: conn };
                    self.persist_version(session, v, list);
                }
                Effect::Chat { message, old, gone } => {
                    self.persist_chat(session, crate::appends::ChatChange { message, gone, old, from: conn });
                }
                Effect::DocUpdate(update) => {
                    let frame = axum::body::Bytes::from(bandsync_docs::update_message(update.clone()));
                    self.persist_update(update, None);
                    self.broadcast_binary(session, None, frame);
                }
            }
        }
    }

    /// Sends `m` to `conn`, in order with the session's news held for the disk
    /// ([`Driver::send_held`]).
    pub(crate) fn reply(&mut self, conn: ConnId, m: &ServerMsg) {
        if self.outboxes.contains_key(&conn) {
            self.send_held(vec![conn], Outgoing::Text(Utf8Bytes::from(encode_server(m))), Kind::State);
        }
    }

    fn broadcast(&mut self, session: &Session, m: &ServerMsg) {
        let text = Outgoing::Text(Utf8Bytes::from(encode_server(m)));
        self.send_held(session.connections().collect(), text, Kind::State);
    }

    pub(crate) fn drain(&mut self, session: &mut Session) {
        while let Some(out) = session.poll_output() {
            match out {
                // Credentials with a secret or PIN not yet stored wait for it, and go nowhere if
                // the disk refuses it (`crate::stored_secrets`).
                Output::Send(conn, msg @ ServerMsg::Credentials { .. }) if self.credentials_held() => {
                    if self.outboxes.contains_key(&conn) {
                        self.send_held(
                            vec![conn],
                            Outgoing::Text(Utf8Bytes::from(encode_server(&msg))),
                            Kind::Credentials,
                        );
                    }
                }
                Output::Send(conn, msg) => self.reply(conn, &msg),
                Output::Broadcast(msg) => self.broadcast(session, &msg),
                Output::Close(conn, reason) => {
                    if let Some(ob) = self.outboxes.get(&conn) {
                        let _ = ob.try_send(Outgoing::Close(reason));
                    }
                    self.forget(conn);
                }
                Output::Activity { kind, by, summary } => {
                    let recorded = self.journal.record(kind, by, summary);
                    self.apply_effects(session, None, vec![recorded]);
                }
            }
        }
    }
}

pub(crate) fn name_on(session: &Session, conn: ConnId) -> String {
    let id = session.participant_of(conn);
    session.participants().find(|p| Some(p.id) == id).map_or_else(String::new, |p| p.name.clone())
}

/// A setlist song's tempo and meter, checked as the protocol checks a leader's `tempo` and `meter`.
fn song_choice(song: bandsync_docs::Song) -> Result<SongChoice, (ErrorCode, String)> {
    let tempo = song
        .tempo
        .map(|t| bandsync_core::Tempo::checked(t.0))
        .transpose()
        .map_err(|e| (ErrorCode::InvalidTempo, format!("song {:?}: {e}", song.title)))?;
    let meter = match song.meter.trim() {
        "" => None,
        m => Some(
            m.parse::<bandsync_core::Meter>()
                .map_err(|e| (ErrorCode::InvalidMeter, format!("song {:?}: {e}", song.title)))?,
        ),
    };
    bandsync_core::patch::parse_patch(&song.midi)
        .map_err(|e| (ErrorCode::InvalidPatch, format!("song {:?}: MIDI patch {e}", song.title)))?;
    Ok(SongChoice { id: Some(song.id), title: Some(song.title), tempo, meter, midi: song.midi.trim().to_owned() })
}
