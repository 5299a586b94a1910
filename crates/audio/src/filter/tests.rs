//! Tests of the device-clock filter, in simulated time.

use super::*;

#[test]
fn short_spans_use_the_nominal_rate() {
    let nominal = 1e6 / 48_000.0;
    let mut f = DeviceClockFilter::new(4096);
    for k in 0..90u64 {
        let frame = k * 512;
        f.push(frame, frame as f64 * nominal * 1.0002);
    }
    let (_, _, slope) = f.fit(nominal).unwrap();
    assert_eq!(slope, nominal, "under 2 s of points");
}

#[test]
fn drift_is_followed_and_jitter_averaged() {
    // A 48 kHz card running 100 ppm fast; callbacks every 512 frames with ±500 µs of jitter.
    let nominal = 1e6 / 48_000.0;
    let true_us_per_frame = nominal / (1.0 + 100e-6);
    let mut f = DeviceClockFilter::new(4096);
    let mut seed = 12345u64;
    for k in 0..3000u64 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let jitter = ((seed >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 1000.0;
        let frame = k * 512;
        f.push(frame, 5_000_000.0 + frame as f64 * true_us_per_frame + jitter);
    }
    let frame = 3000 * 512 + 24_000;
    let want = 5_000_000.0 + frame as f64 * true_us_per_frame;
    let got = f.local_at(frame, nominal).unwrap();
    assert!((got - want).abs() < 60.0, "{got} vs {want}");
    let (_, _, slope) = f.fit(nominal).unwrap();
    assert!(((slope / true_us_per_frame) - 1.0).abs() < 3e-5, "slope error {}", slope / true_us_per_frame - 1.0);
}

#[test]
fn the_line_follows_a_shifted_playout_within_the_intercept_span() {
    // Callbacks every 512 frames whose playout moves 200 µs later 50 s into a minute: 10 s on,
    // the line is on it (a fit of the whole minute is 83 µs off).
    let nominal = 1e6 / 48_000.0;
    let mut f = DeviceClockFilter::new(8192);
    let at = |frame: u64| frame as f64 * nominal + if frame >= 50 * 48_000 { 200.0 } else { 0.0 };
    let mut k = 0;
    while k * 512 < 60 * 48_000 {
        f.push(k * 512, at(k * 512));
        k += 1;
    }
    let frame = k * 512 + 4800;
    let got = f.local_at(frame, nominal).unwrap();
    assert!((got - at(frame)).abs() < 20.0, "{got} vs {}", at(frame));
}

#[test]
fn a_step_in_the_playout_is_followed_at_once_and_the_rate_kept() {
    // A card 150 ppm fast, read every 50 ms (the phone page's rate) with ±150 µs of noise; at
    // 30 s its playout moves 3 ms later for good (an output glitch). A second on, the
    // line is on the new playout, at the old rate.
    let nominal = 1e6 / 44_100.0;
    let rate = nominal * (1.0 - 150e-6);
    let mut f = DeviceClockFilter::new(4096);
    let mut seed = 7u64;
    let at = |frame: u64| frame as f64 * rate + if frame >= 30 * 44_100 { 3_000.0 } else { 0.0 };
    let mut frame = 0;
    while frame < 30 * 44_100 + 44_100 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let noise = ((seed >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 300.0;
        f.push(frame, at(frame) + noise);
        // A map every five readings, as the page sends them.
        if frame % (5 * 2205) == 0 {
            f.fit(nominal);
        }
        frame += 2205;
    }
    assert_eq!(f.steps(), 1);
    let ahead = frame + 22_050;
    let got = f.local_at(ahead, nominal).unwrap();
    assert!((got - at(ahead)).abs() < 150.0, "{got} vs {}", at(ahead));
    let (_, _, slope) = f.fit(nominal).unwrap();
    assert!((slope / rate - 1.0).abs() < 2e-5, "slope error {}", slope / rate - 1.0);
}

#[test]
fn noise_and_wander_are_not_steps() {
    // Readings with ±450 µs of noise around a playout that wanders 400 µs back and forth
    // over ten seconds: never taken for a step.
    let nominal = 1e6 / 48_000.0;
    let mut f = DeviceClockFilter::new(4096);
    let mut seed = 99u64;
    for k in 0..6000u64 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let noise = ((seed >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 900.0;
        let frame = k * 512;
        let wander = 200.0 * (frame as f64 * nominal / 10e6 * std::f64::consts::TAU).sin();
        f.push(frame, frame as f64 * nominal + wander + noise);
        if k % 5 == 0 {
            f.fit(nominal);
        }
    }
    assert_eq!(f.steps(), 0);
    assert_eq!(f.outliers(), 0);
}

#[test]
fn a_young_stream_is_followed_as_it_settles() {
    // Readings every 50 ms of a stream whose playout drifts 10 ms later over its first two
    // seconds, then holds: at 2.5 s the line is within 0.5 ms of it (an 8 s mean: 4 ms off).
    let nominal = 1e6 / 44_100.0;
    let mut f = DeviceClockFilter::new(4096);
    let at = |frame: u64| {
        let t = frame as f64 * nominal;
        t + (t / 2e6).min(1.0) * 10_000.0
    };
    let mut frame = 0;
    while (frame as f64) * nominal < 2.5e6 {
        f.push(frame, at(frame));
        if frame % (5 * 2205) == 0 {
            f.fit(nominal);
        }
        frame += 2205;
    }
    let got = f.local_at(frame, nominal).unwrap();
    assert!((got - at(frame)).abs() < 500.0, "{} µs off", got - at(frame));
}

#[test]
fn a_glitch_is_dropped_not_averaged_in() {
    // Readings every 50 ms, exact but for two 30 ms late ones (a stalled timer): the line
    // does not move.
    let nominal = 1e6 / 48_000.0;
    let mut f = DeviceClockFilter::new(4096);
    for k in 0..400u64 {
        let frame = k * 2400;
        let late = if k == 300 || k == 301 { 30_000.0 } else { 0.0 };
        f.push(frame, frame as f64 * nominal + late);
        if k % 5 == 0 {
            f.fit(nominal);
        }
    }
    assert_eq!((f.outliers(), f.steps()), (2, 0));
    let frame = 400 * 2400;
    let got = f.local_at(frame, nominal).unwrap();
    assert!((got - frame as f64 * nominal).abs() < 1.0, "{got}");
}

#[test]
fn a_switch_of_source_keeps_the_line_and_slews_to_the_new_one() {
    let nominal = 1e6 / 48_000.0;
    let mut f = DeviceClockFilter::new(4096);
    // 10 s of the first source, a reading every 50 ms (2400 frames).
    let at = |k: u64| (k * 2400, k as f64 * 50_000.0);
    for k in 0..200 {
        let (fr, l) = at(k);
        f.push(fr, l);
        f.fit(nominal);
    }
    let line = |f: &mut DeviceClockFilter, frame: u64| f.local_at(frame, nominal).unwrap();
    let before = line(&mut f, 199 * 2400);
    // The second source reads 55 ms later.
    f.switch_source();
    let mut prev = before;
    let mut worst_move: f64 = 0.0;
    for k in 200..2_000 {
        let (fr, l) = at(k);
        f.push(fr, l + 55_000.0);
        let now = line(&mut f, fr);
        // No jump: from one reading to the next, the line moves by the reading's 50 ms and at
        // most the slew's share of it.
        worst_move = worst_move.max((now - prev - 50_000.0).abs());
        prev = now;
    }
    assert!(worst_move <= 50_000.0 * SWITCH_SLEW + 1.0, "the line jumped by {worst_move} µs");
    // After 90 s it is the new source's line.
    let end = 2_000 * 2400;
    assert!((line(&mut f, end) - (end as f64 * nominal + 55_000.0)).abs() < 1.0);
}

#[test]
fn a_following_filter_keeps_to_a_settling_loops_own_times() {
    // JACK's stamps: its delay-locked loop's cycle times, 256 frames a cycle. 10 s in, an xrun
    // resets the loop, which then rings about the card's true times: 4 ms off, decaying over
    // seconds. A frame 31 ms past the newest stamp (a control update and a buffer ahead) is where
    // the loop will say it is, to within 50 µs (from the first stamp after the reset), while an
    // averaging filter is milliseconds off.
    let nominal = 1e6 / 48_000.0;
    let loop_at = |frame: u64| {
        let s = frame as f64 / 48_000.0;
        let ring = if s < 10.0 {
            0.0
        } else {
            4_000.0 * (-(s - 10.0)).exp() * (std::f64::consts::TAU * (s - 10.0) / 3.0).cos()
        };
        frame as f64 * nominal + ring
    };
    let (mut follow, mut average) = (DeviceClockFilter::following(), DeviceClockFilter::new(8192));
    let (mut worst_follow, mut worst_average) = (0.0f64, 0.0f64);
    for k in 0..(16 * 48_000 / 256) {
        let frame = k * 256;
        follow.push(frame, loop_at(frame));
        average.push(frame, loop_at(frame));
        let ahead = frame + 1_500;
        if (frame..=ahead).contains(&(10 * 48_000)) {
            continue; // the reset itself: no stamp says it before it comes
        }
        worst_follow = worst_follow.max((follow.local_at(ahead, nominal).unwrap() - loop_at(ahead)).abs());
        worst_average = worst_average.max((average.local_at(ahead, nominal).unwrap() - loop_at(ahead)).abs());
    }
    assert!(worst_follow < 50.0, "following: {worst_follow} µs off the loop");
    assert!(worst_average > 1_000.0, "averaging: {worst_average} µs off the loop");
}

#[test]
fn a_following_filter_takes_the_nominal_rate_across_a_jump() {
    // An xrun: the stamps jump 30 ms between two callbacks. The line is on the newest stamp at
    // the nominal rate, not at the jump's.
    let nominal = 1e6 / 48_000.0;
    let mut f = DeviceClockFilter::following();
    f.push(0, 0.0);
    f.push(256, 256.0 * nominal + 30_000.0);
    assert_eq!(f.fit(nominal), Some((256.0, 256.0 * nominal + 30_000.0, nominal)));
}

#[test]
fn a_gap_keeps_the_rate_and_takes_the_new_playout() {
    // A card 500 ppm slow against the local clock, callbacks every 1365 frames with ±1.5 ms of
    // jitter (a large buffer through PulseAudio), for 30 s; then a buffer goes missing (an
    // underrun): everything after is heard 26 ms later. The line must be on the new playout at
    // once, at the old rate, and stay there while the new points are few: started afresh, it
    // takes the nominal rate for 2 s, then a short line's.
    let nominal = 1e6 / 48_000.0;
    let truth = nominal * (1.0 + 500e-6);
    let mut seed = 777u64;
    let mut jitter = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 3000.0
    };
    let heard = |frame: u64, gap: bool| frame as f64 * truth + if gap { 26_000.0 } else { 0.0 };
    let (mut kept, mut fresh) = (DeviceClockFilter::new(4096), DeviceClockFilter::new(4096));
    let mut frame = 0u64;
    // Fitted at each callback, as the player fits at each update.
    while (frame as f64) < 30.0 * 48_000.0 {
        let t = heard(frame, false) + jitter();
        for f in [&mut kept, &mut fresh] {
            f.push(frame, t);
            let _ = f.fit(nominal);
        }
        frame += 1365;
    }
    kept.gap();
    fresh.reset();
    let resumed = frame;
    // The largest error where the next clicks are rendered (60 ms past each callback), in the
    // first second after the gap and from then to 6 s; and the slope a second after it.
    let (mut first, mut later, mut slope) = ([0.0f64; 2], [0.0f64; 2], 0.0);
    while ((frame - resumed) as f64) < 6.0 * 48_000.0 {
        let t = heard(frame, true) + jitter();
        let ahead = frame + 2_880;
        for (i, f) in [&mut kept, &mut fresh].into_iter().enumerate() {
            f.push(frame, t);
            let e = (f.local_at(ahead, nominal).unwrap() - heard(ahead, true)).abs();
            let worst = if ((frame - resumed) as f64) < 48_000.0 { &mut first[i] } else { &mut later[i] };
            *worst = worst.max(e);
        }
        if ((frame - resumed) as f64) < 48_000.0 {
            slope = kept.fit(nominal).unwrap().2;
        }
        frame += 1365;
    }
    assert!((slope / truth - 1.0).abs() < 3e-5, "the rate kept: {}", slope / truth - 1.0);
    assert!(
        first[0] < 600.0 && later[0] < 400.0,
        "after the gap, the line was off by up to {first:?} µs, then {later:?}"
    );
    assert!(later[1] > later[0], "keeping the rate did not help: {later:?} µs (kept, afresh)");
}

#[test]
fn gaps_in_a_cluster_keep_the_rate_from_before_the_first() {
    // As above, then a second gap three callbacks after the first (underruns come in clusters):
    // the slope is still the one from before the first. A young stream (under 2 s of points)
    // has none to keep: after a gap it takes the nominal rate.
    let nominal = 1e6 / 48_000.0;
    let truth = nominal * (1.0 + 500e-6);
    let mut f = DeviceClockFilter::new(4096);
    let mut young = DeviceClockFilter::new(4096);
    let mut frame = 0u64;
    let push = |f: &mut DeviceClockFilter, frame: u64, shift: f64| {
        f.push(frame, frame as f64 * truth + shift);
        let _ = f.fit(nominal);
    };
    while (frame as f64) < 30.0 * 48_000.0 {
        push(&mut f, frame, 0.0);
        if (frame as f64) < 48_000.0 {
            push(&mut young, frame, 0.0);
        }
        frame += 1365;
    }
    f.gap();
    young.gap();
    for _ in 0..3 {
        push(&mut f, frame, 26_000.0);
        push(&mut young, frame, 26_000.0);
        frame += 1365;
    }
    f.gap();
    for _ in 0..36 {
        push(&mut f, frame, 52_000.0);
        push(&mut young, frame, 26_000.0);
        frame += 1365;
    }
    let (_, _, slope) = f.fit(nominal).unwrap();
    assert!((slope / truth - 1.0).abs() < 1e-6, "the rate from before the first gap: {}", slope / truth - 1.0);
    assert_eq!(young.fit(nominal).unwrap().2, nominal, "a young stream kept a slope it never fitted");
}
