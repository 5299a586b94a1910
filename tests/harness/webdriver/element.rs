//! Elements of a session's page: finding them (by CSS selector, the focused one, waiting for one
//! to show) and acting on them.

use super::base64::base64_decode;
use super::error::{Error, Result};
use super::session::{BrowserSession, Rect};
use super::wait::wait_until;
use serde_json::{Value, json};
use std::fmt;
use std::time::Duration;

/// The W3C key of a web element reference in JSON.
pub const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

impl BrowserSession {
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
}

/// An element of a session's page.
pub struct Element<'s> {
    s: &'s BrowserSession,
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

    /// The element as a script argument for [`BrowserSession::execute`].
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

    /// Types `text` into it (focusing it first); see [`keys`](super::keys) for special keys.
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
