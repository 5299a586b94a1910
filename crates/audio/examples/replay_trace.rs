//! Replays a native player's output trace (`BANDSYNC_AUDIO_TRACE`) through the device-clock
//! filter, and says how far its line was from hindsight's around each gap in the stream (an
//! underrun), handled as the player does ([`DeviceClockFilter::gap`]) and started afresh
//! ([`DeviceClockFilter::reset`]).
//!
//! ```text
//! cargo run -p bandsync-audio --example replay_trace -- TRACE [RATE]
//! ```
//!
//! Hindsight is a least-squares line through the stream's reports from the gap to 10 s after it:
//! what the filter would know with all of them. For each callback in the 6 s after the gap, the
//! filter's line (as the player would have fitted it then) is read where the next clicks are
//! rendered, 60 ms past the callback, and compared with hindsight there.

use bandsync_audio::filter::DeviceClockFilter;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("a trace file");
    let rate: f64 = args.next().map_or(48_000.0, |r| r.parse().expect("a sample rate"));
    let nominal = 1e6 / rate;
    let text = std::fs::read_to_string(&path).expect("the trace");
    // (frame, heard µs) per callback, and the index of the first callback after each gap.
    let (mut points, mut gaps) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        match f.first() {
            Some(&"s") => points.push((f[1].parse::<u64>().unwrap(), f[4].parse::<f64>().unwrap())),
            Some(&"u") => gaps.push(points.len()),
            _ => {}
        }
    }
    println!("{path}: {} callbacks, {} gaps", points.len(), gaps.len());
    for &g in &gaps {
        let after: Vec<(u64, f64)> =
            points[g..].iter().take_while(|p| (p.0 - points[g].0) as f64 * nominal < 10e6).copied().collect();
        let hindsight = line(&after);
        let mut report = Vec::new();
        for (how, gap) in [("gap (kept rate)", true), ("reset (afresh)", false)] {
            // The device's filter: 4096 points, as `AudioOutput` makes it.
            let mut f = DeviceClockFilter::new(4096);
            for &(frame, t) in &points[..g] {
                f.push(frame, t);
                let _ = f.fit(nominal);
            }
            if gap {
                f.gap();
            } else {
                f.reset();
            }
            let mut errors = Vec::new();
            for &(frame, t) in &points[g..] {
                if (frame - points[g].0) as f64 * nominal > 6e6 {
                    break;
                }
                f.push(frame, t);
                let at = frame + (0.06 * rate) as u64;
                if let Some(l) = f.local_at(at, nominal) {
                    errors.push((frame, l - (hindsight.0 + (at as f64 - hindsight.1) * hindsight.2)));
                }
            }
            let mut abs: Vec<f64> = errors.iter().map(|e| e.1.abs()).collect();
            abs.sort_by(f64::total_cmp);
            let q = |p: f64| abs[((abs.len() - 1) as f64 * p).round() as usize];
            let late = |s: f64| {
                let from = points[g].0 + (s * rate) as u64;
                errors.iter().filter(|e| e.0 >= from).map(|e| e.1.abs()).fold(0.0, f64::max)
            };
            report.push(format!(
                "  {how}: |error| p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs; max after 1 s {:.0} µs, after 3 s {:.0} µs",
                q(0.5),
                q(0.99),
                q(1.0),
                late(1.0),
                late(3.0)
            ));
        }
        println!(
            "gap at frame {} ({:.1} s into the trace):\n{}",
            points[g].0,
            (points[g].0 - points[0].0) as f64 * nominal / 1e6,
            report.join("\n")
        );
    }
}

/// The least-squares line through `p`: (mean µs, mean frame, µs per frame).
fn line(p: &[(u64, f64)]) -> (f64, f64, f64) {
    let n = p.len() as f64;
    let (mf, mt) = (p.iter().map(|x| x.0 as f64).sum::<f64>() / n, p.iter().map(|x| x.1).sum::<f64>() / n);
    let (sxx, sxy) =
        p.iter().fold((0.0, 0.0), |(a, b), x| (a + (x.0 as f64 - mf).powi(2), b + (x.0 as f64 - mf) * (x.1 - mt)));
    (mt, mf, sxy / sxx)
}
