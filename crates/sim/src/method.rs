//! The clock-sync methods the simulation compares, behind one small trait.
//!
//! - `bandsync`: [`bandsync_core::ClockSync`], as the client runs it.
//! - `seed-100ms`: the design notes' method. The server sends its position every 100 ms and a
//!   client sets its position when a tick arrives, so it runs one network delay behind, jumps at
//!   every tick, and knows nothing of skew.
//! - `link-median`: Ableton Link's measurement: a ping every 50 ms until 100 samples (two per
//!   pong), the median offset, no skew, re-measured every 30 s.

use bandsync_core::{ClockConfig, ClockSync, Micros};

/// A ping a method wants sent.
#[derive(Debug, Clone, Copy)]
pub struct Ping {
    /// Sequence number.
    pub n: u32,
    /// Local send time.
    pub t0: i64,
}

/// A clock-sync method running on one follower.
pub trait Method {
    /// The name in the benchmark table.
    fn name(&self) -> &'static str;
    /// The next local time this method wants to send something, if any.
    fn next_wake(&self) -> Option<i64>;
    /// Local time `now` has come: the pings to send.
    fn wake(&mut self, now: i64) -> Vec<Ping>;
    /// A pong arrived at local time `t3`.
    fn on_pong(&mut self, t3: i64, n: u32, t0: i64, t1: i64, t2: i64, epoch: u64);
    /// A position tick with host time `host` arrived at local time `local`.
    fn on_tick(&mut self, _local: i64, _host: i64, _epoch: u64) {}
    /// Whether the server must send position ticks to this method.
    fn wants_ticks(&self) -> bool {
        false
    }
    /// The method's idea of host time at local time `local`.
    fn host_now(&self, local: i64) -> Option<f64>;
    /// Whether the method considers itself synced.
    fn synced(&self, local: i64) -> bool;
}

/// BandSync's estimator.
pub struct BandSync(pub ClockSync);

impl BandSync {
    /// Starts at local time `now`.
    #[must_use]
    pub fn new(now: i64) -> Self {
        BandSync::with_config(now, ClockConfig::default())
    }

    /// Starts at local time `now`, tuned by `cfg` (another ping cadence, for what it costs).
    #[must_use]
    pub fn with_config(now: i64, cfg: ClockConfig) -> Self {
        BandSync(ClockSync::new(cfg, Micros(now)))
    }
}

impl Method for BandSync {
    fn name(&self) -> &'static str {
        "bandsync"
    }
    fn next_wake(&self) -> Option<i64> {
        Some(self.0.poll_timeout().0)
    }
    fn wake(&mut self, now: i64) -> Vec<Ping> {
        self.0.poll_ping(Micros(now)).map(|(n, t0)| Ping { n, t0: t0.0 }).into_iter().collect()
    }
    fn on_pong(&mut self, t3: i64, n: u32, t0: i64, t1: i64, t2: i64, epoch: u64) {
        self.0.handle_pong(Micros(t3), n, Micros(t0), Micros(t1), Micros(t2), epoch);
    }
    fn host_now(&self, local: i64) -> Option<f64> {
        self.0.to_host_f64(Micros(local))
    }
    fn synced(&self, local: i64) -> bool {
        self.0.status(Micros(local)).synced
    }
}

/// The design notes' 100 ms position tick.
#[derive(Default)]
pub struct Seed100ms {
    /// The last tick: host time and local arrival time.
    last: Option<(i64, i64)>,
}

impl Method for Seed100ms {
    fn name(&self) -> &'static str {
        "seed-100ms"
    }
    fn next_wake(&self) -> Option<i64> {
        None
    }
    fn wake(&mut self, _now: i64) -> Vec<Ping> {
        Vec::new()
    }
    fn on_pong(&mut self, _t3: i64, _n: u32, _t0: i64, _t1: i64, _t2: i64, _epoch: u64) {}
    fn on_tick(&mut self, local: i64, host: i64, _epoch: u64) {
        self.last = Some((host, local));
    }
    fn wants_ticks(&self) -> bool {
        true
    }
    fn host_now(&self, local: i64) -> Option<f64> {
        self.last.map(|(h, l)| (h + (local - l)) as f64)
    }
    fn synced(&self, _local: i64) -> bool {
        self.last.is_some()
    }
}

/// Ableton Link's median-of-samples measurement, repeated every 30 s, with no skew.
pub struct LinkMedian {
    next: i64,
    seq: u32,
    round: Vec<f64>,
    /// Host minus local, from the last complete round.
    offset: Option<f64>,
    epoch: Option<u64>,
}

const LINK_INTERVAL: i64 = 50_000;
const LINK_POINTS: usize = 100;
const LINK_REMEASURE: i64 = 30_000_000;

impl LinkMedian {
    /// Starts measuring at local time `now`.
    #[must_use]
    pub fn new(now: i64) -> Self {
        LinkMedian { next: now, seq: 0, round: Vec::new(), offset: None, epoch: None }
    }
}

impl Method for LinkMedian {
    fn name(&self) -> &'static str {
        "link-median"
    }
    fn next_wake(&self) -> Option<i64> {
        Some(self.next)
    }
    fn wake(&mut self, now: i64) -> Vec<Ping> {
        if now < self.next {
            return Vec::new();
        }
        self.seq += 1;
        self.next = now + LINK_INTERVAL;
        vec![Ping { n: self.seq, t0: now }]
    }
    fn on_pong(&mut self, t3: i64, _n: u32, t0: i64, t1: i64, t2: i64, epoch: u64) {
        if self.epoch != Some(epoch) {
            self.epoch = Some(epoch);
            self.round.clear();
            self.offset = None;
        }
        // Link takes two samples per exchange: the host time against each end of the round
        // trip's midpoint estimate.
        let mid = (t0 + t3) as f64 / 2.0;
        self.round.push(t1 as f64 - mid);
        self.round.push(t2 as f64 - mid);
        if self.round.len() > LINK_POINTS {
            self.round.sort_by(f64::total_cmp);
            self.offset = Some(self.round[self.round.len() / 2]);
            self.round.clear();
            self.next = t3 + LINK_REMEASURE;
        }
    }
    fn host_now(&self, local: i64) -> Option<f64> {
        self.offset.map(|o| local as f64 + o)
    }
    fn synced(&self, _local: i64) -> bool {
        self.offset.is_some()
    }
}
