//! A recording turned into click times: the WAV that `parecord` writes, each click's onset to a
//! fraction of a sample, and the figures the speaker tests report (offsets between players,
//! intervals, a channel's rhythm, quantiles and spreads, and where a sink's clock glitched).

use std::path::Path;

/// The sample rate of every recording (and every sink: [`crate::pulse`]).
pub const RATE: u32 = 48_000;

/// Reads a float32 WAV (as parecord writes it) into per-channel sample vectors.
///
/// # Panics
/// If the file is not such a WAV.
#[must_use]
pub fn read_wav(path: &Path) -> Vec<Vec<f32>> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&b[0..4], b"RIFF", "{} is not a WAV", path.display());
    let mut i = 12;
    let mut channels = 2usize;
    while i + 8 <= b.len() {
        let id = &b[i..i + 4];
        let len = u32::from_le_bytes(b[i + 4..i + 8].try_into().unwrap()) as usize;
        if id == b"fmt " {
            channels = u16::from_le_bytes(b[i + 10..i + 12].try_into().unwrap()) as usize;
        }
        if id == b"data" {
            // parecord stopped early may leave the length unset: read to the end then.
            let end = if len == 0 || len == u32::MAX as usize { b.len() } else { (i + 8 + len).min(b.len()) };
            let data = &b[i + 8..end];
            let mut out = vec![Vec::new(); channels];
            for (k, s) in data.chunks_exact(4).enumerate() {
                out[k % channels].push(f32::from_le_bytes(s.try_into().unwrap()));
            }
            return out;
        }
        i += 8 + len + (len & 1);
    }
    panic!("no data chunk in {}", path.display());
}

/// Sample indices where a click starts: above `0.05` after at least 5 ms of near-silence.
#[must_use]
pub fn onsets(x: &[f32]) -> Vec<usize> {
    onsets_exact(x).into_iter().map(|t| t.floor() as usize).collect()
}

/// Where each click starts, in fractional samples: the first sample above `0.05` within 1 ms of
/// the end of at least 5 ms of near-silence (a click resampled from 44.1 kHz rings a little before
/// it rises), at least 5 ms after the previous onset, refined by interpolating where the rising
/// edge crosses the threshold. Every player's click has the same shape, so the refinement is the
/// same for all of them, and whole-sample quantisation (0.02 ms at 48 kHz) does not enter a
/// comparison.
#[must_use]
pub fn onsets_exact(x: &[f32]) -> Vec<f64> {
    const THRESHOLD: f32 = 0.05;
    const QUIET: f32 = 0.01;
    let ms = RATE as usize / 1000;
    let mut out: Vec<f64> = Vec::new();
    let mut quiet_run = 5 * ms;
    let mut quiet_end: Option<usize> = Some(0);
    for (i, &s) in x.iter().enumerate() {
        let a = s.abs();
        if a < QUIET {
            quiet_run += 1;
            continue;
        }
        if quiet_run >= 5 * ms {
            quiet_end = Some(i);
        }
        quiet_run = 0;
        let fresh = out.last().is_none_or(|&o| i as f64 - o > 5.0 * ms as f64);
        if a > THRESHOLD && fresh && quiet_end.is_some_and(|j| i - j <= ms) {
            let prev = if i > 0 { x[i - 1].abs() } else { 0.0 };
            let frac = f64::from((THRESHOLD - prev) / (a - prev)).clamp(0.0, 1.0);
            out.push(i as f64 - 1.0 + frac);
            quiet_end = None;
        }
    }
    out
}

pub use bandsync_sim::stats::quantile;

/// For each onset in `a`, the signed distance in ms to the nearest onset in `b`, for pairs closer
/// than a quarter second (farther ones are different clicks).
#[must_use]
pub fn pair_offsets_ms(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter()
        .filter_map(|&x| b.iter().map(|&y| y - x).min_by(|p, q| p.abs().total_cmp(&q.abs())))
        .filter(|d| d.abs() < f64::from(RATE) / 4.0)
        .map(|d| d * 1000.0 / f64::from(RATE))
        .collect()
}

/// One channel's click intervals, in whole samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intervals {
    /// Their median.
    pub median: i64,
    /// The shortest and the longest.
    pub range: (i64, i64),
    /// Each one off the median by more than 4 samples (0.083 ms): (where it ends, by how much).
    pub outliers: Vec<(i64, i64)>,
}

/// The intervals between one channel's clicks (onsets in samples), against their median.
#[must_use]
pub fn intervals(on: &[f64]) -> Intervals {
    let on: Vec<i64> = on.iter().map(|&t| t.floor() as i64).collect();
    let iv: Vec<i64> = on.windows(2).map(|w| w[1] - w[0]).collect();
    let mut sorted = iv.clone();
    sorted.sort_unstable();
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0);
    let range = (sorted.first().copied().unwrap_or(0), sorted.last().copied().unwrap_or(0));
    let outliers =
        iv.iter().zip(&on[1.min(on.len())..]).filter(|(i, _)| (**i - median).abs() > 4).map(|(i, &t)| (t, i - median));
    Intervals { median, range, outliers: outliers.collect() }
}

/// A stall of the sound server, heard in two players' channels at once: where (samples), and by
/// how much each channel's interval was off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkGlitch {
    /// Where the first channel's displaced interval ends (samples).
    pub at: i64,
    /// The first channel's interval, off its median by this (samples).
    pub a: i64,
    /// The second channel's.
    pub b: i64,
}

/// The sound server's stalls: an interval off in both channels ([`Intervals::outliers`]) within
/// half a beat (`beat` in samples). A stall moves every stream at the same moment, each by its
/// own amount as each stream's buffer absorbs it; that is the machine, heard alike by a player of
/// any kind. A player's own error shows in its channel alone. A comparison of paths is judged on
/// the clicks before the first glitch.
#[must_use]
pub fn sink_glitches(a: &[(i64, i64)], b: &[(i64, i64)], beat: i64) -> Vec<SinkGlitch> {
    a.iter()
        .filter_map(|&(at, da)| {
            b.iter().find(|&&(u, _)| (u - at).abs() < beat / 2).map(|&(_, db)| SinkGlitch { at, a: da, b: db })
        })
        .collect()
}

/// The longest stretch of a recording of `len` samples clear of the sound server's glitches (at
/// `glitches`, samples): from 4 beats after one (the players have read their new output delays)
/// to 1.5 beats before the next; longest by the reference's clicks (`reference`) in it.
pub fn clear_stretch(glitches: &[f64], beat: f64, len: f64, reference: &[f64]) -> (f64, f64) {
    let starts = std::iter::once(0.0).chain(glitches.iter().map(|g| g + 4.0 * beat));
    let ends = glitches.iter().map(|g| g - 1.5 * beat).chain(std::iter::once(len));
    starts
        .zip(ends)
        .filter(|(a, b)| a < b)
        .max_by_key(|&(a, b)| reference.iter().filter(|&&t| t >= a && t < b).count())
        .unwrap_or((0.0, 0.0))
}

/// The distance (samples, `path`'s minus `r`) to the click of `path` nearest `r`, if one lies
/// within `w` samples of it.
#[must_use]
pub fn nearest(path: &[f64], r: f64, w: f64) -> Option<f64> {
    path.iter().map(|&p| p - r).filter(|d| d.abs() <= w).min_by(|a, b| a.abs().total_cmp(&b.abs()))
}

/// One channel's own rhythm, from its onsets (samples).
#[derive(Debug, Clone, PartialEq)]
pub struct Rhythm {
    /// The median interval (ms).
    pub period_ms: f64,
    /// Each interval's distance from it (ms), for those within a quarter of it: a click missing
    /// or an extra onset is not jitter.
    pub jitter_ms: Vec<f64>,
    /// Where (s) an interval broke that quarter: a gap, or an extra onset.
    pub breaks_at_s: Vec<f64>,
}

/// The rhythm of the onsets `on` (samples).
#[must_use]
pub fn rhythm(on: &[f64]) -> Rhythm {
    let ms = |samples: f64| samples * 1000.0 / f64::from(RATE);
    let intervals: Vec<f64> = on.windows(2).map(|p| ms(p[1] - p[0])).collect();
    let period_ms = quantile(&intervals, 0.5);
    let off = |i: f64| (i - period_ms).abs();
    Rhythm {
        period_ms,
        jitter_ms: intervals.iter().map(|&i| off(i)).filter(|d| *d < period_ms / 4.0).collect(),
        breaks_at_s: on
            .windows(2)
            .filter(|p| off(ms(p[1] - p[0])) >= period_ms / 4.0)
            .map(|p| p[0] / f64::from(RATE))
            .collect(),
    }
}

/// The p50, p99 and maximum of `v`, as the speaker tests print a spread.
#[must_use]
pub fn spread(v: &[f64]) -> serde_json::Value {
    serde_json::json!({"p50": quantile(v, 0.5), "p99": quantile(v, 0.99), "max": quantile(v, 1.0)})
}

/// A least-squares line through `(x, y)`: (intercept, slope).
#[must_use]
pub fn line(pts: &[(f64, f64)]) -> (f64, f64) {
    let n = pts.len() as f64;
    let (mx, my) = (pts.iter().map(|p| p.0).sum::<f64>() / n, pts.iter().map(|p| p.1).sum::<f64>() / n);
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let slope = sxy / sxx;
    (my - slope * mx, slope)
}

#[cfg(test)]
mod tests {
    use super::clear_stretch;

    #[test]
    fn the_stretch_judged_is_the_longest_clear_of_the_sinks_glitches() {
        let beat = 24_000.0;
        let clicks: Vec<f64> = (0..60).map(|k| 1_000.0 + k as f64 * beat).collect();
        let len = 61.0 * beat;
        assert_eq!(clear_stretch(&[], beat, len, &clicks), (0.0, len));
        // A glitch early on: the stretch after it, 4 beats on.
        let g = 1_000.0 + 10.0 * beat;
        assert_eq!(clear_stretch(&[g], beat, len, &clicks), (g + 4.0 * beat, len));
        // Two late ones: the stretch before the first.
        let (g1, g2) = (1_000.0 + 40.0 * beat, 1_000.0 + 45.0 * beat);
        assert_eq!(clear_stretch(&[g1, g2], beat, len, &clicks), (0.0, g1 - 1.5 * beat));
        // Glitches closer than 5.5 beats leave nothing between them.
        let (a, b) = (1_000.0 + 20.0 * beat, 1_000.0 + 25.0 * beat);
        let s = clear_stretch(&[a, b], beat, len, &clicks);
        assert!(s == (0.0, a - 1.5 * beat) || s == (b + 4.0 * beat, len), "{s:?}");
    }
}
