//! The estimator against host clocks with fixed delays, skew, new epochs and rebases.

use super::*;

/// Runs one exchange with fixed one-way delays against a host clock `host(local)`.
fn exchange(c: &mut ClockSync, now: Micros, up: i64, down: i64, host: impl Fn(i64) -> i64) -> Micros {
    exchange_on(9, c, now, up, down, host)
}

/// As [`exchange`], with a host clock of epoch `epoch`.
fn exchange_on(epoch: u64, c: &mut ClockSync, now: Micros, up: i64, down: i64, host: impl Fn(i64) -> i64) -> Micros {
    let (n, t0) = c.poll_ping(now).expect("a ping is due");
    let t1 = Micros(host(t0.0 + up));
    let t3 = Micros(t0.0 + up + down);
    c.handle_pong(t3, n, t0, t1, t1, epoch);
    t3
}

#[test]
fn symmetric_delays_give_the_exact_offset() {
    let mut c = ClockSync::new(ClockConfig::default(), Micros(0));
    exchange(&mut c, Micros(0), 2_000, 2_000, |l| l + 5_000_000);
    assert_eq!(c.to_host(Micros(10_000)), Some(Micros(5_010_000)));
    assert_eq!(c.to_local(Micros(5_010_000)), Some(Micros(10_000)));
    assert_eq!(c.status(Micros(4_000)).rtt_us, 4_000);
}

#[test]
fn skew_is_learned_and_followed() {
    let mut c = ClockSync::new(ClockConfig::default(), Micros(0));
    let host = |l: i64| l + 1_000 + l / 10_000; // host runs 100 ppm fast
    let mut now = Micros(0);
    while now < Micros::from_secs(30) {
        now = c.poll_timeout().max(now);
        exchange(&mut c, now, 300, 300, host);
        now += Micros(1);
    }
    let s = c.status(now);
    assert!((s.skew_ppm - 100.0).abs() < 1.0, "{s:?}");
    let t = Micros::from_secs(40);
    let err = c.to_host_f64(t).unwrap() - host(t.0) as f64;
    assert!(err.abs() < 20.0, "extrapolated 10 s ahead within 20 µs, got {err}");
}

#[test]
fn corrections_slew_instead_of_jumping() {
    let cfg = ClockConfig::default();
    let mut c = ClockSync::new(cfg.clone(), Micros(0));
    let mut now = Micros(0);
    for _ in 0..30 {
        now = c.poll_timeout().max(now);
        exchange(&mut c, now, 1_000, 1_000, |l| l);
    }
    // The route becomes asymmetric (1.6 ms up, 0.4 ms down): the samples now say the host is
    // 0.6 ms ahead (an asymmetry no two-way method can see). The estimate follows by slewing, never by jumping.
    let before = c.to_host_f64(now).unwrap();
    for _ in 0..1200 {
        now = c.poll_timeout().max(now);
        let arrival = now + Micros(2_000);
        let prev = c.to_host_f64(arrival).unwrap();
        exchange(&mut c, now, 1_600, 400, |l| l);
        let after = c.to_host_f64(arrival).unwrap();
        assert!((after - prev).abs() < 1.0, "no visible jump at a sample: {}", after - prev);
    }
    let t = now + Micros::from_secs(1);
    let err = c.to_host_f64(t).unwrap() - (t.0 + 600) as f64;
    assert!(err.abs() < 50.0, "converged on the new offset: {err} {:?}", c.status(t));
    assert!(c.to_host_f64(now).unwrap() > before);
    assert_eq!(c.steps(), 0);
}

#[test]
fn a_new_epoch_resets_and_steps() {
    let mut c = ClockSync::new(ClockConfig::default(), Micros(0));
    let mut now = Micros(0);
    for _ in 0..10 {
        now = c.poll_timeout().max(now);
        exchange(&mut c, now, 500, 500, |l| l + 1_000_000);
    }
    now = c.poll_timeout().max(now);
    let (n, t0) = c.poll_ping(now).unwrap();
    c.handle_pong(t0 + Micros(1_000), n, t0, Micros(77), Micros(77), 10);
    let est = c.to_host(t0 + Micros(500)).unwrap();
    assert_eq!(est, Micros(77));
}

#[test]
fn unknown_and_late_pongs_are_ignored() {
    let mut c = ClockSync::new(ClockConfig::default(), Micros(0));
    c.handle_pong(Micros(10), 42, Micros(0), Micros(5), Micros(5), 1);
    assert!(!c.has_estimate());
    let (n, t0) = c.poll_ping(Micros(0)).unwrap();
    c.handle_pong(Micros::from_secs(3), n, t0, Micros(5), Micros(5), 1);
    assert!(!c.has_estimate(), "a pong after the ping timeout says nothing useful");
}

#[test]
fn a_rebased_estimate_keeps_time_onto_the_new_clock_and_slews_the_shifts_error() {
    let mut c = ClockSync::new(ClockConfig::default(), Micros(0));
    let old = |l: i64| l + 1_000_000 + l / 10_000; // 100 ppm fast
    let mut now = Micros(0);
    while now < Micros::from_secs(20) {
        now = c.poll_timeout().max(now);
        exchange(&mut c, now, 300, 300, old);
        now += Micros(1);
    }
    assert!(c.status(now).synced);
    let before = c.to_host_f64(now).unwrap();
    assert!(!c.rebase(8, 10, Micros(5)), "an estimate on another epoch is not moved");
    assert!(c.rebase(9, 10, Micros(-3_000_000)));
    assert!((c.to_host_f64(now).unwrap() - (before - 3_000_000.0)).abs() < 1e-6, "moved by the shift");
    assert!(c.status(now).synced && c.has_synced(), "and still synced: no re-sync from nothing");
    // The new server's clock is 400 µs off the shift (the two servers' wall clocks disagreed).
    let new = |l: i64| old(l) - 3_000_000 + 400;
    for _ in 0..1200 {
        now = c.poll_timeout().max(now);
        let arrival = now + Micros(600);
        let prev = c.to_host_f64(arrival).unwrap();
        exchange_on(10, &mut c, now, 300, 300, new);
        let after = c.to_host_f64(arrival).unwrap();
        assert!((after - prev).abs() < 2.0, "no visible jump at a sample: {}", after - prev);
    }
    let t = now + Micros::from_secs(1);
    let err = c.to_host_f64(t).unwrap() - new(t.0) as f64;
    assert!(err.abs() < 30.0, "converged on the new clock: {err} {:?}", c.status(t));
    assert_eq!(c.steps(), 0, "slewed, not stepped");
}

/// The relay of `tests/clock_sync.rs`, modelled: each way 2 ms plus up to 2 ms of uniform jitter,
/// in order, and 0.5 % of messages held 200 ms more (a TCP retransmission, which holds those
/// behind it too), for a follower whose clock runs 200 ppm fast. For each seed, the worst skew
/// error (ppm) and host-time error (µs) over local seconds `from..to` after the first sync.
fn through_the_relay(seed: u64, from: f64, to: f64) -> (f64, f64) {
    let (mut skew_err, mut time_err) = (0.0_f64, 0.0_f64);
    through_the_relay_each(seed, from, to, &mut |c, now, host| {
        // The host runs at 1/(1 + 200 ppm) of the local clock: -199.96 ppm.
        skew_err = skew_err.max((c.status(Micros(now)).skew_ppm + 200.0 / 1.0002).abs());
        time_err = time_err.max((c.to_host_f64(Micros(now)).unwrap() - host).abs());
    });
    (skew_err, time_err)
}

/// Runs the relay above for `seed` and calls `f(estimator, local now, true host time)` after each
/// exchange from local second `from` to `to` after the first sync.
fn through_the_relay_each(seed: u64, from: f64, to: f64, f: &mut impl FnMut(&ClockSync, i64, f64)) {
    let mut rng = crate::jitter::Jitter::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut way = |last: &mut f64, sent: f64| {
        let stall = if rng.unit() < 0.005 { 200_000.0 } else { 0.0 };
        *last = (sent + 2_000.0 + 2_000.0 * rng.unit() + stall).max(*last);
        *last
    };
    let host = |l: f64| l / (1.0 + 200e-6) + 1_000_000.0;
    let mut c = ClockSync::new(ClockConfig::default(), Micros(0));
    let (mut now, mut up, mut down) = (0_i64, 0.0, 0.0);
    let mut synced_at = None;
    loop {
        now = c.poll_timeout().0.max(now);
        let (n, t0) = c.poll_ping(Micros(now)).unwrap();
        let at_host = way(&mut up, t0.0 as f64);
        let back = way(&mut down, at_host);
        let t1 = Micros(host(at_host) as i64);
        if back - t0.0 as f64 <= 2_000_000.0 {
            c.handle_pong(Micros(back as i64), n, t0, t1, t1, 1);
        }
        now += 1;
        if synced_at.is_none() && c.status(Micros(now)).synced {
            synced_at = Some(now);
        }
        let Some(s) = synced_at else { continue };
        let age = (now - s) as f64 / 1e6;
        if age >= to {
            return;
        }
        if age >= from {
            f(&c, now, host(now as f64));
        }
    }
}

/// How soon the estimate holds through the relay: the statistical floor under
/// `tests/clock_sync.rs`, whose first window opens 6 s after the first sync and whose second, for
/// a window that missed, 20 s after it. From 6 s, a follower's skew was still up to 56 ppm off
/// over 300 seeds (that test's bound is 60) and its host time up to 248 µs; from 14 s, up to
/// 14 ppm and 158 µs.
#[test]
fn through_a_jittery_relay_the_estimate_holds_from_14_s_after_the_first_sync() {
    let worst = (1..=60)
        .map(|seed| through_the_relay(seed, 14.0, 18.0))
        .fold((0.0_f64, 0.0_f64), |w, e| (w.0.max(e.0), w.1.max(e.1)));
    assert!(worst.0 < 20.0 && worst.1 < 250.0, "worst skew error {:.1} ppm, host time {:.0} µs", worst.0, worst.1);
}

/// The error bound a follower reports (and that says "synced") covers its true error: through the
/// relay above, over 40 seeds and the 30 s after the first sync, read every 50 ms. Three standard
/// errors would be exceeded 0.3 % of the time if the model were exact; 2 % leaves room for its
/// approximations. Before the skew's error was counted once instead of per sample, the bound was
/// exceeded 5.4 % of the time, by up to 2.5 times; now 0.9 %, by up to 1.6 times. Prints its figures
/// (`--nocapture`).
#[test]
fn the_error_bound_covers_the_true_error_through_a_jittery_relay() {
    let (mut readings, mut over, mut worst, mut bounds) = (0_u32, 0_u32, 0.0_f64, Vec::new());
    for seed in 1..=40 {
        through_the_relay_each(seed, 0.0, 30.0, &mut |c, now, host| {
            let err = (c.to_host_f64(Micros(now)).unwrap() - host).abs();
            let bound = c.error_bound(Micros(now));
            readings += 1;
            over += u32::from(err > bound);
            worst = worst.max(err / bound);
            bounds.push(bound);
        });
    }
    let share = f64::from(over) / f64::from(readings);
    bounds.sort_by(f64::total_cmp);
    eprintln!(
        "the bound exceeded at {over} of {readings} readings ({:.1} %), by up to {worst:.2}×; median bound {:.0} µs",
        share * 100.0,
        bounds[bounds.len() / 2]
    );
    assert!(share <= 0.02 && worst < 2.0, "exceeded at {over} of {readings} readings, by up to {worst:.2}×");
}
