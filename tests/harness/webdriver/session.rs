//! A WebDriver session: opening and deleting it, raw commands, navigation, scripts, screenshots
//! and the window. Finding elements is in `element`.

use super::base64::base64_decode;
use super::driver::WebDriver;
use super::error::{Error, Result};
use super::http::command;
use super::wait::wait_until;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// A window rectangle in CSS pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

impl Rect {
    pub(super) fn from_value(v: &Value) -> Rect {
        let n = |k: &str| v[k].as_f64().unwrap_or(0.0);
        Rect { x: n("x"), y: n("y"), width: n("width"), height: n("height") }
    }
}

/// A WebDriver session, deleted on drop.
pub struct BrowserSession {
    addr: String,
    id: String,
    /// What the driver granted.
    pub capabilities: Value,
    /// How many times a command is sent again when its connection drops. 1 by default.
    pub retries: u32,
    /// How long one command may take.
    pub timeout: Duration,
    deleted: bool,
}

impl BrowserSession {
    /// Opens a session on a driver this process started; `always_match` are the capabilities
    /// (sent as `{"capabilities": {"alwaysMatch": always_match}}`).
    ///
    /// # Errors
    /// When the driver refuses the capabilities or cannot start the browser.
    pub fn new(driver: &WebDriver, always_match: Value) -> Result<BrowserSession> {
        BrowserSession::connect(driver.addr(), always_match)
    }

    /// Opens a session on a driver at `addr` (`HOST:PORT`).
    ///
    /// # Errors
    /// When the driver refuses the capabilities or cannot start the browser.
    pub fn connect(addr: &str, always_match: Value) -> Result<BrowserSession> {
        let body = json!({"capabilities": {"alwaysMatch": always_match}});
        // Starting a browser on a busy machine can be slow; the session is opened only once.
        let v = command(addr, "POST", "/session", Some(&body), Duration::from_secs(120), 1)?;
        let id = v["sessionId"].as_str().ok_or_else(|| Error::Protocol(format!("no sessionId in {v}")))?.to_owned();
        Ok(BrowserSession {
            addr: addr.to_owned(),
            id,
            capabilities: v["capabilities"].clone(),
            retries: 1,
            timeout: Duration::from_secs(60),
            deleted: false,
        })
    }

    /// The session id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Sends a command under `/session/{id}` (`path` starts with `/`, or is empty) and returns
    /// the answer's `value`: for what this client does not wrap.
    ///
    /// # Errors
    /// A transport failure or a W3C error.
    pub fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        let body = match (method, body) {
            // POSTs carry a JSON object, even when the command takes no parameters.
            ("POST", None) => Some(json!({})),
            (_, b) => b,
        };
        command(&self.addr, method, &format!("/session/{}{path}", self.id), body.as_ref(), self.timeout, self.retries)
    }

    /// Loads `url` and waits for the page load (per the session's page load strategy).
    ///
    /// # Errors
    /// A W3C error (e.g. a timeout).
    pub fn navigate(&self, url: &str) -> Result<()> {
        self.cmd("POST", "/url", Some(json!({"url": url}))).map(drop)
    }

    /// The current page's URL.
    ///
    /// # Errors
    /// A W3C error.
    pub fn url(&self) -> Result<String> {
        Ok(self.cmd("GET", "/url", None)?.as_str().unwrap_or_default().to_owned())
    }

    /// The page title.
    ///
    /// # Errors
    /// A W3C error.
    pub fn title(&self) -> Result<String> {
        Ok(self.cmd("GET", "/title", None)?.as_str().unwrap_or_default().to_owned())
    }

    /// The page's HTML as the browser has it now.
    ///
    /// # Errors
    /// A W3C error.
    pub fn source(&self) -> Result<String> {
        Ok(self.cmd("GET", "/source", None)?.as_str().unwrap_or_default().to_owned())
    }

    /// Runs `script` (a function body: use `arguments[i]` and `return`) in the page and returns
    /// its result. Pass elements with [`Element::arg`](super::Element::arg).
    ///
    /// # Errors
    /// `javascript error` when the script throws.
    pub fn execute(&self, script: &str, args: &[Value]) -> Result<Value> {
        self.cmd("POST", "/execute/sync", Some(json!({"script": script, "args": args})))
    }

    /// Runs `script` with a callback as its last argument and returns what it passes to it.
    ///
    /// # Errors
    /// `javascript error` when the script throws, `script timeout` when it never calls back.
    pub fn execute_async(&self, script: &str, args: &[Value]) -> Result<Value> {
        self.cmd("POST", "/execute/async", Some(json!({"script": script, "args": args})))
    }

    /// Polls `check` until it returns `Some` (see [`wait_until`]).
    ///
    /// # Errors
    /// [`Error::Timeout`] when the condition does not hold in time.
    pub fn wait_until<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&BrowserSession) -> Result<Option<T>>,
    ) -> Result<T> {
        wait_until(what, timeout, || check(self))
    }

    /// A PNG of the viewport.
    ///
    /// # Errors
    /// A W3C error, or an answer that is not base64.
    pub fn screenshot_png(&self) -> Result<Vec<u8>> {
        let v = self.cmd("GET", "/screenshot", None)?;
        base64_decode(v.as_str().unwrap_or_default())
    }

    /// Writes a PNG of the viewport to `path`.
    ///
    /// # Errors
    /// A W3C error, or the file cannot be written.
    pub fn screenshot(&self, path: impl AsRef<Path>) -> Result<()> {
        let png = self.screenshot_png()?;
        std::fs::write(path, png)?;
        Ok(())
    }

    /// The window's rectangle.
    ///
    /// # Errors
    /// A W3C error.
    pub fn window_rect(&self) -> Result<Rect> {
        Ok(Rect::from_value(&self.cmd("GET", "/window/rect", None)?))
    }

    /// Moves and resizes the window (either pair may be left as is with `None`); returns the
    /// rectangle the window got.
    ///
    /// # Errors
    /// A W3C error (e.g. `unsupported operation` for a window that cannot move).
    pub fn set_window_rect(&self, pos: Option<(i64, i64)>, size: Option<(u32, u32)>) -> Result<Rect> {
        let mut b = json!({});
        if let Some((x, y)) = pos {
            b["x"] = json!(x);
            b["y"] = json!(y);
        }
        if let Some((w, h)) = size {
            b["width"] = json!(w);
            b["height"] = json!(h);
        }
        Ok(Rect::from_value(&self.cmd("POST", "/window/rect", Some(b))?))
    }

    /// Accepts the open `alert`/`confirm` dialog.
    ///
    /// # Errors
    /// `no such alert` when none is open.
    pub fn accept_alert(&self) -> Result<()> {
        self.cmd("POST", "/alert/accept", None).map(drop)
    }

    /// Deletes the session now (it is also deleted on drop).
    ///
    /// # Errors
    /// A W3C error.
    pub fn delete(mut self) -> Result<()> {
        self.deleted = true;
        command(&self.addr, "DELETE", &format!("/session/{}", self.id), None, self.timeout, self.retries).map(drop)
    }
}

impl Drop for BrowserSession {
    fn drop(&mut self) {
        if !self.deleted {
            let path = format!("/session/{}", self.id);
            let _ = command(&self.addr, "DELETE", &path, None, Duration::from_secs(20), self.retries);
        }
    }
}
