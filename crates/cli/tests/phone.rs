//! A phone at the rehearsal, played by headless Chromium at a phone's viewport and driven through
//! chromedriver (W3C WebDriver): it opens the join link read from the host's QR code, joins from
//! the web UI the host serves, sees the band and the beat, adds a song and writes its chart, and
//! chats. The `bandsync` CLI checks that each of these reached the host.
//!
//! Needs Debian's `chromium` and `chromium-driver` and a built UI (`ui/dist`); it fails, with the
//! command that fixes it, when one is missing. `scripts/test.sh` provides all three.
//!
//! Screenshots (phone-home.png, phone-session.png, phone-chart.png) are always written to
//! `$CARGO_TARGET_TMPDIR/phone/`, so that a failed run can be looked at. With
//! `BANDSYNC_SCREENSHOTS=1` they are also copied to `docs/screenshots/` for the README; any other
//! value is taken as a directory to copy them to (as in `browser.rs`). They stay out of the
//! source tree otherwise, so that an ordinary test run leaves `git status` clean.

use bandsync_e2e::webdriver::{self, Driver, Session, keys};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_bandsync");
/// How long one step in the page may take (two cores, Chromium and three of our processes).
const WAIT: Duration = Duration::from_secs(20);

/// A `bandsync` process whose JSON lines are read as they come; killed on drop.
struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    seen: Vec<Value>,
}

impl Proc {
    fn spawn(args: &[&str]) -> Proc {
        let mut child = Command::new(BIN)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("bandsync runs");
        let stdin = child.stdin.take();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Proc { child, stdin, lines, seen: Vec::new() }
    }

    /// The next JSON event matching `pred`, within [`WAIT`].
    fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + WAIT;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| panic!("no {what}; saw {:#?}", self.seen));
            let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}"));
            self.seen.push(v.clone());
            if pred(&v) {
                return v;
            }
        }
    }

    fn say(&mut self, line: &str) {
        let s = self.stdin.as_mut().expect("stdin");
        writeln!(s, "{line}").unwrap();
        s.flush().unwrap();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a one-shot `bandsync` command with `stdin`; returns its exit code and stdout.
fn run(args: &[&str], stdin: &str) -> (i32, String) {
    let mut c = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("bandsync runs");
    c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let mut out = c.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).map(|_| s)
    });
    let end = Instant::now() + WAIT;
    let status = loop {
        if let Some(st) = c.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > end {
            let _ = c.kill();
            panic!("bandsync {args:?} did not finish in {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.code().unwrap_or(-1), reader.join().unwrap().expect("utf-8 output"))
}

/// Reads a QR code from a PNG file, as a phone's camera would read it off the screen.
fn scan(path: &Path) -> String {
    let dec = png::Decoder::new(BufReader::new(std::fs::File::open(path).expect("the QR code PNG")));
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the PNG");
    grids[0].decode().expect("the QR code decodes").1
}

/// A JSON GET against the host's HTTP API.
fn get(addr: &str, path: &str) -> Value {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    serde_json::from_str(body.split_once("\r\n\r\n").map_or("", |x| x.1)).unwrap_or(Value::Null)
}

/// The path of a program on `PATH`.
fn which(name: &str) -> Option<String> {
    let out = Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The page, with what is needed to explain a failure.
struct Phone {
    s: Session,
    shots: PathBuf,
}

impl Phone {
    /// Unwraps a WebDriver result; on an error, saves `phone-failure.png`, prints what the page
    /// knows (`window.__bandsync.state`) and fails.
    fn ok<T>(&self, r: webdriver::Result<T>, what: &str) -> T {
        r.unwrap_or_else(|e| {
            let shot = self.shots.join("phone-failure.png");
            let _ = self.s.screenshot(&shot);
            let state = self.s.execute("return window.__bandsync && window.__bandsync.state", &[]);
            let text = self.s.execute("return document.body && document.body.innerText", &[]);
            panic!(
                "{what}: {e}\n--- window.__bandsync.state ---\n{}\n--- page text ---\n{}\n--- screenshot: {} ---",
                state.map(|v| serde_json::to_string_pretty(&v).unwrap()).unwrap_or_else(|e| e.to_string()),
                text.map(|v| v.as_str().unwrap_or_default().to_owned()).unwrap_or_else(|e| e.to_string()),
                shot.display()
            )
        })
    }

    /// Evaluates a JavaScript expression in the page.
    fn js(&self, expr: &str) -> webdriver::Result<Value> {
        self.s.execute(&format!("return ({expr});"), &[])
    }

    /// Waits until `expr` is truthy in the page and returns its value.
    fn until(&self, what: &str, expr: &str) -> Value {
        let r = self.s.wait_until(what, WAIT, |_| {
            let v = self.js(expr)?;
            Ok((!v.is_null() && v != false && v != "" && v != 0).then_some(v))
        });
        self.ok(r, what)
    }

    /// Scrolls `css` to the middle of the screen, as a person would before tapping it (a sticky
    /// header may cover what is merely in view), and clicks it.
    fn click(&self, css: &str) {
        let r = self.s.wait_for(css, WAIT).and_then(|e| {
            e.scroll_into_view("center")?;
            e.click()
        });
        self.ok(r, &format!("click {css}"));
    }

    fn type_into(&self, css: &str, text: &str) {
        let r = self.s.wait_for(css, WAIT).and_then(|e| e.send_keys(text));
        self.ok(r, &format!("type into {css}"));
    }

    fn shoot(&self, name: &str) {
        let r = self.s.screenshot(self.shots.join(name));
        self.ok(r, &format!("screenshot {name}"));
    }
}

#[test]
fn a_phone_scans_the_code_joins_follows_the_beat_writes_a_chart_and_chats() {
    let started = Instant::now();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap();
    let ui = repo.join("ui/dist");
    assert!(
        ui.join("index.html").is_file(),
        "no built web UI in {}: run `npm --prefix ui ci && npm --prefix ui run build` (scripts/test.sh does)",
        ui.display()
    );
    let (Some(chromium), Some(chromedriver)) = (which("chromium"), which("chromedriver")) else {
        panic!(
            "this test needs Chromium and chromedriver: `apt-get install chromium chromium-driver` \
             (scripts/test.sh installs them)"
        );
    };
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("phone");
    std::fs::create_dir_all(&shots).unwrap();

    // The host, with its QR code as a PNG and the built UI.
    let qr = shots.join("qr.png");
    let _ = std::fs::remove_file(&qr);
    let mut host = Proc::spawn(&[
        "host",
        "--bind",
        "127.0.0.1:0",
        "--name",
        "Rehearsal",
        "--no-mdns",
        "--json",
        "--qr-png",
        qr.to_str().unwrap(),
        "--ui",
        ui.to_str().unwrap(),
    ]);
    let hosting = host.wait_for("hosting", |v| v["event"] == "hosting");
    let addr = hosting["addr"].as_str().unwrap().to_owned();
    let session = hosting["session"].as_str().unwrap().to_owned();
    let url = scan(&qr);
    assert_eq!(url, hosting["url"].as_str().unwrap(), "the code holds the join link");

    // A leader from the terminal sets the tempo and plays.
    let mut lead = Proc::spawn(&["join", "--no-audio", &url, "--name", "Ana", "--leader", "--json"]);
    lead.wait_for("joined", |v| v["event"] == "joined");
    lead.say("tempo 120");
    lead.say("play");
    // A start is scheduled a little ahead (the next bar line): it may come as a pending segment.
    lead.wait_for("playing at 120", |v| {
        let now_or_next = |k: &str, val: &Value| {
            &v[k] == val || v["pending"].as_array().is_some_and(|p| p.iter().any(|s| &s[k] == val))
        };
        v["event"] == "state" && now_or_next("playing", &json!(true)) && now_or_next("tempo", &json!(120.0))
    });

    // The phone: headless Chromium with a phone's screen and touch.
    let driver = Driver::start(&chromedriver, |port| vec![format!("--port={port}")])
        .unwrap_or_else(|e| panic!("chromedriver does not start ({e}); is `chromium-driver` installed?"));
    let caps = json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--lang=en-US", "--window-size=390,844",
            ],
            "mobileEmulation": {
                // Chromium's own user agent: with an Android one, CodeMirror waits for the DOM
                // changes an Android keyboard makes around Enter, which WebDriver's key events do
                // not make, and the chart's newlines would be lost (a test artefact, not a bug).
                "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2.0, "touch": true, "mobile": true},
            },
        },
        "timeouts": {"implicit": 0, "pageLoad": 30_000, "script": 10_000},
    });
    let s = Session::new(&driver, caps)
        .unwrap_or_else(|e| panic!("no browser session: {e}\n--- chromedriver ---\n{}", driver.log_text()));
    let phone = Phone { s, shots: shots.clone() };

    // Exactly the link from the code. A new phone has no name yet: the page asks for one.
    phone.ok(phone.s.navigate(&url), "open the join link");
    assert_eq!(phone.ok(phone.s.url(), "the page's URL"), url, "the browser opened the scanned link as it is");
    let target = phone.ok(phone.s.wait_for("[data-testid=join-target]", WAIT), "the join form");
    assert_eq!(phone.ok(target.prop("value"), "the join field"), url, "the join field holds the link");
    phone.type_into("[data-testid=your-name]", "Phone");
    phone.type_into("[data-testid=your-instrument]", "bass");
    phone.shoot("phone-home.png");
    phone.click("[data-testid=join-button]");

    // (a) The band: both members, online, Ana leading; the host agrees.
    phone.until("online", "document.querySelector('[data-testid=connection-state][data-state=online]')");
    let name = phone.until("the session's name", "document.querySelector('[data-testid=session-name]')?.textContent");
    assert_eq!(name, "Rehearsal");
    let band = phone.until(
        "both members in the participant list",
        "(() => { const rows = [...document.querySelectorAll('[data-testid=participant]')].map((p) => \
         [p.querySelector('.p-name strong').textContent, p.dataset.role, p.dataset.connection]); \
         return rows.length === 2 && rows.every((r) => r[2] === 'online') && rows; })()",
    );
    assert_eq!(band, json!([["Ana", "leader", "online"], ["Phone", "follower", "online"]]));
    let p = get(&addr, &format!("/api/sessions/{session}/participants"));
    let me = p["participants"].as_array().and_then(|a| a.iter().find(|p| p["name"] == "Phone")).cloned();
    let me = me.unwrap_or_else(|| panic!("the host does not list the phone: {p}"));
    assert_eq!((me["role"].as_str(), me["connection"].as_str()), (Some("follower"), Some("online")), "{me}");

    // (b) The beat: the page's clock syncs with the host's, and the beat moves on while playing.
    phone.until("the clock to sync", "window.__bandsync.state.clock?.synced === true");
    phone.until(
        "120 BPM on the display",
        "document.querySelector('[data-testid=tempo-display]')?.textContent.includes('120 BPM')",
    );
    // Every beat the page shows, as it shows it (polling from here could miss one on a busy
    // machine).
    let r = phone.js(
        "(() => { const b = document.querySelector('[data-testid=beat]'); window.__beats = []; \
         new MutationObserver(() => window.__beats.push([b.dataset.playing, Number(b.dataset.bar), Number(b.dataset.beat)])) \
         .observe(b, {attributes: true, attributeFilter: ['data-beat', 'data-bar', 'data-playing']}); return true; })()",
    );
    phone.ok(r, "watch the beat");
    // Six beats in a row: all of a bar and into the next one.
    let shown = phone.until("six beats", "window.__beats.length >= 6 && window.__beats");
    let mut pos = Vec::new();
    for b in shown.as_array().unwrap() {
        assert_eq!(b[0], "true", "data-playing while the leader plays: {shown}");
        let (bar, beat) = (b[1].as_i64().unwrap(), b[2].as_i64().unwrap());
        assert!((0..4).contains(&beat), "a beat of a 4/4 bar: {shown}");
        pos.push(bar * 4 + beat);
    }
    assert!(pos.windows(2).all(|w| w[1] == w[0] + 1), "one beat after another, none skipped: {shown}");
    phone.shoot("phone-session.png");

    // (c) A song added on the phone, and its chart written there, reach the host; an edit from
    // the terminal reaches the phone's editor.
    phone.type_into("[data-testid=song-title]", "Wonderwall");
    phone.type_into("[data-testid=song-key]", "F#m");
    phone.type_into("[data-testid=song-tempo]", "87");
    phone.click("[data-testid=song-add]");
    phone.until(
        "the song in the setlist",
        "document.querySelector('[data-testid=song] .song-title')?.textContent === 'Wonderwall'",
    );
    let title =
        phone.until("the chart of the new song", "document.querySelector('#chart h2')?.firstChild?.textContent");
    assert_eq!(title, "Wonderwall", "adding a song opens its chart");
    phone.click("[data-testid=chart-editor] .cm-content");
    let chart = "{title: Wonderwall}\n[F#m]Today is gonna be the day";
    let typed = chart.replace('\n', keys::ENTER);
    let r = phone.s.active().and_then(|e| e.send_keys(&typed));
    phone.ok(r, "type the chart");
    let r = webdriver::wait_until("the chart on the host", WAIT, || {
        let (code, text) = run(&["chart", "get", &url, "Wonderwall"], "");
        Ok((code == 0 && text == chart).then_some(()))
    });
    if let Err(e) = r {
        let now = run(&["chart", "get", &url, "Wonderwall"], "");
        phone.ok(Err::<(), _>(e), &format!("the host has {now:?}, not the typed chart"));
    }
    let (code, list) = run(&["setlist", "get", &url], "");
    assert_eq!(code, 0);
    let list: Value = serde_json::from_str(&list).unwrap();
    let song = (list[0]["title"].as_str(), list[0]["key"].as_str(), list[0]["tempo"].as_f64());
    assert_eq!(song, (Some("Wonderwall"), Some("F#m"), Some(87.0)), "the song as the phone added it: {list}");
    let more = format!("{chart}\n[A]Back beat, the word is on the street");
    assert_eq!(run(&["chart", "set", &url, "Wonderwall"], &more).0, 0);
    phone.until(
        "the terminal's edit in the phone's editor",
        "document.querySelector('[data-testid=chart-editor] .cm-content')?.innerText.includes('the word is on the street')",
    );
    let r = phone.s.find("#chart").and_then(|e| e.scroll_into_view("start"));
    phone.ok(r, "scroll to the chart");
    phone.shoot("phone-chart.png");

    // (d) Chat: a message sent on the phone is in the host's history.
    let words = "Running late, start without me";
    phone.type_into("[data-testid=chat-input]", words);
    phone.click("[data-testid=chat-send]");
    phone.until(
        "the message in the chat",
        &format!("[...document.querySelectorAll('[data-testid=chat-message]')].some((m) => m.textContent.includes({words:?}))"),
    );
    let (code, out) = run(&["chat", "export", &url, "--format", "json"], "");
    assert_eq!(code, 0);
    let msgs: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("chat export is not JSON ({e}): {out}"));
    let msg = msgs.as_array().and_then(|a| a.iter().find(|m| m["text"] == words)).cloned();
    let msg = msg.unwrap_or_else(|| panic!("the phone's message is not in the host's chat: {msgs}"));
    assert_eq!((&msg["name"], &msg["from"], &msg["deleted"]), (&json!("Phone"), &me["id"], &json!(false)), "{msg}");

    // Screenshots for the README, when asked for.
    match std::env::var("BANDSYNC_SCREENSHOTS").ok().filter(|v| !v.is_empty()) {
        Some(v) => {
            let keep = if v == "1" { repo.join("docs/screenshots") } else { PathBuf::from(v) };
            std::fs::create_dir_all(&keep).unwrap();
            for f in ["phone-home.png", "phone-session.png", "phone-chart.png"] {
                std::fs::copy(shots.join(f), keep.join(f)).unwrap();
            }
            eprintln!("screenshots copied to {}", keep.display());
        }
        None => {
            eprintln!("screenshots in {} (BANDSYNC_SCREENSHOTS=1 copies them to docs/screenshots)", shots.display())
        }
    }
    eprintln!("phone e2e took {:.1} s", started.elapsed().as_secs_f64());
}
