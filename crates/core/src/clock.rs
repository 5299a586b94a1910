//! The clock estimator: what time is it on the host, read from this device's clock.
//!
//! NTP-style four-timestamp exchanges (`ping`/`pong`) give samples of the offset between the
//! host clock and the local one, each spoiled by queueing delay. The estimator:
//! - **warms up** with a burst of pings at join, then settles to a slower rate;
//! - **filters**: keeps the samples with the smallest round trip in a sliding window, because a
//!   sample that waited in a queue is biased by half its extra delay, in an unknown direction;
//! - **estimates offset and skew** by least squares over the kept samples (skew only once they
//!   span a few seconds), so that between samples and through outages the estimate follows the
//!   local oscillator's frequency error;
//! - **slews** corrections at a bounded rate, so that a click never moves by more than a few
//!   microseconds from one to the next, and **steps** only at first sync, after a host restart
//!   (a new epoch), or when the error is too large to slew away quickly.
//!
//! Sans-IO: every method takes the local time `now`; nothing here reads a clock or sends a
//! packet. The driver sends the pings [`ClockSync::poll_ping`] hands out and feeds pongs back.

use crate::time::Micros;
use std::collections::VecDeque;

/// Tuning of the estimator. The defaults are what `bandsync` uses.
#[derive(Debug, Clone)]
pub struct ClockConfig {
    /// Pings in the warm-up burst.
    pub burst_count: u32,
    /// Interval between warm-up pings.
    pub burst_interval: Micros,
    /// Interval between pings once warmed up.
    pub steady_interval: Micros,
    /// How far back samples are kept.
    pub window: Micros,
    /// Most samples kept.
    pub max_samples: usize,
    /// Fraction of the window's samples, those with the smallest round trip, that the fit uses.
    pub keep_fraction: f64,
    /// Fewest samples the fit uses (when there are that many).
    pub min_keep: usize,
    /// How fast the path's asymmetry is assumed to wander (µs per √s). Larger follows a changed
    /// route sooner; smaller averages more samples.
    pub asymmetry_walk_us: f64,
    /// The largest skew believed, in ppm: crystals are within ±200 ppm.
    pub max_skew_ppm: f64,
    /// Fastest slew of a correction, in parts per million of elapsed time.
    pub slew_ppm: f64,
    /// A correction larger than this is stepped instead of slewed.
    pub step_threshold: Micros,
    /// A ping unanswered after this long counts as lost.
    pub ping_timeout: Micros,
    /// The estimated error under which the clock counts as synced.
    pub synced_error: Micros,
    /// How fast the error bound grows without fresh samples (ppm), for outages.
    pub holdover_ppm: f64,
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig {
            burst_count: 40,
            burst_interval: Micros::from_millis(15),
            steady_interval: Micros::from_millis(50),
            window: Micros::from_secs(60),
            max_samples: 1200,
            keep_fraction: 1.0,
            min_keep: 5,
            asymmetry_walk_us: 30.0,
            max_skew_ppm: 500.0,
            slew_ppm: 1_000.0,
            step_threshold: Micros::from_millis(20),
            ping_timeout: Micros::from_secs(2),
            synced_error: Micros::from_millis(1),
            holdover_ppm: 2.0,
        }
    }
}

/// One exchange: the offset it implies and how long the round trip took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Local time halfway through the exchange.
    pub at: f64,
    /// Host minus local, µs.
    pub offset: f64,
    /// Round-trip time minus the host's processing time, µs.
    pub rtt: f64,
}

impl Sample {
    /// The sample from a ping sent at local `t0`, received by the host at `t1`, answered at host
    /// `t2`, and whose pong arrived at local `t3`.
    #[must_use]
    pub fn from_exchange(t0: Micros, t1: Micros, t2: Micros, t3: Micros) -> Self {
        let (t0, t1, t2, t3) = (t0.0 as f64, t1.0 as f64, t2.0 as f64, t3.0 as f64);
        Sample { at: (t0 + t3) / 2.0, offset: ((t1 - t0) + (t2 - t3)) / 2.0, rtt: ((t3 - t0) - (t2 - t1)).max(0.0) }
    }
}

/// A linear map from local time to host time: `host = local + a + b * (local - t_ref)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Xform {
    /// Local time the map is anchored at.
    pub t_ref: f64,
    /// Host minus local at `t_ref`, µs.
    pub a: f64,
    /// How much faster the host clock runs than the local one (0.0001 is 100 ppm).
    pub b: f64,
}

impl Xform {
    /// Host minus local at local time `t`.
    #[must_use]
    pub fn offset_at(&self, t: f64) -> f64 {
        self.a + self.b * (t - self.t_ref)
    }
}

/// What the estimator knows, for display and for the participant view.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ClockStatus {
    /// Host minus local, µs, as applied now (after slewing).
    pub offset_us: i64,
    /// Host rate relative to local, ppm.
    pub skew_ppm: f64,
    /// The smallest recent round trip, µs.
    pub rtt_us: i64,
    /// Estimated bound on the error of host time read through this estimator, µs.
    pub error_us: i64,
    /// Whether the error is within [`ClockConfig::synced_error`].
    pub synced: bool,
    /// Samples in the window.
    pub samples: u32,
}

/// The estimator with its ping schedule.
#[derive(Debug, Clone)]
pub struct ClockSync {
    cfg: ClockConfig,
    /// Samples in the window, oldest first.
    samples: VecDeque<Sample>,
    /// Pings in flight: sequence number and local send time.
    outstanding: VecDeque<(u32, Micros)>,
    next_seq: u32,
    sent: u32,
    next_ping: Micros,
    /// The host clock's epoch the samples belong to.
    epoch: Option<u64>,
    /// The fitted map, once there is one.
    target: Option<Xform>,
    /// The fit behind `target`, for its error; and when (local) the newest sample was taken.
    fit: Option<Fit>,
    last_sample_at: f64,
    /// The slewing correction: at local `since`, applied minus target was `residual` µs.
    residual: f64,
    since: f64,
    /// Largest correction ever stepped, for diagnostics.
    steps: u32,
    /// Set at the first sync: from then on corrections slew (or, if huge, step).
    locked: bool,
}

impl ClockSync {
    /// A new estimator that sends its first ping at `now`.
    #[must_use]
    pub fn new(cfg: ClockConfig, now: Micros) -> Self {
        ClockSync {
            cfg,
            samples: VecDeque::new(),
            outstanding: VecDeque::new(),
            next_seq: 1,
            sent: 0,
            next_ping: now,
            epoch: None,
            target: None,
            fit: None,
            last_sample_at: 0.0,
            residual: 0.0,
            since: 0.0,
            steps: 0,
            locked: false,
        }
    }

    /// When the next ping is due (local time).
    #[must_use]
    pub fn poll_timeout(&self) -> Micros {
        self.next_ping
    }

    /// The ping to send now, if one is due: its sequence number and `t0`.
    pub fn poll_ping(&mut self, now: Micros) -> Option<(u32, Micros)> {
        if now < self.next_ping {
            return None;
        }
        let n = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.sent += 1;
        let interval =
            if self.sent < self.cfg.burst_count { self.cfg.burst_interval } else { self.cfg.steady_interval };
        self.next_ping = now + interval;
        while self.outstanding.front().is_some_and(|&(_, t)| now - t > self.cfg.ping_timeout) {
            self.outstanding.pop_front();
        }
        self.outstanding.push_back((n, now));
        Some((n, now))
    }

    /// Restarts the warm-up burst, for instance after a reconnect.
    pub fn rewarm(&mut self, now: Micros) {
        self.sent = 0;
        self.next_ping = now;
    }

    /// A pong arrived at local time `now`.
    ///
    /// Pongs for unknown or timed-out pings are ignored (a duplicate, or one so late that its
    /// round trip says nothing useful). A new epoch means the host restarted: the samples of
    /// the old epoch are dropped and the next fit is stepped to.
    pub fn handle_pong(&mut self, now: Micros, n: u32, t0: Micros, t1: Micros, t2: Micros, epoch: u64) {
        let Some(idx) = self.outstanding.iter().position(|&(k, t)| k == n && t == t0) else { return };
        self.outstanding.remove(idx);
        if now - t0 > self.cfg.ping_timeout || now < t0 {
            return;
        }
        if self.epoch != Some(epoch) {
            self.new_epoch(now, epoch);
        }
        let s = Sample::from_exchange(t0, t1, t2, now);
        self.samples.push_back(s);
        let horizon = now.0 as f64 - self.cfg.window.0 as f64;
        while self.samples.len() > self.cfg.max_samples || self.samples.front().is_some_and(|x| x.at < horizon) {
            self.samples.pop_front();
        }
        self.last_sample_at = s.at;
        self.refit(now.0 as f64);
    }

    /// The host clock epoch the estimate is on, once a pong came.
    #[must_use]
    pub fn epoch(&self) -> Option<u64> {
        self.epoch
    }

    /// The host's clock is now the one of `epoch`, a new one (the host restarted): what was
    /// learned about the old one goes, and the estimate syncs again from the warm-up burst.
    pub fn new_epoch(&mut self, now: Micros, epoch: u64) {
        if self.epoch.is_some_and(|e| e != epoch) {
            self.samples.clear();
            self.locked = false;
            self.target = None;
            self.fit = None;
            self.outstanding.clear();
            self.rewarm(now);
        }
        self.epoch = Some(epoch);
    }

    /// The host's clock of epoch `from` continues as the clock of epoch `to`, `shift` µs ahead
    /// (a session carried to another server, which knows how its clock maps onto the old one's).
    /// An estimate on epoch `from` moves by `shift` and stays synced: what it learned about this
    /// device's clock, its samples and skew, still holds. The new clock's samples then refine it,
    /// slewing away whatever error the shift had (the two servers' wall clocks' disagreement).
    /// Returns whether the estimate was on `from`; if not, nothing changes.
    pub fn rebase(&mut self, from: u64, to: u64, shift: Micros) -> bool {
        if self.epoch != Some(from) {
            return false;
        }
        let d = shift.0 as f64;
        self.epoch = Some(to);
        for s in &mut self.samples {
            s.offset += d;
        }
        if let Some(x) = &mut self.target {
            x.a += d;
        }
        if let Some(f) = &mut self.fit {
            f.x.a += d;
        }
        // Pings sent to the old server are never answered now.
        self.outstanding.clear();
        true
    }

    fn refit(&mut self, now: f64) {
        let Some(f) = fit(&self.samples, &self.cfg) else { return };
        let fit = f.x;
        match self.target {
            // Until the first sync nothing is playing on this estimate: follow the fit directly.
            _ if !self.locked => {
                self.target = Some(fit);
                self.residual = 0.0;
                self.since = now;
                self.fit = Some(f);
                let warmed = self.samples.len() as u32 >= self.cfg.burst_count / 2;
                if warmed && self.error_bound(Micros(now as i64)) <= self.cfg.synced_error.0 as f64 {
                    self.locked = true;
                }
            }
            None => {
                self.target = Some(fit);
                self.residual = 0.0;
                self.since = now;
            }
            Some(old) => {
                // Keep the applied map continuous: the old applied value becomes the residual
                // over the new target, and slews away from there.
                let applied = old.offset_at(now) + self.residual_at(now);
                let r = applied - fit.offset_at(now);
                if r.abs() > self.cfg.step_threshold.0 as f64 {
                    self.steps += 1;
                    self.residual = 0.0;
                } else {
                    self.residual = r;
                }
                self.since = now;
                self.target = Some(fit);
            }
        }
        self.fit = Some(f);
    }

    fn residual_at(&self, t: f64) -> f64 {
        if self.residual == 0.0 {
            return 0.0;
        }
        let decay = (t - self.since).max(0.0) * self.cfg.slew_ppm * 1e-6;
        if decay >= self.residual.abs() { 0.0 } else { self.residual - decay * self.residual.signum() }
    }

    /// Host minus local at local time `t`, as applied (slewed).
    #[must_use]
    pub fn offset_at(&self, t: Micros) -> Option<f64> {
        let x = self.target?;
        let t = t.0 as f64;
        Some(x.offset_at(t) + self.residual_at(t))
    }

    /// Host time at local time `local`, or `None` before the first sample.
    #[must_use]
    pub fn to_host(&self, local: Micros) -> Option<Micros> {
        self.offset_at(local).map(|o| Micros(local.0 + o.round() as i64))
    }

    /// Host time at local time `local`, in fractional µs (for sub-µs accounting in tests).
    #[must_use]
    pub fn to_host_f64(&self, local: Micros) -> Option<f64> {
        self.offset_at(local).map(|o| local.0 as f64 + o)
    }

    /// Local time at host time `host`, or `None` before the first sample.
    #[must_use]
    pub fn to_local(&self, host: Micros) -> Option<Micros> {
        let mut guess = host.0 as f64 - self.offset_at(host)?;
        for _ in 0..3 {
            guess = host.0 as f64 - self.offset_at(Micros(guess.round() as i64))?;
        }
        Some(Micros(guess.round() as i64))
    }

    /// The estimated error bound at local time `now`: the fit's, plus any correction still being
    /// slewed, plus drift allowance since the newest sample.
    #[must_use]
    pub fn error_bound(&self, now: Micros) -> f64 {
        if self.target.is_none() {
            return f64::INFINITY;
        }
        let t = now.0 as f64;
        let holdover = (t - self.last_sample_at).max(0.0) * self.cfg.holdover_ppm * 1e-6;
        let fit = self.fit.map_or(f64::INFINITY, |f| f.error_at(t));
        fit + self.residual_at(t).abs() + holdover
    }

    /// Everything the estimator knows, at local time `now`.
    #[must_use]
    pub fn status(&self, now: Micros) -> ClockStatus {
        let err = self.error_bound(now);
        ClockStatus {
            offset_us: self.offset_at(now).map_or(0, |o| o.round() as i64),
            skew_ppm: self.target.map_or(0.0, |x| x.b * 1e6),
            rtt_us: self.samples.iter().map(|s| s.rtt).fold(f64::INFINITY, f64::min).min(1e12) as i64,
            error_us: if err.is_finite() { err.round() as i64 } else { i64::MAX },
            synced: self.locked && err <= self.cfg.synced_error.0 as f64,
            samples: u32::try_from(self.samples.len()).unwrap_or(u32::MAX),
        }
    }

    /// Whether the estimate has reached its first sync (and since then only slews). Stays true
    /// through outages, when the error bound grows: a follower keeps time on its estimate.
    #[must_use]
    pub fn has_synced(&self) -> bool {
        self.locked
    }

    /// Whether a host-time estimate exists yet.
    #[must_use]
    pub fn has_estimate(&self) -> bool {
        self.target.is_some()
    }

    /// How many times a correction was stepped rather than slewed (the first sync not counted).
    #[must_use]
    pub fn steps(&self) -> u32 {
        self.steps
    }
}

/// A fitted map with the uncertainty of its two parameters.
#[derive(Debug, Clone, Copy)]
struct Fit {
    x: Xform,
    /// Standard error of the offset at `x.t_ref`, µs.
    sigma_a: f64,
    /// Standard error of the skew.
    sigma_b: f64,
}

impl Fit {
    /// Three standard errors of the host time read through this fit at local `t`, and never
    /// less than 5 µs.
    fn error_at(&self, t: f64) -> f64 {
        let dt = t - self.x.t_ref;
        (3.0 * (self.sigma_a.powi(2) + (dt * self.sigma_b).powi(2)).sqrt()).max(5.0)
    }
}

/// Inverse-variance weighted fit of offset and skew over the window's samples.
///
/// The error model: a sample whose round trip exceeds the window's best by `e` µs carries an
/// offset error of up to ±e/2 (the extra delay sat in one direction or the other), so its
/// variance is `σ₀² + e²/12`. Skew is the posterior mean under a prior of N(0, (max/2)²), so
/// that few samples barely move it and a full window decides it. The offset is fitted at the
/// newest sample, where an older sample's variance also grows with its age: by the skew's
/// uncertainty carried over that age, and by a slow random walk of the path's asymmetry. The
/// model's variances are scaled up if the residuals say they were optimistic.
fn fit(samples: &VecDeque<Sample>, cfg: &ClockConfig) -> Option<Fit> {
    if samples.is_empty() {
        return None;
    }
    let mut by_rtt: Vec<&Sample> = samples.iter().collect();
    let keep = ((samples.len() as f64 * cfg.keep_fraction).ceil() as usize).max(cfg.min_keep).min(samples.len());
    // Smallest round trip first; among equals, the newest. Only the split point and the four
    // best need ordering, which keeps a refit linear in the window.
    let order = |a: &&Sample, b: &&Sample| a.rtt.total_cmp(&b.rtt).then(b.at.total_cmp(&a.at));
    if keep < by_rtt.len() {
        by_rtt.select_nth_unstable_by(keep, order);
    }
    let kept = &mut by_rtt[..keep];
    let four = kept.len().min(4);
    if four < kept.len() {
        kept.select_nth_unstable_by(four - 1, order);
    }
    kept[..four].sort_by(order);
    let kept = &*kept;
    let best = kept[0].rtt;
    const SIGMA0_SQ: f64 = 20.0 * 20.0;
    // The best sample is not free of queueing either: how far above the floor it sits is about
    // the gap to the next few best, which therefore adds to every sample's excess.
    let gap = kept[four - 1].rtt - best;
    let var0: Vec<f64> = kept.iter().map(|s| SIGMA0_SQ + (s.rtt - best + gap).powi(2) / 12.0).collect();
    // Skew: weighted regression with a prior.
    let w: Vec<f64> = var0.iter().map(|v| v.recip()).collect();
    let sw: f64 = w.iter().sum();
    let t_mean = kept.iter().zip(&w).map(|(s, w)| s.at * w).sum::<f64>() / sw;
    let o_mean = kept.iter().zip(&w).map(|(s, w)| s.offset * w).sum::<f64>() / sw;
    let sxx: f64 = kept.iter().zip(&w).map(|(s, w)| w * (s.at - t_mean).powi(2)).sum();
    let sxy: f64 = kept.iter().zip(&w).map(|(s, w)| w * (s.at - t_mean) * (s.offset - o_mean)).sum();
    let tau = cfg.max_skew_ppm * 0.5e-6;
    let info = sxx + 1.0 / (tau * tau);
    let max_b = cfg.max_skew_ppm * 1e-6;
    let b = (sxy / info).clamp(-max_b, max_b);
    // How far the model's variances were off, from the residuals (never below 1).
    let n = kept.len() as f64;
    let chi2: f64 = kept.iter().zip(&w).map(|(s, w)| w * (s.offset - o_mean - b * (s.at - t_mean)).powi(2)).sum();
    let scale = if n > 2.0 { (chi2 / (n - 2.0)).max(1.0) } else { 1.0 };
    let var_b = scale / info;
    // Offset at the newest sample.
    let t_ref = kept.iter().map(|s| s.at).fold(f64::NEG_INFINITY, f64::max);
    let walk = cfg.asymmetry_walk_us * cfg.asymmetry_walk_us; // µs² per second of age
    let mut sum_w = 0.0;
    let mut sum_wo = 0.0;
    for (s, v0) in kept.iter().zip(&var0) {
        let age = t_ref - s.at;
        let v = v0 * scale + age * age * var_b + walk * age / 1e6;
        sum_w += v.recip();
        sum_wo += (s.offset - b * (s.at - t_ref)) / v;
    }
    let a = sum_wo / sum_w;
    Some(Fit { x: Xform { t_ref, a, b }, sigma_a: sum_w.recip().sqrt(), sigma_b: var_b.sqrt() })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs one exchange with fixed one-way delays against a host clock `host(local)`.
    fn exchange(c: &mut ClockSync, now: Micros, up: i64, down: i64, host: impl Fn(i64) -> i64) -> Micros {
        exchange_on(9, c, now, up, down, host)
    }

    /// As [`exchange`], with a host clock of epoch `epoch`.
    fn exchange_on(
        epoch: u64,
        c: &mut ClockSync,
        now: Micros,
        up: i64,
        down: i64,
        host: impl Fn(i64) -> i64,
    ) -> Micros {
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
}
