//! The metronome at the speaker: a host and two `bandsync join --audio` followers play into a
//! PulseAudio null sink, and the sink's monitor is recorded and measured. The followers differ in
//! ear, in buffer size, and one runs on a clock 1.5 s off and 150 ppm fast.
//!
//! Needs `pulseaudio`, `parecord` and `pactl` (Debian: pulseaudio, pulseaudio-utils,
//! libasound2-plugins); `scripts/test.sh` installs them. The test starts its own PulseAudio in a
//! private runtime directory ([`bandsync_e2e::pulse`]) and stops it afterwards.

use crate::output_trace::OutputTrace;
use bandsync_e2e::onsets::{Intervals, intervals, onsets_exact, pair_offsets_ms, quantile, sink_glitches};
use bandsync_e2e::process::Proc;
use bandsync_e2e::pulse::{Pulse, RATE};
use std::time::Duration;

/// Waits until a follower's clock estimate has converged: synced, its error bound within
/// `max_error_us`, and enough samples for the skew fit (the warm-up burst and a few seconds more).
pub fn converged(p: &mut Proc, max_error_us: i64) {
    p.wait_for("a converged clock", |v| {
        v["event"] == "clock"
            && v["synced"] == true
            && v["error_us"].as_i64().is_some_and(|e| e <= max_error_us)
            && v["samples"].as_u64().is_some_and(|n| n >= 300)
    });
}

/// Waits until `p` has printed `n` beat events while playing (count-in excluded).
pub fn beats(p: &mut Proc, n: usize) {
    for _ in 0..n {
        p.wait_for("a beat", |v| v["event"] == "beat" && v["count_in"] != true);
    }
}

/// The native pair at play: the session's host, its two followers and the leader.
pub struct Pair {
    pub host: Proc,
    /// 512 frames, on channel "left".
    pub left: Proc,
    /// 2 048 frames on a clock 1.5 s off and 150 ppm fast ([`crate::WRONG_CLOCK`]), on "right".
    pub right: Proc,
    pub lead: Proc,
}

/// Starts the pair on `pulse`'s sinks "left" and "right" (each follower with its `env`), waits
/// until both clocks have converged, and has the leader play 120 BPM. The measurement is of the
/// steady state, as a band hears it after the count-in: the followers' clocks (one 1.5 s off and
/// 150 ppm fast) converge before the band starts.
pub fn pair(pulse: &Pulse, env: [(&str, String); 2]) -> Pair {
    let mut host = pulse.sounding(None, &["host", "--bind", "127.0.0.1:0", "--no-mdns", "--json"]);
    let url = host.event("hosting")["url"].as_str().unwrap().to_owned();
    let [left_env, right_env] = env;
    let mut left = pulse.sounding_with(
        Some("left"),
        &["join", &url, "--name", "Left", "--audio", "--buffer", "512", "--json", "--beats"],
        &[left_env],
    );
    let mut right = pulse.sounding_with(
        Some("right"),
        &[&["join", &url, "--name", "Right", "--audio", "--json", "--beats"], &crate::WRONG_CLOCK[..]].concat(),
        &[right_env],
    );
    left.timeout = Duration::from_secs(40);
    right.timeout = Duration::from_secs(40);
    converged(&mut left, 100);
    converged(&mut right, 100);
    let mut lead = pulse.sounding(None, &["join", &url, "--name", "Lead", "--leader", "--no-audio", "--json"]);
    lead.event("joined");
    lead.say("tempo 120");
    lead.say("play");
    Pair { host, left, right, lead }
}

#[test]
fn two_followers_click_together_at_the_speaker() {
    let _machine = bandsync_e2e::machine::shared();
    let pulse = Pulse::start(2);
    pulse.channel_sink("left", 0);
    pulse.channel_sink("right", 1);
    let recording = |attempt: usize| pulse.dir.join(format!("native-{attempt}.wav"));
    let rec = pulse.record(&recording(1));

    // Each follower's output trace, kept with the recording when the pair misses the issue's
    // 0.1 ms (below).
    let traces = ["left", "right"].map(|n| OutputTrace::new(pulse.dir.join(format!("{n}.trace"))));
    let Pair { host, mut left, mut right, mut lead } = pair(&pulse, [traces[0].env(), traces[1].env()]);
    // A machine this small sometimes stalls under two players, a recorder and the host at once
    // (and CI's machine stalls more often than this one: 11 sink glitches in one 30 s recording);
    // a recording that misses its bounds is measured again, up to three in all, and each void one
    // is printed.
    // Where each follower's story of a recording starts: the first's from the band's start (an
    // underrun as a stream opens, in silence, is not one in the recording).
    let mut marks = (left.seen.len(), right.seen.len());
    // How much of a recording's end is judged (samples): all of the first; of the next, the last
    // 44 beats and a second.
    let mut tail = usize::MAX;
    let mut rec = rec;
    // `BANDSYNC_KEEP_NATIVE` keeps every recording, to try a rule against good ones too; set to
    // `all`, it measures all three (streams about 14-36 s old, then recordings of 37-78 and 79-120
    // s: docs/BENCHMARKS.md, "young streams"). Whether a recording held the bounds already.
    let research = std::env::var("BANDSYNC_KEEP_NATIVE").ok();
    let mut held = false;
    for attempt in 1..=3 {
        beats(&mut left, 44);
        beats(&mut right, 44);
        let ch = rec.stop();
        let from = quiet_from(&ch, ch[0].len().saturating_sub(tail));
        let ch: Vec<Vec<f32>> = ch.into_iter().map(|c| c[from.min(c.len())..].to_vec()).collect();
        // Underruns the followers reported over this recording.
        let underruns = left.underruns_since(marks.0) + right.underruns_since(marks.1);
        // And the steps in their playout they followed (the device's playout jumped: a sound
        // server's underrun that its ALSA plugin does not report as one).
        let steps =
            left.audio_count_since("playout_steps", marks.0) + right.audio_count_since("playout_steps", marks.1);
        match judge(&ch, Reported { underruns, steps }, 40) {
            Ok((summary, p99)) => {
                eprintln!("native followers (attempt {attempt}): {summary}");
                held = true;
                if p99 > TARGET_P99_MS || research.is_some() {
                    let over = if p99 > TARGET_P99_MS { "over" } else { "within" };
                    eprintln!(
                        "native followers: {over} the issue's {TARGET_P99_MS} ms: {}",
                        keep(&[&traces[0].path, &traces[1].path, &recording(attempt)], research.is_some())
                    );
                }
                if attempt == 3 || research.as_deref() != Some("all") {
                    break;
                }
            }
            // A void recording's traces and sound are kept too: what moved a follower early in
            // its stream's life is the next thing to mend (docs/BENCHMARKS.md).
            Err(why) => {
                let kept = keep(&[&traces[0].path, &traces[1].path, &recording(attempt)], research.is_some());
                assert!(attempt < 3 || held, "{why} ({kept})");
                eprintln!("SPEAKER-VOID native followers, measuring again: {why} ({kept})");
            }
        }
        // What voided the recording (an underrun, a sink glitch) made or moved a stream, whose
        // reported playout then wanders off the sound for a while (`stall.rs`): the pair is
        // measured again once the band has played 20 s more, nearer its steady state (and so is
        // a pair that held, in research: `BANDSYNC_KEEP_NATIVE=all`). The next
        // recorder starts first: the players glitch as it connects (0.5 s after the 2 s left out
        // before, ci-s250), and that falls in the wait, which is not judged.
        rec = pulse.record(&recording(attempt + 1));
        beats(&mut left, SETTLE_BEATS);
        beats(&mut right, SETTLE_BEATS);
        marks = (left.seen.len(), right.seen.len());
        tail = 44 * (RATE as usize / 2) + RATE as usize;
    }
    // The leader sees each follower's output as it reports it: cpal's figures and the clicks
    // played.
    let seen = lead.wait_for("both followers' outputs in the participant list", |v| {
        v["event"] == "participants"
            && v["participants"].as_array().is_some_and(|ps| {
                ["Left", "Right"].iter().all(|name| {
                    ps.iter()
                        .any(|p| p["name"] == *name && p["sync"]["output"]["clicks"].as_u64().is_some_and(|c| c >= 40))
                })
            })
    });
    for name in ["Left", "Right"] {
        let p = seen["participants"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap();
        let out = &p["sync"]["output"];
        eprintln!("native followers: the leader's list for {name}: {}", p["sync"]);
        assert!(out["engine"].as_str().is_some_and(|e| e.starts_with("cpal ")), "{out}");
        assert_eq!(out["source"], "reported", "{out}");
        // The callback's buffer is known (the 2048 frames asked for come as callbacks of up to
        // that), and is part of the latency; the device never went away.
        let (latency, buffer) = (out["latency_us"].as_i64().unwrap(), out["buffer_us"].as_i64().unwrap());
        assert!(buffer > 0 && buffer < latency, "{out}");
        assert_eq!(out["missed"].as_u64(), Some(0), "{out}");
        // The 2048-frame buffer is known, not earbuds' unreported latency: nothing to calibrate.
        let concerns = p["sync"]["concerns"].as_array().unwrap();
        assert!(!concerns.iter().any(|c| c == "uncalibrated"), "{}", p["sync"]);
    }
    drop(host);
}

/// Beats played (at 120 BPM) between a void recording and the next: a stream that broke came
/// back within 0.1 ms of the other 10 to 15 s after its stall in five stalls here
/// (`scripts/speaker-stall.sh`, and two by hand; one strayed to 0.125 ms again at 35 s), and
/// once, in CI, was still 0.19 ms off at p50 30 s on: 20 s covers the common case, not every one.
const SETTLE_BEATS: usize = 40;

/// The first sample at or after `from` that begins 10 ms of silence on every channel: a cut there
/// splits no click.
fn quiet_from(ch: &[Vec<f32>], from: usize) -> usize {
    let len = ch.iter().map(Vec::len).min().unwrap_or(0);
    let loud = |i: usize| ch.iter().any(|c| c[i].abs() > 0.01);
    let (mut at, mut quiet) = (from, 0);
    for i in from..len {
        quiet = if loud(i) { 0 } else { quiet + 1 };
        if quiet == 480 {
            at = i + 1 - 480;
            break;
        }
    }
    at
}

/// Issue #11's target for the native pair's skew, p99 (the test holds 0.25 ms).
const TARGET_P99_MS: f64 = 0.1;

/// How many recordings over [`TARGET_P99_MS`] (or void) are kept, the newest.
const KEPT: usize = 5;

/// Keeps `files` (the followers' traces and the recording) in a new folder of
/// `$CARGO_TARGET_TMPDIR/speaker/native-over-SECONDS`, the newest [`KEPT`] of them, so that a rule
/// for the reports' false moves can be tried against recordings (`docs/BENCHMARKS.md`); says where.
/// A `research` run's go to `native-kept-SECONDS`, all of them, and leave the others be.
fn keep(files: &[&std::path::Path], research: bool) -> String {
    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("speaker");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    if research {
        return crate::output_trace::keep(&root.join(format!("native-kept-{now}")), files);
    }
    let said = crate::output_trace::keep(&root.join(format!("native-over-{now}")), files);
    let mut kept: Vec<std::path::PathBuf> =
        std::fs::read_dir(&root).map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect()).unwrap_or_default();
    kept.retain(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("native-over-")));
    kept.sort();
    for old in kept.iter().rev().skip(KEPT) {
        let _ = std::fs::remove_dir_all(old);
    }
    said
}

/// What the followers reported over a recording: their underruns and the steps in their playout
/// they followed. Either displaces a follower's clicks, and the follower knows it.
#[derive(Clone, Copy, Default)]
struct Reported {
    underruns: u64,
    steps: u64,
}

/// The native pair's figures against their bounds: `Ok` with a summary and the skew's p99 (ms),
/// or `Err` saying what missed. `min_clicks` is the least each channel must hold.
fn judge(ch: &[Vec<f32>], reported: Reported, min_clicks: usize) -> Result<(String, f64), String> {
    let Reported { underruns, steps } = reported;
    let (le, re) = (onsets_exact(&ch[0]), onsets_exact(&ch[1]));
    if le.len() < min_clicks || re.len() < min_clicks {
        return Err(format!("{min_clicks} clicks on each channel wanted: {} left, {} right", le.len(), re.len()));
    }
    // Intervals: constant to ±4 samples (0.083 ms, inside the 0.1 ms target) around the device's
    // own rate.
    let beat = i64::from(RATE) / 2;
    let mut report = Vec::new();
    let mut off = Vec::new();
    for (name, on) in [("left", &le), ("right", &re)] {
        let Intervals { median, range, outliers } = intervals(on);
        // The sink's clock against the host's: within ±500 ppm of 24 000 frames per beat.
        if (median - beat).abs() > 12 {
            return Err(format!("{name}: median interval {median}"));
        }
        report.push(format!("{name}: {} clicks, median interval {median}, range {}..{}", on.len(), range.0, range.1));
        off.push(outliers);
    }
    // A stall of the sound server ([`sink_glitches`]): the skew is judged on the clicks before the
    // first, if enough are left, and the glitch's intervals are not counted as jitter.
    let glitches = sink_glitches(&off[0], &off[1], beat);
    let until = glitches.first().map_or(f64::INFINITY, |g| g.at as f64 - beat as f64 * 1.5);
    let skew: Vec<f64> = pair_offsets_ms(
        &le.iter().copied().filter(|&t| t < until).collect::<Vec<_>>(),
        &re.iter().copied().filter(|&t| t < until).collect::<Vec<_>>(),
    )
    .into_iter()
    .map(f64::abs)
    .collect();
    for g in &glitches {
        eprintln!(
            "native followers: SINK GLITCH at {:.2} s, both channels' intervals off (left {:+}, right {:+} samples); \
             the skew is judged on the {} clicks before the first",
            g.at as f64 / f64::from(RATE),
            g.a,
            g.b,
            skew.len()
        );
    }
    let wanted = if glitches.is_empty() { min_clicks.saturating_sub(4) } else { 20 };
    if skew.len() < wanted {
        return Err(format!("paired clicks: {} (at least {wanted} wanted; sink glitches {glitches:?})", skew.len()));
    }
    let (skew_p50, skew_p99, skew_max) = (quantile(&skew, 0.5), quantile(&skew, 0.99), quantile(&skew, 1.0));
    let outliers = off.iter().map(Vec::len).sum::<usize>() - 2 * glitches.len();
    let summary = format!(
        "skew p50 {skew_p50:.3} ms, p99 {skew_p99:.3} ms, max {skew_max:.3} ms over {} clicks; {}; underruns {underruns}; \
         playout steps {steps}; sink glitches {}",
        skew.len(),
        report.join("; "),
        glitches.len()
    );
    // Issue #11's target is 0.1 ms; each follower's output-latency estimate (from the ALSA pulse
    // plugin's delay reports) can still differ by a few samples from run to run. A run in which a
    // follower reported an underrun (the machine did not run its callback in time, with one
    // follower's clicks displaced for seconds) or a step in its playout (the sound server's own
    // underrun: the clicks around it displaced, by up to 16 ms on the forty-fourth sitting's
    // machine, where a recording in which neither was reported held 0.083 ms) says nothing about
    // the skew; it is printed as void, and the intervals are still checked.
    let disrupted = underruns + steps;
    if disrupted == 0 && skew_p99 > 0.25 {
        return Err(format!("p99 skew {skew_p99:.3} ms between native followers: {summary}"));
    }
    if disrupted > 0 {
        eprintln!(
            "native followers: VOID for the skew bound, {underruns} underrun(s) and {steps} playout step(s) reported"
        );
    }
    if outliers as u64 > 2 * disrupted {
        return Err(format!(
            "{outliers} intervals off by more than 4 samples with {underruns} underruns and {steps} playout steps: {summary}"
        ));
    }
    Ok((summary, skew_p99))
}

/// Two channels of clicks every 24 006 samples (the sink's rate against the host's, as
/// measured), the right one `right_late` samples behind, each moved by its `shift` from click
/// `from` on.
fn clicks(right_late: usize, from: usize, shift: (i64, i64)) -> Vec<Vec<f32>> {
    let mut ch = vec![vec![0.0_f32; 45 * 24_006 + 4_000]; 2];
    for k in 0..44 {
        for (c, (late, moved)) in [(0, shift.0), (right_late, shift.1)].into_iter().enumerate() {
            let at = (1_000 + k * 24_006 + late) as i64 + if k >= from { moved } else { 0 };
            ch[c][at as usize..at as usize + 48].fill(0.5);
        }
    }
    ch
}

#[test]
fn a_glitch_in_both_channels_is_the_sink_and_one_in_a_channel_is_the_player() {
    let (ok, p99) = judge(&clicks(2, 44, (0, 0)), Reported::default(), 40).unwrap();
    assert!(ok.contains("skew p50 0.042 ms") && ok.contains("sink glitches 0"), "{ok}");
    assert!((p99 - 0.042).abs() < 0.001, "{p99}");
    // The sound server stalls at click 35: both streams move, by different amounts (s40's run).
    let (ok, _) = judge(&clicks(2, 35, (-123, -160)), Reported::default(), 40).unwrap();
    assert!(ok.contains("p99 0.042 ms") && ok.contains("sink glitches 1"), "{ok}");
    // One player's clicks move 20 samples (0.42 ms) on their own: that is the player's skew.
    let e = judge(&clicks(2, 35, (0, 20)), Reported::default(), 40).unwrap_err();
    assert!(e.contains("p99 skew 0.458 ms"), "{e}");
    // Unless the player reported a step in its playout there: void for the skew, its one
    // interval off allowed; two moves for the one step are too many.
    let step = Reported { underruns: 0, steps: 1 };
    let (ok, _) = judge(&clicks(2, 35, (0, 20)), step, 40).unwrap();
    assert!(ok.contains("playout steps 1"), "{ok}");
    let mut twice = clicks(2, 35, (0, 20));
    let at = 1_000 + 20 * 24_006 + 2;
    twice[1].copy_within(at..at + 48, at + 30);
    twice[1][at..at + 30].fill(0.0);
    assert!(judge(&twice, step, 40).unwrap_err().contains("intervals off"));
    // A stall too early to leave 20 clicks before it says nothing: measured again.
    let e = judge(&clicks(2, 10, (-123, -160)), Reported::default(), 40).unwrap_err();
    assert!(e.contains("paired clicks"), "{e}");
}
