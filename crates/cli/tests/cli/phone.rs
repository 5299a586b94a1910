//! A phone at the rehearsal, played by headless Chromium at a phone's viewport and driven through
//! chromedriver (W3C WebDriver): it opens the join link read from the host's QR code, joins from
//! the web UI the host serves, sees the band and the beat, adds a song and writes its chart, and
//! chats, and is told why it has no MIDI out here. The `bandsync` CLI checks that each of these
//! reached the host.
//!
//! Needs Debian's `chromium` and `chromium-driver` and a built UI (`ui/dist`); it fails, with the
//! command that fixes it, when one is missing. `scripts/test.sh` provides all three.
//!
//! Screenshots (phone-home.png, phone-session.png, phone-chart.png) are always written to
//! `$CARGO_TARGET_TMPDIR/phone/`, so that a failed run can be looked at. With
//! `BANDSYNC_SCREENSHOTS=1` they are also copied to `docs/screenshots/` for the README; any other
//! value is taken as a directory to copy them to (as in `browser.rs`). They stay out of the
//! source tree otherwise, so that an ordinary test run leaves `git status` clean.

use bandsync_e2e::browser::{self, Launch, WebEngine};
use bandsync_e2e::process::{Proc, get_json as get, run, scan_qr};
use bandsync_e2e::webdriver::{self, keys};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long one step in the page may take (two cores, Chromium and three of our processes).
const WAIT: Duration = Duration::from_secs(20);

#[test]
fn a_phone_scans_the_code_joins_follows_the_beat_writes_a_chart_and_chats() {
    let _machine = bandsync_e2e::machine::shared();
    let started = Instant::now();
    let ui = browser::ui_dist();
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("phone");
    std::fs::create_dir_all(&shots).unwrap();

    // The host, with its QR code as a PNG and the built UI.
    let qr = shots.join("qr.png");
    let _ = std::fs::remove_file(&qr);
    let mut host = Proc::bandsync(&[
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
    let url = scan_qr(&qr);
    assert_eq!(url, hosting["url"].as_str().unwrap(), "the code holds the join link");

    // A leader from the terminal sets the tempo and plays.
    let mut lead = Proc::bandsync(&["join", "--no-audio", &url, "--name", "Ana", "--leader", "--json"]);
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
    let chromium = browser::open(WebEngine::Chromium, &Launch::phone(&shots, "phone"));
    let phone = &chromium.page;

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
    let band = phone.band_online(2);
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
    // A chart is read by default; writing it is a deliberate switch.
    phone.click("[data-testid=chart-mode-edit]");
    phone.click("[data-testid=chart-editor] textarea");
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
    let song = (list[0]["title"].as_str(), list[0]["key"].as_str(), list[0]["tempo"].as_u64());
    assert_eq!(song, (Some("Wonderwall"), Some("F#m"), Some(87_000)), "the song as the phone added it: {list}");
    let more = format!("{chart}\n[A]Back beat, the word is on the street");
    assert_eq!(run(&["chart", "set", &url, "Wonderwall"], &more).0, 0);
    phone.until(
        "the terminal's edit in the phone's editor",
        "document.querySelector('[data-testid=chart-editor] textarea')?.value.includes('the word is on the street')",
    );
    // Read: ChordPro rendered by the core, the chord above its syllable.
    phone.click("[data-testid=chart-mode-read]");
    let chord = phone.until(
        "the rendered chart",
        "[...document.querySelectorAll('[data-testid=chart-read] .rv-pair')].find(p => p.textContent.includes('Back'))?.querySelector('.rv-chord')?.textContent",
    );
    assert_eq!(chord, "A", "the chord over its words");
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

    // (e) MIDI out: the page offers Web MIDI here (Chromium, a page on loopback is secure), and
    // says what the browser answered. This machine has no MIDI system (no ALSA sequencer), so
    // Chromium, allowed to, fails to open it, which the page says in the browser's own words;
    // where there is one, the page lists its ports instead. (Where the MIDI is sent and when is
    // tested with the core in `ui/src/midi/out.test.ts`.)
    let origin = url.split("/s/").next().unwrap().to_owned();
    let mut dt = bandsync_e2e::devtools::DevTools::connect(&phone.s).expect("Chromium's DevTools");
    let grant = json!({"permissions": ["midi", "midiSysex"], "origin": origin});
    dt.call("Browser.grantPermissions", grant).expect("allow the page MIDI");
    phone.click("[data-testid=open-settings]");
    phone.until("the MIDI settings", "document.querySelector('[data-testid=web-midi-out]')");
    phone.eval("(() => { document.querySelector('[data-testid=web-midi-out]').focus(); return true; })()");
    let said = phone.until(
        "the page says what the browser answered",
        "(() => { const t = document.querySelector('[data-testid=web-midi-status]')?.textContent; \
         const ports = document.querySelectorAll('[data-testid=web-midi-out] option').length; \
         return t && (t.includes('could not open') || ports > 1 || t.includes('No MIDI outputs')) && t; })()",
    );
    let said = said.as_str().unwrap();
    let no_seq = !std::path::Path::new("/dev/snd/seq").exists();
    if no_seq {
        assert!(said.contains("could not open") && said.contains("Platform dependent initialization failed"), "{said}");
    }
    phone.click("[data-testid=settings-close]");

    // (f) A stale link, then a wrong PIN, then the right one: the page tells the first two apart
    // by the refusal's code alone, and offers the PIN for both.
    lead.say("pin 246813");
    lead.wait_for("the PIN set", |v| v["event"] == "credentials" && v["pin"] == "246813");
    // A phone that has never been here: nothing kept, and a new page (not a new fragment).
    phone.eval("(() => { localStorage.clear(); sessionStorage.clear(); return true; })()");
    phone.ok(phone.s.navigate("about:blank"), "leave the page");
    let stale = url.replace("#k=", "#k=00");
    phone.ok(phone.s.navigate(&stale), "open a stale join link");
    phone.type_into("[data-testid=your-name]", "Late");
    phone.click("[data-testid=join-button]");
    let refusal = "(() => { const r = document.querySelector('[data-testid=refusal]'); \
                   return r && [r.dataset.code, r.querySelector('p').textContent]; })()";
    let stale_said = phone.until("the stale link refused", refusal);
    assert_eq!(stale_said[0], "bad_secret", "{stale_said}");
    assert!(stale_said[1].as_str().unwrap().contains("no longer valid"), "{stale_said}");
    phone.type_into("[data-testid=refusal-pin]", "111111");
    phone.click("[data-testid=refusal-retry]");
    let wrong = phone.until(
        "the wrong PIN refused",
        &format!("(() => {{ const r = {refusal}; return r && r[0] === 'wrong_pin' && r; }})()"),
    );
    assert!(wrong[1].as_str().unwrap().starts_with("Wrong PIN"), "{wrong}");
    phone.eval(
        "(() => { const i = document.querySelector('[data-testid=refusal-pin]'); i.value = ''; \
         i.dispatchEvent(new Event('input', {bubbles: true})); return true; })()",
    );
    phone.type_into("[data-testid=refusal-pin]", "246813");
    phone.click("[data-testid=refusal-retry]");
    phone.until("online with the PIN", "document.querySelector('[data-testid=connection-state][data-state=online]')");

    phone.publish(&["phone-home.png", "phone-session.png", "phone-chart.png"]);
    eprintln!("phone e2e took {:.1} s", started.elapsed().as_secs_f64());
}
