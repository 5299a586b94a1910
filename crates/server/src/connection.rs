//! One WebSocket connection, from upgrade to close.
//!
//! The task enforces the frame-size limit and the rate limit, answers clock pings and heartbeats
//! itself (so pongs carry receive and send times taken as close to the wire as possible), routes
//! everything else to its session's task, and writes what the session sends back. A violation gets
//! an error frame; more than `max_violations` close the connection with code 1008. Nothing a member
//! sends can panic this task or reach another member.
//!
//! What arrives (limits, decoding, the router) is in `connection/inbound.rs`; this file holds the
//! connection's state, its loop, and writing.

mod inbound;

use crate::addresses::AddressSlot;
use crate::hub::{Hub, SessionHandle};
use crate::outbox::Outgoing;
use crate::session_task::SessionInput;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use bandsync_core::protocol::{ErrorCode, encode_server};
use bandsync_core::ratelimit::TokenBucket;
use bandsync_core::{ClientMsg, ConnId, ServerMsg};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub(crate) static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// Close codes the server uses (RFC 6455 section 7.4).
pub mod close_code {
    /// Normal closure: the member left, or was replaced by its own newer connection.
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// Protocol error: an unsupported protocol version.
    pub const PROTOCOL: u16 = 1002;
    /// A text frame that is not UTF-8.
    pub const INVALID_DATA: u16 = 1007;
    /// Policy violation: too many refused frames, too slow to read, or no join in time.
    pub const POLICY: u16 = 1008;
    /// A frame beyond the transport's hard limit.
    pub const TOO_BIG: u16 = 1009;
}

struct Conn {
    id: ConnId,
    /// This connection's place in its source address's limits.
    source: Option<AddressSlot>,
    /// Fires at shutdown: a write waiting on a member that does not read gives up then.
    cancel: CancellationToken,
    /// A write did not complete within the write deadline (or shutdown began): close.
    stalled: bool,
    hub: Arc<Hub>,
    socket: WebSocket,
    bucket: TokenBucket,
    violations: u32,
    /// The session this connection's join went to.
    session: Option<SessionHandle>,
    /// Whether the session welcomed it (a refused join leaves it unjoined and free to try again).
    joined: bool,
    /// The session's answer to a join sent to it and not answered yet: whether it let us in.
    join_answer: Option<tokio::sync::oneshot::Receiver<bool>>,
    outbox: Option<mpsc::Receiver<Outgoing>>,
}

enum Flow {
    Continue,
    Close(u16, &'static str),
}

/// Serves one upgraded WebSocket until it closes, the member leaves, or `cancel` fires.
pub async fn handle(socket: WebSocket, hub: Arc<Hub>, cancel: CancellationToken, source: Option<AddressSlot>) {
    let id = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
    let cfg = hub.cfg.clone();
    let now = hub.clock.now();
    let mut c = Conn {
        id,
        source,
        cancel: cancel.clone(),
        stalled: false,
        bucket: TokenBucket::new(cfg.rate_burst, cfg.rate_per_sec, now),
        hub,
        socket,
        violations: 0,
        session: None,
        joined: false,
        join_answer: None,
        outbox: None,
    };
    let mut heartbeat = tokio::time::interval(cfg.heartbeat_interval);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    // For the join's timing (debug, `bandsync_server::joins`): when the connection opened, and
    // when its first text frame (the member's join) came.
    let (opened, mut first_text) = (last_heard, None);
    let join_deadline = tokio::time::sleep(cfg.join_timeout);
    tokio::pin!(join_deadline);
    // Made once, not on every turn of the loop (each would register with the token anew).
    let shutdown = cancel.cancelled();
    tokio::pin!(shutdown);
    tracing::debug!(conn = id, "connection open");

    let close = loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break Some((close_code::GOING_AWAY, "server shutting down")),
            out = recv_outbox(&mut c.outbox) => match c.write_batch(out).await {
                Ok(None) => {}
                Ok(Some(close)) => break Some(close),
                Err(()) => break None,
            },
            answer = recv_answer(&mut c.join_answer) => {
                c.join_answer = None;
                // A refused join leaves the connection unjoined and free to try again.
                c.joined = answer;
                let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
                tracing::debug!(
                    target: "bandsync_server::joins",
                    conn = id,
                    session = c.session.as_ref().map(|s| &*s.id),
                    answer,
                    join_after_ms = first_text.map(|t: Instant| ms(t - opened)),
                    answered_ms = first_text.map(|t: Instant| ms(t.elapsed())),
                    "join answered"
                );
                if !answer {
                    first_text = None;
                }
            }
            frame = c.socket.recv() => {
                let t1 = c.hub.clock.now();
                last_heard = Instant::now();
                if first_text.is_none() && matches!(frame, Some(Ok(Message::Text(_)))) {
                    first_text = Some(last_heard);
                }
                let flow = match frame {
                    None => break None,
                    Some(Err(e)) => {
                        tracing::info!(conn = id, error = %e, "connection failed");
                        break Some(transport_close(e));
                    }
                    Some(Ok(Message::Text(text))) => c.on_text(text.as_str(), t1).await,
                    Some(Ok(Message::Binary(b))) => c.on_binary(b).await,
                    Some(Ok(Message::Close(f))) => {
                        // Closing on purpose with 1000 (normal closure) is leaving: the place is
                        // given back at once, as `leave` gives it. BandSync's own clients close
                        // without a code (the Rust client) or with 4000 (the page) when they
                        // reconnect, and a connection that dies keeps its place for the member's
                        // return.
                        if f.is_some_and(|f| f.code == close_code::NORMAL)
                            && c.joined
                            && let Some(s) = &c.session
                        {
                            let _ = s.tx.send(SessionInput::Msg { conn: id, msg: ClientMsg::Leave {} }).await;
                        }
                        answer_close(&mut c.socket, cfg.write_timeout).await;
                        break None;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Flow::Continue,
                };
                if let Flow::Close(code, reason) = flow {
                    break Some((code, reason));
                }
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > cfg.idle_timeout {
                    tracing::info!(conn = id, "no heartbeat; connection dead");
                    break Some((close_code::GOING_AWAY, "heartbeat timeout"));
                }
                let ping = c.socket.send(Message::Ping(Default::default()));
                if write_within(&cancel, cfg.write_timeout, ping).await.is_err() {
                    c.stalled = true;
                }
            }
            () = &mut join_deadline, if !c.joined => {
                c.send(&ServerMsg::error(ErrorCode::NotJoined, "no join within the time limit", None)).await;
                break Some((close_code::POLICY, "no join in time"));
            }
        }
        if c.stalled {
            // The member does not read (or the server is closing): no close frame would get through.
            tracing::info!(conn = id, "a write missed its deadline; closing");
            break None;
        }
    };
    if let Some((code, reason)) = close {
        let finish = c.finish(code, reason);
        let _ = tokio::time::timeout(cfg.write_timeout.min(std::time::Duration::from_secs(1)), finish).await;
    }
    if let Some(s) = &c.session {
        let _ = s.tx.send(SessionInput::Disconnect { conn: id }).await;
    }
    tracing::debug!(conn = id, ?close, "connection closed");
}

/// After the peer's close frame: the WebSocket layer has queued the answering close frame
/// (RFC 6455 §5.5.1); this sends it, within `limit`, before the TCP connection ends.
pub(crate) async fn answer_close(socket: &mut WebSocket, limit: std::time::Duration) {
    let _ = tokio::time::timeout(limit, futures_util::SinkExt::flush(socket)).await;
}

/// Runs a socket write under the write deadline, giving up at shutdown.
///
/// A write that completes at once (the usual case: the socket has room) arms neither the
/// deadline nor the shutdown's waiter, which would cost a clock read, a timer and a lock for
/// every frame a member is sent.
pub(crate) async fn write_within<T, E>(
    cancel: &CancellationToken,
    limit: std::time::Duration,
    write: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, ()> {
    use futures_util::FutureExt;
    let mut write = std::pin::pin!(write);
    if let Some(r) = write.as_mut().now_or_never() {
        return r.map_err(|_| ());
    }
    tokio::select! {
        r = tokio::time::timeout(limit, write) => match r {
            Ok(Ok(v)) => Ok(v),
            _ => Err(()),
        },
        () = cancel.cancelled() => Err(()),
    }
}

impl Conn {
    /// Delivers what the session already sent (such as errors for accepted messages), then the
    /// close frame, then reads until the member's close. The caller bounds it in time.
    async fn finish(&mut self, code: u16, reason: &'static str) {
        let c = self;
        while let Some(m) = c.outbox.as_mut().and_then(|o| o.try_recv().ok()) {
            match m {
                Outgoing::Text(t) => {
                    if futures_util::SinkExt::feed(&mut c.socket, Message::Text(t)).await.is_err() {
                        break;
                    }
                }
                Outgoing::Binary(b) => {
                    if futures_util::SinkExt::feed(&mut c.socket, Message::Binary(b)).await.is_err() {
                        break;
                    }
                }
                Outgoing::Close(_) => break,
            }
        }
        let frame = CloseFrame { code, reason: reason.into() };
        if c.socket.send(Message::Close(Some(frame))).await.is_ok() {
            // Finish the close handshake: read (and discard) until the member's close arrives, so
            // that the close frame is not lost to a TCP reset while the member is still sending.
            while let Some(Ok(m)) = c.socket.recv().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
        }
    }
}

/// The session's answer to our join, when one is awaited.
async fn recv_answer(rx: &mut Option<tokio::sync::oneshot::Receiver<bool>>) -> bool {
    match rx {
        Some(rx) => rx.await.unwrap_or(false),
        None => std::future::pending().await,
    }
}

/// Why a connection's outbox closed with no `Close` in it, and the close to send: the session's
/// task ended (the session was let go to another node, or removed: reconnecting finds where it
/// went, or that it is gone), or the task dropped the outbox because the connection fell behind
/// ([`crate::driver`]'s `send_to`).
pub(crate) fn outbox_closed(session: Option<&SessionHandle>) -> (u16, &'static str) {
    if session.is_none_or(|s| !s.tx.is_closed()) {
        (close_code::POLICY, "too slow to read")
    } else {
        (close_code::GOING_AWAY, "the session ended on this server; reconnect")
    }
}

pub(crate) async fn recv_outbox(rx: &mut Option<mpsc::Receiver<Outgoing>>) -> Option<Outgoing> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The close frame for a failure of the WebSocket layer itself.
pub(crate) fn transport_close(e: axum::Error) -> (u16, &'static str) {
    use tokio_tungstenite::tungstenite::Error as WsError;
    match e.into_inner().downcast_ref::<WsError>() {
        Some(WsError::Capacity(_)) => (close_code::TOO_BIG, "frame over the 1 MiB transport limit"),
        Some(WsError::Utf8(_)) => (close_code::INVALID_DATA, "text frame is not UTF-8"),
        _ => (close_code::PROTOCOL, "invalid WebSocket frame"),
    }
}

impl Conn {
    /// Writes `first` and everything else already queued, then flushes once: one system call
    /// for a burst instead of one per message. Returns the close to send, if the session asked.
    async fn write_batch(&mut self, first: Option<Outgoing>) -> Result<Option<(u16, &'static str)>, ()> {
        use futures_util::SinkExt;
        let mut next = first;
        let mut n = 0;
        let result = loop {
            match next {
                Some(Outgoing::Text(text)) => {
                    self.write(|s| s.feed(Message::Text(text))).await?;
                    n += 1;
                }
                Some(Outgoing::Binary(b)) => {
                    self.write(|s| s.feed(Message::Binary(b))).await?;
                    n += 1;
                }
                Some(Outgoing::Close(reason)) => break Some((close_code::NORMAL, reason)),
                None => break Some(outbox_closed(self.session.as_ref())),
            }
            if n >= 64 {
                break None;
            }
            match self.outbox.as_mut().map(mpsc::Receiver::try_recv) {
                Some(Ok(m)) => next = Some(m),
                Some(Err(mpsc::error::TryRecvError::Disconnected)) => next = None,
                Some(Err(mpsc::error::TryRecvError::Empty)) | None => break None,
            }
        };
        self.write(SinkExt::flush).await?;
        Ok(result)
    }

    /// One write to the socket under the write deadline; a miss marks the connection stalled.
    async fn write<'a, F, Fut>(&'a mut self, op: F) -> Result<(), ()>
    where
        F: FnOnce(&'a mut WebSocket) -> Fut,
        Fut: std::future::Future<Output = Result<(), axum::Error>>,
    {
        let limit = self.hub.cfg.write_timeout;
        let r = write_within(&self.cancel, limit, op(&mut self.socket)).await;
        if r.is_err() {
            self.stalled = true;
        }
        r
    }

    async fn send(&mut self, msg: &ServerMsg) -> bool {
        let text = Message::Text(encode_server(msg).into());
        self.write(|s| s.send(text)).await.is_ok()
    }
}
