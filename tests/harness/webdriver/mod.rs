//! A small, blocking W3C WebDriver client for the browser and app tests: chromedriver for the
//! phone browser, WebKitWebDriver or tauri-driver for the Tauri app.
//!
//! Only `std` and `serde_json`: plain HTTP/1.1 over [`TcpStream`](std::net::TcpStream), one
//! connection per command. tauri-driver's proxy sometimes drops a connection without answering, so
//! a command whose connection drops is sent again ([`BrowserSession::retries`], once by default).
//!
//! Its use in a few lines: `tests/examples/webdriver.rs` (built with every target).
//!
//! Drop the [`BrowserSession`] before its [`WebDriver`] (declare the driver first): the session's drop
//! deletes it, which closes the browser, and the driver's drop kills the driver process.
//!
//! - `error`: what can go wrong ([`Error`], [`Result`]);
//! - `http`: one command as one HTTP/1.1 request, sent again when its connection drops;
//! - `wait`: polling until a condition holds ([`wait_until`]);
//! - `driver`: the driver process ([`WebDriver`]) on a [`free_port`];
//! - `session`: a browser session ([`BrowserSession`]): pages, scripts, screenshots, the window;
//! - `element`: finding elements and acting on them ([`Element`]);
//! - `base64`: the decoder for screenshots ([`base64_decode`]);
//! - here: the key codes ([`keys`]).

mod base64;
mod driver;
mod element;
mod error;
mod http;
mod session;
mod wait;

pub use base64::base64_decode;
pub use driver::{WebDriver, free_port};
pub use element::{ELEMENT_KEY, Element};
pub use error::{Error, Result};
pub use session::{BrowserSession, Rect};
pub use wait::wait_until;

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
