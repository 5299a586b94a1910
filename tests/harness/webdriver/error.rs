//! What can go wrong talking to a driver.

use std::fmt;

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
    /// A [`wait_until`](super::wait_until) condition did not hold in time.
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
