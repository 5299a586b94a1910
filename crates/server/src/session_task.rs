//! The driver of one session: a short `select!` loop around the sans-IO [`Session`].
//!
//! Inputs arrive on a channel from connection tasks; outputs are serialised once and pushed to
//! each member's outbox. A member whose outbox is full is too slow: its outbox is dropped, which
//! makes its connection task close it, and nobody else waits for it.

use crate::appends::Appends;
use crate::clock::HostClock;
use crate::driver::Driver;
use crate::journal::Journal;
use crate::outbox::Outbox;
use bandsync_core::protocol::Route;
use bandsync_core::protocol::Snapshot;
use bandsync_core::session::JoinRequest;
use bandsync_core::session::carry::{Carried, CarryKey};
use bandsync_core::{ClientMsg, ConnId, Session};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

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
    /// Panics the session task, to test that it survives.
    #[cfg(test)]
    Panic,
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
    /// Held by the task and by what it leaves running: [`crate::handle::SessionHandle`]'s
    /// `ended` fires once the last holder is gone.
    pub running: Arc<tokio_util::sync::DropGuard>,
    pub clock: HostClock,
    pub counters: Arc<Counters>,
    pub closing: CancellationToken,
    /// Cancelled (before `closing`) when this node lost the session's lease: see
    /// [`crate::handle::SessionHandle`].
    pub lease_lost: CancellationToken,
    /// Durable storage, if the host has a data directory.
    pub store: Option<Arc<crate::store::Store>>,
    /// The session's setlist and charts.
    pub doc: bandsync_docs::SessionDoc,
    /// Its chat, activity and versions, loaded from the store with the documents.
    pub journal: Journal,
    /// With a store: save what the session carries to the next node, or to this host restarted
    /// ([`bandsync_core::session::carry`]), whenever its roster or schedule changes.
    pub carry: bool,
    /// [`crate::ServerConfig::unwritten_max`].
    pub unwritten_max: usize,
}

/// Runs a session until every handle to it is gone.
pub(crate) async fn run(mut session: Session, mut rx: mpsc::Receiver<SessionInput>, ctx: Context) {
    let Context { running, clock, counters, closing, lease_lost, store, doc, journal, carry, unwritten_max } = ctx;
    let shadow = if store.is_none() { vec![doc.encode_state()] } else { Vec::new() };
    let appends = store.as_ref().map(|st| crate::appends::Appends::new(st.clone(), session.id(), unwritten_max));
    let mut d = Driver {
        id: session.id().to_owned(),
        doc,
        store,
        journal,
        appends,
        outboxes: HashMap::new(),
        old_readers: std::collections::HashSet::new(),
        doc_peers: HashMap::new(),
        shadow,
        compacting: Arc::default(),
        running,
        news_due: false,
        secrets: crate::stored_secrets::secrets_of(&session),
        secrets_lost: None,
        redo: crate::driver::Redo::default(),
    };
    // What this task last saved of the carried state, and whether it has written the roster
    // since it started: its first write does, whatever changed (the row may hold another
    // node's members, or a row from before the roster was apart).
    let mut carried = carry.then(|| (Carried::key(&session), false));
    loop {
        // A panic anywhere in handling one input is contained here: the session lives on.
        let step = std::panic::AssertUnwindSafe(step(&mut session, &mut d, &mut rx, &clock, &closing, &mut carried));
        match futures_util::FutureExt::catch_unwind(step).await {
            Ok(true) => {}
            Ok(false) => break,
            Err(panic) => d.recover(&mut session, clock.now(), &panic_message(&*panic)).await,
        }
        let stats = session.stats();
        counters.members.store(stats.members, Ordering::Relaxed);
        counters.online.store(stats.online, Ordering::Relaxed);
    }
    // Closed before the outboxes (in `d`, and in joins still queued here) drop: each connection
    // then reads its closed outbox as the session's end, not as its own slowness
    // ([`crate::connection::outbox_closed`]).
    rx.close();
    // Another node may own the session now, and what is still on its way to the disk here would
    // be refused there (fenced): the members go at once, not after it (a database cut off may
    // never answer).
    if lease_lost.is_cancelled() {
        d.close_everyone("the session moved to another server; reconnect");
    }
    // The last edits reach the disk before the session is let go.
    d.settle().await;
    drop(d);
    tracing::debug!(session = session.id(), "session task ended");
}

/// Waits for the appends in a step (`Driver::settle`), unless the session is stopped meanwhile
/// (`false`): a database cut off may never answer, and a node that lost the lease must send its
/// members on (`run`) rather than wait for it.
async fn settle_unless(d: &mut Driver, closing: &CancellationToken) -> bool {
    tokio::select! {
        () = d.settle() => true,
        () = closing.cancelled() => false,
    }
}

/// Waits for and handles one input or timer; `false` once the session is over.
async fn step(
    session: &mut Session,
    d: &mut Driver,
    rx: &mut mpsc::Receiver<SessionInput>,
    clock: &HostClock,
    closing: &CancellationToken,
    carried: &mut Option<(CarryKey, bool)>,
) -> bool {
    let mut again = crate::driver::Redo::default();
    {
        let deadline = session.poll_timeout().map(|t| clock.instant_at(t));
        let edits_due = d.journal.deadline();
        tokio::select! {
            () = closing.cancelled() => return false,
            input = rx.recv() => {
                let Some(input) = input else { return false };
                // What failed writes left to write again is written as an input arrives.
                again = std::mem::take(&mut d.redo);
                if again.documents {
                    d.catch_up();
                }
                let now = clock.now();
                match input {
                    SessionInput::Join { conn, req, token, outbox, answer } => {
                        d.outboxes.insert(conn, outbox);
                        // (A connection may join again after a refusal, with another version.)
                        if req.v < bandsync_core::protocol::DOCS_PROTOCOL_VERSION {
                            d.old_readers.insert(conn);
                        } else {
                            d.old_readers.remove(&conn);
                        }
                        session.handle_join(now, conn, req, token);
                        // The answer goes before the welcome: whatever the member sends once it has
                        // its welcome finds its connection already counted as joined.
                        let _ = answer.send(session.participant_of(conn).is_some());
                    }
                    SessionInput::Msg { conn, msg } => match (msg.route(), msg) {
                        (Route::Documents, ClientMsg::Song { id }) => {
                            // A song is looked up in the setlist as stored.
                            if !settle_unless(d, closing).await {
                                return false;
                            }
                            d.on_song(session, clock.now(), conn, id);
                        }
                        (Route::Journal, msg) => {
                            // A version is of the documents as stored (waited for by editors only:
                            // anyone else is refused anyway).
                            let versions = matches!(msg, ClientMsg::SaveVersion { .. } | ClientMsg::RestoreVersion { .. });
                            let editor = session.access_of(conn) == Some(bandsync_core::protocol::Access::Editor);
                            if versions && editor && !settle_unless(d, closing).await {
                                return false;
                            }
                            d.on_journal(session, conn, msg);
                        }
                        (_, msg) => session.handle_input(now, conn, msg),
                    },
                    SessionInput::Disconnect { conn } => {
                        d.forget(conn);
                        session.handle_disconnect(now, conn);
                    }
                    SessionInput::Doc { conn, bytes } => {
                        if d.on_doc(session, conn, &bytes) {
                            // Read back after the appends in flight.
                            if !settle_unless(d, closing).await {
                                return false;
                            }
                            d.reload_doc();
                        }
                    }
                    SessionInput::DocPeer { conn, secret, outbox, reply } => {
                        if let Some(access) = session.link_access(&secret) {
                            d.doc_peers.insert(conn, (outbox, access));
                            let _ = reply.send(Ok(()));
                        } else {
                            let _ = reply.send(Err("bad_secret: the secret is wrong or was rotated".into()));
                        }
                    }
                    SessionInput::Snapshot { reply } => {
                        let _ = reply.send(session.snapshot(now));
                    }
                    #[cfg(test)]
                    SessionInput::Panic => panic!("a panic injected by a test"),
                }
            }
            () = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)), if deadline.is_some() => session.handle_timeout(clock.now()),
            written = written(d.appends.as_mut()), if d.appends.as_ref().is_some_and(Appends::busy) => {
                d.on_written(written);
            }
            () = tokio::time::sleep_until(edits_due.unwrap_or_else(tokio::time::Instant::now)), if edits_due.is_some() => {
                // The burst's version is of the documents as stored.
                if !settle_unless(d, closing).await {
                    return false;
                }
                let effects = d.journal.flush(&d.doc);
                d.apply_effects(session, None, effects);
            }
        }
        // A rotated secret or a new PIN is stored before anyone hears of it, with the appends;
        // one the disk refused is put back (a restart would bring the old one back, and the
        // band's links with it).
        d.store_secrets(session, again.secrets);
        // The roster and schedule a restarted host or the next node would need, saved before
        // anyone hears of a change: with the appends, off this task, the step's news held behind
        // it (a node that lost the lease is refused, and lets the session go).
        // The members (most of its bytes) only when they changed, or when a write was lost.
        if let Some((key, roster_written)) = carried.as_mut() {
            let now_key = Carried::key(session);
            if now_key != *key || again.carried {
                // A write lost since the input came (waited for within this step, or one ending
                // between inputs) left its roster to be written again too (`d.redo`).
                let roster = again.carried || d.redo.carried || !*roster_written || now_key.roster != key.roster;
                d.persist_carried(session.carry_parts(clock.now(), clock.wall_us(), roster));
                (*key, *roster_written, d.redo.carried) = (now_key, true, false);
            }
        }
        d.drain(session);
        d.news_due = false;
    }
    true
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// The end of the document's write in flight (never, without one).
async fn written(appends: Option<&mut Appends>) -> crate::appends::Written {
    match appends {
        Some(a) => a.written().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::SessionInput;
    use crate::{HostClock, Hub, ServerConfig};

    #[tokio::test]
    async fn a_panic_in_a_session_task_is_contained_and_the_session_serves_on() {
        let hub = Hub::new(ServerConfig::default(), HostClock::new());
        let h = hub.create_session("Gig").unwrap();
        h.tx.send(SessionInput::Panic).await.unwrap();
        let snap = h.snapshot().await.expect("the session still answers");
        assert_eq!(snap.name, "Gig");
    }
}
