//! The MIDI clock's beat against the click, in one member that sends both through one JACK server
//! (`jackd -d dummy`): the click through JACK's audio (`--audio-device jack`) and the clock to a
//! JACK MIDI port, both into the test's recorder. Each click's onset is found to the frame; the
//! clock pulse on that beat should sound with it. The click's port feeds the system's playback,
//! whose latency (JACK's, reported) the click is sent that much ahead for; the recorder hears it
//! that much before the hardware would, so that latency is added back. The MIDI port feeds only
//! the recorder (no latency).

use bandsync_e2e::jack::{Jackd, Recorder};
use bandsync_e2e::process::{Proc, host_with_setlist};

#[test]
fn the_clocks_beat_and_the_click_sound_together() {
    let _jackd = Jackd::start();
    let rec = Recorder::start();
    let (_host, url) = host_with_setlist(r#"[{"id":"one","title":"One","tempo":240,"meter":"4/4"}]"#);
    let to = format!("jack:{}", Recorder::PORT);
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
    // A bar of count-in and four bars: 20 clicks, a quarter of a second apart.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while rec.onsets().len() < 20 {
        assert!(std::time::Instant::now() < deadline, "20 clicks not heard in 30 s: {}", rec.onsets().len());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    lead.say("stop");
    let clocks: Vec<f64> = rec.seen().iter().filter(|(_, b)| b == &[0xF8]).map(|(t, _)| *t).collect();
    let mut phase: Vec<f64> = rec
        .onsets()
        .iter()
        .take(20)
        .map(|&c| {
            let heard = c + latency_us;
            let nearest = clocks.iter().copied().min_by(|a, b| (a - heard).abs().total_cmp(&(b - heard).abs()));
            heard - nearest.expect("MIDI clock was sent")
        })
        .collect();
    let xruns = rec.xruns();
    phase.sort_by(f64::total_cmp);
    let (p50, worst) = (phase[phase.len() / 2], phase.iter().map(|p| p.abs()).fold(0.0, f64::max));
    println!(
        "MIDI-PHASE click minus its beat's clock pulse over {} clicks: p50 {p50:.0} µs, max |{worst:.0}| µs (the click's port latency {latency_frames} frames; {} xruns)",
        phase.len(),
        xruns.len()
    );
    assert!(worst <= 1_000.0, "the clock's beat within 1 ms of the click: {phase:?}");
    // The JACK clients leave before the server stops: a synchronous server waits 5 s on each
    // client killed mid-cycle.
    keys.terminate();
    assert_eq!(keys.exit_code(), 0, "keys leaves on SIGTERM");
}
