//! The device-clock filter: a regression from device frames to local time over many callbacks,
//! like Link's `HostTimeFilter`. Callback timing jitters and the sound card's crystal drifts from
//! the host's; a least-squares line through the last few hundred (frame, playback time) points
//! follows the drift and averages the jitter away. Pure, so it is tested in simulated time.
//!
//! The line's slope (the card's rate) comes from the whole window, its position from the last
//! 8 s only. Measured at the speaker through PulseAudio, a stream's reported playout wanders
//! against the host clock by ±200 µs over seconds, and at times shifts for good; a least-squares
//! intercept over a minute lagged such a shift, and two followers once played 0.9 ms apart while
//! each believed itself on time. Shorter stretches follow the report's noise instead (replayed
//! offline against recordings: 1 s gave p99 errors twice those of 8 s). See `docs/BENCHMARKS.md`,
//! "native followers".
//!
//! JACK's timestamps are not readings but its own clock's estimate (a delay-locked loop), which
//! every JACK client places its events by: a filter made [`DeviceClockFilter::following`] keeps
//! to them as they are.

use std::collections::VecDeque;

/// The points must span this long (µs) before the slope is fitted rather than nominal.
pub const MIN_SLOPE_SPAN_US: f64 = 2e6;

/// After a gap in the stream (an underrun), the slope before stands in until the new points span
/// as long a line as it came from, up to this long (µs): a 2 s line through a large buffer's
/// reports (±1.5 ms) is hundreds of ppm off, the long line before the gap within a few. After a
/// step in the playout it stands in for `MIN_SLOPE_SPAN_US`, as before (not measured yet: the
/// page's filters follow Chromium's steps through it). See [`DeviceClockFilter::gap`].
pub const SLOPE_KEPT_SPAN_US: f64 = 10e6;

/// A slope kept across a step or a gap, and how long a line it came from.
#[derive(Debug, Clone, Copy)]
struct KeptSlope {
    us_per_frame: f64,
    span_us: f64,
}

impl KeptSlope {
    /// How long the new points must span before their own slope replaces it.
    fn until_us(self) -> f64 {
        self.span_us.clamp(MIN_SLOPE_SPAN_US, SLOPE_KEPT_SPAN_US)
    }
}

/// The line's position is the mean of the points of this last stretch (µs of frames)...
pub const INTERCEPT_SPAN_US: f64 = 8e6;

/// ...or of at least this many of the last points, when the stretch holds fewer.
pub const INTERCEPT_MIN_POINTS: usize = 16;

/// While the points span less than four times [`INTERCEPT_SPAN_US`], the stretch is a quarter of
/// their span, and at least this: a young stream's playout still moves (Chromium's first seconds
/// drifted 10 ms in 2 s, which an 8 s mean followed far too slowly), an old one's wanders.
/// Replayed against 13 recordings of young native streams, the faster stretches (an eighth of the
/// span, or 2 s) halved the pair's median skew but followed dips in the reports that the sound did
/// not make, and longer ones lagged the reports' bend, which the sound did make
/// (`docs/BENCHMARKS.md`, "young streams").
pub const YOUNG_INTERCEPT_SPAN_US: f64 = 1e6;

/// A step in the playout: when every point of the last `STEP_SPAN_US` (at least
/// `STEP_MIN_POINTS` of them) lies more than `STEP_US` off the line of the points before, on the
/// same side, the stream moved for good (an output glitch the host did not report, a route
/// change): the points before it are dropped, so the line is on the new playout within
/// `STEP_SPAN_US` instead of drifting there over `INTERCEPT_SPAN_US`. The stream's own wander
/// stays inside it: ±200 µs natively, and a Chromium page's readings (its output timestamps
/// through the page's clock estimate) wander by up to a millisecond over seconds; following that
/// wander (as a 0.75 ms threshold did, ten times a minute in one run) trades the long average for
/// noise. A glitch of the kind that lost clicks at the speaker is several milliseconds.
pub const STEP_US: f64 = 1_500.0;

/// See [`STEP_US`].
pub const STEP_SPAN_US: f64 = 600e3;

/// See [`STEP_US`].
pub const STEP_MIN_POINTS: usize = 6;

/// A point of the last `STEP_SPAN_US` this far off the line, while the newest is back on it, was
/// a glitch (one late reading, a transient): it is dropped rather than averaged in.
pub const OUTLIER_US: f64 = 2_000.0;

/// The least-squares rate (µs per frame) of (frame, µs) points; `None` for fewer than two, or for
/// a rate more than 0.1 % from `nominal`: a sound card is within ±1000 ppm of nominal, anything
/// else is a glitch in the data.
pub fn least_squares_rate<'a>(points: impl Iterator<Item = &'a (f64, f64)> + Clone, nominal: f64) -> Option<f64> {
    let (n, sf, st) = points.clone().fold((0usize, 0.0, 0.0), |(n, f, t), p| (n + 1, f + p.0, t + p.1));
    if n < 2 {
        return None;
    }
    let (fm, tm) = (sf / n as f64, st / n as f64);
    let (sxx, sxy) = points.fold((0.0, 0.0), |(xx, xy), p| {
        let d = p.0 - fm;
        (xx + d * d, xy + d * (p.1 - tm))
    });
    let s = sxy / sxx;
    ((s / nominal - 1.0).abs() < 1e-3).then_some(s)
}

/// After a switch of time source, how fast the offset between the two sources' lines is taken up:
/// µs per µs (1 ms a second). Clicks move by at most 0.5 ms a beat at 120 BPM, and none is
/// skipped or doubled, where a step would lose or repeat one.
pub const SWITCH_SLEW: f64 = 1e-3;

/// How far (relative) the rate between a following filter's last two points may stray from
/// nominal before the nominal rate stands in. JACK's loop, re-settling after a stall, moves its
/// period by several per cent (by its gain, 0.4 % for each millisecond it was late at 256 frames);
/// a jump across the xrun itself is a whole stall in one cycle, hundreds of per cent.
pub const FOLLOW_RATE_TOLERANCE: f64 = 0.1;

/// A least-squares fit of local time (µs) against device frame, over a sliding window.
#[derive(Debug, Clone)]
pub struct DeviceClockFilter {
    /// Whether the line is the last point's own (see [`DeviceClockFilter::following`]).
    follow: bool,
    points: VecDeque<(f64, f64)>,
    capacity: usize,
    /// The line given out last (carry included), if any: frame, local µs, slope.
    last_fit: [f64; 3],
    has_fit: bool,
    /// Whether the last line holds since a switch of source, until the new source's points make
    /// one.
    holding: bool,
    /// The new source's line less the old one's, being taken up (µs), and the frame it is for.
    carry: f64,
    carry_at: f64,
    /// The slope before the last step or gap: the card's rate did not change with its playout,
    /// so it stands in until the new points can fit their own ([`KeptSlope::until_us`]).
    kept_slope: Option<KeptSlope>,
    steps: u64,
    outliers: u64,
}

impl DeviceClockFilter {
    /// A filter over the last `capacity` points (at least 2).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        DeviceClockFilter {
            follow: false,
            points: VecDeque::with_capacity(capacity),
            capacity: capacity.max(2),
            last_fit: [0.0; 3],
            has_fit: false,
            holding: false,
            carry: 0.0,
            carry_at: 0.0,
            kept_slope: None,
            steps: 0,
            outliers: 0,
        }
    }

    /// A filter for timestamps that are already a clock's smooth estimate, not raw readings:
    /// JACK's, which are its delay-locked loop's cycle times. Every JACK client maps frames to
    /// time through that loop (a MIDI port places its events by it), so the line is the newest
    /// point's, at the rate since the point before: averaging it again would put the click off
    /// the band's MIDI gear while the loop re-settles after an xrun (measured: up to 4.8 ms for
    /// 3 s after a 30 ms stall, and 0.9 ms for 6 s more; `tests/midi/phase.rs`). It keeps only
    /// the two points its line needs.
    #[must_use]
    pub fn following() -> Self {
        DeviceClockFilter { follow: true, ..Self::new(2) }
    }

    /// Adds a point: device frame `frame` is heard at local time `local_us`.
    pub fn push(&mut self, frame: u64, local_us: f64) {
        if self.points.len() == self.capacity {
            self.points.pop_front();
        }
        self.points.push_back((frame as f64, local_us));
    }

    /// Forgets every point (a new stream, or one settled after its first seconds: the old line no
    /// longer holds).
    pub fn reset(&mut self) {
        self.points.clear();
        self.kept_slope = None;
        self.has_fit = false;
        self.holding = false;
        self.carry = 0.0;
    }

    /// A gap in the stream (a buffer the device never played: an underrun): the playout after
    /// it is not the one before, but the card's rate is, so the points go and the slope stays
    /// until the new points span as long a line as it came from (2 to 10 s,
    /// [`SLOPE_KEPT_SPAN_US`]). Started afresh ([`DeviceClockFilter::reset`]), a stream off its
    /// nominal rate (a card's crystal, a clock that runs wrong) took the nominal rate for 2 s,
    /// then a short line's: one such follower played 1.1 ms off for seconds after an underrun,
    /// at the speaker (`docs/BENCHMARKS.md`). Gaps in a cluster keep the slope from before the
    /// first.
    pub fn gap(&mut self) {
        let span = self.span_us(self.last_fit[2]);
        // The line's own slope once its points could fit one; else the one it kept, if any.
        let fitted = self.has_fit && self.points.len() >= 8 && span >= self.min_slope_span();
        let kept =
            if fitted { Some(KeptSlope { us_per_frame: self.last_fit[2], span_us: span }) } else { self.kept_slope };
        self.reset();
        self.kept_slope = kept;
    }

    /// How long the points span (µs at `us_per_frame`).
    fn span_us(&self, us_per_frame: f64) -> f64 {
        match (self.points.front(), self.points.back()) {
            (Some(a), Some(b)) => (b.0 - a.0) * us_per_frame,
            _ => 0.0,
        }
    }

    /// How long the points must span before their own slope is fitted.
    fn min_slope_span(&self) -> f64 {
        self.kept_slope.map_or(MIN_SLOPE_SPAN_US, KeptSlope::until_us)
    }

    /// The points are to come from another source of the same clock (a browser's output
    /// timestamps dropped for its reported latency, or taken up again): the old points go, the
    /// line given out holds until the new points make one, and the new line is then moved to meet
    /// it and slews to its own place at [`SWITCH_SLEW`].
    pub fn switch_source(&mut self) {
        self.points.clear();
        self.kept_slope = None;
        self.holding = self.has_fit;
    }

    /// Glitch points dropped since the filter was made (see [`OUTLIER_US`]).
    #[must_use]
    pub fn outliers(&self) -> u64 {
        self.outliers
    }

    /// Steps in the playout followed since the filter was made (see [`STEP_US`]).
    #[must_use]
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Points held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether there are no points.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The fitted line as (frame, local µs at that frame, local µs per frame); `None` without
    /// points.
    ///
    /// The slope is a least-squares fit over the whole window (up to about a minute of callbacks):
    /// a sound card's rate against the host clock is steady, so a long line averages callback
    /// jitter away and gives clicks whose spacing in device frames is constant. Until the points
    /// span `MIN_SLOPE_SPAN_US` the slope is the nominal rate, or the one kept across a step (or
    /// a gap, longer: [`DeviceClockFilter::gap`]). The line passes through the mean of the last
    /// `INTERCEPT_SPAN_US` of points (at least `INTERCEPT_MIN_POINTS`), so it follows the stream's
    /// playout as it wanders; a step in the playout (see [`STEP_US`]) is followed at once.
    pub fn fit(&mut self, nominal_us_per_frame: f64) -> Option<(f64, f64, f64)> {
        if self.follow {
            return self.newest_line(nominal_us_per_frame);
        }
        self.follow_step(nominal_us_per_frame);
        let raw = self.fit_of(self.points.len(), nominal_us_per_frame);
        let span = self.span_us(nominal_us_per_frame);
        self.carried(raw, span)
    }

    /// The line given out: `raw` moved by the carry of a switch of source (see
    /// [`DeviceClockFilter::switch_source`]), or the old line while the new one is too young.
    #[inline(never)]
    fn carried(&mut self, raw: Option<(f64, f64, f64)>, span: f64) -> Option<(f64, f64, f64)> {
        let young = self.points.len() < INTERCEPT_MIN_POINTS || span < YOUNG_INTERCEPT_SPAN_US;
        let [of, ol, os] = self.last_fit;
        if self.holding && young {
            return Some((of, ol, os));
        }
        let (fm, lm, slope) = raw?;
        if self.holding {
            self.holding = false;
            self.carry = ol + (fm - of) * os - lm;
        } else {
            // (`max` and `min`, not `clamp`, whose panic message formats floats.)
            let most = SWITCH_SLEW * ((fm - self.carry_at) * slope).abs();
            self.carry -= self.carry.max(-most).min(most);
        }
        self.carry_at = fm;
        self.last_fit = [fm, lm + self.carry, slope];
        self.has_fit = true;
        Some((fm, lm + self.carry, slope))
    }

    /// Drops the points before a step in the playout, if the last ones show one, and a passing
    /// glitch's points.
    fn follow_step(&mut self, nominal_us_per_frame: f64) {
        let Some(&(last, _)) = self.points.back() else { return };
        let since = last - STEP_SPAN_US / nominal_us_per_frame;
        let recent = self.points.iter().rev().take_while(|p| p.0 >= since).count();
        let before = self.points.len() - recent;
        if recent < STEP_MIN_POINTS || before < INTERCEPT_MIN_POINTS {
            return;
        }
        let Some((fm, lm, slope)) = self.fit_of(before, nominal_us_per_frame) else { return };
        let off = |p: &(f64, f64)| p.1 - (lm + (p.0 - fm) * slope);
        let recent_points = || self.points.iter().skip(before);
        if recent_points().all(|p| off(p) > STEP_US) || recent_points().all(|p| off(p) < -STEP_US) {
            self.points.drain(..before);
            // Kept for `MIN_SLOPE_SPAN_US` after a step, as before: only a gap keeps it longer
            // (measured for gaps; a step's playout may come with a new rate, as Chromium's do).
            self.kept_slope = Some(KeptSlope { us_per_frame: slope, span_us: 0.0 });
            self.steps += 1;
        } else if self.points.back().is_some_and(|p| off(p).abs() <= STEP_US)
            && recent_points().any(|p| off(p).abs() > OUTLIER_US)
        {
            let kept: Vec<(f64, f64)> = recent_points().filter(|p| off(p).abs() <= OUTLIER_US).copied().collect();
            self.outliers += (recent - kept.len()) as u64;
            self.points.truncate(before);
            self.points.extend(kept);
        }
    }

    /// A following filter's line: through the newest point, at the rate since the one before.
    fn newest_line(&self, nominal_us_per_frame: f64) -> Option<(f64, f64, f64)> {
        let &(f1, t1) = self.points.back()?;
        let rate = self.points.iter().rev().nth(1).map(|&(f0, t0)| (t1 - t0) / (f1 - f0));
        let slope = rate
            .filter(|r| (r / nominal_us_per_frame - 1.0).abs() <= FOLLOW_RATE_TOLERANCE)
            .unwrap_or(nominal_us_per_frame);
        Some((f1, t1, slope))
    }

    /// The line through the first `n` points.
    fn fit_of(&self, n: usize, nominal_us_per_frame: f64) -> Option<(f64, f64, f64)> {
        let points = || self.points.iter().take(n);
        let (first, last) = (self.points.front()?.0, self.points.get(n.checked_sub(1)?)?.0);
        let span_us = (last - first) * nominal_us_per_frame;
        let kept = self.kept_slope.map_or(nominal_us_per_frame, |k| k.us_per_frame);
        let slope = if n >= 8 && span_us >= self.min_slope_span() {
            least_squares_rate(points(), nominal_us_per_frame).unwrap_or(kept)
        } else {
            kept
        };
        let stretch = (span_us / 4.0).clamp(YOUNG_INTERCEPT_SPAN_US, INTERCEPT_SPAN_US);
        let since = last - stretch / nominal_us_per_frame;
        let recent = self
            .points
            .iter()
            .take(n)
            .rev()
            .enumerate()
            .take_while(|(i, p)| p.0 >= since || *i < INTERCEPT_MIN_POINTS)
            .count();
        let (mut rf, mut rl) = (0.0, 0.0);
        for p in self.points.iter().take(n).rev().take(recent) {
            rf += p.0;
            rl += p.1;
        }
        Some((rf / recent as f64, rl / recent as f64, slope))
    }

    /// Local time (µs) at which `frame` is heard, through the fit.
    pub fn local_at(&mut self, frame: u64, nominal_us_per_frame: f64) -> Option<f64> {
        let (fm, lm, slope) = self.fit(nominal_us_per_frame)?;
        Some(lm + (frame as f64 - fm) * slope)
    }
}

#[cfg(test)]
mod tests;
