//! A phone browser, played by headless Chromium: it opens the join link from the host's QR code
//! and shows up in the host's participant list, with no app installed.

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_bandsync");

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromium() -> String {
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new("sh").arg("-c").arg(format!("command -v {c}")).output().is_ok_and(|o| o.status.success()) {
            return c.to_owned();
        }
    }
    panic!("no Chromium: install Debian's chromium (scripts/test.sh does)");
}

fn get(addr: &str, path: &str) -> Value {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    serde_json::from_str(body.split_once("\r\n\r\n").map_or("", |x| x.1)).unwrap_or(Value::Null)
}

#[test]
fn a_phone_browser_joins_from_the_link_and_appears_in_the_participant_list() {
    let browser = chromium();
    let mut host = Kill(
        Command::new(BIN)
            .args(["host", "--bind", "127.0.0.1:0", "--name", "Rehearsal", "--no-mdns", "--json"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(host.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let hosting: Value = serde_json::from_str(&line).unwrap();
    let url = hosting["url"].as_str().unwrap();
    let addr = hosting["addr"].as_str().unwrap().to_owned();
    let session = hosting["session"].as_str().unwrap().to_owned();
    // A leader plays, so that the page has a beat to show.
    let mut lead = Kill(
        Command::new(BIN)
            .args(["join", "--no-audio", url, "--name", "Ana", "--leader", "--json"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    writeln!(lead.0.stdin.as_mut().unwrap(), "play").unwrap();

    // The link as scanned, with the page's own name field filled in and submitted.
    let (base, frag) = url.split_once('#').unwrap();
    let page = format!("{base}?name=Phone&join=1#{frag}");
    let dir = std::env::temp_dir().join(format!("bandsync-chromium-{}", std::process::id()));
    let shot = dir.join("phone.png");
    let _browser = Kill(
        Command::new(&browser)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=390,844",
                "--virtual-time-budget=8000",
            ])
            .arg(format!("--user-data-dir={}", dir.display()))
            .arg(format!("--screenshot={}", shot.display()))
            .arg(&page)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let end = Instant::now() + Duration::from_secs(20);
    let phone = loop {
        let p = get(&addr, &format!("/api/sessions/{session}/participants"));
        if let Some(ph) = p["participants"].as_array().and_then(|a| a.iter().find(|p| p["name"] == "Phone")) {
            break ph.clone();
        }
        assert!(Instant::now() < end, "the browser never joined: {p}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(phone["role"], "follower", "a link grants follower");
    assert_eq!(phone["connection"], "online");
    // The screenshot (kept for a person to look at) shows the page after joining.
    let end = Instant::now() + Duration::from_secs(20);
    while std::fs::metadata(&shot).map_or(0, |m| m.len()) == 0 {
        assert!(Instant::now() < end, "no screenshot");
        std::thread::sleep(Duration::from_millis(100));
    }
    let keep = std::env::var_os("BANDSYNC_SCREENSHOTS").map(std::path::PathBuf::from);
    if let Some(k) = keep {
        std::fs::create_dir_all(&k).unwrap();
        std::fs::copy(&shot, k.join("phone-join.png")).unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
