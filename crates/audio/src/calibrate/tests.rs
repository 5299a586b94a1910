use super::*;

const RATE: u32 = 48_000;

/// A seeded generator of numbers in [0, 1).
fn lcg(mut seed: u64) -> impl FnMut() -> f64 {
    move || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 40) as f64 / (1u64 << 24) as f64
    }
}

/// A recording at `rate` whose first frame was captured at `start_us`: `len` frames of hiss
/// (`noise`, drawn from `rand`), with the classic `sound` at `gain` starting at each of `at_us`.
#[allow(clippy::too_many_arguments, reason = "a test's recipe, each argument one of its knobs")]
fn recording_of(
    rate: u32,
    start_us: f64,
    len: usize,
    at_us: &[f64],
    sound: crate::sounds::Sound,
    gain: f32,
    noise: f32,
    rand: &mut impl FnMut() -> f64,
) -> Vec<f32> {
    let sounds = crate::sounds::Sounds::set(crate::sounds::ClickSound::Classic, rate);
    let click = sounds.get(sound);
    let mut x = vec![0.0f32; len];
    for s in &mut x {
        *s = ((rand() - 0.5) * 2.0 * f64::from(noise)) as f32;
    }
    for a in at_us {
        let at = ((a - start_us) / 1e6 * f64::from(rate)).round() as usize;
        for (i, c) in click.iter().enumerate() {
            if let Some(s) = x.get_mut(at + i) {
                *s += c * gain;
            }
        }
    }
    x
}

/// A recording of the probe train heard `delay_ms` late, at `gain`, over `noise` of hiss; the
/// clicks are the engine's classic ones. Returns the recording and where each click was played
/// (µs; the recording starts at 0).
fn recording(delay_ms: f64, gain: f32, noise: f32) -> (Vec<f32>, Vec<f64>) {
    let period_us = 60e6 / PROBE_BPM;
    let played: Vec<f64> = (0..PROBE_CLICKS).map(|k| 500_000.0 + k as f64 * period_us).collect();
    let len = (RATE as f64 * (0.5 + PROBE_CLICKS as f64 * period_us / 1e6 + 1.0)) as usize;
    let heard: Vec<f64> = played.iter().map(|p| p + delay_ms * 1000.0).collect();
    (recording_of(RATE, 0.0, len, &heard, crate::sounds::Sound::Beat, gain, noise, &mut lcg(3)), played)
}

fn heard_us(x: &[f32]) -> Vec<f64> {
    onsets(x, RATE).iter().map(|f| f * 1e6 / f64::from(RATE)).collect()
}

#[test]
fn a_loopback_finds_the_delay_to_the_frame() {
    for delay in [0.0, 0.5, 17.3, 120.0, 250.0, 420.0] {
        let (x, played) = recording(delay, 0.3, 0.002);
        let c = loopback(&played, &heard_us(&x)).unwrap();
        assert!((c.latency_ms - delay).abs() < 0.05, "{delay} ms: {c:?}");
        assert_eq!((c.used, c.of), (PROBE_CLICKS as u32, PROBE_CLICKS as u32));
    }
}

#[test]
fn a_quiet_loopback_with_hiss_still_agrees() {
    // A microphone far from the speaker: clicks at 2 % of full scale over 0.3 % hiss.
    let (x, played) = recording(80.0, 0.02, 0.003);
    let c = loopback(&played, &heard_us(&x)).unwrap();
    assert!((c.latency_ms - 80.0).abs() < 0.1, "{c:?}");
}

#[test]
fn silence_and_too_few_clicks_are_errors() {
    assert_eq!(loopback(&[0.0; 12], &heard_us(&vec![0.0; 48_000])), Err(CalibrationError::Silent));
    // Only four of the twelve clicks made it into the recording.
    let (mut x, played) = recording(30.0, 0.3, 0.0);
    let cut = (RATE as f64 * 3.2) as usize;
    x.truncate(cut);
    match loopback(&played, &heard_us(&x)) {
        Err(CalibrationError::TooFew { got, of: 10, needed: 7 }) => assert!(got < 7),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_probe_is_ten_downbeats_then_a_stop() {
    let plan = probe_plan(2_000_000.0);
    let mut clicks = Vec::new();
    bandsync_core::clicks::clicks_between(&plan.transport.segments, Micros(0), Micros(20_000_000), 1, &mut |c| {
        clicks.push(c);
    });
    let at: Vec<i64> = clicks.iter().map(|c| c.host.0).collect();
    let want: Vec<i64> = (0..PROBE_CLICKS as i64).map(|k| 2_000_000 + k * 750_000).collect();
    assert_eq!(at, want);
    assert!(clicks.iter().all(|c| c.beat_in_bar == 0), "every click a downbeat");
    assert_eq!(plan.played_us, want[1..].iter().map(|&t| t as f64).collect::<Vec<_>>());
    assert_eq!(plan.until_us, 2_000_000.0 + 9.0 * 750_000.0 + 750_000.0);
}

/// An output at 44.1 kHz whose readings (frame, local µs it is heard; 0.3 ms of jitter each,
/// every 50 ms) say frame 0 is heard at local 1 s, until `step` (local µs, frame) from which its
/// playout runs `step_us` later (an output glitch). `at(f)` is where frame `f` is really heard.
struct Output {
    step: (f64, f64),
    step_us: f64,
}

impl Output {
    const RATE: u32 = 44_100;
    fn us() -> f64 {
        1e6 / f64::from(Self::RATE)
    }
    fn at(&self, f: f64) -> f64 {
        1_000_000.0 + f * Self::us() + if f >= self.step.1 { self.step_us } else { 0.0 }
    }
    fn readings(&self, rand: &mut impl FnMut() -> f64) -> Vec<(f64, f64)> {
        (0..240).map(|k| f64::from(k) * 2_205.0).map(|f| (f, self.at(f) + (rand() - 0.5) * 600.0)).collect()
    }
}

/// A page's loopback: the probe from host µs 2 s on (the page's local clock reads 0.5 ms behind
/// the host's) played by `output`, each click on the frame `frame_of` puts it, heard through an
/// input 57.25 ms later, which delivers 441 frames at a time, 0 to 4 ms late each and each in
/// hand 3 ms after its capture. Its figure, and what each click's time by the plan would give.
fn page_loopback(output: &Output, frame_of: impl Fn(f64) -> f64) -> (Result<Calibration, CalibrationError>, f64) {
    let us = Output::us();
    let plan = probe_plan(2_000_000.0);
    let (start, trip_us, in_hand_us, local_lag) = (1_700_000.0, 57_250.0, 3_000.0, 500.0);
    let all: Vec<f64> = std::iter::once(plan.played_us[0] - 750_000.0).chain(plan.played_us.iter().copied()).collect();
    let clicks: Vec<(f64, f64)> = all.iter().map(|&h| (h, frame_of(h - local_lag).round())).collect();
    let heard: Vec<f64> = clicks.iter().map(|&(_, f)| output.at(f) + trip_us).collect();
    let len = ((plan.until_us - start) / us) as usize;
    let mut rand = lcg(5);
    let x = recording_of(Output::RATE, start, len, &heard, crate::sounds::Sound::Downbeat, 0.25, 0.002, &mut rand);
    let deliveries: Vec<(f64, f64)> = (1..x.len() / 441)
        .map(|k| (k * 441) as f64)
        .map(|f| (f, start + f * us + in_hand_us + rand() * 4_000.0))
        .collect();
    let readings = output.readings(&mut rand);
    let played = played_by_device(&plan, &clicks, &readings, Output::RATE);
    let by_plan: Vec<f64> = plan.played_us.iter().map(|p| p - local_lag).collect();
    let plan_figure = by_microphone(&x, Output::RATE, &deliveries, &by_plan).map_or(f64::NAN, |c| c.latency_ms);
    (by_microphone(&x, Output::RATE, &deliveries, &played), plan_figure)
}

#[test]
fn a_timed_microphone_gives_the_calibration_the_device_needs() {
    // Each click placed by a frame map with 20 ms of calibration in effect (20 ms early by the
    // output's own figures): the figure is the whole calibration the device needs.
    let steady = Output { step: (f64::INFINITY, f64::INFINITY), step_us: 0.0 };
    let (c, _) = page_loopback(&steady, |local| (local - 20_000.0 - 1_000_000.0) / Output::us());
    let c = c.unwrap();
    // The recorded frames' in-hand times run 3 ms behind their capture, to a fraction of a frame.
    assert!((c.latency_ms - (57_250.0 + 3_000.0) / 1000.0).abs() < 0.05, "{c:?}");
    assert_eq!((c.used, c.of), (PROBE_CLICKS as u32 - 1, PROBE_CLICKS as u32 - 1));
    let silent = by_microphone(&vec![0.0; 48_000], RATE, &[(480.0, 10_000.0)], &[0.0]);
    assert_eq!(silent, Err(CalibrationError::Silent));
}

#[test]
fn each_click_is_timed_where_it_played_though_its_map_was_settling() {
    // The playout steps 9 ms later at local 4.1 s (frame 136 710), and the frame map that places
    // the clicks follows it only slowly (a page's first seconds under load): each click after
    // the step plays late by what the map has not yet followed, by the output's own figures.
    // The output's readings around each click's frame time it where it played; by the plan's
    // times, too few clicks agree, or on the wrong figure.
    let step = (4_100_000.0, 136_710.0);
    let output = Output { step, step_us: 9_000.0 };
    let settling = |local: f64| {
        let followed = if local < step.0 { 0.0 } else { 9_000.0 * (1.0 - (-(local - step.0) / 2e6).exp()) };
        (local - 1_000_000.0 - followed) / Output::us()
    };
    let (c, by_plan) = page_loopback(&output, settling);
    let c = c.unwrap();
    assert!((c.latency_ms - 60.25).abs() < 0.05, "{c:?}");
    assert_eq!((c.used, c.of), (9, 9), "every click timed on its own side of the step");
    let off = (by_plan - 60.25).abs();
    assert!(off.is_nan() || off > 1.0, "the plan's times would have erred: {by_plan}");
    // Each reading side of the step: a click 0.2 s past it is timed on its own side.
    let plan = probe_plan(2_000_000.0);
    let readings = output.readings(&mut lcg(3));
    let after = step.1 + 8_820.0;
    let t = played_by_device(&plan, &[(plan.played_us[0], after)], &readings, Output::RATE)[0];
    assert!((t - output.at(after)).abs() < 200.0, "{}", t - output.at(after));
    // A click not seen to start, or without readings near it: played, and not agreed.
    let none = played_by_device(&plan, &[(plan.played_us[0], 1e9)], &readings, Output::RATE);
    assert!(none.len() == PROBE_CLICKS - 1 && none.iter().all(|t| t.is_nan()), "{none:?}");
    let placed: Vec<f64> = plan.played_us.iter().map(|&p| if p < 4e6 { f64::NAN } else { p }).collect();
    let heard: Vec<f64> = plan.played_us.iter().map(|p| p + 5_000.0).collect();
    assert_eq!(loopback(&placed, &heard).map(|c| (c.used, c.of)), Ok((7, 9)));
    // Too few placed for enough to agree: said so, not blamed on the microphone.
    let few: Vec<f64> = plan.played_us.iter().map(|&p| if p < 6e6 { f64::NAN } else { p }).collect();
    assert_eq!(loopback(&few, &heard), Err(CalibrationError::Unseen { seen: 4, of: 9 }));
}

#[test]
fn the_earliest_line_lies_under_late_callbacks() {
    // Callbacks every 480 frames of a card 80 ppm slow, each running 0 to 3 ms after its frames
    // were in hand: the line under them is the in-hand line, to a fraction of the lateness.
    let nominal = 1e6 / 48_000.0;
    let rate = nominal * (1.0 + 80e-6);
    let mut seed = 11u64;
    let points: Vec<(f64, f64)> = (1..1200u64)
        .map(|k| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let late = (seed >> 33) as f64 / (1u64 << 31) as f64 * 3000.0;
            let f = (k * 480) as f64;
            (f, 2_000_000.0 + f * rate + late)
        })
        .collect();
    let slope = rate_of(&points, nominal);
    assert!((slope / rate - 1.0).abs() < 2e-5, "{}", slope / rate - 1.0);
    let c = earliest_line(&points, slope).unwrap();
    let at = |f: f64| c + f * slope;
    let f = 300_000.0;
    assert!((at(f) - (2_000_000.0 + f * rate)).abs() < 100.0, "{}", at(f) - (2_000_000.0 + f * rate));
    assert!(points.iter().all(|(f, t)| *t >= at(*f) - 1e-6), "every callback on or above the line");
}
