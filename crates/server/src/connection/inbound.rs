//! What a member sends, as the connection sees it: the rate limit and frame-size limit, decoding,
//! the count of refused frames, and the router that answers clock pings and heartbeats here and
//! hands joins, messages and document updates to the session's task. Writing is in
//! `connection.rs`.

use super::{Conn, Flow, close_code};
use crate::nodes::Placement;
use crate::session_task::SessionInput;
use crate::tokens::new_token;
use bandsync_core::protocol::Route;
use bandsync_core::protocol::{
    DecodeError, ErrorCode, MAX_FRAME_BYTES, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, decode_client,
};
use bandsync_core::session::JoinRequest;
use bandsync_core::{ClientMsg, ServerMsg};
use tokio::sync::mpsc;

impl Conn {
    /// Takes a token from this connection's bucket and from its address's.
    fn admit_message(&mut self, now: bandsync_core::Micros) -> bool {
        self.bucket.try_take(now) && self.source.as_ref().is_none_or(|s| s.try_take(now))
    }

    /// Records a refused frame and says whether the connection has used up its tolerance.
    async fn refuse(&mut self, err: ServerMsg) -> Flow {
        self.violations += 1;
        if self.violations > self.hub.cfg.max_violations {
            tracing::info!(conn = self.id, violations = self.violations, "closing after repeated violations");
            return Flow::Close(close_code::POLICY, "too many refused frames");
        }
        self.send(&err).await;
        Flow::Continue
    }

    pub(super) async fn on_binary(&mut self, bytes: axum::body::Bytes) -> Flow {
        if !self.admit_message(self.hub.clock.now()) {
            return self.refuse(rate_limited()).await;
        }
        if bytes.len() >= MAX_FRAME_BYTES {
            return self.refuse(too_large(bytes.len())).await;
        }
        let Some(s) = self.session.as_ref().filter(|_| self.joined) else {
            self.send(&ServerMsg::error(ErrorCode::NotJoined, "join before syncing documents", Some("doc"))).await;
            return Flow::Continue;
        };
        if s.tx.send(SessionInput::Doc { conn: self.id, bytes }).await.is_err() {
            return Flow::Close(close_code::GOING_AWAY, "session ended");
        }
        Flow::Continue
    }

    /// A join for a session no one has: the member is refused.
    async fn unknown(&mut self, session: &str) -> Flow {
        let m = format!("there is no session {session:?} on this server");
        self.send(&ServerMsg::error(ErrorCode::UnknownSession, m, Some("join"))).await;
        Flow::Continue
    }

    pub(super) async fn on_text(&mut self, text: &str, t1: bandsync_core::Micros) -> Flow {
        if !self.admit_message(t1) {
            return self.refuse(rate_limited()).await;
        }
        let msg = match decode_client(text) {
            Ok(m) => m,
            Err(e) => return self.refuse(DecodeError::to_msg(&e)).await,
        };
        // The router: what the connection answers itself, and what goes to the session's task.
        match (msg.route(), msg) {
            (Route::Connection, ClientMsg::Ping { n, t0 }) => {
                let epoch = self.hub.clock.epoch();
                let t2 = self.hub.clock.now();
                self.send(&ServerMsg::Pong { n, t0, t1, t2, epoch }).await;
                Flow::Continue
            }
            (Route::Connection, ClientMsg::Heartbeat { n }) => {
                self.send(&ServerMsg::Heartbeat { n }).await;
                Flow::Continue
            }
            (
                Route::Connection,
                ClientMsg::Join { v, session, name, instrument, resume, leader, secret, pin, once },
            ) => {
                if !(MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&v) {
                    let m = format!(
                        "this server speaks protocol versions {MIN_PROTOCOL_VERSION} to {PROTOCOL_VERSION}; you sent {v}. {}",
                        if v > PROTOCOL_VERSION { "Update the host." } else { "Update this app." }
                    );
                    self.send(&ServerMsg::error(ErrorCode::VersionUnsupported, m, Some("join"))).await;
                    return Flow::Close(close_code::PROTOCOL, "version_unsupported");
                }
                if self.joined || self.join_answer.is_some() {
                    let m = if self.joined {
                        "this connection has already joined; open a new one for another session"
                    } else {
                        "a join is already on its way; wait for its answer"
                    };
                    return self.refuse(ServerMsg::error(ErrorCode::AlreadyJoined, m, Some("join"))).await;
                }
                let handle = match &self.session {
                    Some(h) if *h.id == *session => h.clone(),
                    _ => match self.hub.get(&session) {
                        Some(h) => h,
                        // On a node, a session the upgrade found here may have moved off since (its
                        // lease lost or handed over under load): refused as unknown, its member
                        // would stop for good. It is placed again, or the member reconnects.
                        None if self.hub.cfg.node.is_some() => match self.hub.place(&session).await {
                            Placement::Unknown => return self.unknown(&session).await,
                            placed => match self.hub.get(&session).filter(|_| placed == Placement::Here) {
                                Some(h) => h,
                                None => return Flow::Close(close_code::GOING_AWAY, "the session is moving; reconnect"),
                            },
                        },
                        None => return self.unknown(&session).await,
                    },
                };
                // A retry after a refused join to another session: leave the first one's driver.
                if let Some(old) = self.session.take().filter(|h| *h.id != *session) {
                    let _ = old.tx.send(SessionInput::Disconnect { conn: self.id }).await;
                }
                let (tx, rx) = mpsc::channel(self.hub.cfg.outbox_capacity);
                self.outbox = Some(rx);
                let source = self.source.as_ref().map(|s| s.ip().to_string());
                let req = JoinRequest { v, name, instrument, resume, leader, secret, pin, source, once };
                let token = bandsync_core::protocol::Secret(new_token());
                let (answer, rx) = tokio::sync::oneshot::channel();
                let input = SessionInput::Join { conn: self.id, req, token, outbox: tx, answer };
                if handle.tx.send(input).await.is_err() {
                    return Flow::Close(close_code::GOING_AWAY, "session ended");
                }
                self.session = Some(handle);
                self.join_answer = Some(rx);
                Flow::Continue
            }
            (_, msg) => {
                let Some(s) = &self.session else {
                    let kind = msg.kind();
                    self.send(&ServerMsg::error(ErrorCode::NotJoined, "send a join first", Some(&kind))).await;
                    return Flow::Continue;
                };
                if s.tx.send(SessionInput::Msg { conn: self.id, msg }).await.is_err() {
                    return Flow::Close(close_code::GOING_AWAY, "session ended");
                }
                Flow::Continue
            }
        }
    }
}

fn rate_limited() -> ServerMsg {
    ServerMsg::error(ErrorCode::RateLimited, "too many messages; slow down", None)
}

fn too_large(len: usize) -> ServerMsg {
    ServerMsg::error(
        ErrorCode::FrameTooLarge,
        format!("frame of {len} bytes; the limit is {} bytes", MAX_FRAME_BYTES - 1),
        None,
    )
}
