//! MIDI in: a foot controller (a JACK client of the test's) connected to `bandsync join
//! --midi-in jack:pedal:out` chooses songs, starts and stops, taps the tempo and cues the band,
//! with the leader's authority and only with it. Another member watches the session.

use bandsync_e2e::jack::{Jackd, Pedal};
use bandsync_e2e::process::{Proc, host_with_setlist, state_has};
use serde_json::Value;

#[test]
fn a_pedal_chooses_songs_plays_stops_taps_the_tempo_and_cues_for_the_leader() {
    let _jackd = Jackd::start();
    let pedal = Pedal::start();
    let setlist = r#"[{"id":"one","title":"One","tempo":120,"meter":"4/4"},
        {"id":"two","title":"Two","tempo":100,"meter":"3/4"},{"id":"three","title":"Three"}]"#;
    let (_host, url) = host_with_setlist(setlist);
    let from = format!("jack:{}", Pedal::PORT);
    let map = format!("{}; note 65=cue \"Last chorus, slow\"", bandsync_core::midi::input::DEFAULT_MAP);
    let mut ana = Proc::bandsync(&[
        "join",
        "--no-audio",
        &url,
        "--name",
        "Ana",
        "--leader",
        "--json",
        "--midi-in",
        &from,
        "--midi-map",
        &map,
    ]);
    ana.wait_for("the setlist replica", |v| v["event"] == "setlist" && v["songs"] == 3);
    let mut ben = Proc::bandsync(&["join", "--no-audio", &url, "--name", "Ben", "--json"]);
    ben.event("joined");

    // Default map: D4 next, C4 previous, the sustain pedal play/stop, E4 tap.
    pedal.press(&[0x90, 62, 100]);
    ben.wait_for("song one", |v| state_has(v, "song", &Value::from("one")));
    pedal.press(&[0x90, 62, 100]);
    ben.wait_for("song two", |v| state_has(v, "song", &Value::from("two")));
    pedal.press(&[0x90, 60, 100]);
    ben.wait_for("back to song one", |v| state_has(v, "song", &Value::from("one")));
    pedal.press(&[0xB0, 64, 127]);
    pedal.press(&[0xB0, 64, 0]);
    ben.wait_for("playing", |v| state_has(v, "playing", &Value::from(true)));

    // Four taps 400 ms apart, at exact JACK times: 150 BPM on the next bar.
    let t0 = pedal.now() + 50_000;
    for k in 0..4 {
        pedal.press_at(t0 + k * 400_000, &[0x90, 64, 100]);
    }
    ben.wait_for("the tapped tempo", |v| state_has(v, "tempo", &Value::from(150.0)));
    // F4 cues the band: the cue lands on a bar line for everyone, from Ana.
    pedal.press(&[0x90, 65, 100]);
    let cue = ben.wait_for("the cue", |v| v["event"] == "cue");
    assert_eq!(cue["text"], "Last chorus, slow", "{cue}");
    assert!(cue["bar"].is_i64(), "a cue while playing lands on a bar: {cue}");
    pedal.press(&[0xB0, 64, 127]);
    ben.wait_for("stopped", |v| {
        v["event"] == "state" && v["playing"] == false && v["pending"].as_array().is_some_and(Vec::is_empty)
    });

    // Without leadership the pedal's press is refused to Ana, as her button would be.
    ana.say("release");
    ben.wait_for("no leader", |v| v["event"] == "participants" && v["leader"].is_null());
    pedal.press(&[0x90, 62, 100]);
    let e = ana.wait_for("a refusal", |v| v["event"] == "error");
    assert_eq!(e["code"], "not_leader", "{e}");
    // The JACK client leaves before the server stops: a synchronous server (harness/jack.rs)
    // waits 5 s on a client killed mid-cycle.
    ana.terminate();
    assert_eq!(ana.exit_code(), 0, "ana leaves on SIGTERM");
}
