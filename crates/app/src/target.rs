//! What a typed join target means: a join link, or `HOST:PORT` alone, asked of the host for its
//! one session. Also how a target is shown in an error (without its secret). The commands that
//! use them are in [`crate::app`].

use crate::error::AppError;
use bandsync_client::JoinTarget;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A join target without its secret, for an error message.
pub(crate) fn redact(target: &str) -> String {
    target.split('#').next().unwrap_or(target).to_owned()
}

/// Reads a join target: a join link, or `HOST:PORT` alone, which names the host's one session
/// (asked of the host's `/api/sessions`).
pub(crate) async fn resolve_target(target: &str, timeout: Duration) -> Result<JoinTarget, AppError> {
    let target = target.trim();
    match JoinTarget::parse(target) {
        Ok(t) => Ok(t),
        Err(bandsync_client::LinkError::NoSession) => {
            let t = target.trim_start_matches("http://").trim_start_matches("ws://").trim_end_matches('/');
            let addr: SocketAddr = t.parse().map_err(|_| {
                AppError::Target(format!("{target:?} is neither a join link nor an address like 192.168.1.5:7878"))
            })?;
            let id = tokio::time::timeout(timeout, only_session(addr))
                .await
                .map_err(|_| AppError::Unreachable { target: addr.to_string(), reason: "no answer".into() })??;
            JoinTarget::parse(&format!("http://{addr}/s/{id}")).map_err(|e| AppError::Target(e.to_string()))
        }
        Err(e) => Err(AppError::Target(e.to_string())),
    }
}

/// The id of the one session the server at `addr` holds (`GET /api/sessions`).
async fn only_session(addr: SocketAddr) -> Result<String, AppError> {
    let unreachable = |e: std::io::Error| AppError::Unreachable { target: addr.to_string(), reason: e.to_string() };
    let mut s = tokio::net::TcpStream::connect(addr).await.map_err(unreachable)?;
    let req =
        format!("GET /api/sessions HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.map_err(unreachable)?;
    let mut buf = Vec::new();
    s.take(256 * 1024).read_to_end(&mut buf).await.map_err(unreachable)?;
    let text = String::from_utf8_lossy(&buf);
    let not_bandsync = || AppError::Target(format!("{addr} does not answer like a BandSync host"));
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(not_bandsync)?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(not_bandsync());
    }
    #[derive(serde::Deserialize)]
    struct Listing {
        sessions: Vec<Listed>,
    }
    #[derive(serde::Deserialize)]
    struct Listed {
        id: String,
    }
    let listing: Listing = serde_json::from_str(body).map_err(|_| not_bandsync())?;
    match listing.sessions.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(AppError::Refused(format!("{addr} hosts no session"))),
        _ => Err(AppError::Target(format!("{addr} hosts several sessions; use the join link or QR code"))),
    }
}
