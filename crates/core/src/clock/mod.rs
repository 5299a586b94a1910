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
//!
//! - here: [`ClockSync`], the estimator with its ping schedule, and its [`ClockStatus`];
//! - `config`: its tuning ([`ClockConfig`]);
//! - `sample`: one exchange's [`Sample`], and the local-to-host map ([`Xform`]);
//! - `fit`: the weighted fit of offset and skew over the window's samples;
//! - `distortion`: a device clock made wrong on purpose, for tests ([`Distortion`]).

mod config;
mod distortion;
mod fit;
mod sample;
#[cfg(test)]
mod tests;

pub use config::{ASKED_PING_MS, ClockConfig};
pub use distortion::Distortion;
pub use sample::{Sample, Xform};

use crate::time::Micros;
use fit::{Fit, fit};
use std::collections::VecDeque;

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

    /// Pings every `interval` once warmed up, from the next ping on (a server asked for another
    /// cadence, [`ASKED_PING_MS`]).
    pub fn set_steady_interval(&mut self, interval: Micros) {
        self.cfg.steady_interval = interval;
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
