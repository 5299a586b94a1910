//! The harness BandSync's end-to-end tests share. Every part is real and started by the test
//! itself: servers on `127.0.0.1:0`, `bandsync` processes, browsers, Xvfb, PulseAudio.
//!
//! - [`raw`]: a member that speaks the wire format directly, so a test sees exactly what a member
//!   would.
//! - [`relay`]: TCP relays a test can cut, or that delay, jitter and stall the link.
//! - [`chaos`]: a relay per member for the soak run, that also sleeps and drops.
//! - [`partition`]: a TCP link that can be partitioned without a reset or a close (a database
//!   cut off, or a peer that hangs).
//! - [`cluster`]: `bandsync serve` nodes on one Postgres behind HAProxy, that a test can kill.
//! - [`dbus`]: a D-Bus session bus of the test's own, with a monitor (the app's notifications).
//! - [`process`]: `bandsync` processes whose JSON lines a test reads; one-shot runs; signals; the
//!   CPU time a process used.
//! - [`programs`]: finding programs: this build's binaries, programs on `PATH`, the peers' Python.
//! - [`http`]: blocking HTTP/1.1 requests for process-level tests.
//! - [`qr`]: reading a QR code from a PNG, as a phone's camera would.
//! - [`webdriver`]: a small W3C WebDriver client for Chromium (chromedriver), WebKit
//!   (WebKitWebDriver) and the app (tauri-driver).
//! - [`browser`]: headless Chromium and WebKit (MiniBrowser), optionally playing into a PulseAudio sink.
//! - [`devtools`]: Chromium's DevTools protocol beside chromedriver, for a trace of the browser's
//!   performance timeline.
//! - [`page`]: a page under WebDriver, with the diagnostics a failing browser test needs.
//! - [`xvfb`]: an X display of the test's own.
//! - [`postgres`]: a Postgres server of the test's own, that it can crash and restart.
//! - [`pulse`]: a private PulseAudio with a null sink per test, routed per channel, recorded
//!   with `parecord`.
//! - [`calibration`]: judging a set of calibrations against the delays a test injected.
//! - [`onsets`]: a recording turned into click times, and the figures the speaker tests report.
//! - [`jack`]: a JACK server (`jackd -d dummy`) of the test's own, and a recorder of the MIDI and
//!   the clicks it receives.
//! - [`netns`]: running a test again inside a network namespace of its own (multicast).
//! - [`hostile`]: members from other addresses, the honest member's probe, y-sync frames by hand.
//! - [`stream`]: waiting on a stream of events by condition.
//! - [`machine`]: sharing the two cores between a binary's tests: the timing tests that run
//!   alone, and those that may run side by side.
//! - Here: a server with one session ([`TestServer`]), HTTP GETs, and polling helpers.

pub mod browser;
pub mod calibration;
pub mod chaos;
pub mod cluster;
pub mod dbus;
pub mod devtools;
pub mod hostile;
pub mod http;
pub mod jack;
pub mod machine;
pub mod netns;
pub mod onsets;
pub mod page;
pub mod partition;
pub mod postgres;
pub mod process;
pub mod programs;
pub mod pulse;
pub mod qr;
pub mod raw;
pub mod relay;
pub mod stream;
pub mod webdriver;
pub mod xvfb;

pub use raw::Raw;
pub use relay::{Impair, ImpairedRelay, Relay};

use bandsync_server::{RunningServer, ServerConfig};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;

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

    /// Waits until host time reaches the last segment of `transport` (a `transport` message, or a
    /// snapshot's `transport`): after a `play`, until the metronome has started. The wait is read
    /// off the host's clock, not guessed.
    ///
    /// # Panics
    /// When `transport` has no segment.
    pub async fn until_segment(&self, transport: &Value) {
        let t = transport.get("transport").unwrap_or(transport);
        let at = t["segments"].as_array().and_then(|s| s.last()).and_then(|s| s["at"].as_i64());
        let at = at.unwrap_or_else(|| panic!("no segment in {transport}"));
        tokio::time::sleep_until(self.server.hub.clock().instant_at(bandsync_core::Micros(at))).await;
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

/// A latency store for an app under test (`AppOptions::latency_store`) that is this process's
/// own, and empty until the test stores a figure: never the user's own figures.
#[must_use]
pub fn scratch_latency_store() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("bandsync-test-latency-{}.json", std::process::id()))
}

/// `cfg` with rate limits (per connection and per address) too high to meet: for tests that send
/// fast to reach a size or a count, where the limits are not what is under test.
#[must_use]
pub fn without_rate_limits(cfg: ServerConfig) -> ServerConfig {
    ServerConfig {
        rate_burst: 10_000,
        rate_per_sec: 10_000,
        address_rate_burst: 10_000,
        address_rate_per_sec: 10_000,
        ..cfg
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
