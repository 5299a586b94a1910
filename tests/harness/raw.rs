//! A member that speaks the wire format directly, so that a test sees exactly what a member would.

use crate::WAIT;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long [`Raw::recv_type`] waits for its message while others keep coming.
const TYPE_WAIT: Duration = Duration::from_secs(20);

/// A member speaking raw JSON frames.
pub struct Raw {
    /// The socket.
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The secret its joins carry.
    pub secret: Option<String>,
}

impl Raw {
    /// Connects to `/ws`.
    ///
    /// # Panics
    /// If the connection fails.
    pub async fn connect(addr: SocketAddr) -> Raw {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await.expect("websocket connects");
        Raw { ws, secret: None }
    }

    /// Connects to `/ws` from the loopback address `src` (any of 127.0.0.0/8), so that a test can
    /// play clients on different machines. `recv_buffer` shrinks the socket's receive buffer (a
    /// phone that stops reading fills a small window quickly).
    ///
    /// # Panics
    /// If the connection fails.
    pub async fn connect_from(addr: SocketAddr, src: std::net::IpAddr, recv_buffer: Option<u32>) -> Raw {
        let sock = tokio::net::TcpSocket::new_v4().expect("socket");
        if let Some(b) = recv_buffer {
            sock.set_recv_buffer_size(b).expect("SO_RCVBUF");
        }
        sock.bind(SocketAddr::new(src, 0)).expect("bind the source address");
        let stream = sock.connect(addr).await.expect("connect");
        let url = format!("ws://{addr}/ws");
        let (ws, _) =
            tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream)).await.expect("websocket connects");
        Raw { ws, secret: None }
    }

    /// Sends a JSON value as a text frame.
    pub async fn send(&mut self, v: Value) {
        self.send_text(v.to_string()).await;
    }

    /// Sends a text frame as is.
    ///
    /// # Panics
    /// If the socket is closed.
    pub async fn send_text(&mut self, s: String) {
        self.ws.send(Message::Text(s.into())).await.expect("send");
    }

    /// The next JSON message, skipping control frames; `None` when the connection closed.
    ///
    /// # Panics
    /// If nothing arrives within [`WAIT`].
    pub async fn recv(&mut self) -> Option<Value> {
        // Bounded as a whole: the server's pings may keep coming.
        let next = async {
            loop {
                match self.ws.next().await {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return None,
                    Some(Ok(Message::Text(t))) => {
                        return Some(serde_json::from_str(t.as_str()).expect("server sends JSON"));
                    }
                    Some(Ok(_)) => {}
                }
            }
        };
        tokio::time::timeout(WAIT, next).await.expect("a message in time")
    }

    /// Reads until a message of `type` arrives, and returns it.
    ///
    /// # Panics
    /// If the connection closes first or nothing matching arrives in time.
    pub async fn recv_type(&mut self, ty: &str) -> Value {
        let mut skipped = std::collections::BTreeMap::<String, usize>::new();
        let wait = async {
            loop {
                let m = self.recv().await.unwrap_or_else(|| panic!("closed while waiting for {ty}"));
                if m["type"] == ty {
                    return m;
                }
                *skipped.entry(m["type"].as_str().unwrap_or_default().to_owned()).or_default() += 1;
            }
        };
        // Other messages may keep coming: the wait for this one is bounded as a whole.
        match tokio::time::timeout(TYPE_WAIT, wait).await {
            Ok(m) => m,
            Err(_) => panic!("no {ty} within {TYPE_WAIT:?}; skipped {skipped:?}"),
        }
    }

    /// Reads until an `error` arrives, and returns its code.
    pub async fn recv_error(&mut self) -> String {
        self.recv_type("error").await["code"].as_str().unwrap_or_default().to_owned()
    }

    /// Reads until the close frame and returns its code and reason.
    pub async fn recv_close(&mut self) -> Option<(u16, String)> {
        // Bounded as a whole: a joined member's messages may keep coming.
        let close = async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Close(Some(f)))) => return Some((u16::from(f.code), f.reason.to_string())),
                    None | Some(Err(_)) | Some(Ok(Message::Close(None))) => return None,
                    Some(Ok(_)) => {}
                }
            }
        };
        tokio::time::timeout(TYPE_WAIT, close).await.expect("close in time")
    }

    /// Sends a join and returns the welcome.
    ///
    /// # Panics
    /// If the server answers with anything but a welcome first.
    pub async fn join(&mut self, session: &str, name: &str, leader: bool, resume: Option<&str>) -> Value {
        let mut j = json!({"type": "join", "v": bandsync_core::PROTOCOL_VERSION, "session": session, "name": name, "leader": leader});
        if let Some(r) = resume {
            j["resume"] = json!(r);
        }
        if let Some(s) = &self.secret {
            j["secret"] = json!(s);
        }
        self.send(j).await;
        let w = self.recv().await.expect("welcome");
        assert_eq!(w["type"], "welcome", "expected a welcome, got {w}");
        w
    }

    /// Sends a clock ping and returns the round-trip time seen by this member.
    pub async fn ping_rtt(&mut self, n: u32) -> Duration {
        let t = std::time::Instant::now();
        self.send(json!({"type": "ping", "n": n, "t0": 0})).await;
        loop {
            let m = self.recv().await.expect("pong");
            if m["type"] == "pong" && m["n"] == n {
                return t.elapsed();
            }
        }
    }

    /// Reads everything that arrives within `d`.
    pub async fn drain_for(&mut self, d: Duration) -> Vec<Value> {
        let mut v = Vec::new();
        let end = tokio::time::Instant::now() + d;
        while let Ok(Some(Ok(f))) = tokio::time::timeout_at(end, self.ws.next()).await {
            if let Message::Text(t) = f {
                v.push(serde_json::from_str(t.as_str()).expect("json"));
            }
        }
        v
    }
}
