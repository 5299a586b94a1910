//! The figures: [`Dist`], a distribution of frame times, and [`Figures`], one device's figures in
//! one run (and their median over runs). Read off the trace by [`crate::measure`]; printed by
//! `main.rs`.

use std::fmt;

/// A distribution of frame times, ms.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Dist {
    /// How many frames.
    pub(crate) n: usize,
    /// Quantiles (nearest rank) and the largest, ms.
    pub(crate) p50: f64,
    pub(crate) p95: f64,
    pub(crate) p99: f64,
    pub(crate) max: f64,
    /// Frames over 8 ms, the target, and over 16.7 ms, a vsync.
    pub(crate) over_8: usize,
    pub(crate) over_16: usize,
}

impl Dist {
    pub(crate) fn of(mut v: Vec<f64>) -> Dist {
        if v.is_empty() {
            return Dist::default();
        }
        v.sort_by(f64::total_cmp);
        // Nearest rank.
        let q = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        Dist {
            n: v.len(),
            p50: q(0.5),
            p95: q(0.95),
            p99: q(0.99),
            max: v[v.len() - 1],
            over_8: v.iter().filter(|&&x| x > 8.0).count(),
            over_16: v.iter().filter(|&&x| x > 16.7).count(),
        }
    }

    /// The median of each figure over several runs.
    pub(crate) fn median(runs: &[Dist]) -> Dist {
        let m = |f: fn(&Dist) -> f64| median(runs.iter().map(f).collect());
        Dist {
            n: m(|d| d.n as f64) as usize,
            p50: m(|d| d.p50),
            p95: m(|d| d.p95),
            p99: m(|d| d.p99),
            max: m(|d| d.max),
            over_8: m(|d| d.over_8 as f64) as usize,
            over_16: m(|d| d.over_16 as f64) as usize,
        }
    }
}

impl fmt::Display for Dist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p50 {:.2} p95 {:.2} p99 {:.2} max {:.2} ms, over 8 ms {}, over 16.7 ms {} (of {})",
            self.p50, self.p95, self.p99, self.max, self.over_8, self.over_16, self.n
        )
    }
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

/// The figures of one device in one run.
#[derive(Debug, Clone, Default)]
pub(crate) struct Figures {
    /// The chart's message to the frame with it drawn, ms.
    pub(crate) render: f64,
    /// The chart's message to the frame with its first lines drawn (the first screens, when the
    /// read view renders a long chart in parts), ms.
    pub(crate) render_first: f64,
    /// The message to the read view's lines in the DOM (the chart read by the core in wasm, the
    /// Preact render), ms.
    pub(crate) render_script: f64,
    /// The task that laid out and painted the new lines, ms.
    pub(crate) render_frame: f64,
    /// The main thread's longest task between the message and the frame, ms.
    pub(crate) render_longest: f64,
    /// `bandsync chart set` started to the frame drawn (the CLI's start, join and send), ms.
    pub(crate) set_to_drawn: f64,
    /// Frame times while scrolling smoothly.
    pub(crate) smooth: Dist,
    /// The compositor's work per drawn frame meanwhile.
    pub(crate) smooth_compositor: Dist,
    /// Frames drawn more than 1.5 vsyncs after the one before, meanwhile.
    pub(crate) smooth_late: usize,
    /// The page turns' frame times.
    pub(crate) turns: Dist,
    /// A page turn's keydown to its frame drawn, ms.
    pub(crate) turn_drawn: Dist,
}
