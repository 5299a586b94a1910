//! The simulation: clocks, links, an event queue in true time, and the measurements.

use crate::link::Link;
use crate::method::Method;
use crate::rng::Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// One follower's local clock: `local(T) = offset + T * (1 + skew) + drift * T² / 2`, with `T` in
/// µs of true time. `drift` is the rate of change of skew (per µs), as a crystal warming up.
#[derive(Debug, Clone, Copy)]
pub struct ClockModel {
    /// Local minus true at `T = 0`, µs.
    pub offset: f64,
    /// Frequency error: 1e-4 is 100 ppm fast.
    pub skew: f64,
    /// Change of skew per µs.
    pub drift: f64,
}

impl ClockModel {
    /// Local time at true time `t`.
    #[must_use]
    pub fn local(&self, t: f64) -> f64 {
        self.offset + t * (1.0 + self.skew) + 0.5 * self.drift * t * t
    }

    /// True time at local time `l` (Newton's method; the clock is monotonic).
    #[must_use]
    pub fn true_at(&self, l: f64) -> f64 {
        let mut t = (l - self.offset) / (1.0 + self.skew);
        for _ in 0..4 {
            let f = self.local(t) - l;
            let d = 1.0 + self.skew + self.drift * t;
            t -= f / d;
        }
        t
    }
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Simulated duration, µs.
    pub duration: f64,
    /// Follower clocks.
    pub clocks: Vec<ClockModel>,
    /// When each follower joins, µs of true time.
    pub joins: Vec<f64>,
    /// Follower-to-host link, per follower.
    pub up: Vec<Link>,
    /// Host-to-follower link, per follower.
    pub down: Vec<Link>,
    /// True times at which the host restarts: its clock takes a new origin and epoch.
    pub restarts: Vec<f64>,
    /// Errors are measured from this long after a follower's join (and after each restart).
    pub settle: f64,
    /// The random seed for packet delays.
    pub seed: u64,
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// |beat-time error| samples (µs), pooled over followers, after settling.
    pub errors: Vec<f64>,
    /// Seconds since the follower joined, for each error sample.
    pub ages: Vec<f64>,
    /// The largest step of a follower's host-time estimate between consecutive 10 ms samples,
    /// beyond the 10 ms that passed, after first sync (a host restart's re-sync excluded).
    pub max_step_us: f64,
    /// Slowest follower's time from join to first synced, ms (`None`: some never synced).
    pub first_sync_ms: Option<f64>,
    /// Pings and pongs sent, per follower per second (for the cost of each method).
    pub packets_per_sec: f64,
}

impl Report {
    /// The `q` quantile (0 to 1) of the errors.
    #[must_use]
    pub fn quantile(&self, q: f64) -> f64 {
        crate::stats::quantile(&self.errors, q)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ev {
    /// A follower's method wants to act; stale unless `generation` is the follower's current one.
    Wake {
        f: usize,
        generation: u64,
    },
    PingAtHost {
        f: usize,
        n: u32,
        t0: i64,
    },
    PongAtFollower {
        f: usize,
        n: u32,
        t0: i64,
        t1: i64,
        t2: i64,
        epoch: u64,
    },
    TickSend,
    TickAtFollower {
        f: usize,
        host: i64,
        epoch: u64,
    },
    Measure,
}

struct Queue {
    heap: BinaryHeap<Reverse<(u64, u64)>>,
    events: Vec<Option<Ev>>,
    seq: u64,
}

impl Queue {
    fn push(&mut self, t: f64, ev: Ev) {
        let key = (t.max(0.0) * 1000.0) as u64; // ns resolution, ordered
        self.events.push(Some(ev));
        self.heap.push(Reverse((key, self.seq)));
        self.seq += 1;
    }
    fn pop(&mut self) -> Option<(f64, Ev)> {
        let Reverse((key, seq)) = self.heap.pop()?;
        let ev = self.events[seq as usize].take()?;
        Some((key as f64 / 1000.0, ev))
    }
}

/// Runs `methods` (one per follower) through `setup` and measures them.
/// `make` builds a follower's method when it joins, given its local time.
pub fn run(setup: &Setup, make: &dyn Fn(i64) -> Box<dyn Method>) -> Report {
    let n = setup.clocks.len();
    let mut rng = Rng::new(setup.seed);
    let mut link_rng: Vec<Rng> = (0..n).map(|_| rng.fork()).collect();
    let mut q = Queue { heap: BinaryHeap::new(), events: Vec::new(), seq: 0 };
    // Host clock: host(T) = T - origin, with a new origin and epoch at each restart.
    let mut host_origin = 0.0;
    let mut epoch: u64 = 1;
    let mut restarts = setup.restarts.clone();
    restarts.sort_by(f64::total_cmp);
    let mut last_restart: Option<f64> = None;

    let mut methods: Vec<Option<Box<dyn Method>>> = (0..n).map(|_| None).collect();
    let mut joined = vec![false; n];
    let mut synced_at: Vec<Option<f64>> = vec![None; n];
    let mut prev_est: Vec<Option<(f64, f64)>> = vec![None; n];
    let mut report = Report::default();
    let mut packets = 0u64;
    // One pending wake per follower: rescheduling bumps the generation, older wakes are stale.
    let mut wake_gen = vec![0u64; n];
    for (f, &j) in setup.joins.iter().enumerate() {
        q.push(j, Ev::Wake { f, generation: 0 });
    }
    if make(0).wants_ticks() {
        q.push(0.0, Ev::TickSend);
    }
    q.push(0.0, Ev::Measure);

    while let Some((t, ev)) = q.pop() {
        if t > setup.duration {
            break;
        }
        while restarts.first().is_some_and(|&r| r <= t) {
            let r = restarts.remove(0);
            host_origin = r - 1_000_000.0 * (7.0 + epoch as f64); // a fresh clock reading a few seconds
            epoch += 1;
            last_restart = Some(r);
        }
        let host_now = |t: f64| (t - host_origin).round() as i64;
        match ev {
            Ev::Wake { f, generation } => {
                if generation != wake_gen[f] {
                    continue;
                }
                let c = setup.clocks[f];
                let local = c.local(t).round() as i64;
                if !joined[f] {
                    joined[f] = true;
                    methods[f] = Some(make(local));
                }
                let m = methods[f].as_mut().expect("joined");
                for p in m.wake(local) {
                    packets += 1;
                    if let Some(d) = setup.up[f].delay(t, &mut link_rng[f]) {
                        q.push(t + d, Ev::PingAtHost { f, n: p.n, t0: p.t0 });
                    }
                }
                if let Some(w) = m.next_wake() {
                    let tw = c.true_at(w as f64).max(t + 1.0);
                    wake_gen[f] += 1;
                    q.push(tw, Ev::Wake { f, generation: wake_gen[f] });
                }
            }
            Ev::PingAtHost { f, n, t0 } => {
                let t1 = host_now(t);
                // The host answers after a few µs of processing.
                let tx = t + 20.0;
                let t2 = host_now(tx);
                packets += 1;
                if let Some(d) = setup.down[f].delay(tx, &mut link_rng[f]) {
                    q.push(tx + d, Ev::PongAtFollower { f, n, t0, t1, t2, epoch });
                }
            }
            Ev::PongAtFollower { f, n, t0, t1, t2, epoch } => {
                let t3 = setup.clocks[f].local(t).round() as i64;
                let Some(m) = methods[f].as_mut() else { continue };
                m.on_pong(t3, n, t0, t1, t2, epoch);
                // A method may want to send at another time after a pong (Link's next round).
                if let Some(w) = m.next_wake() {
                    let tw = setup.clocks[f].true_at(w as f64).max(t + 1.0);
                    wake_gen[f] += 1;
                    q.push(tw, Ev::Wake { f, generation: wake_gen[f] });
                }
            }
            Ev::TickSend => {
                let h = host_now(t);
                for f in 0..n {
                    if joined[f] {
                        if let Some(d) = setup.down[f].delay(t, &mut link_rng[f]) {
                            q.push(t + d, Ev::TickAtFollower { f, host: h, epoch });
                        }
                    }
                }
                q.push(t + 100_000.0, Ev::TickSend);
            }
            Ev::TickAtFollower { f, host, epoch } => {
                let local = setup.clocks[f].local(t).round() as i64;
                if let Some(m) = methods[f].as_mut() {
                    m.on_tick(local, host, epoch);
                }
            }
            Ev::Measure => {
                let h = t - host_origin;
                for f in 0..n {
                    let Some(m) = methods[f].as_ref() else { continue };
                    let local = setup.clocks[f].local(t);
                    let li = local.round() as i64;
                    // Steps count between two samples taken while synced: the jump *into* sync is
                    // the first sync itself.
                    let was_synced = synced_at[f].is_some();
                    if synced_at[f].is_none() && m.synced(li) {
                        synced_at[f] = Some(t);
                    }
                    let Some(est) = m.host_now(li) else { continue };
                    // Local time is rounded to whole µs, as a real clock reads.
                    let est = est + (local - li as f64) * (1.0 + setup.clocks[f].skew);
                    let err = est - h;
                    let since_restart = last_restart.map(|r| t - r);
                    let resyncing = since_restart.is_some_and(|s| s < setup.settle);
                    if let Some((pe, ph)) = prev_est[f] {
                        let step = ((est - pe) - (h - ph)).abs();
                        if was_synced && !resyncing && since_restart.is_none_or(|s| s > 20_000.0) {
                            report.max_step_us = report.max_step_us.max(step);
                        }
                    }
                    prev_est[f] = Some((est, h));
                    if t >= setup.joins[f] + setup.settle && !resyncing {
                        report.errors.push(err.abs());
                        report.ages.push((t - setup.joins[f]) / 1e6);
                    }
                }
                q.push(t + 10_000.0, Ev::Measure);
            }
        }
    }
    report.first_sync_ms = synced_at
        .iter()
        .zip(&setup.joins)
        .map(|(s, j)| s.map(|s| (s - j) / 1000.0))
        .try_fold(0.0f64, |acc, x| x.map(|x| acc.max(x)));
    report.packets_per_sec = packets as f64 / n as f64 / (setup.duration / 1e6);
    report
}
