//! A BandSync page under WebDriver (a phone browser, WebKit, or the app's window), with what a
//! failing test needs to explain itself: a screenshot, the page's state (`window.__bandsync`),
//! its text, and the driver's log.

use crate::webdriver::{BrowserSession, Result};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// A page and where its screenshots go.
pub struct Page {
    /// The WebDriver session.
    pub s: BrowserSession,
    /// Where screenshots are written.
    pub shots: PathBuf,
    /// A name for failure screenshots and messages (`phone`, `app`, `webkit`).
    pub label: String,
    /// How long [`Page::until`] and element waits take before failing.
    pub wait: Duration,
    /// Extra text for failure reports (a driver's log).
    pub log: Option<Box<dyn Fn() -> String>>,
}

impl Page {
    /// A page over `s`, writing screenshots to `shots`.
    #[must_use]
    pub fn new(s: BrowserSession, shots: PathBuf, label: &str) -> Page {
        std::fs::create_dir_all(&shots).ok();
        Page { s, shots, label: label.to_owned(), wait: Duration::from_secs(20), log: None }
    }

    /// Unwraps a WebDriver result, or fails with the page's diagnostics.
    pub fn ok<T>(&self, r: Result<T>, what: &str) -> T {
        r.unwrap_or_else(|e| self.fail(&format!("{what}: {e}")))
    }

    /// Fails the test with a screenshot, the page's state and text, and the driver's log.
    ///
    /// # Panics
    /// Always.
    pub fn fail(&self, what: &str) -> ! {
        let shot = self.shots.join(format!("{}-failure.png", self.label));
        let _ = self.s.screenshot(&shot);
        let state = self.s.execute("return window.__bandsync && window.__bandsync.state", &[]);
        let text = self.s.execute("return document.body && document.body.innerText", &[]);
        panic!(
            "{}: {what}\n--- window.__bandsync.state ---\n{}\n--- page text ---\n{}\n--- log ---\n{}\n--- screenshot: {} ---",
            self.label,
            state.map(|v| serde_json::to_string_pretty(&v).unwrap()).unwrap_or_else(|e| e.to_string()),
            text.map(|v| v.as_str().unwrap_or_default().to_owned()).unwrap_or_else(|e| e.to_string()),
            self.log.as_ref().map(|l| l()).unwrap_or_default(),
            shot.display()
        )
    }

    /// Evaluates a JavaScript expression in the page.
    ///
    /// # Errors
    /// A WebDriver error (a script error included).
    pub fn js(&self, expr: &str) -> Result<Value> {
        self.s.execute(&format!("return ({expr});"), &[])
    }

    /// Evaluates a JavaScript expression, failing the test on an error.
    pub fn eval(&self, expr: &str) -> Value {
        let r = self.js(expr);
        self.ok(r, &format!("evaluate {expr}"))
    }

    /// Waits until `expr` is truthy in the page and returns its value.
    pub fn until(&self, what: &str, expr: &str) -> Value {
        let r = self.s.wait_until(what, self.wait, |_| {
            let v = self.js(expr)?;
            Ok((!v.is_null() && v != false && v != "" && v != 0).then_some(v))
        });
        self.ok(r, what)
    }

    /// Waits until the page's band list shows `n` members, all online, and returns each row as
    /// `[name, role, connection]`.
    pub fn band_online(&self, n: usize) -> Value {
        self.until(
            &format!("{n} members online in the band list"),
            &format!(
                "(() => {{ const rows = [...document.querySelectorAll('[data-testid=participant]')].map((p) => \
                 [p.querySelector('.p-name strong').textContent, p.dataset.role, p.dataset.connection]); \
                 return rows.length === {n} && rows.every((r) => r[2] === 'online') && rows; }})()"
            ),
        )
    }

    /// Scrolls `css` to the middle of the screen, as a person would before tapping it (a sticky
    /// header may cover what is merely in view), and clicks it.
    pub fn click(&self, css: &str) {
        let r = self.s.wait_for(css, self.wait).and_then(|e| {
            e.scroll_into_view("center")?;
            e.click()
        });
        self.ok(r, &format!("click {css}"));
    }

    /// Clicks `css` and waits until `expr`, the click's effect in the page, is truthy; returns its
    /// value. A click that shows no effect within a few seconds is made once more, and said so:
    /// one CI run saw the app's play button clicked, the driver answer, and nothing happen, with
    /// tauri-driver dropping connections around it. Use it only where a second click is harmless
    /// (play while playing is a no-op). If the second click does nothing either, the test fails
    /// with the page's state.
    pub fn click_until(&self, css: &str, what: &str, expr: &str) -> Value {
        let effect = |limit: Duration| {
            self.s.wait_until(what, limit, |_| {
                let v = self.js(expr)?;
                Ok((!v.is_null() && v != false && v != "" && v != 0).then_some(v))
            })
        };
        self.click(css);
        if let Ok(v) = effect(Duration::from_secs(5)) {
            return v;
        }
        eprintln!("{}: the click on {css} showed no {what} in 5 s; clicking once more", self.label);
        self.click(css);
        let r = effect(self.wait);
        self.ok(r, &format!("{what} after two clicks on {css}"))
    }

    /// Types into `css`.
    pub fn type_into(&self, css: &str, text: &str) {
        let r = self.s.wait_for(css, self.wait).and_then(|e| {
            e.scroll_into_view("center")?;
            e.send_keys(text)
        });
        self.ok(r, &format!("type into {css}"));
    }

    /// Types into `css` and checks that the field holds `expect` afterwards.
    pub fn type_checked(&self, css: &str, text: &str, expect: &str) {
        let r = self.s.wait_for(css, self.wait).and_then(|e| {
            e.scroll_into_view("center")?;
            e.send_keys(text)?;
            e.prop("value")
        });
        let v = self.ok(r, &format!("type into {css}"));
        if v != expect {
            self.fail(&format!("{css} holds {v} after typing, not {expect:?}"));
        }
    }

    /// Takes a screenshot once the page has painted what the last commands changed (WebKitGTK's
    /// snapshot can otherwise show the frame before).
    pub fn shoot(&self, name: &str) {
        let painted = "const done = arguments[arguments.length - 1]; \
                       requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => done(true), 50)));";
        let r = self.s.execute_async(painted, &[]).and_then(|_| self.s.screenshot(self.shots.join(name)));
        self.ok(r, &format!("screenshot {name}"));
    }

    /// Copies the screenshots named to the README's folder when `BANDSYNC_SCREENSHOTS` asks for
    /// it (`1`: `docs/screenshots/`; another value: that folder).
    pub fn publish(&self, names: &[&str]) {
        let Some(to) = std::env::var_os("BANDSYNC_SCREENSHOTS") else { return };
        let to = if to == "1" {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots")
        } else {
            PathBuf::from(to)
        };
        std::fs::create_dir_all(&to).unwrap();
        for n in names {
            std::fs::copy(self.shots.join(n), to.join(n)).unwrap_or_else(|e| panic!("copy {n}: {e}"));
        }
    }
}
