//! Frame times of a long chart in the read view (issue #13), from Chromium's performance timeline.
//!
//! ```text
//! cargo build --release -p bandsync-cli
//! cargo bench -p bandsync-e2e --bench chart_frames                 # phone and desktop, 3 runs
//! cargo bench -p bandsync-e2e --bench chart_frames -- --runs 5 --trace DIR  # and keep the traces
//! cargo bench -p bandsync-e2e --bench chart_frames -- --ui OTHER/ui/dist    # another UI build
//! cargo bench -p bandsync-e2e --profile dev --bench chart_frames -- --smoke  # 50 lines, phone, once
//! ```
//!
//! For each device (a phone at 390×844, twice the pixels; a desktop at 1280×800) and run: a real
//! `bandsync host --ui ui/dist` (a host each, so that two browsers never render at once; `--ui`
//! serves another build) with one song in its setlist and no chart yet, and headless
//! Chromium (chromedriver) joined to it and showing the song's read view. Then, while the browser
//! records a trace (DevTools `Tracing`, the `devtools.timeline` categories):
//!
//! 1. **Render.** `bandsync chart set` gives the song a realistic 300-line ChordPro chart
//!    (sections, chords above lyrics, comments, grids). Measured from the chart's WebSocket
//!    message reaching the page to the compositor drawing the frame that holds it, and to the
//!    frame that holds its first lines (the read view renders a long chart in parts, a part a
//!    frame). Every line must be in the read view (the one thing asserted).
//! 2. **Smooth scroll.** The read view scrolled from top to bottom in 5 s, one step per animation
//!    frame, as the app's auto-scroll does (`scrollTop` set in `requestAnimationFrame`).
//! 3. **Page turns.** PageDown keydowns, the pedal's key, through the app's own handler (a screen
//!    less two lines per turn), one every 8 frames until the bottom.
//!
//! A frame's time is the main thread's work for it, read from the trace: the task that renders
//! it (`BeginMainThreadFrame`: animation frame callbacks, style, layout, paint, commit) plus every
//! other task since the previous frame's, within one vsync (16.7 ms) before it: input, timers,
//! WebSocket messages. The compositor's work (its thread's tasks and raster tasks since the
//! previous drawn frame) is given beside it, and late frames: drawn more than 1.5 vsyncs after
//! the one before. A page turn's frame is its keydown task to the end of the frame that shows it.
//!
//! Figures are printed as `CHART-FRAMES` lines and recorded in `docs/BENCHMARKS.md`, not
//! asserted: this exits non-zero only when it cannot measure (or the chart is not all there).
//!
//! - `chart.rs`: the chart, made from a seeded random source.
//! - `measure.rs`: one device, one run: the host, the browser, the trace, and the page's scripts.
//! - `trace.rs`: the renderer's tasks and frames as the trace shows them.
//! - `figures.rs`: distributions of frame times and one run's figures.
//! - Here: the command line, the runs, and the `CHART-FRAMES` lines.

mod chart;
mod figures;
mod measure;
mod trace;

use bandsync_e2e::browser;
use chart::{chart, shown_lines};
use figures::{Dist, Figures, median};
use measure::{DESKTOP, Device, PHONE, Plan, measure};
use std::collections::HashMap;
use std::path::PathBuf;

fn print(dev: &str, label: &str, f: &Figures) {
    println!(
        "CHART-FRAMES {dev} {label} render: {:.1} ms message to drawn (first lines drawn {:.1} ms, message to DOM \
         {:.1} ms, layout and paint task {:.1} ms, longest task {:.1} ms); chart set to drawn {:.1} ms",
        f.render, f.render_first, f.render_script, f.render_frame, f.render_longest, f.set_to_drawn
    );
    println!("CHART-FRAMES {dev} {label} smooth: frame time {}; late frames {}", f.smooth, f.smooth_late);
    println!("CHART-FRAMES {dev} {label} smooth compositor: {}", f.smooth_compositor);
    println!(
        "CHART-FRAMES {dev} {label} page turns: frame time {}; keydown to drawn p50 {:.1} max {:.1} ms",
        f.turns, f.turn_drawn.p50, f.turn_drawn.max
    );
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(if smoke { 1 } else { 3 });
    let (lines, smooth_ms, devices): (usize, u64, &[Device]) =
        if smoke { (50, 1500, &[PHONE]) } else { (300, 5000, &[PHONE, DESKTOP]) };
    let title = "Long Road Home";
    let text = chart(title, lines);
    let shown = shown_lines(&text);
    let value = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(PathBuf::from);
    let traces = value("--trace");
    if let Some(dir) = &traces {
        std::fs::create_dir_all(dir)?;
    }
    let ui = match value("--ui") {
        Some(dir) if dir.join("index.html").is_file() => dir.canonicalize()?,
        Some(dir) => anyhow::bail!("no web UI in {}", dir.display()),
        None => browser::ui_dist(),
    };
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("chart-frames");
    std::fs::create_dir_all(&shots)?;
    let plan = Plan { title, chart: text, shown, smooth_ms, ui, shots };
    let text = &plan.chart;

    let mut all: HashMap<&str, Vec<Figures>> = HashMap::new();
    for r in 1..=runs {
        for dev in devices {
            let trace = traces.as_ref().map(|d| d.join(format!("{}-{r}.json", dev.name)));
            let f = measure(dev, &plan, trace.as_deref())?;
            if r == 1 {
                println!(
                    "CHART-FRAMES {}: {}x{}, a {lines}-line chart ({} bytes), {shown} lines in the read view",
                    dev.name,
                    dev.size.0,
                    dev.size.1,
                    text.len()
                );
            }
            print(dev.name, &format!("run {r}/{runs}"), &f);
            all.entry(dev.name).or_default().push(f);
        }
    }
    if runs > 1 {
        for dev in devices {
            let fs = &all[dev.name];
            let m = |g: fn(&Figures) -> f64| median(fs.iter().map(g).collect());
            let d = |g: fn(&Figures) -> Dist| Dist::median(&fs.iter().map(g).collect::<Vec<_>>());
            let med = Figures {
                render: m(|f| f.render),
                render_first: m(|f| f.render_first),
                render_script: m(|f| f.render_script),
                render_frame: m(|f| f.render_frame),
                render_longest: m(|f| f.render_longest),
                set_to_drawn: m(|f| f.set_to_drawn),
                smooth: d(|f| f.smooth),
                smooth_compositor: d(|f| f.smooth_compositor),
                smooth_late: m(|f| f.smooth_late as f64) as usize,
                turns: d(|f| f.turns),
                turn_drawn: d(|f| f.turn_drawn),
            };
            print(dev.name, &format!("median of {runs} runs"), &med);
        }
    }
    Ok(())
}
