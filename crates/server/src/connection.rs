//! One WebSocket connection, from upgrade to close.
//!
//! The task enforces the frame-size limit and the rate limit, answers clock pings and heartbeats
//! itself (so pongs carry receive and send times taken as close to the wire as possible), routes
//! everything else to its session's task, and writes what the session sends back. A violation gets
//! an error frame; more than `max_violations` close the connection with code 1008. Nothing a member
//! sends can panic this task or reach another member.

use crate::hub::{Hub, SessionHandle, new_token};
use crate::session_task::{Outgoing, SessionInput};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use bandsync_core::protocol::{
    DecodeError, ErrorCode, MAX_FRAME_BYTES, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, decode_client, encode_server,
};
use bandsync_core::ratelimit::TokenBucket;
use bandsync_core::session::JoinRequest;
use bandsync_core::{ClientMsg, ConnId, ServerMsg};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// Close codes the server uses (RFC 6455 section 7.4).
pub mod close_code {
    /// Normal closure: the member left, or was replaced by its own newer connection.
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// Protocol error: an unsupported protocol version.
    pub const PROTOCOL: u16 = 1002;
    /// Policy violation: too many refused frames, too slow to read, or no join in time.
    pub const POLICY: u16 = 1008;
    /// A frame beyond the transport's hard limit.
    pub const TOO_BIG: u16 = 1009;
}

struct Conn {
    id: ConnId,
    hub: Arc<Hub>,
    socket: WebSocket,
    bucket: TokenBucket,
    violations: u32,
    session: Option<SessionHandle>,
    outbox: Option<mpsc::Receiver<Outgoing>>,
}

enum Flow {
    Continue,
    Close(u16, &'static str),
}

/// Serves one upgraded WebSocket until it closes, the member leaves, or `cancel` fires.
pub async fn handle(socket: WebSocket, hub: Arc<Hub>, cancel: CancellationToken) {
    let id = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
    let cfg = hub.cfg.clone();
    let now = hub.clock.now();
    let mut c = Conn {
        id,
        bucket: TokenBucket::new(cfg.rate_burst, cfg.rate_per_sec, now),
        hub,
        socket,
        violations: 0,
        session: None,
        outbox: None,
    };
    let mut heartbeat = tokio::time::interval(cfg.heartbeat_interval);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let join_deadline = tokio::time::sleep(cfg.join_timeout);
    tokio::pin!(join_deadline);
    tracing::debug!(conn = id, "connection open");

    let close = loop {
        tokio::select! {
            () = cancel.cancelled() => break Some((close_code::GOING_AWAY, "server shutting down")),
            frame = c.socket.recv() => {
                let t1 = c.hub.clock.now();
                last_heard = Instant::now();
                let flow = match frame {
                    None => break None,
                    Some(Err(e)) => {
                        tracing::info!(conn = id, error = %e, "connection failed");
                        break Some((close_code::TOO_BIG, "frame refused by the transport"));
                    }
                    Some(Ok(Message::Text(text))) => c.on_text(text.as_str(), t1).await,
                    Some(Ok(Message::Binary(b))) => c.on_binary(b.len()).await,
                    Some(Ok(Message::Close(_))) => break None,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Flow::Continue,
                };
                if let Flow::Close(code, reason) = flow {
                    break Some((code, reason));
                }
            }
            out = recv_outbox(&mut c.outbox) => match out {
                Some(Outgoing::Text(text)) => {
                    if c.socket.send(Message::Text(text)).await.is_err() {
                        break None;
                    }
                }
                Some(Outgoing::Close(reason)) => break Some((close_code::NORMAL, reason)),
                None => break Some((close_code::POLICY, "too slow to read")),
            },
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > cfg.idle_timeout {
                    tracing::info!(conn = id, "no heartbeat; connection dead");
                    break None;
                }
                if c.socket.send(Message::Ping(Default::default())).await.is_err() {
                    break None;
                }
            }
            () = &mut join_deadline, if c.session.is_none() => {
                c.send(&ServerMsg::error(ErrorCode::NotJoined, "no join within the time limit", None)).await;
                break Some((close_code::POLICY, "no join in time"));
            }
        }
    };
    if let Some((code, reason)) = close {
        let frame = CloseFrame { code, reason: reason.into() };
        if c.socket.send(Message::Close(Some(frame))).await.is_ok() {
            // Finish the close handshake: read (and discard) until the member's close arrives, so
            // that the close frame is not lost to a TCP reset while the member is still sending.
            let drain = async {
                while let Some(Ok(m)) = c.socket.recv().await {
                    if matches!(m, Message::Close(_)) {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), drain).await;
        }
    }
    if let Some(s) = &c.session {
        let _ = s.tx.send(SessionInput::Disconnect { conn: id }).await;
    }
    tracing::debug!(conn = id, ?close, "connection closed");
}

async fn recv_outbox(rx: &mut Option<mpsc::Receiver<Outgoing>>) -> Option<Outgoing> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

impl Conn {
    async fn send(&mut self, msg: &ServerMsg) -> bool {
        self.socket.send(Message::Text(encode_server(msg).into())).await.is_ok()
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

    async fn on_binary(&mut self, len: usize) -> Flow {
        if !self.bucket.try_take(self.hub.clock.now()) {
            return self.refuse(rate_limited()).await;
        }
        if len >= MAX_FRAME_BYTES {
            return self.refuse(too_large(len)).await;
        }
        self.refuse(ServerMsg::error(
            ErrorCode::Unsupported,
            "binary frames carry documents, which this server does not host yet",
            None,
        ))
        .await
    }

    async fn on_text(&mut self, text: &str, t1: bandsync_core::Micros) -> Flow {
        if !self.bucket.try_take(t1) {
            return self.refuse(rate_limited()).await;
        }
        let msg = match decode_client(text) {
            Ok(m) => m,
            Err(e) => return self.refuse(DecodeError::to_msg(&e)).await,
        };
        match msg {
            ClientMsg::Ping { n, t0 } => {
                let epoch = self.hub.clock.epoch();
                let t2 = self.hub.clock.now();
                self.send(&ServerMsg::Pong { n, t0, t1, t2, epoch }).await;
                Flow::Continue
            }
            ClientMsg::Heartbeat { n } => {
                self.send(&ServerMsg::Heartbeat { n }).await;
                Flow::Continue
            }
            ClientMsg::Join { v, session, name, instrument, resume, leader } => {
                if !(MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&v) {
                    let m = format!(
                        "this server speaks protocol versions {MIN_PROTOCOL_VERSION} to {PROTOCOL_VERSION}; you sent {v}. {}",
                        if v > PROTOCOL_VERSION { "Update the host." } else { "Update this app." }
                    );
                    self.send(&ServerMsg::error(ErrorCode::VersionUnsupported, m, Some("join"))).await;
                    return Flow::Close(close_code::PROTOCOL, "version_unsupported");
                }
                let handle = match &self.session {
                    Some(h) if *h.id == *session => h.clone(),
                    Some(_) => {
                        let m = "this connection has joined another session";
                        return self.refuse(ServerMsg::error(ErrorCode::AlreadyJoined, m, Some("join"))).await;
                    }
                    None => match self.hub.get(&session) {
                        Some(h) => h,
                        None => {
                            let m = format!("there is no session {session:?} on this server");
                            self.send(&ServerMsg::error(ErrorCode::UnknownSession, m, Some("join"))).await;
                            return Flow::Continue;
                        }
                    },
                };
                let (tx, rx) = mpsc::channel(self.hub.cfg.outbox_capacity);
                self.outbox = Some(rx);
                let req = JoinRequest { name, instrument, resume, leader };
                let input = SessionInput::Join { conn: self.id, req, token: new_token(), outbox: tx };
                if handle.tx.send(input).await.is_err() {
                    return Flow::Close(close_code::GOING_AWAY, "session ended");
                }
                self.session = Some(handle);
                Flow::Continue
            }
            msg => {
                let Some(s) = &self.session else {
                    let kind = msg.kind();
                    self.send(&ServerMsg::error(ErrorCode::NotJoined, "send a join first", Some(kind))).await;
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
