//! The stage view on two phones (headless Chromium at 390×844), led from the terminal: each
//! follower's first screen is the beat, the current song's part and its rendered chart, with no
//! leader control; a cue shows full screen on both phones at the cue's host time, and the leader's
//! "go to the outro" changes both phones' part (and highlighted chart section) on the same bar,
//! each read through the phone's own clock. Figures are printed as `STAGE` lines.

use bandsync_e2e::browser::{self, Browser, Engine, Launch};
use bandsync_e2e::process::{Proc, run};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// How far from the host time a phone may show what lands then: a browser timer, a render.
const ON_TIME_US: i64 = 50_000;

const SETLIST: &str = r#"[{"id":"s1","title":"Blue Bossa","key":"Cm","tempo":180,"meter":"4/4","notes":"",
  "flow":"Intro 2, A 32, B 32, Outro 2"}]"#;
const CHART: &str = "{title: Blue Bossa}\n{start_of_intro}\n[Cm7]\n{end_of_intro}\n{sov: A}\n[Cm7]Sunny [Fm7]side\n{eov}\n\
{sov: B}\n[Ebm7]Night [Ab7]falls\n{eov}\n{start_of_outro}\n[Cm7]End\n{end_of_outro}\n";

/// A phone that joins `url` as `name` and records, with its own host-time estimate, when a cue
/// shows and when the part shown changes.
fn phone(shots: &Path, url: &str, name: &str) -> Browser {
    let b = browser::open(Engine::Chromium, &Launch::phone(shots, name));
    let p = &b.page;
    p.ok(p.s.navigate(url), "open the join link");
    p.type_into("[data-testid=your-name]", name);
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

/// When (host µs, by the page's clock) the page first showed `kind` with `text`.
fn shown_at(b: &Browser, kind: &str, text: &str) -> i64 {
    let expr = format!("(window.__seen.find(([k, t]) => k === {kind:?} && t === {text:?}) || [])[2] ?? null");
    let v = b.page.until(&format!("{kind} {text}"), &expr);
    v.as_f64().expect("a host time") as i64
}

#[test]
fn two_phones_show_a_cue_and_the_leaders_move_to_the_outro_on_the_same_bar() {
    let ui = browser::ui_dist();
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stage");
    std::fs::create_dir_all(&shots).unwrap();
    let mut host = Proc::bandsync(&[
        "host",
        "--bind",
        "127.0.0.1:0",
        "--name",
        "Gig",
        "--no-mdns",
        "--json",
        "--ui",
        ui.to_str().unwrap(),
    ]);
    let url = host.event("hosting")["url"].as_str().unwrap().to_owned();
    assert_eq!(run(&["setlist", "set", &url], SETLIST).0, 0);
    assert_eq!(run(&["chart", "set", &url, "Blue Bossa"], CHART).0, 0);
    let mut lead = Proc::bandsync(&["join", "--no-audio", &url, "--name", "Ana", "--leader", "--json"]);
    lead.event("joined");
    lead.say("song s1");
    lead.say("play");

    let bass = phone(&shots, &url, "Bass");
    let drums = phone(&shots, &url, "Drums");
    for b in [&bass, &drums] {
        let p = &b.page;
        // The first screen: the part being played, the chart rendered (not a text box), and no
        // leader control.
        p.until("the part", "document.querySelector('[data-testid=section-now]')?.textContent");
        p.until("the rendered chart", "document.querySelector('[data-testid=chart-read] .rv-chord')");
        let editor = p.js("!!document.querySelector('[data-testid=chart-editor]')");
        assert_eq!(p.ok(editor, "no editor"), false, "a follower reads the chart");
        let controls = p.js(
            "!!document.querySelector('[data-testid=play]') || !!document.querySelector('[data-testid=tempo-input]')",
        );
        assert_eq!(p.ok(controls, "no leader controls"), false, "the leader's controls are the leader's");
    }
    bass.page.shoot("stage-phone.png");

    // A cue: on both phones at its host time.
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
}
