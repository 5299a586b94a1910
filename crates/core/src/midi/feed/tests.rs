use super::*;
use crate::protocol::Rebase;

fn playing() -> Transport {
    let mut t = Transport::new(Micros(0));
    t.segments[0].playing = true;
    t
}

/// Clock times handed out over `ticks` ticks `every` µs apart, with the measured map from
/// `shift(k)`.
fn clocks(f: &mut Feeder, ticks: i64, every: i64, shift: impl Fn(i64) -> f64) -> Vec<u64> {
    f.set(playing(), HostAxis::default());
    let mut out = Vec::new();
    for k in 0..ticks {
        f.tick((k * every) as f64, 0, Some(shift(k)), &mut |e| {
            if e.msg == MidiMessage::Clock {
                out.push(e.at);
            }
        });
    }
    out
}

/// The worst distance of a pulse interval from 120 BPM's (20 833.3 µs).
fn worst(pulses: &[u64]) -> f64 {
    pulses.windows(2).map(|w| (w[1] as f64 - w[0] as f64 - 20_833.3).abs()).fold(0.0, f64::max)
}

#[test]
fn a_session_carried_to_another_servers_clock_keeps_the_gear_running_on_the_same_pulses() {
    let shift = -1_300_000i64;
    let mut f = Feeder::default();
    f.set(playing(), HostAxis::new(1));
    let mut pulses = Vec::new();
    let mut other = Vec::new();
    for k in 0..400i64 {
        // The device's clock runs on; the host clock changes at tick 200, the estimate first,
        // the new server's schedule (the same one, moved onto its clock) three ticks later.
        let device = 1e6 + (k * 5_000) as f64;
        let (host, epoch) = if k < 200 { ((k * 5_000) as f64, 1) } else { ((k * 5_000 + shift) as f64, 2) };
        if k == 203 {
            let mut t = playing();
            for s in &mut t.segments {
                s.at += Micros(shift);
                s.timeline.time_origin += Micros(shift);
            }
            f.set(t, HostAxis { epoch: 2, continues: Some(Rebase { from: 1, shift: Micros(shift) }) });
        }
        f.tick(host, epoch, Some(device - host), &mut |e| {
            if e.msg == MidiMessage::Clock { pulses.push(e.at) } else { other.push(e.msg) }
        });
    }
    assert_eq!(other, [MidiMessage::Start], "no Stop, no second Start or Continue");
    assert!(worst(&pulses) <= 1.0, "a pulse interval off by {} µs", worst(&pulses));
    assert_eq!(pulses.len(), 98, "2 s of pulses at 120 BPM, and the 40 ms horizon");
}

#[test]
fn a_host_time_reading_that_waited_leaves_the_map_as_it_was() {
    use std::cell::Cell;
    // The device's clock reads host time + 1 s. Reading host time takes 5 µs, but at tick 100
    // the thread is held up 3 ms before it reads (a step's worth, were the pair believed).
    let mut f = Feeder::default();
    f.set(playing(), HostAxis::new(1));
    let mut pulses = Vec::new();
    for tick in 0..400i64 {
        let held = if tick == 100 { 3_000.0 } else { 0.0 };
        let host = (tick * 5_000) as f64;
        let first = Cell::new(true);
        let device_now = || 1e6 + host + if first.replace(false) { 0.0 } else { held + 5.0 };
        f.step(|| Some((host + held, 1)), device_now, 0.0, &mut |e| {
            if e.msg == MidiMessage::Clock {
                pulses.push(e.at);
            }
        });
    }
    assert!(worst(&pulses) <= 1.0, "a pulse interval off by {} µs", worst(&pulses));
}

#[test]
fn a_noisy_clock_estimate_is_slewed_in_and_a_new_clock_is_taken_at_once() {
    // ±30 µs of estimate noise: no pulse interval (20 833 µs at 120 BPM) moves by more than
    // the slew over one interval.
    let noisy = clocks(&mut Feeder::default(), 400, 5_000, |k| 1e6 + if k % 2 == 0 { 30.0 } else { -30.0 });
    assert!(worst(&noisy) <= 6.0, "interval off by {} µs", worst(&noisy));
    // A 50 ms step (a new host clock): taken at once.
    let stepped = clocks(&mut Feeder::default(), 400, 5_000, |k| if k < 200 { 1e6 } else { 1e6 + 50_000.0 });
    assert!(stepped.windows(2).any(|w| w[1] - w[0] > 60_000));
}

#[test]
fn a_browser_ticking_every_25_ms_follows_a_drifting_clock_without_steps() {
    // A page's main thread ticks every 25 ms, handing events out 150 ms ahead; the device's clock
    // drifts 100 ppm from the host's (a phone's crystal), with ±30 µs of estimate noise. The map
    // keeps up by slewing (200 ppm at most): no step, and every interval within a few µs of
    // 20 833 µs stretched by the drift.
    let mut f = Feeder::with_horizon(Micros(150_000));
    let pulses = clocks(&mut f, 800, 25_000, |k| {
        let host = (k * 25_000) as f64;
        1e6 + host * 100e-6 + if k % 2 == 0 { 30.0 } else { -30.0 }
    });
    assert_eq!(pulses.len(), 966, "pulses at 120 BPM before 19.975 s + the 150 ms horizon");
    let off = pulses.windows(2).map(|w| (w[1] as f64 - w[0] as f64 - 20_833.3 * 1.0001).abs()).fold(0.0, f64::max);
    assert!(off <= 8.0, "an interval off by {off} µs");
    // And the map kept up: the last pulse is where the drifted clock has its moment, within the
    // noise (30 µs) and the drift over the horizon (15 µs: the map is the tick's, the pulse up to
    // 150 ms later). A slew of 1 µs a tick, enough for a 5 ms thread, would have fallen 1.2 ms behind.
    let host = 965.0 * 500_000.0 / 24.0;
    let lag = pulses[965] as f64 - (1e6 + host * 1.0001);
    assert!(lag.abs() <= 60.0, "the last pulse {lag} µs off its moment");
}
