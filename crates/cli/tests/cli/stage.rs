//! The stage view on a phone (headless Chromium at 390×844) and in a desktop browser's window
//! (1280×800), led from the terminal: each follower's first screen shows the beat, the current
//! song and its part, and its rendered chart with the part the band is in highlighted, all within
//! the viewport and uncovered, and no leader control; a cue shows full screen on both at the cue's
//! host time, and the leader's "go to the outro" changes both followers' part (and highlighted
//! chart section) on the same bar, each read through the page's own clock; a page turner's
//! PageDown turns each follower's chart a screen on (not while the chat box has the keys) and
//! PageUp turns it back; a follower's own chart settings, chosen on the phone, show on the same
//! member's tablet and not on anyone else's screen; a chat message that mentions a follower raises
//! that follower's notification badge, in view, and not the writer's. Figures are printed as
//! `STAGE` lines.
//!
//! The first screens are saved as `phone-stage.png` and `desktop-stage.png` in
//! `$CARGO_TARGET_TMPDIR/stage/`, and copied to `docs/screenshots/` for the README with
//! `BANDSYNC_SCREENSHOTS=1` (as in `phone.rs`).

use bandsync_e2e::browser::{self, Launch, WebBrowser, WebEngine};
use bandsync_e2e::process::{Proc, run};
use serde_json::{Value, json};
use std::path::PathBuf;

/// How far from the host time a phone may show what lands then: a browser timer, a render.
const ON_TIME_US: i64 = 50_000;

const SETLIST: &str = r#"[{"id":"s1","title":"Blue Bossa","key":"Cm","tempo":180,"meter":"4/4","notes":"",
  "flow":"Intro 2, A 32, B 32, Outro 2"}]"#;

/// Blue Bossa's chart, its A part long enough (60 lines) that the read view scrolls on a phone.
fn chart() -> String {
    let a = "[Cm7]Sunny [Fm7]side of the [Dm7b5]street [G7]\n".repeat(60);
    format!(
        "{{title: Blue Bossa}}\n{{start_of_intro}}\n[Cm7]\n{{end_of_intro}}\n{{sov: A}}\n{a}{{eov}}\n\
         {{sov: B}}\n[Ebm7]Night [Ab7]falls\n{{eov}}\n{{start_of_outro}}\n[Cm7]End\n{{end_of_outro}}\n"
    )
}

/// Presses and releases `key` (a W3C key code) as a keyboard would: on whatever has the focus.
fn press(b: &WebBrowser, key: &str) {
    let p = &b.page;
    let strokes = json!([{"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]);
    let r = p.s.cmd("POST", "/actions", Some(json!({"actions": [{"type": "key", "id": "pedal", "actions": strokes}]})));
    p.ok(r, "press a key");
}

/// W3C WebDriver's PageUp and PageDown (§17.4.2), what a Bluetooth page turner sends.
const PAGE_UP: &str = "\u{E00E}";
const PAGE_DOWN: &str = "\u{E00F}";

/// A follower that opens `l`'s browser, joins `url` as `l.label` and records, with its own
/// host-time estimate, when a cue shows and when the part shown changes.
fn follower(url: &str, l: &Launch) -> WebBrowser {
    let b = browser::open(WebEngine::Chromium, l);
    let p = &b.page;
    p.ok(p.s.navigate(url), "open the join link");
    let (w, h) = l.size;
    assert_eq!(p.eval("[innerWidth, innerHeight]"), json!([w, h]), "{}: the viewport", l.label);
    p.type_into("[data-testid=your-name]", &l.label);
    p.click("[data-testid=join-button]");
    p.until("online", "document.querySelector('[data-testid=connection-state][data-state=online]')");
    p.until("the clock to sync", "window.__bandsync.state.clock?.synced === true");
    // A phone joining a session that has a setlist gets it at once (its first sync frame was
    // dropped until 2026-12-02: the page thought itself not yet joined when the welcome came).
    p.until("the setlist", "window.__bandsync.state.songs.length === 1");
    let r = p.js(
        "(() => { window.__seen = []; const rec = (k, t) => window.__seen.push([k, t, window.__bandsync.state.hostNow]); \
         new MutationObserver(() => { \
           const c = document.querySelector('[data-testid=cue-text]'); \
           if (c && window.__cue !== c.textContent) { window.__cue = c.textContent; rec('cue', c.textContent); } \
           const s = document.querySelector('[data-testid=section-now]')?.textContent ?? null; \
           if (s !== window.__part) { window.__part = s; rec('part', s); } }) \
         .observe(document.body, {subtree: true, childList: true, characterData: true}); return true; })()",
    );
    p.ok(r, "record what shows");
    b
}

/// JavaScript: whether one of what `css` selects is on the screen as it is scrolled: its box
/// wholly inside the viewport, and what shows at its centre is it (not a sticky bar, an overlay,
/// nor what its scrolling box clips it under).
fn on_screen(css: &str) -> String {
    format!(
        "[...document.querySelectorAll({css:?})].some((e) => {{ const r = e.getBoundingClientRect(); \
         return r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0 && r.right <= innerWidth \
         && r.bottom <= innerHeight && e.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2)); }})"
    )
}

/// When (host µs, by the page's clock) the page first showed `kind` with `text`.
fn shown_at(b: &WebBrowser, kind: &str, text: &str) -> i64 {
    let expr = format!("(window.__seen.find(([k, t]) => k === {kind:?} && t === {text:?}) || [])[2] ?? null");
    let v = b.page.until(&format!("{kind} {text}"), &expr);
    v.as_f64().expect("a host time") as i64
}

#[test]
fn a_phone_and_a_desktop_window_show_a_cue_and_the_leaders_move_to_the_outro_on_the_same_bar() {
    let _machine = bandsync_e2e::machine::shared();
    let ui = browser::ui_dist();
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stage");
    std::fs::create_dir_all(&shots).unwrap();
    let (_host, url) = Proc::host_with_ui(&ui);
    assert_eq!(run(&["setlist", "set", &url], SETLIST).0, 0);
    assert_eq!(run(&["chart", "set", &url, "Blue Bossa"], &chart()).0, 0);
    let mut lead = Proc::bandsync(&["join", "--no-audio", &url, "--name", "Ana", "--leader", "--json"]);
    lead.event("joined");
    lead.say("song s1");
    lead.say("play");

    // The bass reads from a phone, the drummer from a laptop's browser.
    let bass = follower(&url, &Launch::phone(&shots, "Bass"));
    let drums = follower(&url, &Launch::desktop(&shots, "Drums"));
    for (b, shot) in [(&bass, "phone-stage.png"), (&drums, "desktop-stage.png")] {
        let p = &b.page;
        // The first screen, unscrolled: the beat, the song and the part being played, the chart
        // rendered (not a text box) with that part highlighted, and no leader control.
        for (what, css) in [
            ("the beat", "[data-testid=beat]"),
            ("the part", "[data-testid=section-now]"),
            ("the song", ".section-strip"),
            ("the rendered chart", "[data-testid=chart-read] .rv-chord"),
            ("the part highlighted in the chart", "[data-testid=chart-read] .rv-section.current .rv-chord"),
        ] {
            p.until(&format!("{what} on the first screen"), &on_screen(css));
        }
        let song = p.eval("document.querySelector('.section-strip').textContent");
        assert!(song.as_str().is_some_and(|t| t.contains("Blue Bossa")), "{}: the song: {song}", p.label);
        assert_eq!(p.eval("scrollY"), json!(0), "{}: the first screen", p.label);
        let editor = p.js("!!document.querySelector('[data-testid=chart-editor]')");
        assert_eq!(p.ok(editor, "no editor"), false, "a follower reads the chart");
        let controls = p
            .js("document.querySelector('section.leader, .flow-moves, [data-testid=play], [data-testid=tempo-input]')");
        assert_eq!(p.ok(controls, "no leader controls"), Value::Null, "the leader's controls are the leader's");
        // At most a one-line transport status: one line, inside the screen, its text not cut off.
        let line = p.eval(
            "(() => { const t = document.querySelector('.transport-line .grow'); const r = t.getBoundingClientRect(); \
             const lh = parseFloat(getComputedStyle(t).lineHeight) || 1.3 * parseFloat(getComputedStyle(t).fontSize); \
             const l = document.querySelector('.transport-line').getBoundingClientRect(); \
             return [t.textContent, r.height <= 1.5 * lh, l.right <= innerWidth, t.scrollWidth <= t.clientWidth]; })()",
        );
        let fits = [&line[1], &line[2], &line[3]];
        assert_eq!(
            fits,
            [&json!(true); 3],
            "{}: the transport status, one line, in the screen, uncut: {line}",
            p.label
        );
        assert!(line[0].as_str().is_some_and(|t| t.contains("Ana leads")), "{}: who leads shows: {line}", p.label);
        p.shoot(shot);
    }

    // A cue: on both at its host time.
    lead.say("cue Last chorus");
    let cue = lead.wait_for("the cue", |v| v["event"] == "cue");
    let at = cue["at"].as_i64().unwrap();
    for b in [&bass, &drums] {
        let shown = shown_at(b, "cue", "Last chorus");
        eprintln!("STAGE cue {} shown {} µs from its host time", b.page.label, shown - at);
        assert!((shown - at).abs() <= ON_TIME_US, "{}: the cue showed {} µs off", b.page.label, shown - at);
    }

    // "Go to the outro": flow bar 66 (bar 67), on the next bar line (the band is in A or B).
    lead.say("flow 67");
    let st = lead.wait_for("the move scheduled", |v| {
        v["event"] == "state" && v["pending"].as_array().is_some_and(|p| p.iter().any(|s| s["flow_bar"] == 66))
    });
    let moved = st["pending"].as_array().unwrap().iter().find(|s| s["flow_bar"] == 66).unwrap()["at"].as_i64().unwrap();
    for b in [&bass, &drums] {
        let shown = shown_at(b, "part", "Outro");
        eprintln!("STAGE outro {} shown {} µs from the bar line", b.page.label, shown - moved);
        assert!(
            (shown - moved).abs() <= ON_TIME_US,
            "{}: the outro showed {} µs off its bar",
            b.page.label,
            shown - moved
        );
        let section = b.page.until(
            "the outro highlighted in the chart",
            "document.querySelector('.rv-section.current .rv-label')?.textContent",
        );
        assert_eq!(section, Value::from("Outro"));
    }

    // A page turner on each: PageDown turns the chart a screen less a line or two on, nothing
    // while the chat box has the keys, PageUp turns it back.
    let read = "document.querySelector('[data-testid=chart-read]')";
    for b in [&bass, &drums] {
        let p = &b.page;
        let screen = p.eval(&format!(
            "{read}.scrollTop === 0 && {read}.scrollHeight > 2 * {read}.clientHeight && {read}.clientHeight"
        ));
        let screen = screen.as_f64().unwrap_or_else(|| p.fail("a chart longer than two screens, at its top"));
        press(b, PAGE_DOWN);
        let step = p.until("the page turned", &format!("{read}.scrollTop")).as_f64().unwrap();
        eprintln!("STAGE page turn {} {step} px of a {screen} px view", p.label);
        assert!(step > screen * 0.7 && step < screen, "{}: a page turn scrolled {step} px of {screen}", p.label);
        p.eval("(document.querySelector('[data-testid=chat-input]').focus(), true)");
        press(b, PAGE_DOWN);
        p.eval("(document.activeElement.blur(), true)");
        press(b, PAGE_DOWN);
        let two = p.until("the next page", &format!("{read}.scrollTop > {step} && {read}.scrollTop")).as_f64().unwrap();
        assert!(
            (two - 2.0 * step).abs() <= 1.0,
            "{}: two turns, the one in the chat box ignored: {two} px, not {}",
            p.label,
            2.0 * step
        );
        press(b, PAGE_UP);
        let back =
            p.until("the page turned back", &format!("{read}.scrollTop < {two} && {read}.scrollTop")).as_f64().unwrap();
        assert!((back - step).abs() <= 1.0, "{}: back one page: {back} px, not {step}", p.label);
    }

    // The bass player's own settings follow them to their tablet, and to nobody else: capo 3 and
    // lyrics only, chosen on the phone, show on the tablet (the same member, "bass"), not on the
    // drummer's screen.
    let tablet = follower(&url, &Launch::desktop(&shots, "bass"));
    let set = |b: &WebBrowser, css: &str, value: &str| {
        let js = format!(
            "(() => {{ const s = document.querySelector({css:?}); s.value = {value:?}; \
             s.dispatchEvent(new Event('change', {{bubbles: true}})); return s.value; }})()"
        );
        assert_eq!(b.page.eval(&js), Value::from(value), "{}: {css}", b.page.label);
    };
    let value = |css: &str| format!("document.querySelector({css:?})?.value ?? null");
    let views = ["[data-testid=capo]", "[data-testid=chart-show]"];
    let drummers = views.map(|css| drums.page.eval(&value(css)));
    assert!(drummers.iter().all(|v| v.is_string()), "the drummer's chart tools: {drummers:?}");
    set(&bass, "[data-testid=capo]", "3");
    set(&bass, "[data-testid=chart-show]", "lyrics");
    tablet.page.until("the phone's capo on the tablet", &format!("{} === '3'", value("[data-testid=capo]")));
    tablet.page.until("lyrics only on the tablet", &format!("{} === 'lyrics'", value("[data-testid=chart-show]")));
    // The bass's next message reaches the drummer after anything the host sent it on the way.
    bass.page.type_into("[data-testid=chat-input]", "capo 3 for me");
    press(&bass, "\u{E007}");
    bass.page.eval("(document.activeElement.blur(), true)");
    drums.page.until(
        "the bass's message at the drummer",
        "[...document.querySelectorAll('.msg-text')].some((m) => m.textContent === 'capo 3 for me')",
    );
    assert_eq!(views.map(|css| drums.page.eval(&value(css))), drummers, "the drummer's own view, as it was");
    drop(tablet);

    // Mentions: the drummer writes "@bass" (the bass's instrument-less name), then the bass
    // "@drums"; each reader's page raises a notification (allowed in this browser) and a badge,
    // in view, on the chat link. The writer's own message does not count for the writer.
    let badge = "document.querySelector('[data-testid=mention-badge]')?.textContent ?? null";
    for (writer, reader, to) in [(&drums, &bass, "bass"), (&bass, &drums, "drums")] {
        let (w, p) = (&writer.page, &reader.page);
        let words = format!("@{to} take the next solo");
        assert_eq!(p.eval("Notification.permission"), Value::from("granted"));
        w.type_into("[data-testid=chat-input]", &words);
        press(writer, "\u{E007}");
        assert_eq!(p.until("the mention badge", badge), Value::from("1"), "{}", p.label);
        p.until("the mention badge in view", &on_screen("[data-testid=mention-badge]"));
        assert!(p.eval("document.title").as_str().is_some_and(|t| t.starts_with("(1) ")), "the tab's title counts it");
        let mine = "document.querySelector('.msg.to-you .msg-text')?.textContent";
        assert_eq!(p.until("the message marked as to the reader", mine), Value::from(words), "{}", p.label);
        // The writer's chat box, looked at, took down any badge of its own (the bass's, the
        // second time), and its own message raised none.
        assert_eq!(w.eval(badge), Value::Null, "{}: not the writer's", w.label);
    }

    bass.page.publish(&["phone-stage.png"]);
    drums.page.publish(&["desktop-stage.png"]);
}
