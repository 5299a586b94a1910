//! A follower stalled at the speaker: the native pair of [`crate::native`] plays, and the
//! 512-frame follower is stopped for 300 ms (`SIGSTOP`, then `SIGCONT`) ten beats into the
//! recording: its output underruns, the host makes its stream again, and the pair is followed
//! click by click for a minute after. It says how long the pair takes to come back together.
//!
//! Read against the followers' output traces, the sound after such a stall lies on the stream's
//! long line from the start; the new stream's reported playout wanders off it by up to 0.4 ms for
//! 10 to 40 s, and the device-clock filter's 8 s mean follows that wander (`docs/BENCHMARKS.md`,
//! "A stalled follower"). A benchmark, not part of `scripts/test.sh`:
//! `scripts/speaker-stall.sh [SECONDS]` runs it (default 60 s after the stall).

use crate::native::{Pair, beats, pair};
use crate::output_trace::{OutputTrace, keep};
use bandsync_e2e::onsets::{onsets_exact, quantile};
use bandsync_e2e::process::{SIGCONT, SIGSTOP, signal};
use bandsync_e2e::pulse::{Pulse, RATE};
use serde_json::json;
use std::time::Duration;

/// How long the follower is stopped: an underrun, as a phone's or a laptop's scheduler can cause.
const STALL: Duration = Duration::from_millis(300);

/// The stretch each figure is over (s after the stall).
const WINDOW_S: f64 = 5.0;

/// The native pair's bound (`native.rs`), held from this long after the stall on.
const SETTLED_AFTER_S: f64 = 30.0;

/// A figure to the microsecond (or the sample) for the printed line.
fn ms(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[test]
#[ignore = "a benchmark: scripts/speaker-stall.sh"]
fn a_stalled_follower_comes_back_to_the_pair() {
    let _machine = bandsync_e2e::machine::shared();
    let seconds: usize = std::env::var("BANDSYNC_SPEAKER_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    assert!(
        seconds as f64 >= SETTLED_AFTER_S + 10.0,
        "BANDSYNC_SPEAKER_SECONDS={seconds}: at least {} s, to judge the pair from {SETTLED_AFTER_S} s on",
        SETTLED_AFTER_S + 10.0
    );
    let pulse = Pulse::start(2);
    pulse.channel_sink("left", 0);
    pulse.channel_sink("right", 1);
    // Each follower's output trace, kept with the recording (`$CARGO_TARGET_TMPDIR/speaker/stall`,
    // the last run's) for a rule to be tried against them offline.
    let traces = ["left", "right"].map(|n| OutputTrace::new(pulse.dir.join(format!("{n}.trace"))));
    // (The other follower and the leader are held to the end: dropped, they would stop.)
    let Pair { host, mut left, right: _right, lead: _lead } = pair(&pulse, [traces[0].env(), traces[1].env()]);
    beats(&mut left, 16);
    let rec = pulse.record(&pulse.dir.join("stall.wav"));
    let recording = std::time::Instant::now();
    beats(&mut left, 10);
    let mark = left.seen.len();
    // Where the stall is in the recording (within the recorder's latency, 10 ms).
    let stall = recording.elapsed().as_secs_f64() * f64::from(RATE);
    signal(left.pid(), SIGSTOP);
    std::thread::sleep(STALL);
    signal(left.pid(), SIGCONT);
    beats(&mut left, seconds * 2 + 2);
    let ch = rec.stop();
    let kept = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("speaker/stall");
    let wav = pulse.dir.join("stall.wav");
    eprintln!("STALL traces and recording {}", keep(&kept, &[&traces[0].path, &traces[1].path, &wav]));
    let underruns = left.underruns_since(mark);
    assert!(underruns >= 1, "the stalled follower reported no underrun");

    let (le, re) = (onsets_exact(&ch[0]), onsets_exact(&ch[1]));
    let rate = f64::from(RATE);
    // Each of the stalled follower's clicks after the stall against the other's nearest.
    let skew: Vec<(f64, f64)> = le
        .iter()
        .filter(|&&t| t > stall)
        .filter_map(|&t| {
            let d = re.iter().map(|&r| t - r).min_by(|p, q| p.abs().total_cmp(&q.abs()))?;
            (d.abs() < rate / 4.0).then_some(((t - stall) / rate, (d * 1000.0 / rate).abs()))
        })
        .collect();
    let windows: Vec<serde_json::Value> = (0..)
        .map(|k| f64::from(k) * WINDOW_S)
        .take_while(|&from| from < seconds as f64)
        .map(|from| {
            let v: Vec<f64> = skew.iter().filter(|s| s.0 >= from && s.0 < from + WINDOW_S).map(|s| s.1).collect();
            json!({"from_s": from, "clicks": v.len(), "p50_ms": ms(quantile(&v, 0.5)), "p99_ms": ms(quantile(&v, 0.99))})
        })
        .collect();
    // From where on every window is within the 0.1 ms at p99.
    let settled = windows
        .iter()
        .rposition(|w| w["p99_ms"].as_f64().is_none_or(|p| p > 0.1))
        .map_or(0.0, |i| (i + 1) as f64 * WINDOW_S);
    eprintln!(
        "STALL {}",
        json!({"underruns": underruns, "stall_at_s": ms(stall / rate), "within_0_1_ms_from_s": settled, "windows": windows})
    );
    let late: Vec<f64> = skew.iter().filter(|s| s.0 >= SETTLED_AFTER_S).map(|s| s.1).collect();
    assert!(late.len() >= 20, "{} paired clicks from {SETTLED_AFTER_S} s after the stall", late.len());
    let p99 = quantile(&late, 0.99);
    assert!(p99 <= 0.25, "the pair {p99:.3} ms apart at p99 from {SETTLED_AFTER_S} s after the stall on");
    drop(host);
}
