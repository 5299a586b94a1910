//! Real browsers for the phone page: headless Chromium through chromedriver (a phone's screen, or
//! a desktop window), and WebKit (WebKitGTK's MiniBrowser, the engine of every iPhone browser)
//! through WebKitWebDriver on an X display. Both can be pointed at a PulseAudio sink, so that the
//! page's click is heard and recorded.

use crate::page::Page;
use crate::process::require;
use crate::webdriver::{BrowserSession, WebDriver};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Which engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebEngine {
    /// Headless Chromium (chromedriver).
    Chromium,
    /// WebKitGTK's MiniBrowser (WebKitWebDriver), on an X display.
    WebKit,
}

/// How to open a browser.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The viewport, CSS pixels.
    pub size: (u32, u32),
    /// A phone's screen (touch, mobile metrics) rather than a desktop window.
    pub phone: bool,
    /// Environment for the driver and the browser: an X display (`DISPLAY`), PulseAudio
    /// (`PULSE_SERVER`, `PULSE_SINK`, ...).
    pub env: Vec<(String, String)>,
    /// Where screenshots go.
    pub shots: PathBuf,
    /// A label for screenshots and failure reports.
    pub label: String,
}

impl Launch {
    /// A phone at 390×844.
    #[must_use]
    pub fn phone(shots: &Path, label: &str) -> Launch {
        Launch { size: (390, 844), phone: true, env: Vec::new(), shots: shots.to_owned(), label: label.to_owned() }
    }

    /// A desktop browser's window at 1280×800, the page given all of it.
    #[must_use]
    pub fn desktop(shots: &Path, label: &str) -> Launch {
        Launch { size: (1280, 800), phone: false, ..Launch::phone(shots, label) }
    }
}

/// A browser with its driver; the page is closed before the driver stops.
pub struct WebBrowser {
    /// The page.
    pub page: Page,
    /// The driver (kept alive for the page's lifetime).
    pub driver: WebDriver,
}

/// The running test's package directory, in the checkout it runs in (cargo sets
/// `CARGO_MANIFEST_DIR` when it runs a test), not the one its binary was compiled in: two
/// checkouts that share a target directory share compiled tests, and a test served the other
/// checkout's page. Outside cargo, the directory of this harness's own build.
#[must_use]
pub fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

/// The directory of the built web UI (`ui/dist`).
///
/// # Panics
/// When it is not built, naming the command that builds it.
#[must_use]
pub fn ui_dist() -> PathBuf {
    let ui = manifest_dir()
        .ancestors()
        .map(|d| d.join("ui/dist"))
        .find(|d| d.join("index.html").is_file())
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/dist"));
    assert!(
        ui.join("index.html").is_file(),
        "no built web UI in {}: run `npm --prefix ui ci && npm --prefix ui run build` (scripts/test.sh does)",
        ui.display()
    );
    ui.canonicalize().unwrap()
}

/// Opens `engine` with `l`.
///
/// # Panics
/// When the browser or its driver is missing or does not start.
#[must_use]
pub fn open(engine: WebEngine, l: &Launch) -> WebBrowser {
    match engine {
        WebEngine::Chromium => chromium(l),
        WebEngine::WebKit => webkit(l),
    }
}

fn chromium(l: &Launch) -> WebBrowser {
    let hint = "apt-get install chromium chromium-driver";
    let binary = require("chromium", hint);
    let chromedriver = require("chromedriver", hint);
    let driver = WebDriver::start_env(&chromedriver, |port| vec![format!("--port={port}")], &l.env)
        .unwrap_or_else(|e| panic!("chromedriver does not start: {e}"));
    let profile = std::env::temp_dir().join(format!(
        "bandsync-chromium-{}-{}",
        std::process::id(),
        crate::webdriver::free_port()
    ));
    let (w, h) = l.size;
    let mut opts = json!({
        "binary": binary,
        "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--lang=en-US", format!("--window-size={w},{h}"),
            // The click plays without a tap in tests; a person taps "sound on". A page in the
            // background keeps its timers, as a phone's browser in front does.
            "--autoplay-policy=no-user-gesture-required",
            "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
            "--disable-backgrounding-occluded-windows",
            format!("--user-data-dir={}", profile.display()),
        ],
        // Notifications allowed, as for a musician who tapped "Notify me"; and the microphone, as
        // for one who tapped "Allow" (the real device, not Chromium's fake one: PulseAudio's, from
        // PULSE_SOURCE). A test can still refuse it to a page (WebDriver's permissions extension).
        "prefs": {
            "profile.default_content_setting_values.notifications": 1,
            "profile.default_content_setting_values.media_stream_mic": 1,
        },
    });
    if l.phone {
        // A phone's screen and touch, with Chromium's own user agent.
        opts["mobileEmulation"] =
            json!({"deviceMetrics": {"width": w, "height": h, "pixelRatio": 2.0, "touch": true, "mobile": true}});
    }
    let caps = json!({
        "goog:chromeOptions": opts,
        "timeouts": {"implicit": 0, "pageLoad": 30_000, "script": 10_000},
    });
    let s = BrowserSession::new(&driver, caps)
        .unwrap_or_else(|e| panic!("no Chromium session: {e}\n--- chromedriver ---\n{}", driver.log_text()));
    let page = Page::new(s, l.shots.clone(), &l.label);
    if !l.phone {
        // Headless Chromium's window keeps room for a browser's bars (1280×800 shows 1280×657):
        // the page gets the whole size, as a full-screen browser or the app's window does.
        let metrics = json!({"cmd": "Emulation.setDeviceMetricsOverride",
            "params": {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": false}});
        page.ok(page.s.cmd("POST", "/goog/cdp/execute", Some(metrics)), "the desktop's viewport");
    }
    WebBrowser { page, driver }
}

fn webkit(l: &Launch) -> WebBrowser {
    let hint = "apt-get install webkit2gtk-driver libwebkit2gtk-4.1-0";
    let driver_bin = require("WebKitWebDriver", hint);
    let mini = minibrowser().unwrap_or_else(|| panic!("no MiniBrowser: {hint}"));
    assert!(
        l.env.iter().any(|(k, _)| k == "DISPLAY") || std::env::var_os("DISPLAY").is_some(),
        "WebKit needs an X display: start one with bandsync_e2e::xvfb::Xvfb and pass DISPLAY in Launch::env"
    );
    let mut env = l.env.clone();
    env.push(("WEBKIT_DISABLE_COMPOSITING_MODE".into(), "1".into()));
    env.push(("NO_AT_BRIDGE".into(), "1".into()));
    let driver = WebDriver::start_env(&driver_bin, |port| vec![format!("--port={port}")], &env)
        .unwrap_or_else(|e| panic!("WebKitWebDriver does not start: {e}"));
    let (w, h) = l.size;
    let caps: Value = json!({
        "browserName": "MiniBrowser",
        "webkitgtk:browserOptions": {
            "binary": mini,
            "args": [
                "--automation",
                "--autoplay-policy=allow", "--media-playback-requires-user-gesture=false", "--enable-webaudio=true",
            ],
        },
        "timeouts": {"implicit": 0, "pageLoad": 30_000, "script": 10_000},
    });
    let s = BrowserSession::new(&driver, caps)
        .unwrap_or_else(|e| panic!("no WebKit session: {e}\n--- WebKitWebDriver ---\n{}", driver.log_text()));
    let _ = s.set_window_rect(None, Some((w, h)));
    let mut page = Page::new(s, l.shots.clone(), &l.label);
    let log = driver.log_path().to_owned();
    page.log = Some(Box::new(move || std::fs::read_to_string(&log).unwrap_or_default()));
    WebBrowser { page, driver }
}

/// WebKitGTK's MiniBrowser, where Debian puts it.
#[must_use]
pub fn minibrowser() -> Option<PathBuf> {
    ["/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser", "/usr/lib/aarch64-linux-gnu/webkit2gtk-4.1/MiniBrowser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}
