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

#[test]
fn a_timed_microphone_gives_the_calibration_the_device_needs() {
    // The probe heard 57.25 ms past where the output's figures put it, over hiss, through an
    // input that delivers 441 frames (10 ms at 44.1 kHz) at a time, 0 to 4 ms late each; the
    // click played with 20 ms of calibration already.
    let rate = 44_100;
    let us = 1e6 / f64::from(rate);
    let plan = probe_plan(2_000_000.0);
    // The recording's first frame was captured at local 1.7 s, and each is in hand 3 ms later.
    let (start, trip_us, in_hand_us, in_effect_ms) = (1_700_000.0, 57_250.0, 3_000.0, 20.0);
    // Every click, the uncounted first too; each rendered `in_effect_ms` early.
    let heard: Vec<f64> = std::iter::once(plan.played_us[0] - 750_000.0)
        .chain(plan.played_us.iter().copied())
        .map(|p| p - in_effect_ms * 1000.0 + trip_us)
        .collect();
    let len = ((plan.until_us - start) / us) as usize;
    // The hiss and then the deliveries' lateness, from one sequence.
    let mut rand = lcg(5);
    let x = recording_of(rate, start, len, &heard, crate::sounds::Sound::Downbeat, 0.25, 0.002, &mut rand);
    let deliveries: Vec<(f64, f64)> = (1..x.len() / 441)
        .map(|k| {
            let f = (k * 441) as f64;
            (f, start + f * us + in_hand_us + rand() * 4_000.0)
        })
        .collect();
    let c = by_microphone(&x, rate, &deliveries, 2_000_000.0, in_effect_ms).unwrap();
    // The recorded frames' in-hand times run 3 ms behind their capture, to a fraction of a frame.
    assert!((c.latency_ms - (trip_us + in_hand_us) / 1000.0).abs() < 0.05, "{c:?}");
    assert_eq!((c.used, c.of), (PROBE_CLICKS as u32 - 1, PROBE_CLICKS as u32 - 1));
    let silent = by_microphone(&vec![0.0; 48_000], rate, &deliveries, 2_000_000.0, 0.0);
    assert_eq!(silent, Err(CalibrationError::Silent));
}

#[test]
fn taps_give_their_median_without_the_stray_ones() {
    // Sixteen taps about 42 ms late with ±6 ms of human scatter, two of them wild.
    let mut t: Vec<f64> = (0..16).map(|i| 42.0 + f64::from((i * 7) % 13) - 6.0).collect();
    t[3] = 300.0;
    t[9] = -200.0;
    let c = taps(&t).unwrap();
    assert!((c.latency_ms - 42.0).abs() <= 2.0, "{c:?}");
    assert_eq!((c.used, c.of), (14, 16));
    assert!(matches!(taps(&[40.0; 5]), Err(CalibrationError::TooFew { .. })));
    // Taps all over the place: too few agree.
    let wild: Vec<f64> = (0..16).map(|i| f64::from(i) * 37.0).collect();
    assert!(
        matches!(taps(&wild), Err(CalibrationError::TooFew { .. } | CalibrationError::Scattered { .. })),
        "{:?}",
        taps(&wild)
    );
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
