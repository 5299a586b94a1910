//! The fit: offset and skew over the window's samples, weighted by what each sample's round trip
//! says about its error, with the uncertainty of both.

use super::config::ClockConfig;
use super::sample::{Sample, Xform};
use std::collections::VecDeque;

/// A fitted map with the uncertainty of its two parameters.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fit {
    pub(super) x: Xform,
    /// Standard error of the offset at `x.t_ref` from the samples' own errors, µs: without the
    /// skew's, which every sample shares.
    sigma_a: f64,
    /// Standard error of the skew.
    sigma_b: f64,
    /// The local time the offset's samples centre on (their weighted mean): the skew's error
    /// moves the estimate by its distance from here, at the newest sample as at any later time.
    t_centre: f64,
}

impl Fit {
    /// Three standard errors of the host time read through this fit at local `t`, and never
    /// less than 5 µs.
    pub(super) fn error_at(&self, t: f64) -> f64 {
        let dt = t - self.t_centre;
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
pub(super) fn fit(samples: &VecDeque<Sample>, cfg: &ClockConfig) -> Option<Fit> {
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
    // Each sample's weight counts the skew's uncertainty over its age, so that old samples weigh
    // less; but that uncertainty is one error shared by all of them, which averaging does not
    // shrink. The offset's own error therefore sums only the samples' independent parts, and
    // the skew's enters once, at the samples' centre (`Fit::error_at`). Summed as if independent,
    // the bound was 1.5 to 2.5 times too small through a jittery relay: the true error exceeded
    // it 5.4 % of the time instead of 0.3 % (`the_error_bound_covers_the_true_error_through_a_jittery_relay`).
    let (mut sum_w, mut sum_wo, mut sum_wwv, mut sum_wt) = (0.0, 0.0, 0.0, 0.0);
    for (s, v0) in kept.iter().zip(&var0) {
        let age = t_ref - s.at;
        let own = v0 * scale + walk * age / 1e6;
        let w = (own + age * age * var_b).recip();
        sum_w += w;
        sum_wo += w * (s.offset - b * (s.at - t_ref));
        sum_wwv += w * w * own;
        sum_wt += w * s.at;
    }
    let a = sum_wo / sum_w;
    let sigma_a = (sum_wwv / (sum_w * sum_w)).sqrt();
    Some(Fit { x: Xform { t_ref, a, b }, sigma_a, sigma_b: var_b.sqrt(), t_centre: sum_wt / sum_w })
}
