//! The MIDI clock's beat against the click, in one member that sends both through one JACK server
//! (`jackd -d dummy`): the click through JACK's audio (`--audio-device jack`) and the clock to a
//! JACK MIDI port, both into the test's recorder. Each click's onset is found to the frame; the
//! clock pulse on that beat should sound with it. The click's port feeds the system's playback,
//! whose latency (JACK's, reported) the click is sent that much ahead for; the recorder hears it
//! that much before the hardware would, so that latency is added back. The MIDI port feeds only
//! the recorder (no latency).
//!
//! Midway the member stalls for 30 ms (stopped, as a loaded machine stops it): JACK has an xrun,
//! and its clock re-settles over the next seconds. The click must keep to the clock through it.

use bandsync_e2e::jack::{Jackd, MidiRecorder, XRUN_REACH};
use bandsync_e2e::process::{Proc, host_with_setlist, signal};
use std::time::Duration;

/// The target: the clock's beat within 1 ms of the click, also while JACK's clock re-settles after
/// the xrun. (Measured here after the test's 30 ms stall, and after a second one of 100 ms: within
/// 41 µs. Before the click followed JACK's clock, 4.8 ms off, and 0.9 ms still 9 s later.)
const MOST: f64 = 1_000.0;

#[test]
fn the_clocks_beat_and_the_click_sound_together() {
    let _jackd = Jackd::start();
    let rec = MidiRecorder::start();
    let (_host, url) = host_with_setlist(r#"[{"id":"one","title":"One","tempo":240,"meter":"4/4"}]"#);
    let to = format!("jack:{}", MidiRecorder::PORT);
    let mut keys = Proc::bandsync(&[
        "join",
        &url,
        "--name",
        "Keys",
        "--json",
        "--audio",
        "--audio-device",
        "jack",
        "--latency-offset-ms",
        "0",
        "--midi-out",
        &to,
    ]);
    let audio = keys.wait_for("the JACK output", |v| v["event"] == "audio");
    assert_eq!(audio["device"], "JACK Output", "{audio}");
    let port = rec.port("cpal_client_.*_out:out_0").expect("the click's JACK port");
    let latency_frames = rec.listen_to(&port);
    let latency_us = f64::from(latency_frames) * 1e6 / 48_000.0;

    let mut lead = Proc::bandsync(&["join", "--no-audio", &url, "--name", "Ana", "--leader", "--json"]);
    lead.event("joined");
    keys.wait_for("a synced clock", |v| v["event"] == "clock" && v["synced"] == true);
    lead.say("song one");
    lead.say("play 1");
    // Clicks a quarter of a second apart: eight, the stall, then on to forty.
    let _ = rec.wait_for_onsets(8, 30);
    signal(keys.pid(), libc::SIGSTOP);
    std::thread::sleep(Duration::from_millis(30));
    signal(keys.pid(), libc::SIGCONT);
    let last = rec.wait_for_onsets(40, 30)[39] + latency_us;
    // The last click's pulses on both sides of it, recorded.
    let _ = rec.wait_for("a clock pulse past the last click", 10, |s| {
        s.iter().any(|(t, b)| b == &[0xF8] && *t > last + 20_000.0)
    });
    lead.say("stop");

    let clocks: Vec<f64> = rec.seen().iter().filter(|(_, b)| b == &[0xF8]).map(|(t, _)| *t).collect();
    let xruns: Vec<f64> = rec.xruns().iter().map(|&x| x as f64).collect();
    let onsets: Vec<f64> = rec.onsets().into_iter().take(40).collect();
    let phase_of = |c: f64| {
        let heard = c + latency_us;
        let nearest = clocks.iter().copied().min_by(|a, b| (a - heard).abs().total_cmp(&(b - heard).abs()));
        heard - nearest.expect("MIDI clock was sent")
    };
    let caught = |c: f64| xruns.iter().any(|&x| (c - x).abs() <= XRUN_REACH);
    let judged: Vec<f64> = onsets.iter().filter(|&&c| !caught(c)).map(|&c| phase_of(c)).collect();
    let mut sorted = judged.clone();
    sorted.sort_by(f64::total_cmp);
    let worst = judged.iter().map(|p| p.abs()).fold(0.0, f64::max);
    println!(
        "MIDI-PHASE click minus its beat's clock pulse: {} clicks judged, p50 {:.0} µs, max |{worst:.0}| µs; {} caught in an xrun (the click's port latency {latency_frames} frames; {} xruns)",
        judged.len(),
        sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN),
        onsets.len() - judged.len(),
        xruns.len()
    );
    let first = onsets[0];
    let series: Vec<(f64, f64)> = onsets.iter().map(|&c| (((c - first) / 1e3).round(), phase_of(c).round())).collect();
    let xrun_ms: Vec<f64> = xruns.iter().map(|x| ((x - first) / 1e3).round()).collect();
    println!("MIDI-PHASE-SERIES (ms after the first click, µs): {series:?}; xruns at ms {xrun_ms:?}");
    assert!(judged.len() >= 30, "too few clicks away from an xrun to judge: {series:?}; xruns at ms {xrun_ms:?}");
    assert!(worst <= MOST, "the clock's beat within 1 ms of the click: {series:?}; xruns at ms {xrun_ms:?}");
    // The JACK clients leave before the server stops: a synchronous server waits 5 s on each
    // client killed mid-cycle.
    keys.terminate();
    assert_eq!(keys.exit_code(), 0, "keys leaves on SIGTERM");
}
