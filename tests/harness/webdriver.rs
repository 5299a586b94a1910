//! A small, blocking W3C WebDriver client for the browser and app tests: chromedriver for the
//! phone browser, WebKitWebDriver or tauri-driver for the Tauri app.
//!
//! Only `std` and `serde_json`: plain HTTP/1.1 over [`TcpStream`], one connection per command.
//! tauri-driver's proxy sometimes drops a connection without answering, so a command whose
//! connection drops is sent again ([`Session::retries`], once by default).
//!
//! ```no_run
//! use bandsync_e2e::webdriver::{Driver, Session};
//! use std::time::Duration;
//! let driver = Driver::start("chromedriver", |port| vec![format!("--port={port}")]).unwrap();
//! let s = Session::new(&driver, serde_json::json!({"browserName": "chrome"})).unwrap();
//! s.navigate("http://127.0.0.1:7878/").unwrap();
//! let button = s.wait_for("[data-testid=join-button]", Duration::from_secs(10)).unwrap();
//! button.click().unwrap();
//! ```
//!
//! Drop the [`Session`] before its [`Driver`] (declare the driver first): the session's drop
//! deletes it, which closes the browser, and the driver's drop kills the driver process.

use serde_json::{Value, json};
use std::ffi::OsStr;
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The W3C key of a web element reference in JSON.
pub const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Key codes for [`Element::send_keys`] (W3C WebDriver §17.4.2).
pub mod keys {
    /// Enter (a newline in a text area or editor).
    pub const ENTER: &str = "\u{E007}";
    /// Backspace.
    pub const BACKSPACE: &str = "\u{E003}";
    /// Tab.
    pub const TAB: &str = "\u{E004}";
    /// Escape.
    pub const ESCAPE: &str = "\u{E00C}";
    /// Control, held until the end of the `send_keys` call.
    pub const CONTROL: &str = "\u{E009}";
    /// End.
    pub const END: &str = "\u{E010}";
}

/// What can go wrong talking to a driver.
#[derive(Debug)]
pub enum Error {
    /// The connection failed or dropped (after the retries).
    Transport(std::io::Error),
    /// The driver answered with a W3C error.
    WebDriver {
        /// The HTTP status.
        status: u16,
        /// The W3C error code, e.g. `no such element`.
        error: String,
        /// The driver's message.
        message: String,
    },
    /// The driver answered something that is not a WebDriver response.
    Protocol(String),
    /// The driver process did not start or did not become ready.
    Driver(String),
    /// A [`wait_until`] condition did not hold in time.
    Timeout {
        /// What was waited for.
        what: String,
        /// The last error the condition returned, if any.
        last: Option<Box<Error>>,
    },
}

impl Error {
    /// The W3C error code, for a [`Error::WebDriver`].
    #[must_use]
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::WebDriver { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Transport(e) => write!(f, "webdriver connection: {e}"),
            Error::WebDriver { status, error, message } => {
                // The first lines only: chromedriver appends a long native stack trace.
                let short: String = message.lines().take(3).collect::<Vec<_>>().join(" | ");
                write!(f, "webdriver error {status} {error}: {short}")
            }
            Error::Protocol(m) => write!(f, "webdriver protocol: {m}"),
            Error::Driver(m) => write!(f, "webdriver driver: {m}"),
            Error::Timeout { what, last: Some(e) } => write!(f, "timed out waiting for {what} (last error: {e})"),
            Error::Timeout { what, last: None } => write!(f, "timed out waiting for {what}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Transport(e)
    }
}

/// A result of a WebDriver call.
pub type Result<T> = std::result::Result<T, Error>;

/// A free TCP port on loopback (free when asked; a driver binds it right after).
///
/// # Panics
/// If no port can be bound.
#[must_use]
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port on loopback").port()
}

/// Polls `check` every 50 ms until it returns `Some`, for at most `timeout`. An error from
/// `check` counts as "not yet" (a stale or missing element while the page changes) and is
/// reported if time runs out.
///
/// # Errors
/// [`Error::Timeout`] when the condition does not hold in time.
pub fn wait_until<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Result<Option<T>>) -> Result<T> {
    let end = Instant::now() + timeout;
    let mut last = None;
    loop {
        match check() {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last = Some(Box::new(e)),
        }
        if Instant::now() >= end {
            return Err(Error::Timeout { what: what.to_owned(), last });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---- HTTP ----------------------------------------------------------------------------------

/// Whether an I/O error means the peer dropped the connection (worth one more try).
fn dropped(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof)
}

/// One HTTP/1.1 request with a JSON body; returns the status and the JSON answer.
fn http(addr: &str, method: &str, path: &str, body: Option<&Value>, timeout: Duration) -> Result<(u16, Value)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let _ = s.set_nodelay(true);
    let payload = body.map(Value::to_string).unwrap_or_default();
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: application/json\r\n");
    if body.is_some() {
        req.push_str(&format!(
            "Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n",
            payload.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(&payload);
    s.write_all(req.as_bytes())?;
    s.flush()?;

    let mut r = BufReader::new(s);
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(Error::Transport(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the driver closed the connection without answering",
        )));
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| Error::Protocol(format!("bad status line {line:?}")))?;
    let (mut length, mut chunked) = (None, false);
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(Error::Transport(std::io::ErrorKind::UnexpectedEof.into()));
        }
        let h = line.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "content-length" {
                length = v.parse::<usize>().ok();
            } else if k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked") {
                chunked = true;
            }
        }
    }
    let mut buf = Vec::new();
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| Error::Protocol(format!("bad chunk size {line:?}")))?;
            if size == 0 {
                break;
            }
            let at = buf.len();
            buf.resize(at + size, 0);
            r.read_exact(&mut buf[at..])?;
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf)?;
        }
    } else if let Some(n) = length {
        buf.resize(n, 0);
        r.read_exact(&mut buf)?;
    } else {
        r.read_to_end(&mut buf)?;
    }
    if buf.is_empty() {
        return Ok((status, Value::Null));
    }
    let v = serde_json::from_slice(&buf).map_err(|e| {
        Error::Protocol(format!("status {status}, body is not JSON ({e}): {}", String::from_utf8_lossy(&buf)))
    })?;
    Ok((status, v))
}

/// `http` with retries on a dropped connection, and W3C errors turned into [`Error::WebDriver`].
/// Returns the response's `value`.
fn command(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    timeout: Duration,
    retries: u32,
) -> Result<Value> {
    let mut attempt = 0;
    let (status, v) = loop {
        match http(addr, method, path, body, timeout) {
            Ok(x) => break x,
            Err(Error::Transport(e)) if dropped(&e) && attempt < retries => {
                attempt += 1;
                eprintln!("webdriver: {method} {path}: {e}; sending it again");
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e),
        }
    };
    let mut v = v;
    let value = v.get_mut("value").map(Value::take).unwrap_or(Value::Null);
    if status >= 400 || value.get("error").is_some_and(Value::is_string) {
        return Err(Error::WebDriver {
            status,
            error: value["error"].as_str().unwrap_or("unknown error").to_owned(),
            message: value["message"].as_str().unwrap_or_default().to_owned(),
        });
    }
    Ok(value)
}

// ---- the driver process --------------------------------------------------------------------

/// A WebDriver server process (chromedriver, WebKitWebDriver, tauri-driver) on a free port,
/// killed on drop. Its output goes to a log file, for failure messages.
pub struct Driver {
    child: Child,
    addr: String,
    log: PathBuf,
}

impl Driver {
    /// Starts `program` with the arguments `args(port)` on a free loopback port and waits (up to
    /// 30 s) until `GET /status` says it is ready.
    ///
    /// chromedriver and WebKitWebDriver take `--port=N`; tauri-driver takes
    /// `--port N --native-port M` (use [`free_port`] for M).
    ///
    /// # Errors
    /// [`Error::Driver`] if it cannot start or does not become ready; the message has its log.
    pub fn start(program: impl AsRef<OsStr>, args: impl FnOnce(u16) -> Vec<String>) -> Result<Driver> {
        Driver::start_env(program, args, &[])
    }

    /// [`Driver::start`] with extra environment for the driver and the browser it starts (an X
    /// display, a PulseAudio server and sink).
    ///
    /// # Errors
    /// [`Error::Driver`] if it cannot start or does not become ready; the message has its log.
    pub fn start_env(
        program: impl AsRef<OsStr>,
        args: impl FnOnce(u16) -> Vec<String>,
        env: &[(String, String)],
    ) -> Result<Driver> {
        let program = program.as_ref();
        let port = free_port();
        let log = std::env::temp_dir().join(format!("bandsync-webdriver-{}-{port}.log", std::process::id()));
        let out = std::fs::File::create(&log)?;
        let child = Command::new(program)
            .args(args(port))
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .map_err(|e| Error::Driver(format!("cannot run {}: {e}", program.to_string_lossy())))?;
        let mut d = Driver { child, addr: format!("127.0.0.1:{port}"), log };
        let ready = wait_until("the driver's /status", Duration::from_secs(30), || {
            if let Some(st) = d.child.try_wait()? {
                return Err(Error::Driver(format!("exited with {st}")));
            }
            let (status, v) = http(&d.addr, "GET", "/status", None, Duration::from_secs(5))?;
            // Not every driver says `ready` (tauri-driver's proxy); a 200 is enough then.
            Ok((status == 200 && v["value"]["ready"].as_bool() != Some(false)).then_some(()))
        });
        if let Err(e) = ready {
            return Err(Error::Driver(format!(
                "{} did not become ready: {e}\n--- its log ---\n{}",
                program.to_string_lossy(),
                d.log_text()
            )));
        }
        Ok(d)
    }

    /// Where the driver listens, `127.0.0.1:PORT`.
    #[must_use]
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The driver's log file.
    #[must_use]
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The driver's output so far.
    #[must_use]
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

// ---- sessions ------------------------------------------------------------------------------

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
    fn from_value(v: &Value) -> Rect {
        let n = |k: &str| v[k].as_f64().unwrap_or(0.0);
        Rect { x: n("x"), y: n("y"), width: n("width"), height: n("height") }
    }
}

/// A WebDriver session, deleted on drop.
pub struct Session {
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

impl Session {
    /// Opens a session on a driver this process started; `always_match` are the capabilities
    /// (sent as `{"capabilities": {"alwaysMatch": always_match}}`).
    ///
    /// # Errors
    /// When the driver refuses the capabilities or cannot start the browser.
    pub fn new(driver: &Driver, always_match: Value) -> Result<Session> {
        Session::connect(driver.addr(), always_match)
    }

    /// Opens a session on a driver at `addr` (`HOST:PORT`).
    ///
    /// # Errors
    /// When the driver refuses the capabilities or cannot start the browser.
    pub fn connect(addr: &str, always_match: Value) -> Result<Session> {
        let body = json!({"capabilities": {"alwaysMatch": always_match}});
        // Starting a browser on a busy machine can be slow; the session is opened only once.
        let v = command(addr, "POST", "/session", Some(&body), Duration::from_secs(120), 1)?;
        let id = v["sessionId"].as_str().ok_or_else(|| Error::Protocol(format!("no sessionId in {v}")))?.to_owned();
        Ok(Session {
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

    fn element(&self, v: &Value) -> Result<Element<'_>> {
        let id = v
            .get(ELEMENT_KEY)
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Protocol(format!("not an element reference: {v}")))?;
        Ok(Element { s: self, id: id.to_owned() })
    }

    /// The first element matching the CSS selector.
    ///
    /// # Errors
    /// `no such element` when nothing matches.
    pub fn find(&self, css: &str) -> Result<Element<'_>> {
        let v = self.cmd("POST", "/element", Some(json!({"using": "css selector", "value": css})))?;
        self.element(&v)
    }

    /// Every element matching the CSS selector (possibly none).
    ///
    /// # Errors
    /// A W3C error (e.g. an invalid selector).
    pub fn find_all(&self, css: &str) -> Result<Vec<Element<'_>>> {
        let v = self.cmd("POST", "/elements", Some(json!({"using": "css selector", "value": css})))?;
        v.as_array()
            .ok_or_else(|| Error::Protocol(format!("not a list: {v}")))?
            .iter()
            .map(|e| self.element(e))
            .collect()
    }

    /// The focused element.
    ///
    /// # Errors
    /// A W3C error.
    pub fn active(&self) -> Result<Element<'_>> {
        let v = self.cmd("GET", "/element/active", None)?;
        self.element(&v)
    }

    /// Runs `script` (a function body: use `arguments[i]` and `return`) in the page and returns
    /// its result. Pass elements with [`Element::arg`].
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
        mut check: impl FnMut(&Session) -> Result<Option<T>>,
    ) -> Result<T> {
        wait_until(what, timeout, || check(self))
    }

    /// Waits until an element matching `css` exists and is displayed, and returns it.
    ///
    /// # Errors
    /// [`Error::Timeout`] when it does not appear in time.
    pub fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element<'_>> {
        wait_until(&format!("a displayed {css}"), timeout, || {
            for e in self.find_all(css)? {
                if e.displayed()? {
                    return Ok(Some(e));
                }
            }
            Ok(None)
        })
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

impl Drop for Session {
    fn drop(&mut self) {
        if !self.deleted {
            let path = format!("/session/{}", self.id);
            let _ = command(&self.addr, "DELETE", &path, None, Duration::from_secs(20), self.retries);
        }
    }
}

/// An element of a session's page.
pub struct Element<'s> {
    s: &'s Session,
    /// The driver's reference.
    pub id: String,
}

impl fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Element({})", self.id)
    }
}

impl Element<'_> {
    fn cmd(&self, method: &str, what: &str, body: Option<Value>) -> Result<Value> {
        self.s.cmd(method, &format!("/element/{}{what}", self.id), body)
    }

    /// The element as a script argument for [`Session::execute`].
    #[must_use]
    pub fn arg(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    /// Clicks it (the driver scrolls it into view first).
    ///
    /// # Errors
    /// E.g. `element click intercepted` when something covers it.
    pub fn click(&self) -> Result<()> {
        self.cmd("POST", "/click", None).map(drop)
    }

    /// Types `text` into it (focusing it first); see [`keys`] for special keys.
    ///
    /// # Errors
    /// E.g. `element not interactable`.
    pub fn send_keys(&self, text: &str) -> Result<()> {
        self.cmd("POST", "/value", Some(json!({"text": text}))).map(drop)
    }

    /// Empties an input or editable element.
    ///
    /// # Errors
    /// E.g. `invalid element state`.
    pub fn clear(&self) -> Result<()> {
        self.cmd("POST", "/clear", None).map(drop)
    }

    /// Its rendered text.
    ///
    /// # Errors
    /// E.g. `stale element reference`.
    pub fn text(&self) -> Result<String> {
        Ok(self.cmd("GET", "/text", None)?.as_str().unwrap_or_default().to_owned())
    }

    /// An attribute (`None` when absent).
    ///
    /// # Errors
    /// E.g. `stale element reference`.
    pub fn attr(&self, name: &str) -> Result<Option<String>> {
        Ok(self.cmd("GET", &format!("/attribute/{name}"), None)?.as_str().map(str::to_owned))
    }

    /// A DOM property (e.g. `value` of an input).
    ///
    /// # Errors
    /// E.g. `stale element reference`.
    pub fn prop(&self, name: &str) -> Result<Value> {
        self.cmd("GET", &format!("/property/{name}"), None)
    }

    /// Whether it is displayed.
    ///
    /// # Errors
    /// E.g. `stale element reference`.
    pub fn displayed(&self) -> Result<bool> {
        Ok(self.cmd("GET", "/displayed", None)?.as_bool().unwrap_or(false))
    }

    /// Its rectangle on the page.
    ///
    /// # Errors
    /// E.g. `stale element reference`.
    pub fn rect(&self) -> Result<Rect> {
        Ok(Rect::from_value(&self.cmd("GET", "/rect", None)?))
    }

    /// The first descendant matching `css`.
    ///
    /// # Errors
    /// `no such element` when nothing matches.
    pub fn find(&self, css: &str) -> Result<Element<'_>> {
        let v = self.cmd("POST", "/element", Some(json!({"using": "css selector", "value": css})))?;
        self.s.element(&v)
    }

    /// Every descendant matching `css`.
    ///
    /// # Errors
    /// A W3C error.
    pub fn find_all(&self, css: &str) -> Result<Vec<Element<'_>>> {
        let v = self.cmd("POST", "/elements", Some(json!({"using": "css selector", "value": css})))?;
        v.as_array()
            .ok_or_else(|| Error::Protocol(format!("not a list: {v}")))?
            .iter()
            .map(|e| self.s.element(e))
            .collect()
    }

    /// Scrolls it into view, `block` being `start`, `center`, `end` or `nearest` as in the DOM's
    /// `scrollIntoView`: e.g. to the centre before a click, where no sticky header covers it
    /// (a WebDriver click scrolls only as far as the element's edge).
    ///
    /// # Errors
    /// `javascript error`.
    pub fn scroll_into_view(&self, block: &str) -> Result<()> {
        self.s
            .execute(
                "arguments[0].scrollIntoView({block: arguments[1], inline: 'nearest'});",
                &[self.arg(), json!(block)],
            )
            .map(drop)
    }

    /// A PNG of just this element.
    ///
    /// # Errors
    /// A W3C error.
    pub fn screenshot_png(&self) -> Result<Vec<u8>> {
        base64_decode(self.cmd("GET", "/screenshot", None)?.as_str().unwrap_or_default())
    }
}

/// Decodes standard base64 (as WebDriver screenshots come), ignoring whitespace and padding.
///
/// # Errors
/// [`Error::Protocol`] on a character outside the alphabet.
pub fn base64_decode(s: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' | b'\r' | b'\n' | b' ' => continue,
            _ => return Err(Error::Protocol(format!("not base64: {:?}", c as char))),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(base64_decode("aGVsbG8gd29ybGQ=").unwrap(), b"hello world");
        assert_eq!(base64_decode("aGk").unwrap(), b"hi");
        assert_eq!(base64_decode("iVBORw0KGgo=").unwrap(), b"\x89PNG\r\n\x1a\n");
        assert_eq!(base64_decode("").unwrap(), b"");
        assert!(base64_decode("a*b").is_err());
    }

    /// A one-shot HTTP server that answers with `answer`, or drops the first `drops` connections
    /// without a word.
    fn serve(answer: &'static str, drops: usize) -> String {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for (i, s) in l.incoming().enumerate() {
                let mut s = s.unwrap();
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                if i >= drops {
                    s.write_all(answer.as_bytes()).unwrap();
                    return;
                }
            }
        });
        addr
    }

    #[test]
    fn answers_are_read_by_length_or_in_chunks_and_errors_are_w3c_errors() {
        let t = Duration::from_secs(5);
        let a = serve("HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{\"value\":[1,2]}\n", 0);
        assert_eq!(command(&a, "GET", "/x", None, t, 0).unwrap(), json!([1, 2]));
        let a = serve(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n{\"valu\r\n8\r\ne\":true}\r\n0\r\n\r\n",
            0,
        );
        assert_eq!(command(&a, "GET", "/x", None, t, 0).unwrap(), json!(true));
        let a = serve(
            "HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n{\"value\":{\"error\":\"no such element\",\"message\":\"nope\",\"x\":1}}",
            0,
        );
        let e = command(&a, "GET", "/x", None, t, 0).unwrap_err();
        assert_eq!(e.code(), Some("no such element"), "{e}");
    }

    #[test]
    fn a_dropped_connection_is_retried_once_and_then_reported() {
        let t = Duration::from_secs(5);
        let ok = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{\"value\":7}\n";
        assert_eq!(command(&serve(ok, 1), "GET", "/x", None, t, 1).unwrap(), json!(7));
        let e = command(&serve(ok, 2), "GET", "/x", None, t, 1).unwrap_err();
        assert!(matches!(&e, Error::Transport(io) if dropped(io)), "{e}");
    }

    #[test]
    fn wait_until_reports_the_last_error_on_timeout() {
        let mut n = 0;
        assert_eq!(
            wait_until("three", Duration::from_secs(5), || {
                n += 1;
                Ok((n == 3).then_some(n))
            })
            .unwrap(),
            3
        );
        let e =
            wait_until::<()>("never", Duration::from_millis(120), || Err(Error::Protocol("boom".into()))).unwrap_err();
        assert_eq!(e.to_string(), "timed out waiting for never (last error: webdriver protocol: boom)");
    }
}
