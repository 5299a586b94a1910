//! `bandsync join --midi-out jack:rec:in` in a real session (`bandsync host`, a scripted leader):
//! the song's patch arrives on the bar where the song becomes current, the clock runs at the
//! band's tempo, and a song whose patch cannot be read is refused to the leader, with nothing sent.

use bandsync_e2e::jack::{Jackd, MidiRecorder, Received, XRUN_REACH, near_xrun};
use bandsync_e2e::process::{Proc, host_with_setlist};

const START: u8 = 0xFA;
const STOP: u8 = 0xFC;
const CLOCK: u8 = 0xF8;

fn first(seen: &[Received], bytes: &[u8], after: f64) -> Option<f64> {
    seen.iter().find(|(t, b)| *t > after && b[..] == bytes[..]).map(|(t, _)| *t)
}

fn clocks_between(seen: &[Received], from: f64, to: f64) -> Vec<f64> {
    seen.iter().filter(|(t, b)| *t >= from && *t < to && b[..] == [CLOCK]).map(|(t, _)| *t).collect()
}

/// The largest deviation of consecutive clock intervals from `want_us`, leaving out those that
/// an xrun caught (the machine stalled JACK's graph: a timing figure across one measures the
/// machine, not the sender).
fn worst_interval(clocks: &[f64], want_us: f64, xruns: &[u64]) -> f64 {
    clocks
        .windows(2)
        .filter(|w| !near_xrun(w[0], xruns) && !near_xrun(w[1], xruns))
        .map(|w| (w[1] - w[0] - want_us).abs())
        .fold(0.0, f64::max)
}

#[test]
fn a_member_sends_each_songs_patch_on_its_bar_and_the_clock_at_the_bands_tempo() {
    let _jackd = Jackd::start();
    let rec = MidiRecorder::start();
    let setlist = r#"[
        {"id":"one","title":"One","tempo":120,"meter":"4/4","midi":"pc 1"},
        {"id":"two","title":"Two","tempo":150,"meter":"3/4","midi":"bank 0:2; pc 17"},
        {"id":"bad","title":"Bad","midi":"pc 300"}]"#;
    let (_host, url) = host_with_setlist(setlist);

    let port = format!("jack:{}", MidiRecorder::PORT);
    let mut keys = Proc::bandsync(&["join", "--no-audio", &url, "--name", "Keys", "--json", "--midi-out", &port]);
    assert!(keys.event("midi")["port"].as_str().unwrap().ends_with(":midi_out"));
    keys.wait_for("a synced clock", |v| v["event"] == "clock" && v["synced"] == true);
    let mut lead = Proc::bandsync(&["join", "--no-audio", &url, "--name", "Ana", "--leader", "--json"]);
    lead.event("joined");

    // Song one, then play with a bar of count-in: its program, then Start on its first beat.
    lead.say("song one");
    lead.say("play 1");
    let seen = rec.wait_for("Start", 20, |s| first(s, &[START], 0.0).is_some());
    let start1 = first(&seen, &[START], 0.0).unwrap();
    let pc1 = first(&seen, &[0xC0, 1], 0.0).expect("song one's program change");
    assert!(pc1 < start1, "the patch comes before the song starts");
    let seen = rec.wait_for("two bars of song one", 20, |s| clocks_between(s, start1, f64::MAX).len() > 2 * 96);
    let c1 = clocks_between(&seen, start1, f64::MAX);
    assert!((c1[0] - start1).abs() < 1.0, "Start and the song's first clock share a frame");
    let jitter1 = worst_interval(&c1, 60e6 / 120.0 / 24.0, &rec.xruns());

    // Song two lands on one of song one's bar lines: Stop, its patch, Start, on that frame.
    lead.say("song two");
    let two = [vec![0xB0, 0, 0], vec![0xB0, 32, 2], vec![0xC0, 17]];
    let seen = rec.wait_for("song two's start", 20, |s| first(s, &[START], start1).is_some());
    let start2 = first(&seen, &[START], start1).unwrap();
    let stop = first(&seen, &[STOP], start1).expect("a Stop before the new song");
    let at: Vec<f64> = two.iter().map(|b| first(&seen, b, start1).expect("song two's patch")).collect();
    for t in at.iter().chain([&stop]) {
        assert!((t - start2).abs() < 1.0, "on the song's bar: {t} vs Start at {start2}");
    }
    let bars = (start2 - start1) / 2e6;
    assert!((bars - bars.round()).abs() * 2e6 <= 100.0, "song two starts {bars} bars of 4/4 at 120 into song one");
    // Every pulse once, where JACK's graph kept time: across an xrun (the machine stalled the
    // server) an event may reach the recorder a cycle late, or not at all.
    let pulses1 = clocks_between(&seen, start1, start2).len() as f64;
    let stalled1 = rec.xruns().iter().any(|&x| x as f64 >= start1 - XRUN_REACH && x as f64 <= start2 + XRUN_REACH);
    if stalled1 {
        println!("MIDI-MEMBER-VOID an xrun during song one: its pulse count ({pulses1}) is not held");
    } else {
        assert_eq!(pulses1, bars.round() * 96.0, "every pulse of song one, once");
    }
    let seen = rec.wait_for("a bar of song two", 20, |s| clocks_between(s, start2, f64::MAX).len() > 2 * 72);
    let c2 = clocks_between(&seen, start2, f64::MAX);
    let jitter2 = worst_interval(&c2, 60e6 / 150.0 / 24.0, &rec.xruns());

    // A song whose patch cannot be read is refused to the leader; the gear hears nothing of it.
    lead.say("song bad");
    let e = lead.event("error");
    assert_eq!(e["code"], "invalid_patch", "{e}");
    assert!(e["message"].as_str().unwrap().contains("Bad"), "{e}");

    lead.say("stop");
    let seen = rec.wait_for("Stop", 20, |s| first(s, &[STOP], start2).is_some());
    let stop2 = first(&seen, &[STOP], start2).unwrap();
    let c2 = clocks_between(&seen, start2, f64::MAX);
    assert!(c2.iter().all(|t| *t < stop2), "no clock after Stop");
    let between: Vec<&Received> = seen.iter().filter(|(t, b)| *t > start2 && *t < stop2 && b[..] != [CLOCK]).collect();
    assert!(between.is_empty(), "nothing but clock between song two's Start and the Stop: {between:?}");
    println!(
        "MIDI-MEMBER song change {bars:.4} bars into song one; {pulses1} pulses of song one; clock interval deviation max {jitter1:.1} µs at 120, {jitter2:.1} µs at 150, leaving out the intervals {} JACK xruns caught",
        rec.xruns().len()
    );
    assert!(jitter1 <= 100.0 && jitter2 <= 100.0, "clock intervals within 0.1 ms: {jitter1:.1} {jitter2:.1} µs");
    // The JACK client leaves before the server stops: a synchronous server (harness/jack.rs)
    // waits 5 s on a client killed mid-cycle.
    keys.terminate();
    assert_eq!(keys.exit_code(), 0, "keys leaves on SIGTERM");
}
