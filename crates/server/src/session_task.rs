//! The driver of one session: a short `select!` loop around the sans-IO [`Session`].
//!
//! Inputs arrive on a channel from connection tasks; outputs are serialised once and pushed to
//! each member's outbox. A member whose outbox is full is too slow: its outbox is dropped, which
//! makes its connection task close it, and nobody else waits for it.

use crate::clock::HostClock;
use crate::hub::Counters;
use axum::extract::ws::Utf8Bytes;
use bandsync_core::protocol::{Snapshot, encode_server};
use bandsync_core::session::JoinRequest;
use bandsync_core::{ClientMsg, ConnId, Output, Session};
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
    /// The HTTP API asks for the state.
    Snapshot {
        /// Where to answer.
        reply: oneshot::Sender<Snapshot>,
    },
}

/// Runs a session until every handle to it is gone.
/// What a session task runs with besides its state machine.
pub(crate) struct Context {
    pub clock: HostClock,
    pub counters: Arc<Counters>,
    pub closing: CancellationToken,
    /// Durable storage, if the host has a data directory.
    pub store: Option<Arc<crate::store::Store>>,
    /// The session's setlist and charts.
    pub doc: bandsync_docs::SessionDoc,
}

pub(crate) async fn run(mut session: Session, mut rx: mpsc::Receiver<SessionInput>, ctx: Context) {
    let Context { clock, counters, closing, store, doc } = ctx;
    let mut outboxes: HashMap<ConnId, Outbox> = HashMap::new();
    let mut saved_secret = session.secret().clone();
    loop {
        let deadline = session.poll_timeout().map(|t| clock.instant_at(t));
        tokio::select! {
            () = closing.cancelled() => break,
            input = rx.recv() => {
                let Some(input) = input else { break };
                let now = clock.now();
                match input {
                    SessionInput::Join { conn, req, token, outbox } => {
                        outboxes.insert(conn, outbox);
                        session.handle_join(now, conn, req, token);
                    }
                    SessionInput::Msg { conn, msg } => session.handle_input(now, conn, msg),
                    SessionInput::Disconnect { conn } => {
                        outboxes.remove(&conn);
                        session.handle_disconnect(now, conn);
                    }
                    SessionInput::Doc { conn, bytes } => on_doc(&session, &doc, store.as_deref(), &outboxes, conn, &bytes),
                    SessionInput::Snapshot { reply } => {
                        let _ = reply.send(session.snapshot(now));
                    }
                }
            }
            () = sleep_until(deadline), if deadline.is_some() => session.handle_timeout(clock.now()),
        }
        // A rotated secret is saved before anyone hears of it.
        if let Some(st) = &store {
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
        drain(&mut session, &mut outboxes);
        let stats = session.stats();
        counters.members.store(stats.members, Ordering::Relaxed);
        counters.online.store(stats.online, Ordering::Relaxed);
    }
    tracing::debug!(session = session.id(), "session task ended");
}

/// A y-sync frame: answer the sender, relay changes to everyone else, refuse viewers' edits.
fn on_doc(
    session: &Session,
    doc: &bandsync_docs::SessionDoc,
    store: Option<&crate::store::Store>,
    outboxes: &HashMap<ConnId, Outbox>,
    conn: ConnId,
    bytes: &[u8],
) {
    use bandsync_core::protocol::{Access, ErrorCode, ServerMsg};
    let Some(ob) = outboxes.get(&conn) else { return };
    let Some(access) = session.access_of(conn) else {
        let e = ServerMsg::error(ErrorCode::NotJoined, "join before syncing documents", Some("doc"));
        let _ = ob.try_send(Outgoing::Text(Utf8Bytes::from(encode_server(&e))));
        return;
    };
    match doc.handle(bytes, access == Access::Editor) {
        Ok(reply) => {
            // Durable before anyone hears of it: the sender's next sync step is its receipt.
            if let Some(st) = store {
                for u in &reply.updates {
                    if let Err(e) = st.append_update(session.id(), u, || doc.encode_state()) {
                        tracing::error!(session = session.id(), error = %e, "could not save a document update");
                        let m = ServerMsg::error(ErrorCode::Internal, "the edit could not be saved", Some("doc"));
                        let _ = ob.try_send(Outgoing::Text(Utf8Bytes::from(encode_server(&m))));
                        return;
                    }
                }
            }
            for m in reply.to_sender {
                let _ = ob.try_send(Outgoing::Binary(m.into()));
            }
            for b in reply.broadcast {
                let b = axum::body::Bytes::from(b);
                for other in session.connections().filter(|&c| c != conn) {
                    if let Some(o) = outboxes.get(&other) {
                        let _ = o.try_send(Outgoing::Binary(b.clone()));
                    }
                }
            }
        }
        Err(e) => {
            let code = match e {
                bandsync_docs::DocError::ReadOnly => ErrorCode::ReadOnly,
                _ => ErrorCode::Malformed,
            };
            let m = ServerMsg::error(code, e.to_string(), Some("doc"));
            let _ = ob.try_send(Outgoing::Text(Utf8Bytes::from(encode_server(&m))));
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn drain(session: &mut Session, outboxes: &mut HashMap<ConnId, Outbox>) {
    let mut slow = Vec::new();
    while let Some(out) = session.poll_output() {
        match out {
            Output::Send(conn, msg) => {
                let text = Utf8Bytes::from(encode_server(&msg));
                if let Some(ob) = outboxes.get(&conn) {
                    if ob.try_send(Outgoing::Text(text)).is_err() {
                        slow.push(conn);
                    }
                }
            }
            Output::Broadcast(msg) => {
                let text = Utf8Bytes::from(encode_server(&msg));
                for conn in session.connections() {
                    if let Some(ob) = outboxes.get(&conn) {
                        if ob.try_send(Outgoing::Text(text.clone())).is_err() {
                            slow.push(conn);
                        }
                    }
                }
            }
            Output::Close(conn, reason) => {
                if let Some(ob) = outboxes.remove(&conn) {
                    let _ = ob.try_send(Outgoing::Close(reason));
                }
            }
        }
    }
    for conn in slow {
        if outboxes.remove(&conn).is_some() {
            tracing::warn!(session = session.id(), conn, "member too slow to read; dropping its connection");
        }
    }
}
