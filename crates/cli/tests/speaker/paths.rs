//! Every click path at the speaker: two native followers (cpal), the phone page in headless
//! Chromium and the phone page in WebKit (WebKitGTK's MiniBrowser, the engine of every iPhone
//! browser, under Xvfb), each on its own channel of one PulseAudio null sink, recorded together.
//! Three of them run on deliberately wrong clocks. The figures (skew of each path against the
//! first native follower, interval jitter, clicks missing) are printed as one `SPEAKER` JSON line
//! for `docs/BENCHMARKS.md`; `scripts/speaker.sh` runs the long version.

use crate::output_trace::{self, OutputTrace};
use bandsync_e2e::browser::{self, Launch, WebBrowser, WebEngine};
use bandsync_e2e::onsets::{clear_stretch, intervals, nearest, onsets_exact, quantile, rhythm, sink_glitches, spread};
use bandsync_e2e::process::Proc;
use bandsync_e2e::pulse::{Pulse, RATE};
use bandsync_e2e::xvfb::Xvfb;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

/// What a native player said about its output and its clock over a recording (from its `from`th
/// line on, and its trace from the mark on): what explains a control pair that disagrees,
/// printed with the figures whenever the pair is void or fails.
fn output_story(p: &mut Proc, from: usize, trace: &OutputTrace) -> String {
    format!("{} {}", output_trace::story(p, from), trace.summary())
}

/// One page: join as `name` on a clock `offset_ms` off and `skew_ppm` fast, enable the sound, and
/// wait until the clock has synced and the sound runs. `prepare`, when not empty, is run in the
/// page as it opens, before it makes its AudioContext.
pub fn join_page(b: &WebBrowser, url: &str, name: &str, (offset_ms, skew_ppm): (f64, f64), prepare: &str) {
    let p = &b.page;
    // The page's wrong clock comes from its address (a query before the link's fragment).
    let (base, frag) = url.split_once('#').unwrap();
    let addr = format!("{base}?clock_offset_ms={offset_ms}&clock_skew_ppm={skew_ppm}#{frag}");
    p.ok(p.s.navigate(&addr), "open the join link");
    if !prepare.is_empty() {
        p.eval(prepare);
    }
    p.type_into("[data-testid=your-name]", name);
    p.click("[data-testid=join-button]");
    p.until("online", "document.querySelector('[data-testid=connection-state][data-state=online]')");
    p.click("[data-testid=enable-sound]");
    p.until("the sound running", "window.__bandsync.state.sound?.running === true");
}

/// A phone's browser on the display `xvfb`, playing into `sink` of `pulse`, labelled as its sink.
pub fn phone_on(pulse: &Pulse, xvfb: &Xvfb, shots: &Path, sink: &str) -> Launch {
    let mut env: Vec<(String, String)> = pulse.env(Some(sink)).into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    env.push(("DISPLAY".into(), xvfb.display.clone()));
    Launch { env, ..Launch::phone(shots, sink) }
}

/// Waits until a page's clock has converged as far as a native follower's.
pub fn page_converged(b: &WebBrowser) {
    b.page.until(
        "a converged clock",
        "(() => { const c = window.__bandsync.state.clock; return c && c.synced && c.error_us <= 100 && c.samples >= 300; })()",
    );
}

/// The figures of one path against the reference channel, over the stretch `judged` (samples) of
/// the recording; both hold only the onsets inside it. A reference click whose matching window
/// runs past either end of the stretch is left out: its counterpart may lie outside it (WebKit's
/// uncalibrated 60 ms made the last one look missing).
fn compare(name: &str, reference: &[f64], path: &[f64], window_ms: f64, judged: (f64, f64)) -> Value {
    let w = window_ms * f64::from(RATE) / 1000.0;
    let mut offsets = Vec::new();
    let mut at = Vec::new();
    let mut missing = 0;
    let mut missing_at = Vec::new();
    for &r in reference.iter().filter(|&&r| r >= judged.0 + w && r + w <= judged.1) {
        match nearest(path, r, w) {
            Some(d) => {
                offsets.push(d * 1000.0 / f64::from(RATE));
                at.push(r / f64::from(RATE));
            }
            None => {
                missing += 1;
                missing_at.push(r / f64::from(RATE));
            }
        }
    }
    let median = quantile(&offsets, 0.5);
    let skew: Vec<f64> = offsets.iter().map(|o| (o - median).abs()).collect();
    let far_at: Vec<f64> =
        at.iter().zip(&skew).filter(|(_, s)| **s > 0.5).map(|(t, _)| (t * 100.0).round() / 100.0).collect();
    let own = rhythm(path);
    json!({
        "path": name,
        "clicks": path.len(),
        "missing": missing,
        // Where in the recording (s) the missing clicks were due, and where the path's own
        // intervals broke (a gap or an extra onset), for finding the cause.
        "missing_at_s": missing_at,
        "breaks_at_s": own.breaks_at_s,
        "judged_s": [judged.0 / f64::from(RATE), judged.1 / f64::from(RATE)],
        "offset_ms": {"p50": median, "p99_abs": quantile(&offsets.iter().map(|o| o.abs()).collect::<Vec<_>>(), 0.99)},
        "skew_about_median_ms": spread(&skew),
        // Where (s) the path was more than 0.5 ms off its median against the reference.
        "far_at_s": far_at,
        "interval_jitter_ms": spread(&own.jitter_ms),
    })
}

#[test]
fn every_click_path_lands_together_at_the_speaker() {
    let _machine = bandsync_e2e::machine::alone();
    let started = Instant::now();
    let seconds: u64 = std::env::var("BANDSYNC_SPEAKER_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    let ui = browser::ui_dist();
    let pulse = Pulse::start(4);
    let sinks = ["native", "chromium", "webkit", "native2"].map(|n| n.to_owned());
    for (i, s) in sinks.iter().enumerate() {
        pulse.channel_sink(s, i as u32);
    }
    let xvfb = Xvfb::start();
    let rec = pulse.record(&pulse.dir.join("paths.wav"));

    let (host, url) = pulse.host_serving(&ui);
    // Each native player's output trace, summed up over a recording whenever the pair disagrees.
    let mut traces = ["native", "native2"].map(|n| OutputTrace::new(pulse.dir.join(format!("{n}.trace"))));
    let mut native = pulse.sounding_with(
        Some("native"),
        &["join", &url, "--name", "Native", "--audio", "--json", "--beats"],
        &[traces[0].env()],
    );
    let mut native2 = pulse.sounding_with(
        Some("native2"),
        &[&["join", &url, "--name", "Native2", "--audio", "--json"], &crate::WRONG_CLOCK[..]].concat(),
        &[traces[1].env()],
    );
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("speaker");
    let chromium = browser::open(WebEngine::Chromium, &phone_on(&pulse, &xvfb, &shots, "chromium"));
    let webkit = browser::open(WebEngine::WebKit, &phone_on(&pulse, &xvfb, &shots, "webkit"));
    join_page(&chromium, &url, "Chromium", (-800.0, -120.0), "");
    join_page(&webkit, &url, "WebKit", (2_300.0, 90.0), "");

    // The steady state, as a band hears it after the count-in: every clock has converged.
    native.timeout = Duration::from_secs(60);
    native2.timeout = Duration::from_secs(60);
    for p in [&mut native, &mut native2] {
        p.wait_for("a converged clock", |v| {
            v["event"] == "clock"
                && v["synced"] == true
                && v["error_us"].as_i64().is_some_and(|e| e <= 100)
                && v["samples"].as_u64().is_some_and(|n| n >= 300)
        });
    }
    page_converged(&chromium);
    page_converged(&webkit);
    let mut lead = pulse.sounding(None, &["join", &url, "--name", "Lead", "--leader", "--no-audio", "--json"]);
    lead.event("joined");
    lead.say("tempo 120");
    lead.say("play");
    native.timeout = Duration::from_secs(seconds + 30);
    let beats = (seconds * 2) as usize;
    // The two native followers are the control: when even they disagree (a click missing, or
    // more than 1 ms apart), the machine stalled under all the players at once and the recording
    // says nothing about any path. Then it is measured again, up to three recordings in all, and
    // each void run is printed.
    let mut rec = rec;
    let mut attempt = 1;
    // Where each native player's story of this recording starts (the first's, from the play).
    let mut marks = (native.seen.len(), native2.seen.len());
    traces.iter_mut().for_each(OutputTrace::mark);
    // A new recorder changes the sink's latency, and the players glitch as it connects: a second
    // attempt leaves its first two seconds out.
    let mut skip = 0;
    let steps_now = |b: &WebBrowser| b.page.eval("window.__bandsync.state.sound")["steps"].as_u64().unwrap_or(0);
    let mut chromium_steps = steps_now(&chromium);
    let mut stepped;
    let (results, control_held, starved) = loop {
        for _ in 0..beats {
            native.wait_for("a beat", |v| v["event"] == "beat" && v["count_in"] != true);
        }
        let ch: Vec<Vec<f32>> = rec.stop().into_iter().map(|c| c.get(skip..).unwrap_or_default().to_vec()).collect();
        traces.iter_mut().for_each(OutputTrace::stop);
        let pages: Vec<Value> =
            [&chromium, &webkit].iter().map(|b| b.page.eval("window.__bandsync.state.sound")).collect();
        let mut on: Vec<Vec<f64>> = ch.iter().map(|c| onsets_exact(c)).collect();
        let recorded = ch.iter().map(Vec::len).min().unwrap_or(0) as f64;
        // A stall of the sound server moves every stream at once (the two native players' intervals
        // off together: [`sink_glitches`]), each by its own amount, until the players have read
        // their new output delays. Every path is judged on the longest stretch clear of them: from
        // 4 beats after one glitch to 1.5 beats before the next. A stretch of fewer than 20
        // reference clicks is a void recording.
        let beat = i64::from(RATE) / 2;
        let glitches = sink_glitches(&intervals(&on[0]).outliers, &intervals(&on[3]).outliers, beat);
        // When Chromium's page says its output stepped, where it was heard: an interval of its
        // clicks more than 1 ms off. Those are left out as the sink's glitches are, and the
        // recording counts if every path holds its bound on what is left.
        stepped = steps_now(&chromium) > chromium_steps;
        let heard_steps: Vec<f64> = if stepped {
            intervals(&on[1])
                .outliers
                .iter()
                .filter(|(_, d)| d.abs() > i64::from(RATE) / 1000)
                .map(|(t, _)| *t as f64)
                .collect()
        } else {
            Vec::new()
        };
        let mut left_out: Vec<f64> = glitches.iter().map(|g| g.at as f64).chain(heard_steps.iter().copied()).collect();
        left_out.sort_by(f64::total_cmp);
        let judged = clear_stretch(&left_out, beat as f64, recorded, &on[0]);
        for o in &mut on {
            o.retain(|&t| t >= judged.0 && t < judged.1);
        }
        if !heard_steps.is_empty() {
            eprintln!(
                "SPEAKER CHROMIUM STEP heard at {:?} s: the paths are judged on the {} clicks from {:.2} s to {:.2} s",
                heard_steps.iter().map(|t| (t / f64::from(RATE) * 100.0).round() / 100.0).collect::<Vec<_>>(),
                on[0].len(),
                judged.0 / f64::from(RATE),
                judged.1 / f64::from(RATE),
            );
        }
        if !left_out.is_empty() {
            // The reference itself must not have dropped a click in the stretch: its count is no
            // longer held against the recording's length, so its intervals are.
            let gaps = on[0].windows(2).filter(|w| w[1] - w[0] > 1.5 * beat as f64).count();
            assert_eq!(gaps, 0, "the reference dropped clicks between {judged:?}: {:?}", on[0]);
        }
        if let Some(first) = glitches.first() {
            eprintln!(
                "SPEAKER SINK GLITCH at {:.2} s (the native pair's intervals off by {:+} and {:+} samples; {} in all): \
                 the paths are judged on the {} clicks from {:.2} s to {:.2} s",
                first.at as f64 / f64::from(RATE),
                first.a,
                first.b,
                glitches.len(),
                on[0].len(),
                judged.0 / f64::from(RATE),
                judged.1 / f64::from(RATE),
            );
        } else if heard_steps.is_empty() {
            assert!(
                on[0].len() as u64 >= seconds * 2 - 4 - 2 * (skip / RATE as usize) as u64,
                "the reference played {} clicks in {seconds} s",
                on[0].len()
            );
        }
        let reference = &on[0];
        let results = json!({
            "seconds": seconds,
            "attempt": attempt,
            "sink_glitches": glitches.len(),
            "chromium_steps_heard": heard_steps.len(),
            "reference_clicks": reference.len(),
            "native2": compare("native (wrong clock, 2048 frames)", reference, &on[3], 25.0, judged),
            "chromium": compare("Chromium page (wrong clock)", reference, &on[1], 25.0, judged),
            "webkit": compare("WebKit page (wrong clock, uncalibrated)", reference, &on[2], 150.0, judged),
            "page_stats": pages,
            "took_s": started.elapsed().as_secs(),
        });
        let within =
            |path: &str, key: &str, q: &str, bound: f64| results[path][key][q].as_f64().is_some_and(|v| v <= bound);
        let control_held = results["native2"]["missing"] == 0
            && within("native2", "offset_ms", "p99_abs", 1.0)
            && reference.len() >= 20;
        // Chromium's output sometimes steps its playout against its own timestamps (open in #11);
        // the page follows, and says so. A run with a step counts when every path held its bound
        // on the stretch clear of it (above); otherwise it is measured again, once.
        // A recording of 60 clicks holds each path's worst click or two to the bound: one click of
        // Chromium's landed 1.10 ms off in one run (its p99 is 0.18 to 0.29 ms in the others). A
        // run that misses a bound is measured again, once, and printed; the second is held to it.
        let paths_held = ["chromium", "webkit"].iter().all(|p| results[*p]["missing"] == 0)
            && within("chromium", "offset_ms", "p99_abs", 1.0)
            && within("webkit", "interval_jitter_ms", "p99", 1.0);
        // Underruns the native players reported over this recording: the machine did not run
        // their callbacks in time.
        let starved = native.underruns_since(marks.0) + native2.underruns_since(marks.1);
        if (control_held && paths_held) || attempt == 3 || (attempt == 2 && control_held) {
            // A step left out, and every path held: the step says nothing about the paths.
            stepped &= !paths_held;
            break (results, control_held, starved);
        }
        let why = if stepped && reference.len() < 20 {
            "Chromium's output stepped, and too few clicks are clear of it"
        } else if !control_held {
            "the native control pair disagreed (the machine stalled)"
        } else if stepped {
            "Chromium's output stepped (its page says so)"
        } else {
            "a page missed its bound"
        };
        // Each channel's intervals off their median (s, samples): a stall moves both native
        // players at once; a move of one is that player's own.
        let off = |o: &[f64]| -> Vec<(f64, i64)> {
            intervals(o)
                .outliers
                .iter()
                .map(|(t, d)| ((*t as f64 / f64::from(RATE) * 100.0).round() / 100.0, *d))
                .collect()
        };
        // The players' traces and the recording, to be replayed (`replay_trace`).
        let wav = pulse.dir.join(if attempt == 1 { "paths.wav" } else { "paths-2.wav" });
        let kept =
            output_trace::keep(&shots.join(format!("void-{attempt}")), &[&traces[0].path, &traces[1].path, &wav]);
        eprintln!(
            "SPEAKER-VOID {why}; measuring again: {results}\n  intervals off (s, samples): native {:?}, native2 {:?}\n  native: {}\n  native2: {}\n  {kept}",
            off(&on[0]),
            off(&on[3]),
            output_story(&mut native, marks.0, &traces[0]),
            output_story(&mut native2, marks.1, &traces[1])
        );
        marks = (native.seen.len(), native2.seen.len());
        traces.iter_mut().for_each(OutputTrace::mark);
        chromium_steps = steps_now(&chromium);
        attempt += 1;
        rec = pulse.record(&pulse.dir.join("paths-2.wav"));
        skip = 2 * RATE as usize;
    };
    eprintln!("SPEAKER {results}");
    let f = |path: &str, key: &str, q: &str| results[path][key][q].as_f64().unwrap();
    let story = format!(
        "native: {}\nnative2: {}",
        output_story(&mut native, marks.0, &traces[0]),
        output_story(&mut native2, marks.1, &traces[1])
    );
    if !control_held && starved > 0 {
        // Three recordings in a row on a machine that starved the native players' callbacks (as
        // `native.rs` treats a recording with underruns): the control pair says the recording
        // measures the machine, and no path is judged on it. A control pair that disagrees
        // without an underrun is the product's fault, and fails below.
        eprintln!(
            "SPEAKER-VOID the native players reported {starved} underrun(s) in the last of three recordings, \
             each void: the paths are not judged\n{story}"
        );
        drop((chromium, webkit, host));
        return;
    }
    assert!(
        results["reference_clicks"].as_u64().unwrap() >= 20,
        "too few clicks clear of the sink's glitches: {results:#}"
    );
    assert_eq!(results["native2"]["missing"], 0, "{results:#}\n{story}");
    assert_eq!(results["chromium"]["missing"], 0, "{results:#}");
    assert_eq!(results["webkit"]["missing"], 0, "{results:#}");
    // The product's promise: every device within 1 ms of every other at the speaker. (Two native
    // followers on the same settings are held to 0.25 ms by `native.rs`.)
    assert!(f("native2", "offset_ms", "p99_abs") <= 1.0, "native followers: {results:#}\n{story}");
    if stepped {
        // The last recording itself caught Chromium's output stepping against its own timestamps
        // (its page says so): the open problem of #11, which these figures then measure. They are
        // printed; the bound is for a Chromium whose output held while it was recorded.
        eprintln!("SPEAKER-VOID-CHROMIUM its output stepped during the recording; its offsets are not held to 1 ms");
    } else {
        assert!(f("chromium", "offset_ms", "p99_abs") <= 1.0, "Chromium against native: {results:#}");
    }
    // WebKitGTK's own floor (a bare page pre-scheduling on its context clock) is within a sample
    // once its output stream is continuous; its unreported output latency is calibrated apart.
    assert!(f("webkit", "interval_jitter_ms", "p99") <= 1.0, "WebKit jitter: {results:#}");
    // That latency is not WebKitGTK's to report (its `outputLatency` is 0): the page says so, and
    // the leader's list asks for it to be calibrated.
    let seen = lead.wait_for("the WebKit page's output in the participant list", |v| {
        v["event"] == "participants"
            && v["participants"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "WebKit" && p["sync"]["output"].is_object()))
    });
    let p = seen["participants"].as_array().unwrap().iter().find(|p| p["name"] == "WebKit").unwrap();
    eprintln!("SPEAKER the leader's list for the WebKit page: {}", p["sync"]);
    assert_eq!(p["sync"]["output"]["unreported"], true, "{}", p["sync"]);
    let concerns = p["sync"]["concerns"].as_array().unwrap();
    assert!(concerns.iter().any(|c| c == "uncalibrated"), "{}", p["sync"]);
    // And the player is offered the calibration on the page itself, which opens at it.
    webkit
        .page
        .until("WebKit's page offers calibration", "document.querySelector('[data-testid=calibrate-hint-open]')");
    webkit.page.click("[data-testid=calibrate-hint-open]");
    webkit.page.until(
        "the settings scrolled to the calibration",
        "(() => { const r = document.querySelector('[data-testid=calibrate]')?.getBoundingClientRect(); \
             return !!r && r.top >= 0 && r.bottom <= innerHeight; })()",
    );
    // The Chromium page reports its latency: it is offered the calibration exactly when the host
    // flags it anyway, for a device latency past the limit (this machine's sink, 55-78 ms,
    // crosses the core's 60 ms at times).
    chromium.page.until(
        "Chromium's hint as its flag says",
        "(() => { const se = window.__bandsync.state.snapshot; \
         const me = se && se.participants.find((p) => p.id === se.you); \
         const flagged = !!me?.sync?.concerns?.includes('uncalibrated') && !!document.querySelector('[data-testid=mute-toggle]'); \
         return !!document.querySelector('[data-testid=calibrate-hint]') === flagged; })()",
    );
    // WebKit has no Web MIDI: its settings say so, where Chromium's offer MIDI (`cli/phone.rs`).
    let midi = webkit.page.eval("document.querySelector('[data-testid=web-midi-status]')?.textContent ?? ''");
    assert!(midi.as_str().is_some_and(|t| t.contains("Safari has no Web MIDI")), "{midi}");
    drop((chromium, webkit, host));
}
