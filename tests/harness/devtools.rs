//! Chromium's DevTools protocol, for what WebDriver does not do: recording the browser's
//! performance timeline (a trace of `devtools.timeline` events, what the Performance panel shows).
//!
//! chromedriver starts Chromium with a DevTools port and says where in the session's
//! capabilities (`goog:chromeOptions.debuggerAddress`); [`DevTools::connect`] opens the browser's
//! own DevTools WebSocket there, beside chromedriver's. Blocking, one command at a time: a command
//! is sent and messages are read until its answer. Events that arrive meanwhile are dropped,
//! except the trace's, which [`DevTools::end_trace`] collects.
//!
//! Not here: what the events mean (each benchmark reads the ones it needs), and commands on one
//! page (`POST /session/{id}/goog/cdp/execute` through chromedriver does those).

use crate::webdriver::BrowserSession;
use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::client_with_config;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, WebSocket};

/// How long one read from the browser may take: ending a trace of a few seconds on two busy
/// cores takes a few seconds.
const READ: Duration = Duration::from_secs(60);

/// GETs `path` from the DevTools HTTP endpoint at `addr`: its JSON answer. Read by its length:
/// the endpoint keeps the connection open after answering.
fn get(addr: &str, path: &str) -> anyhow::Result<Value> {
    let mut s = TcpStream::connect(addr).with_context(|| format!("connect to DevTools at {addr}"))?;
    s.set_read_timeout(Some(READ))?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
    let mut r = BufReader::new(s);
    let (mut line, mut length) = (String::new(), None);
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length.ok_or_else(|| anyhow!("no Content-Length from http://{addr}{path}"))?];
    r.read_exact(&mut body)?;
    serde_json::from_slice(&body).with_context(|| format!("http://{addr}{path} is not JSON"))
}

/// A DevTools connection to a Chromium that chromedriver started.
pub struct DevTools {
    ws: WebSocket<TcpStream>,
    /// The id of the last command sent (answers carry it).
    last_id: u64,
}

impl DevTools {
    /// Connects to the browser of WebDriver session `s` (a Chromium session).
    ///
    /// # Errors
    /// When the session is not Chromium's, or its DevTools endpoint does not answer.
    pub fn connect(s: &BrowserSession) -> anyhow::Result<DevTools> {
        let addr = s.capabilities["goog:chromeOptions"]["debuggerAddress"]
            .as_str()
            .ok_or_else(|| anyhow!("no goog:chromeOptions.debuggerAddress in {}", s.capabilities))?;
        let version = get(addr, "/json/version")?;
        let url = version["webSocketDebuggerUrl"]
            .as_str()
            .ok_or_else(|| anyhow!("no webSocketDebuggerUrl from http://{addr}/json/version: {version}"))?;
        let stream = TcpStream::connect(addr).with_context(|| format!("connect to DevTools at {addr}"))?;
        stream.set_read_timeout(Some(READ))?;
        let _ = stream.set_nodelay(true);
        // A trace comes in chunks of several MB.
        let config = WebSocketConfig::default().max_message_size(Some(1 << 30)).max_frame_size(Some(1 << 30));
        let (ws, _) =
            client_with_config(url, stream, Some(config)).map_err(|e| anyhow!("DevTools WebSocket {url}: {e}"))?;
        Ok(DevTools { ws, last_id: 0 })
    }

    /// Reads the next message as JSON.
    fn next(&mut self) -> anyhow::Result<Value> {
        loop {
            match self.ws.read().context("read from DevTools")? {
                Message::Text(t) => return serde_json::from_str(t.as_str()).context("DevTools message is not JSON"),
                Message::Close(c) => bail!("DevTools closed the connection: {c:?}"),
                _ => {}
            }
        }
    }

    /// Sends `method` with `params` and returns its result.
    ///
    /// # Errors
    /// When the browser answers with an error, or the connection fails.
    pub fn call(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        let id = self.send(method, params)?;
        loop {
            let mut m = self.next()?;
            if m["id"].as_u64() == Some(id) {
                if let Some(e) = m.get("error") {
                    bail!("{method}: {e}");
                }
                return Ok(m["result"].take());
            }
        }
    }

    /// Sends `method` with `params`; returns the command's id.
    fn send(&mut self, method: &str, params: Value) -> anyhow::Result<u64> {
        self.last_id += 1;
        let msg = json!({"id": self.last_id, "method": method, "params": params}).to_string();
        self.ws.send(Message::text(msg)).with_context(|| format!("send {method}"))?;
        Ok(self.last_id)
    }

    /// Starts recording a trace of `categories` in every process of the browser (Tracing.start,
    /// events reported over this connection when the trace ends).
    ///
    /// # Errors
    /// When the browser refuses (a trace already running).
    pub fn start_trace(&mut self, categories: &[&str]) -> anyhow::Result<()> {
        let config = json!({"includedCategories": categories, "recordMode": "recordAsMuchAsPossible"});
        self.call("Tracing.start", json!({"traceConfig": config, "transferMode": "ReportEvents"}))?;
        Ok(())
    }

    /// Ends the trace and returns its events (Chrome's trace event format: `name`, `cat`, `ph`,
    /// `ts` and `dur` in µs of the browser's monotonic clock, `pid`, `tid`, `args`), keeping only
    /// those `keep` wants: a few seconds of a page's timeline are 100 000 events and more.
    ///
    /// # Errors
    /// When the trace does not complete (the connection fails or times out).
    pub fn end_trace(&mut self, keep: impl Fn(&Value) -> bool) -> anyhow::Result<Vec<Value>> {
        // The answer and the data may come in either order: read both in one loop.
        let id = self.send("Tracing.end", json!({}))?;
        let mut events = Vec::new();
        loop {
            let mut m = self.next()?;
            if m["id"].as_u64() == Some(id) {
                if let Some(e) = m.get("error") {
                    bail!("Tracing.end: {e}");
                }
                continue;
            }
            match m["method"].as_str() {
                Some("Tracing.dataCollected") => {
                    if let Value::Array(chunk) = m["params"]["value"].take() {
                        events.extend(chunk.into_iter().filter(|e| keep(e)));
                    }
                }
                Some("Tracing.tracingComplete") => {
                    if m["params"]["dataLossOccurred"] == true {
                        bail!("the trace lost events (its buffer filled)");
                    }
                    return Ok(events);
                }
                _ => {}
            }
        }
    }
}
