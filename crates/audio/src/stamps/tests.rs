use super::*;

/// Readings every 50 ms of a context started at page time 1000 ms, heard `latency_ms` after it is
/// read, its heard times running `rate` times the context's; `bend` changes any reading.
fn readings(n: usize, latency_ms: f64, rate: f64, bend: impl Fn(usize, &mut Reading)) -> Vec<Reading> {
    (0..n)
        .map(|i| {
            let now_ms = 1000.0 + i as f64 * 50.0;
            let context_s = (now_ms - 1000.0) / 1000.0 + 0.01;
            // Heard 20 ms before it is read (as a browser's stamps lag), plus `latency_ms`.
            let heard_ms = 1000.0 + context_s * 1000.0 * rate - 30.0 + latency_ms;
            let mut r = Reading { context_s, heard_ms, now_ms };
            bend(i, &mut r);
            r
        })
        .collect()
}

fn verdicts(j: &mut StampJudge, rs: &[Reading]) -> Vec<Verdict> {
    rs.iter().map(|r| j.judge(Some(*r))).collect()
}

#[test]
fn sound_timestamps_are_used_throughout() {
    let mut j = StampJudge::new();
    let v = verdicts(&mut j, &readings(1200, 0.0, 1.0, |_, _| {}));
    // The output's first half second is skipped (its first ten readings), then all are used.
    assert!(v[..10].iter().all(|v| *v == Verdict::Skip));
    assert!(v[10..].iter().all(|v| *v == Verdict::Use));
    assert_eq!(j.drops(), 0);
}

#[test]
fn timestamps_in_the_future_are_dropped_for_good() {
    // WebKitGTK: its `performanceTime` lies ~50 ms ahead of `performance.now()`.
    let mut j = StampJudge::new();
    let v = verdicts(&mut j, &readings(1200, 70.0, 1.0, |_, _| {}));
    assert_eq!(&v[..3], &[Verdict::Skip, Verdict::Skip, Verdict::Reported]);
    assert!(v[3..].iter().all(|v| *v == Verdict::Reported));
    assert_eq!(j.drops(), 1);
    assert!(!j.trusted());
}

#[test]
fn a_bad_reading_or_a_bad_anchor_costs_one_reading() {
    // At 10 s a reading in the future (a load spike); the next reading anchors the next check,
    // and it is 100 ms off: its check two seconds on fails, once.
    let mut j = StampJudge::new();
    let v = verdicts(
        &mut j,
        &readings(1200, 0.0, 1.0, |i, r| match i {
            200 => r.heard_ms = r.now_ms + 30.0,
            201 => r.heard_ms -= 100.0,
            _ => {}
        }),
    );
    let not_used: Vec<(usize, Verdict)> =
        v.iter().copied().enumerate().skip(10).filter(|(_, v)| *v != Verdict::Use).collect();
    assert_eq!(not_used, [(200, Verdict::Skip), (241, Verdict::Skip)]);
    assert_eq!(j.drops(), 0);
}

#[test]
fn timestamps_off_the_context_rate_are_dropped_and_taken_up_again_once_sound() {
    // 5 % slow for the first 20 s, then sound.
    let mut j = StampJudge::new();
    let rs = readings(1200, 0.0, 1.0, |i, r| {
        if i < 400 {
            r.heard_ms = 1000.0 + r.context_s * 950.0 - 30.0;
        } else {
            r.heard_ms = 1000.0 + r.context_s * 1000.0 - 30.0 - 1000.0;
        }
    });
    let mut switches = Vec::new();
    for (i, r) in rs.iter().enumerate() {
        let v = j.judge(Some(*r));
        if j.switched() {
            switches.push((i, v));
        }
    }
    assert_eq!(switches.len(), 2, "{switches:?}");
    assert_eq!(switches[0].1, Verdict::Reported);
    assert!(switches[0].0 < 400);
    assert_eq!(switches[1].1, Verdict::Use);
    // Taken up again within about six seconds: the old anchor's check fails at most two seconds
    // on, a fresh anchor waits two more for its first check, and two seconds of checks pass.
    assert!((400..400 + 6 * 20 + 2).contains(&switches[1].0), "{switches:?}");
    assert!(j.trusted());
}

#[test]
fn empty_readings_wait_for_the_output_then_give_up() {
    let mut j = StampJudge::new();
    let started = readings(100, 0.0, 1.0, |i, r| {
        if i < 10 {
            *r = Reading { context_s: 0.0, heard_ms: 0.0, now_ms: r.now_ms };
        }
    });
    let v = verdicts(&mut j, &started);
    assert!(v[..10].iter().all(|v| *v == Verdict::Skip));
    assert!(v[10..].iter().all(|v| *v == Verdict::Use));

    let mut never = StampJudge::new();
    let v = verdicts(&mut never, &readings(100, 0.0, 1.0, |_, r| r.heard_ms = 0.0));
    assert_eq!(v.iter().filter(|v| **v == Verdict::Skip).count(), EMPTY_READINGS as usize - 1);
    assert_eq!(v[99], Verdict::Reported);
    assert_eq!(never.judge(None), Verdict::Reported);
}

#[test]
fn after_a_restart_the_first_half_second_is_skipped_again() {
    let mut j = StampJudge::new();
    let rs = readings(400, 0.0, 1.0, |_, _| {});
    verdicts(&mut j, &rs[..200]);
    // The context was suspended and runs again from reading 300 on (its time went on).
    j.restart();
    let v = verdicts(&mut j, &rs[300..]);
    assert!(v[..10].iter().all(|v| *v == Verdict::Skip), "{:?}", &v[..12]);
    assert!(v[10..].iter().all(|v| *v == Verdict::Use));
}
