//! Replays a native player's output trace (`BANDSYNC_AUDIO_TRACE`) through the device-clock
//! filter as the player ran it, and says how far its line was from hindsight after each gap in
//! the stream (an underrun), with the gaps handled as the player does
//! ([`DeviceClockFilter::gap`]) and as it did before (started afresh,
//! [`DeviceClockFilter::reset`]).
//!
//! ```text
//! cargo run -p bandsync-audio --example replay_trace -- TRACE
//! ```
//!
//! The filter is the player's (8192 points), fed each callback's report, started again where the
//! trace says (`o`, `r`), handled at every gap, and fitted where the player fitted (`f` lines).
//! Hindsight for a gap is a least-squares line through the reports from it to the next gap,
//! reset or stream, at most 10 s: what the filter would know with all of them. At each fit in
//! the 6 s after a gap, the line is read where the next clicks are rendered, 60 ms past the last
//! report, and compared with hindsight there.

use bandsync_audio::device::trace::TraceLine as Line;
use bandsync_audio::filter::{DeviceClockFilter, least_squares_rate};

/// Hindsight after the gap at `lines[at]`: (mean frame, mean µs, µs per frame) of the reports up
/// to the next gap, reset or stream, at most 10 s.
fn hindsight(lines: &[Line], at: usize, rate: f64) -> Option<(f64, f64, f64)> {
    let mut pts: Vec<(f64, f64)> = Vec::new();
    for l in &lines[at + 1..] {
        match *l {
            Line::Callback { frame, playback_us, .. } => {
                if pts.first().is_some_and(|p| (frame as f64 - p.0) / rate > 10.0) {
                    break;
                }
                pts.push((frame as f64, playback_us));
            }
            Line::Fit { .. } | Line::Map(_) | Line::Xrun { .. } | Line::Click { .. } => {}
            _ => break,
        }
    }
    let slope = least_squares_rate(pts.iter(), 1e6 / rate)?;
    let n = pts.len() as f64;
    Some((pts.iter().map(|p| p.0).sum::<f64>() / n, pts.iter().map(|p| p.1).sum::<f64>() / n, slope))
}

fn main() {
    let path = std::env::args().nth(1).expect("a trace file");
    let text = std::fs::read_to_string(&path).expect("the trace");
    let lines: Vec<Line> = text.lines().filter_map(Line::parse).collect();
    println!("{path}: {} lines", lines.len());
    let gaps: Vec<usize> = (0..lines.len()).filter(|&i| matches!(lines[i], Line::Gap { .. })).collect();
    // For each way of handling gaps: each gap's |errors| (µs), and when (s after the gap).
    let mut errors: [Vec<Vec<(f64, f64)>>; 2] = [vec![Vec::new(); gaps.len()], vec![Vec::new(); gaps.len()]];
    for (way, keep) in [true, false].into_iter().enumerate() {
        let (mut f, mut rate) = (DeviceClockFilter::new(8192), 48_000.0);
        let mut last: Option<u64> = None;
        let mut open: Option<(usize, u64, (f64, f64, f64))> = None;
        for (i, l) in lines.iter().enumerate() {
            match *l {
                Line::Stream { rate: r } => {
                    (f, rate, open) = (DeviceClockFilter::new(8192), f64::from(r), None);
                }
                Line::Reset => f.reset(),
                Line::Gap { .. } => {
                    if keep {
                        f.gap()
                    } else {
                        f.reset()
                    }
                    let g = gaps.binary_search(&i).unwrap_or(0);
                    open = match (hindsight(&lines, i, rate), lines.get(i + 1)) {
                        (Some(h), Some(&Line::Callback { frame, .. })) => Some((g, frame, h)),
                        _ => None,
                    };
                }
                Line::Callback { frame, playback_us, .. } => {
                    f.push(frame, playback_us);
                    last = Some(frame);
                }
                Line::Map(_) | Line::Xrun { .. } | Line::Click { .. } => {}
                Line::Fit { .. } => {
                    // The player fits at each update; the line is read only after a gap.
                    let (Some((g, from, h)), Some(frame)) = (open, last) else {
                        let _ = f.fit(1e6 / rate);
                        continue;
                    };
                    let since = frame.saturating_sub(from) as f64 / rate;
                    if since > 6.0 {
                        let _ = f.fit(1e6 / rate);
                        open = None;
                        continue;
                    }
                    let ahead = frame as f64 + 0.06 * rate;
                    if let Some(at) = f.local_at(ahead as u64, 1e6 / rate) {
                        errors[way][g].push((since, (at - (h.1 + (ahead - h.0) * h.2)).abs()));
                    }
                }
            }
        }
    }
    println!("| gap | at frame | kept: median \\|error\\| | afresh | kept: largest after 1 s | afresh |");
    println!("|---|---|---|---|---|---|");
    for (g, &i) in gaps.iter().enumerate() {
        let stat = |e: &Vec<(f64, f64)>| {
            let mut all: Vec<f64> = e.iter().map(|x| x.1).collect();
            all.sort_by(f64::total_cmp);
            let later = e.iter().filter(|x| x.0 >= 1.0).map(|x| x.1).fold(0.0, f64::max);
            (all.get(all.len() / 2).copied(), later)
        };
        let frame = match lines.get(i + 1) {
            Some(&Line::Callback { frame, .. }) => frame.to_string(),
            _ => "-".into(),
        };
        match (stat(&errors[0][g]), stat(&errors[1][g])) {
            ((Some(k), kl), (Some(a), al)) => {
                println!("| {g} | {frame} | {k:.0} µs | {a:.0} µs | {kl:.0} µs | {al:.0} µs |")
            }
            _ => println!("| {g} | {frame} | no fit after it | | | |"),
        }
    }
}
