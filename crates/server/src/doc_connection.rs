//! A plain y-sync connection (`/doc/{session}`, as a stock y-websocket client opens it): binary
//! frames only, relayed through the session's task like a member's document frames.

use crate::addresses::AddressSlot;
use crate::connection::{
    NEXT_CONN, answer_close, close_code, outbox_closed, recv_outbox, transport_close, write_within,
};
use crate::hub::{Hub, SessionHandle};
use crate::outbox::Outgoing;
use crate::session_task::SessionInput;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use bandsync_core::protocol::MAX_FRAME_BYTES;
use bandsync_core::ratelimit::TokenBucket;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Serves a plain y-sync connection (`/doc/{session}`): binary frames only, relayed through the
/// session's task like a member's document frames. A wrong secret closes it with 1008 and the
/// reason; so does a malformed frame, since y-sync has no error message.
pub async fn handle_doc(
    mut socket: WebSocket,
    hub: Arc<Hub>,
    session: SessionHandle,
    secret: String,
    cancel: CancellationToken,
    source: Option<AddressSlot>,
) {
    let id = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
    let cfg = hub.cfg.clone();
    let (tx, rx) = mpsc::channel(cfg.outbox_capacity);
    let mut outbox = Some(rx);
    let (reply, answer) = tokio::sync::oneshot::channel();
    let admitted = match session.tx.send(SessionInput::DocPeer { conn: id, secret, outbox: tx, reply }).await {
        Ok(()) => answer.await.unwrap_or_else(|_| Err("session ended".into())),
        Err(_) => Err("session ended".into()),
    };
    if let Err(reason) = admitted {
        let frame = CloseFrame { code: close_code::POLICY, reason: reason.into() };
        let _ = socket.send(Message::Close(Some(frame))).await;
        return;
    }
    let mut bucket = TokenBucket::new(cfg.rate_burst, cfg.rate_per_sec, hub.clock.now());
    let mut heartbeat = tokio::time::interval(cfg.heartbeat_interval);
    let mut last_heard = Instant::now();
    // Made once, not on every turn of the loop (each would register with the token anew).
    let shutdown = cancel.cancelled();
    tokio::pin!(shutdown);
    let close: Option<(u16, String)> = loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break Some((close_code::GOING_AWAY, "server shutting down".into())),
            out = recv_outbox(&mut outbox) => match out {
                Some(Outgoing::Binary(b)) => {
                    if write_within(&cancel, cfg.write_timeout, socket.send(Message::Binary(b))).await.is_err() {
                        break None;
                    }
                }
                Some(Outgoing::Text(_)) => {}
                Some(Outgoing::Close(reason)) => break Some((close_code::POLICY, reason.into())),
                None => {
                    let (code, why) = outbox_closed(Some(&session));
                    break Some((code, why.into()));
                }
            },
            frame = socket.recv() => {
                last_heard = Instant::now();
                match frame {
                    None => break None,
                    Some(Ok(Message::Close(_))) => {
                        answer_close(&mut socket, cfg.write_timeout).await;
                        break None;
                    }
                    Some(Err(e)) => break Some((transport_close(e).0, "invalid WebSocket frame".into())),
                    Some(Ok(Message::Binary(b))) => {
                        let now = hub.clock.now();
                        if !(bucket.try_take(now) && source.as_ref().is_none_or(|s| s.try_take(now))) {
                            break Some((close_code::POLICY, "too many frames; slow down".into()));
                        }
                        if b.len() >= MAX_FRAME_BYTES {
                            break Some((close_code::TOO_BIG, format!("frame over {} bytes", MAX_FRAME_BYTES - 1)));
                        }
                        if session.tx.send(SessionInput::Doc { conn: id, bytes: b }).await.is_err() {
                            break Some((close_code::GOING_AWAY, "session ended".into()));
                        }
                    }
                    Some(Ok(Message::Text(_))) => break Some((close_code::POLICY, "this endpoint speaks binary y-sync only".into())),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                }
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > cfg.idle_timeout {
                    break Some((close_code::GOING_AWAY, "heartbeat timeout".into()));
                }
                if write_within(&cancel, cfg.write_timeout, socket.send(Message::Ping(Default::default()))).await.is_err() {
                    break None;
                }
            }
        }
    };
    if let Some((code, reason)) = close {
        let frame = Message::Close(Some(CloseFrame { code, reason: reason.into() }));
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), socket.send(frame)).await;
    }
    let _ = session.tx.send(SessionInput::Disconnect { conn: id }).await;
}
