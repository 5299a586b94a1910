//! What a native player's output said over a recording, for a test to print beside figures that
//! went wrong: its `audio` and `clock` events ([`story`]), and its output trace
//! (`BANDSYNC_AUDIO_TRACE`, read by the audio crate's `TraceLine`) between marks the test sets
//! ([`OutputTrace`]): whether the device's reported playout moved, whether the map the player
//! sent its click engine moved, and whether buffers went missing.

use bandsync_audio::device::trace::TraceLine;
use bandsync_e2e::onsets::{line, quantile};
use bandsync_e2e::process::Proc;
use std::path::PathBuf;

/// What player `p` said about its output and its clock from its `from`th line on: what explains
/// a control pair that disagrees (an output latency report that moved, underruns, a clock that
/// re-synced).
pub fn story(p: &mut Proc, from: usize) -> String {
    p.drain();
    let said: Vec<String> = p.seen[from.min(p.seen.len())..]
        .iter()
        .filter(|v| matches!(v["event"].as_str(), Some("audio" | "clock")))
        .map(|v| match v["event"].as_str() {
            Some("audio") => format!(
                "[audio latency {} ms, offset {} ms, {} underruns, {} playout steps, {} outliers]",
                v["output_latency_ms"],
                v["latency_offset_ms"],
                v["underruns"],
                v["playout_steps"],
                v["playout_outliers"]
            ),
            _ => format!(
                "[clock synced {} error {} µs, {} samples, offset {} µs, skew {:.2} ppm, rtt {} µs]",
                v["synced"],
                v["error_us"],
                v["samples"],
                v["offset_us"],
                v["skew_ppm"].as_f64().unwrap_or(f64::NAN),
                v["rtt_us"]
            ),
        })
        .collect();
    if said.is_empty() { "nothing new".into() } else { said.join(" ") }
}

/// A player's output trace file, read from a mark on.
#[derive(Debug, Clone)]
pub struct OutputTrace {
    /// The file the player writes (its `BANDSYNC_AUDIO_TRACE`).
    pub path: PathBuf,
    from: u64,
    /// Where the stretch ends, once it has (a recording stopped).
    until: Option<u64>,
}

impl OutputTrace {
    /// The trace at `path`, read from its start.
    #[must_use]
    pub fn new(path: PathBuf) -> Self {
        OutputTrace { path, from: 0, until: None }
    }

    /// The environment that makes a player write it.
    #[must_use]
    pub fn env(&self) -> (&'static str, String) {
        ("BANDSYNC_AUDIO_TRACE", self.path.display().to_string())
    }

    /// Reads from what the player writes next (a recording starts).
    pub fn mark(&mut self) {
        self.from = self.len();
        self.until = None;
    }

    /// Reads up to what the player wrote so far (the recording stopped).
    pub fn stop(&mut self) {
        self.until = Some(self.len());
    }

    fn len(&self) -> u64 {
        std::fs::metadata(&self.path).map_or(0, |m| m.len())
    }

    /// What the trace says from the mark on, in one line.
    #[must_use]
    pub fn summary(&self) -> String {
        let text = std::fs::read(&self.path).unwrap_or_default();
        let bound = |at: u64| usize::try_from(at).unwrap_or(usize::MAX).min(text.len());
        let (from, until) = (bound(self.from), self.until.map_or(text.len(), bound));
        let (mut stamps, mut maps, mut gaps, mut xruns) = (Vec::new(), Vec::new(), 0, 0);
        for line in String::from_utf8_lossy(&text[from..until.max(from)]).lines() {
            match TraceLine::parse(line) {
                Some(TraceLine::Callback { frame, callback_us, playback_us, .. }) => {
                    stamps.push((frame as f64, callback_us, playback_us));
                }
                Some(TraceLine::Map(m)) => maps.push(m),
                Some(TraceLine::Gap { .. }) => gaps += 1,
                Some(TraceLine::Xrun { count }) => xruns += count,
                _ => {}
            }
        }
        if stamps.len() < 10 {
            return format!("[trace: {} callbacks from the mark]", stamps.len());
        }
        let mut delay: Vec<f64> = stamps.iter().map(|s| (s.2 - s.1) / 1000.0).collect();
        delay.sort_by(f64::total_cmp);
        let t0 = stamps[0].2;
        // The reported playout against its own line over the stretch, in half-second medians.
        let playout = moves(&stamps.iter().map(|s| (s.0, s.2)).collect::<Vec<_>>(), t0);
        // Each new map against the one before on the same host clock, where it takes over (at its
        // own frame): how far the clicks there moved when it came, and those moves added up.
        let moves_at: Vec<f64> = maps
            .windows(2)
            .filter(|w| w[1].epoch == w[0].epoch)
            .map(|w| {
                w[1].host_at_ref
                    - (w[0].host_at_ref + (w[1].frame_ref as f64 - w[0].frame_ref as f64) * w[0].us_per_frame)
            })
            .collect();
        let map_step = moves_at.iter().copied().max_by(|a, b| a.abs().total_cmp(&b.abs()));
        let mut sum = 0.0;
        let (mut lo, mut hi) = (0.0f64, 0.0f64);
        for m in &moves_at {
            sum += m;
            (lo, hi) = (lo.min(sum), hi.max(sum));
        }
        let map_range = hi - lo;
        format!(
            "[trace: {} callbacks, {} gaps, {} underruns the host reported; reported delay p50 {:.2} ms ({:.2}..{:.2}); playout against its line: {playout}; \
             {} maps, their moves adding up within {:.0} µs, the largest {:+.0} µs]",
            stamps.len(),
            gaps,
            xruns,
            delay[delay.len() / 2],
            delay[0],
            delay[delay.len() - 1],
            maps.len(),
            map_range,
            map_step.unwrap_or(0.0),
        )
    }
}

/// Copies `files` into `dir` (made if need be), to be replayed after the test (the players'
/// traces and the recording of a run that went wrong); says where, or why not.
pub fn keep(dir: &std::path::Path, files: &[&std::path::Path]) -> String {
    let copied = std::fs::create_dir_all(dir).and_then(|()| {
        files.iter().try_for_each(|f| std::fs::copy(f, dir.join(f.file_name().unwrap_or_default())).map(drop))
    });
    match copied {
        Ok(()) => format!("kept in {}", dir.display()),
        Err(e) => format!("not kept in {}: {e}", dir.display()),
    }
}

/// The (frame, µs) points' half-second medians about their least-squares line: their range, and
/// the largest change from one half second to the next, with when (s after `t0`).
fn moves(points: &[(f64, f64)], t0: f64) -> String {
    let (intercept, slope) = line(points);
    let mut halves: Vec<(f64, Vec<f64>)> = Vec::new();
    for &(x, y) in points {
        let at = ((y - t0) / 500_000.0).floor() * 0.5;
        let r = y - (intercept + x * slope);
        match halves.last_mut() {
            Some((t, v)) if *t == at => v.push(r),
            _ => halves.push((at, vec![r])),
        }
    }
    let medians: Vec<(f64, f64)> = halves.into_iter().map(|(t, v)| (t, quantile(&v, 0.5))).collect();
    let range = medians.iter().map(|m| m.1).fold(f64::NEG_INFINITY, f64::max)
        - medians.iter().map(|m| m.1).fold(f64::INFINITY, f64::min);
    let step = medians.windows(2).map(|w| (w[1].0, w[1].1 - w[0].1)).max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()));
    match step {
        Some((at, d)) => format!("half-second medians within {range:.0} µs, largest move {d:+.0} µs at {at:.1} s"),
        None => "too short".into(),
    }
}
