//! The WebDriver client of the test harness ([`bandsync_e2e::webdriver`]) in a few lines: a
//! chromedriver, a session, the phone page, its join button. Built with every target by
//! `scripts/test.sh`, so that it stays true; run it against a host on port 7878 with
//! `cargo run -p bandsync-e2e --example webdriver`.

use bandsync_e2e::webdriver::{BrowserSession, WebDriver};
use std::time::Duration;

fn main() {
    let driver = WebDriver::start("chromedriver", |port| vec![format!("--port={port}")]).unwrap();
    let s = BrowserSession::new(&driver, serde_json::json!({"browserName": "chrome"})).unwrap();
    s.navigate("http://127.0.0.1:7878/").unwrap();
    let button = s.wait_for("[data-testid=join-button]", Duration::from_secs(10)).unwrap();
    button.click().unwrap();
    // The session goes before its driver: its drop closes the browser.
    drop(s);
}
