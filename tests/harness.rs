//! The harness BandSync's end-to-end tests share: a real server on `127.0.0.1:0` and raw
//! WebSocket members that speak the wire format directly, so a test sees exactly what a member
//! would; and [`webdriver`], a small W3C WebDriver client for the browser and app tests.

pub mod webdriver;

use bandsync_server::{RunningServer, ServerConfig};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single wait in a test may take before it fails.
pub const WAIT: Duration = Duration::from_secs(5);

/// A server with one session.
pub struct TestServer {
    /// The running server.
    pub server: RunningServer,
    /// The session's id.
    pub session: String,
    /// The session's join secret.
    pub secret: String,
}

impl TestServer {
    /// Starts a server on loopback with `cfg` and creates a session named "Test".
    ///
    /// # Panics
    /// If the server cannot start.
    pub async fn start(cfg: ServerConfig) -> Self {
        let server = RunningServer::start("127.0.0.1:0".parse().unwrap(), cfg).await.expect("server starts");
        let handle = server.hub.create_session("Test").expect("session");
        let secret = handle.first_secret().expose().to_owned();
        TestServer { server, session: handle.info().id, secret }
    }

    /// The server's address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// The join link for the session.
    #[must_use]
    pub fn link(&self) -> String {
        self.link_via(self.server.addr)
    }

    /// The join link for the session through another address (a relay).
    #[must_use]
    pub fn link_via(&self, addr: SocketAddr) -> String {
        format!("http://{addr}/s/{}#k={}", self.session, self.secret)
    }

    /// A raw member connected (not joined yet).
    pub async fn raw(&self) -> Raw {
        let mut r = Raw::connect(self.server.addr).await;
        r.secret = Some(self.secret.clone());
        r
    }

    /// A raw member that has joined; returns it with its welcome.
    pub async fn member(&self, name: &str, leader: bool) -> (Raw, Value) {
        let mut r = self.raw().await;
        let w = r.join(&self.session, name, leader, None).await;
        (r, w)
    }

    /// GETs a path and returns the status and JSON body.
    ///
    /// # Panics
    /// On a transport failure or a non-JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        http_get(self.server.addr, path).await
    }
}

/// A minimal HTTP/1.1 GET over a real socket, for the API tests.
///
/// # Panics
/// On a transport failure or a body that is not JSON.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(WAIT, s.read_to_end(&mut buf)).await.expect("http answer in time").unwrap();
    let text = String::from_utf8_lossy(&buf);
    let status: u16 = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status line");
    let body = text.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::String(body.to_owned())))
}

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
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next()).await.expect("a message in time");
            match frame {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return None,
                Some(Ok(Message::Text(t))) => {
                    return Some(serde_json::from_str(t.as_str()).expect("server sends JSON"));
                }
                Some(Ok(_)) => {}
            }
        }
    }

    /// Reads until a message of `type` arrives, and returns it.
    ///
    /// # Panics
    /// If the connection closes first or nothing matching arrives in time.
    pub async fn recv_type(&mut self, ty: &str) -> Value {
        loop {
            let m = self.recv().await.unwrap_or_else(|| panic!("closed while waiting for {ty}"));
            if m["type"] == ty {
                return m;
            }
        }
    }

    /// Reads until an `error` arrives, and returns its code.
    pub async fn recv_error(&mut self) -> String {
        self.recv_type("error").await["code"].as_str().unwrap_or_default().to_owned()
    }

    /// Reads until the close frame and returns its code and reason.
    pub async fn recv_close(&mut self) -> Option<(u16, String)> {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next()).await.expect("close in time");
            match frame {
                Some(Ok(Message::Close(Some(f)))) => return Some((u16::from(f.code), f.reason.to_string())),
                None | Some(Err(_)) | Some(Ok(Message::Close(None))) => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// Sends a join and returns the welcome.
    ///
    /// # Panics
    /// If the server answers with anything but a welcome first.
    pub async fn join(&mut self, session: &str, name: &str, leader: bool, resume: Option<&str>) -> Value {
        let mut j = json!({"type": "join", "v": 1, "session": session, "name": name, "leader": leader});
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

/// Participant ids and names of a `participants` array, for comparisons.
#[must_use]
pub fn roster(v: &Value) -> Vec<(u64, String, String, String)> {
    v.as_array()
        .expect("participants array")
        .iter()
        .map(|p| {
            (
                p["id"].as_u64().unwrap(),
                p["name"].as_str().unwrap().to_owned(),
                p["role"].as_str().unwrap().to_owned(),
                p["connection"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A TCP relay between members and a server, which a test can cut to simulate a dropped link.
pub struct Relay {
    /// Where members connect.
    pub addr: SocketAddr,
    cut: tokio::sync::watch::Sender<u64>,
}

impl Relay {
    /// Relays `127.0.0.1:0` to `target`.
    ///
    /// # Panics
    /// If it cannot bind.
    pub async fn start(target: SocketAddr) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, rx) = tokio::sync::watch::channel(0u64);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut rx = rx.clone();
                rx.mark_unchanged();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = rx.changed() => {}
                    }
                });
            }
        });
        Relay { addr, cut }
    }

    /// Drops every connection through the relay, without a close handshake.
    pub fn cut(&self) {
        self.cut.send_modify(|n| *n += 1);
    }
}

/// Polls `check` until it returns true, or panics with `what` after [`WAIT`].
///
/// # Panics
/// When the condition does not hold in time.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + WAIT;
    loop {
        if check().await {
            return;
        }
        assert!(tokio::time::Instant::now() < end, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Impairment of an [`ImpairedRelay`]: every chunk is delayed by `base` plus a uniform random
/// part of up to `2 * jitter`, in order (TCP does not reorder); with probability `loss` a chunk
/// is held an extra 200 ms, as a TCP retransmission after a lost segment would.
#[derive(Debug, Clone, Copy)]
pub struct Impair {
    /// Least one-way delay.
    pub base: Duration,
    /// Half the width of the uniform jitter.
    pub jitter: Duration,
    /// Chance of a retransmission stall per chunk.
    pub loss: f64,
}

/// A TCP relay that delays, jitters and stalls traffic in both directions.
pub struct ImpairedRelay {
    /// Where members connect.
    pub addr: SocketAddr,
}

impl ImpairedRelay {
    /// Relays `127.0.0.1:0` to `target` with `imp` applied each way, with a seeded random source.
    ///
    /// # Panics
    /// If it cannot bind.
    pub async fn start(target: SocketAddr, imp: Impair, seed: u64) -> ImpairedRelay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let mut n = 0u64;
            while let Ok((inbound, _)) = listener.accept().await {
                let Ok(outbound) = TcpStream::connect(target).await else { continue };
                let _ = inbound.set_nodelay(true);
                let _ = outbound.set_nodelay(true);
                let (ir, iw) = inbound.into_split();
                let (or, ow) = outbound.into_split();
                n += 2;
                tokio::spawn(pump(ir, ow, imp, seed.wrapping_mul(31).wrapping_add(n)));
                tokio::spawn(pump(or, iw, imp, seed.wrapping_mul(31).wrapping_add(n + 1)));
            }
        });
        ImpairedRelay { addr }
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    imp: Impair,
    seed: u64,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    tokio::spawn(async move {
        while let Some((at, bytes)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    let mut state = seed | 1;
    let mut unit = move || {
        // xorshift64*: a small seeded source, enough for delays.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut last = tokio::time::Instant::now();
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(k) = from.read(&mut buf).await {
        if k == 0 {
            break;
        }
        let mut d = imp.base + imp.jitter.mul_f64(2.0 * unit());
        if unit() < imp.loss {
            d += Duration::from_millis(200);
        }
        let at = (tokio::time::Instant::now() + d).max(last);
        last = at;
        if tx.send((at, buf[..k].to_vec())).is_err() {
            break;
        }
    }
}
