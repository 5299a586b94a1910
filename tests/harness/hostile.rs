//! What the hostile-input tests (`tests/e2e/hostile/`) and the hostile benchmark
//! (`benches/hostile.rs`) share: members from other loopback addresses, an honest member's round
//! trip through the session task, and y-sync frames built by hand.

use crate::{Raw, TestServer};
use futures_util::SinkExt;
use serde_json::json;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// A loopback address, as text.
///
/// # Panics
/// When `s` is not an IP address.
#[must_use]
pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// What an attacker knows of the test server's session: the test's own `TestServer`, or, in the
/// bench's attacking process, what its command line says.
#[derive(Clone, Debug)]
pub struct AttackedSession {
    /// The server's address.
    pub addr: SocketAddr,
    /// The session's id.
    pub session: String,
    /// Its join secret.
    pub secret: String,
}

impl From<&TestServer> for AttackedSession {
    fn from(ts: &TestServer) -> Self {
        AttackedSession { addr: ts.addr(), session: ts.session.clone(), secret: ts.secret.clone() }
    }
}

/// A member of the test server's session, connected from `src` (127.0.0.2 and up: another
/// machine, as far as the limits per address go).
pub async fn member_from(ts: impl Into<AttackedSession>, src: &str, name: &str, leader: bool) -> Raw {
    let t = ts.into();
    let mut r = Raw::connect_from(t.addr, ip(src), None).await;
    r.secret = Some(t.secret);
    r.join(&t.session, name, leader, None).await;
    r
}

/// One round trip through the session task: the participants, as the HTTP API asks the task.
///
/// # Panics
/// When the API does not answer 200.
pub async fn probe(ts: &TestServer) -> Duration {
    let t = Instant::now();
    let (status, body) = ts.get(&format!("/api/sessions/{}/participants", ts.session)).await;
    assert_eq!(status, 200, "{body}");
    t.elapsed()
}

/// The 99th percentile.
///
/// # Panics
/// When `v` is empty.
#[must_use]
pub fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[(v.len() * 99 / 100).min(v.len() - 1)]
}

/// An honest member joins from 127.0.0.1 and its chat comes back through the session task.
///
/// # Panics
/// When the chat does not come back.
pub async fn honest_member_is_served(ts: &TestServer) {
    let (mut h, _) = ts.member("Honest", false).await;
    h.send(json!({"type": "chat", "text": "still here?"})).await;
    let m = h.recv_type("chat").await;
    assert_eq!(m["message"]["text"], "still here?", "{m}");
}

/// Sends a binary frame; `false` once the connection is closed.
pub async fn binary(r: &mut Raw, bytes: Vec<u8>) -> bool {
    r.ws.send(Message::Binary(bytes.into())).await.is_ok()
}

/// lib0 variable-length unsigned integer.
pub fn var(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A y-sync message: type 0 (sync), `sub`, then the payload as a byte string.
#[must_use]
pub fn sync_msg(sub: u64, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0];
    var(sub, &mut f);
    var(payload.len() as u64, &mut f);
    f.extend_from_slice(payload);
    f
}

/// A member whose socket receives into a tiny window and never reads ("Locked phone", from
/// 127.0.0.5), and an editor (from 127.0.0.2) that has sent the session 6.6 MB: the server's
/// writes to the first back up.
///
/// # Panics
/// When the editor's connection closes.
pub async fn stalled_member(ts: impl Into<AttackedSession>) -> (Raw, Raw) {
    let t = ts.into();
    let mut sleeper = Raw::connect_from(t.addr, ip("127.0.0.5"), Some(4096)).await;
    sleeper.secret = Some(t.secret.clone());
    sleeper.join(&t.session, "Locked phone", false, None).await;
    let mut ed = member_from(t, "127.0.0.2", "Editor", false).await;
    let local = bandsync_docs::SessionDoc::new();
    let chunk = "y".repeat(60 * 1024);
    for i in 0..110 {
        assert!(binary(&mut ed, local.insert_chart(&format!("big{i}"), 0, &chunk)).await);
    }
    (sleeper, ed)
}

/// The amplification attack's two frames: a sync step 1 of 7 bytes that claims 2^24 clients,
/// and an awareness update claiming 2^20.
#[must_use]
pub fn amplifying_frames() -> (Vec<u8>, Vec<u8>) {
    let mut sv = Vec::new();
    var(1 << 24, &mut sv);
    let step1 = sync_msg(0, &sv);
    let mut aw = vec![1];
    let mut body = Vec::new();
    var(1 << 20, &mut body);
    var(body.len() as u64, &mut aw);
    aw.extend_from_slice(&body);
    (step1, aw)
}
