//! Hostile input, black-box over real sockets: crafted y-sync, amplification, reconnect floods,
//! socket hoarding, oversized documents, members that stop reading, side doors in the viewer role,
//! invisible names, slot exhaustion. Each case then checks that an honest member, from another
//! address, still joins and is answered by the session task itself (not only by its connection).
//!
//! Attackers connect from other loopback addresses (127.0.0.2 and up) than the honest member
//! (127.0.0.1), as they would from other machines: the limits per source address apply to them.
//!
//! - [`frames`]: crafted y-sync and awareness, amplification, the document size limit, updates
//!   refused partway through;
//! - [`floods`]: reconnect floods, hoarded sockets, members that stop reading, shutdown;
//! - [`access`]: the viewer role, names, slot exhaustion, PIN guessing.

mod access;
mod floods;
mod frames;

use bandsync_e2e::{Raw, TestServer};
use futures_util::SinkExt;
use serde_json::json;
use std::net::IpAddr;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

pub(super) fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub(super) async fn member_from(ts: &TestServer, src: &str, name: &str, leader: bool) -> Raw {
    let mut r = Raw::connect_from(ts.addr(), ip(src), None).await;
    r.secret = Some(ts.secret.clone());
    r.join(&ts.session, name, leader, None).await;
    r
}

/// One round trip through the session task: the participants, as the HTTP API asks the task.
pub(super) async fn probe(ts: &TestServer) -> Duration {
    let t = Instant::now();
    let (status, body) = ts.get(&format!("/api/sessions/{}/participants", ts.session)).await;
    assert_eq!(status, 200, "{body}");
    t.elapsed()
}

pub(super) fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[(v.len() * 99 / 100).min(v.len() - 1)]
}

/// An honest member joins from 127.0.0.1 and its chat comes back through the session task.
pub(super) async fn honest_member_is_served(ts: &TestServer) {
    let (mut h, _) = ts.member("Honest", false).await;
    h.send(json!({"type": "chat", "text": "still here?"})).await;
    let m = h.recv_type("chat").await;
    assert_eq!(m["message"]["text"], "still here?", "{m}");
}

pub(super) async fn binary(r: &mut Raw, bytes: Vec<u8>) -> bool {
    r.ws.send(Message::Binary(bytes.into())).await.is_ok()
}

/// lib0 variable-length unsigned integer.
pub(super) fn var(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A y-sync message: type 0 (sync), `sub`, then the payload as a byte string.
pub(super) fn sync_msg(sub: u64, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0];
    var(sub, &mut f);
    var(payload.len() as u64, &mut f);
    f.extend_from_slice(payload);
    f
}
