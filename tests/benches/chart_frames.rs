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

use bandsync_core::chart::{Line, parse};
use bandsync_e2e::browser::{self, Engine, Launch};
use bandsync_e2e::devtools::DevTools;
use bandsync_e2e::page::Page;
use bandsync_e2e::process::{Proc, run};
use bandsync_e2e::rng::Rng;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// One vsync of headless Chromium's 60 Hz begin-frame source, µs.
const VSYNC_US: i64 = 16_667;

/// The read view (it scrolls).
const READ: &str = "[data-testid=chart-read]";
/// What the read view shows for each line of a chart (a section's label for its `start_of_…`,
/// nothing for `end_of_…` and meta directives): see `ui/src/ui/ChartRead.tsx`.
const SHOWN: &str =
    "[data-testid=chart-read] :is(.rv-title, .rv-subtitle, .rv-comment, .rv-line, .rv-blank, .rv-row, .rv-label)";

/// Injected before the app's scripts: notes when a binary WebSocket message of 1 KB or more (a
/// document update as large as a chart) reaches the page, once armed, in the page's clock and as
/// a mark in the trace.
const HOOK: &str = r"(() => {
  const W = window.WebSocket;
  window.__bsMsgs = [];
  window.WebSocket = class extends W {
    constructor(...a) {
      super(...a);
      this.addEventListener('message', (e) => {
        const size = typeof e.data === 'string' ? 0 : (e.data.byteLength ?? e.data.size);
        if (window.__bsArmed && size >= 1024) {
          window.__bsMsgs.push(performance.now());
          console.timeStamp('bandsync-chart-message');
        }
      });
    }
  };
})();";

/// Arms the hook and marks when the read view holds its first lines and when it holds
/// `arguments[1]` lines (`arguments[0]` selects them; the read view may add a long chart's lines
/// in parts, over several frames); returns the page's time origin (Unix ms).
const ARM: &str = r"const [sel, want] = arguments;
  window.__bsArmed = true; window.__bsMsgs = []; window.__bsDom = null;
  let first = false;
  new MutationObserver((_, o) => {
    const n = document.querySelectorAll(sel).length;
    if (!first && n > 0) {
      first = true;
      console.timeStamp('bandsync-chart-first');
    }
    if (n >= want) {
      window.__bsDom = performance.now();
      console.timeStamp('bandsync-chart-dom');
      o.disconnect();
    }
  }).observe(document.body, {subtree: true, childList: true});
  return performance.timeOrigin;";

/// Calls back after two animation frames: the frame after the last change has been produced.
const TWO_FRAMES: &str = "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));";

/// Scrolls the read view top to bottom in `arguments[0]` ms, one step per animation frame.
const SMOOTH: &str = r"const [ms, done] = arguments;
  const el = document.querySelector('[data-testid=chart-read]');
  el.scrollTop = 0;
  requestAnimationFrame(() => requestAnimationFrame((t0) => {
    const end = el.scrollHeight - el.clientHeight;
    console.timeStamp('bandsync-smooth-start');
    let frames = 0;
    const step = (t) => {
      frames += 1;
      const f = Math.min(1, (t - t0) / ms);
      el.scrollTop = Math.round(f * end);
      if (f < 1) requestAnimationFrame(step);
      else requestAnimationFrame(() => { console.timeStamp('bandsync-smooth-end'); done({frames, end, top: el.scrollTop}); });
    };
    requestAnimationFrame(step);
  }));";

/// Turns the read view's pages with PageDown (a keydown task of its own, as a pedal's), every
/// `arguments[0]` frames, until the bottom.
const TURNS: &str = r"const [every, done] = arguments;
  const el = document.querySelector('[data-testid=chart-read]');
  el.scrollTop = 0;
  const frames = (n, then) => (n <= 0 ? then() : requestAnimationFrame(() => frames(n - 1, then)));
  let turns = 0;
  const turn = () => {
    if (el.scrollTop + el.clientHeight >= el.scrollHeight - 1) {
      console.timeStamp('bandsync-turns-end');
      done({turns, stuck: false});
      return;
    }
    setTimeout(() => {
      const before = el.scrollTop;
      console.timeStamp('bandsync-turn');
      document.body.dispatchEvent(new KeyboardEvent('keydown', {key: 'PageDown', code: 'PageDown', bubbles: true, cancelable: true}));
      turns += 1;
      if (el.scrollTop === before) { done({turns, stuck: true}); return; }
      frames(every, turn);
    }, 0);
  };
  frames(2, () => { console.timeStamp('bandsync-turns-start'); turn(); });";

/// The trace events the figures are read from.
const KEPT: [&str; 7] =
    ["RunTask", "BeginMainThreadFrame", "ActivateLayerTree", "DrawFrame", "TimeStamp", "RasterTask", "thread_name"];

/// A screen size to measure on.
struct Device {
    /// Its name in the figures.
    name: &'static str,
    /// Its viewport, CSS px.
    size: (u32, u32),
    /// A phone's screen (twice the pixels, touch) rather than a desktop's.
    phone: bool,
}

const PHONE: Device = Device { name: "phone", size: (390, 844), phone: true };
const DESKTOP: Device = Device { name: "desktop", size: (1280, 800), phone: false };

// ---- the chart -------------------------------------------------------------------------------

const WORDS: [&str; 48] = [
    "under", "the", "lights", "we", "keep", "on", "moving", "down", "a", "long", "road", "home", "every", "night", "I",
    "hear", "you", "calling", "through", "rain", "and", "the", "river", "runs", "slow", "hold", "my", "hand", "till",
    "morning", "comes", "again", "nothing", "left", "to", "say", "but", "stay", "with", "me", "now", "in", "summer",
    "heat", "your", "heart", "beats", "true",
];
const CHORDS: [&str; 14] =
    ["G", "D/F#", "Em7", "Cmaj7", "C", "D", "Am7", "Bm", "Gsus4", "A7", "Em", "D7", "C/E", "G/B"];

fn pick<'a>(rng: &mut Rng, from: &[&'a str]) -> &'a str {
    from[rng.below(from.len() as u64) as usize]
}

/// A lyric line of 6 to 9 words, a chord on the first and on about a third of the others.
fn lyric(rng: &mut Rng) -> String {
    let words = 6 + rng.below(4) as usize;
    let mut line = String::new();
    for i in 0..words {
        if i == 0 || rng.chance(0.35) {
            line.push_str(&format!("[{}]", pick(rng, &CHORDS)));
        }
        line.push_str(pick(rng, &WORDS));
        line.push(' ');
    }
    line.trim_end().to_owned()
}

/// A grid row: four bars of four beats, a repeat now and then.
fn grid_row(rng: &mut Rng) -> String {
    let mut row = String::from("|");
    for _ in 0..4 {
        let c = if rng.chance(0.15) { "%" } else { pick(rng, &CHORDS) };
        row.push_str(&format!(" {c} . . . |"));
    }
    row
}

/// One block of the song: a verse, a chorus, a grid interlude or a bridge, in turn.
fn block(rng: &mut Rng, k: usize) -> Vec<String> {
    let mut b = Vec::new();
    match k % 4 {
        0 => {
            b.push(format!("{{comment: Verse {}: drums and bass only the first time}}", k / 4 + 1));
            b.push(format!("{{start_of_verse: Verse {}}}", k / 4 + 1));
            b.extend((0..8).map(|_| lyric(rng)));
            b.push("{end_of_verse}".into());
        }
        1 => {
            b.push("{start_of_chorus}".into());
            b.extend((0..6).map(|_| lyric(rng)));
            b.push("{end_of_chorus}".into());
        }
        2 => {
            b.push("{comment_italic: build, then stop on 4}".into());
            b.push("{start_of_grid: Interlude}".into());
            b.push(format!("A {}", grid_row(rng)));
            b.extend((0..2).map(|_| grid_row(rng)));
            b.push("{end_of_grid}".into());
        }
        _ => {
            b.push("{start_of_bridge}".into());
            b.extend((0..4).map(|_| lyric(rng)));
            b.push("{end_of_bridge}".into());
            b.push("{comment_box: Back to the top, then chorus x2}".into());
        }
    }
    b.push(String::new());
    b
}

/// A chart of exactly `n` source lines (at least 20): a head of meta directives and an intro
/// grid, verses, choruses, interludes and bridges in turn, and an outro that makes up the count.
fn chart(title: &str, n: usize) -> String {
    let mut rng = Rng(0x00c4_a57f_0011);
    let mut out: Vec<String> = [
        format!("{{title: {title}}}"),
        "{subtitle: a long song for the read view}".into(),
        "{artist: The Benchmarks}".into(),
        "{key: G}".into(),
        "{tempo: 96}".into(),
        "{time: 4/4}".into(),
        "# A writer's note: not shown.".into(),
        String::new(),
        "{start_of_grid: Intro}".into(),
        "|| G . . . | D/F# . . . | Em7 . . . | Cmaj7 . . . |".into(),
        "| G . . . | D . . . | C . . . | % . . . :| x2".into(),
        "{end_of_grid}".into(),
        String::new(),
    ]
    .into();
    for k in 0.. {
        let b = block(&mut rng, k);
        // The outro takes at least 4 lines: its start, a lyric, its end and a last comment.
        if out.len() + b.len() + 4 > n {
            break;
        }
        out.extend(b);
    }
    let fill = n - out.len() - 3;
    out.push("{start_of_verse: Outro}".into());
    out.extend((0..fill).map(|_| lyric(&mut rng)));
    out.push("{end_of_verse}".into());
    out.push("{comment_box: Fine: hold the last G}".into());
    assert_eq!(out.len(), n);
    out.join("\n") + "\n"
}

/// How many lines the read view shows for `text`: every line the core reads except the ends of
/// sections (their starts show as labels; meta directives and notes are not lines).
fn shown_lines(text: &str) -> usize {
    parse(text).lines.iter().filter(|l| !matches!(l, Line::End)).count()
}

// ---- figures ---------------------------------------------------------------------------------

/// A distribution of frame times, ms.
#[derive(Debug, Clone, Copy, Default)]
struct Dist {
    /// How many frames.
    n: usize,
    /// Quantiles (nearest rank) and the largest, ms.
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
    /// Frames over 8 ms, the target, and over 16.7 ms, a vsync.
    over_8: usize,
    over_16: usize,
}

impl Dist {
    fn of(mut v: Vec<f64>) -> Dist {
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
    fn median(runs: &[Dist]) -> Dist {
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

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

/// The figures of one device in one run.
#[derive(Debug, Clone, Default)]
struct Figures {
    /// The chart's message to the frame with it drawn, ms.
    render: f64,
    /// The chart's message to the frame with its first lines drawn (the first screens, when the
    /// read view renders a long chart in parts), ms.
    render_first: f64,
    /// The message to the read view's lines in the DOM (the chart read by the core in wasm, the
    /// Preact render), ms.
    render_script: f64,
    /// The task that laid out and painted the new lines, ms.
    render_frame: f64,
    /// The main thread's longest task between the message and the frame, ms.
    render_longest: f64,
    /// `bandsync chart set` started to the frame drawn (the CLI's start, join and send), ms.
    set_to_drawn: f64,
    /// Frame times while scrolling smoothly.
    smooth: Dist,
    /// The compositor's work per drawn frame meanwhile.
    smooth_compositor: Dist,
    /// Frames drawn more than 1.5 vsyncs after the one before, meanwhile.
    smooth_late: usize,
    /// The page turns' frame times.
    turns: Dist,
    /// A page turn's keydown to its frame drawn, ms.
    turn_drawn: Dist,
}

// ---- the timeline ----------------------------------------------------------------------------

/// A task, µs on the trace's clock.
#[derive(Debug, Clone, Copy)]
struct Task {
    start: i64,
    end: i64,
}

impl Task {
    fn ms(&self) -> f64 {
        (self.end - self.start) as f64 / 1000.0
    }
}

/// The page's renderer in a trace: its main thread's tasks and frames, and its compositor's.
struct Timeline {
    /// `console.timeStamp` marks from the page, in order.
    marks: Vec<(String, i64)>,
    /// The main thread's top-level tasks, in order.
    tasks: Vec<Task>,
    /// The tasks that render a frame (index into `tasks`) and the frame's source frame number.
    frames: Vec<(usize, u64)>,
    /// When the compositor activated each source frame's layer tree.
    activations: Vec<(u64, i64)>,
    /// When the compositor drew a frame, in order.
    draws: Vec<i64>,
    /// The compositor thread's tasks and the raster tasks (worker threads), in order.
    compositor: Vec<Task>,
}

fn task_of(e: &Value) -> Option<Task> {
    let start = e["ts"].as_i64()?;
    Some(Task { start, end: start + e["dur"].as_i64()? })
}

/// Top-level tasks, in order: a nested task (a nested run loop) is part of its parent.
fn top_level(mut v: Vec<Task>) -> Vec<Task> {
    v.sort_by_key(|t| t.start);
    let mut out: Vec<Task> = Vec::with_capacity(v.len());
    for t in v {
        if out.last().is_none_or(|l| t.start >= l.end) {
            out.push(t);
        }
    }
    out
}

impl Timeline {
    fn read(events: &[Value]) -> anyhow::Result<Timeline> {
        let page = events
            .iter()
            .find(|e| {
                e["name"] == "TimeStamp"
                    && e["args"]["data"]["message"].as_str().is_some_and(|m| m.starts_with("bandsync-"))
            })
            .ok_or_else(|| anyhow::anyhow!("no marks of the page in the trace"))?;
        let (pid, main) = (page["pid"].as_i64(), page["tid"].as_i64());
        let ours = |e: &&Value| e["pid"].as_i64() == pid;
        let comp = events
            .iter()
            .filter(ours)
            .find(|e| e["name"] == "thread_name" && e["args"]["name"] == "Compositor")
            .and_then(|e| e["tid"].as_i64())
            .ok_or_else(|| anyhow::anyhow!("no compositor thread in the page's renderer"))?;
        let on = |tid: i64| move |e: &&Value| e["pid"].as_i64() == pid && e["tid"].as_i64() == Some(tid);
        let main = main.unwrap_or_default();
        let mut marks: Vec<(String, i64)> = events
            .iter()
            .filter(on(main))
            .filter(|e| e["name"] == "TimeStamp")
            .filter_map(|e| Some((e["args"]["data"]["message"].as_str()?.to_owned(), e["ts"].as_i64()?)))
            .collect();
        marks.sort_by_key(|m| m.1);
        let tasks = top_level(
            events
                .iter()
                .filter(on(main))
                .filter(|e| e["name"] == "RunTask" && e["ph"] == "X")
                .filter_map(task_of)
                .collect(),
        );
        let mut begins: Vec<(i64, u64)> = events
            .iter()
            .filter(on(main))
            .filter(|e| e["name"] == "BeginMainThreadFrame")
            .filter_map(|e| Some((e["ts"].as_i64()?, e["args"]["data"]["frameId"].as_u64()?)))
            .collect();
        begins.sort_unstable();
        let mut frames: Vec<(usize, u64)> = Vec::new();
        for (ts, id) in begins {
            let i = tasks.partition_point(|t| t.start <= ts);
            if i > 0 && tasks[i - 1].end >= ts && frames.last().is_none_or(|&(j, _)| j != i - 1) {
                frames.push((i - 1, id));
            }
        }
        let activations = events
            .iter()
            .filter(on(comp))
            .filter(|e| e["name"] == "ActivateLayerTree")
            .filter_map(|e| Some((e["args"]["frameId"].as_u64()?, e["ts"].as_i64()?)))
            .collect();
        let mut draws: Vec<i64> = events
            .iter()
            .filter(on(comp))
            .filter(|e| e["name"] == "DrawFrame")
            .filter_map(|e| e["ts"].as_i64())
            .collect();
        draws.sort_unstable();
        let mut compositor: Vec<Task> = events
            .iter()
            .filter(ours)
            .filter(|e| {
                e["ph"] == "X"
                    && ((e["name"] == "RunTask" && e["tid"].as_i64() == Some(comp)) || e["name"] == "RasterTask")
            })
            .filter_map(task_of)
            .collect();
        compositor.sort_by_key(|t| t.start);
        Ok(Timeline { marks, tasks, frames, activations, draws, compositor })
    }

    /// The first mark named `name` at or after `from`.
    fn mark(&self, name: &str, from: i64) -> anyhow::Result<i64> {
        self.marks
            .iter()
            .find(|(m, t)| m == name && *t >= from)
            .map(|m| m.1)
            .ok_or_else(|| anyhow::anyhow!("no {name} mark in the trace"))
    }

    /// The main-thread task running at `ts`.
    fn task_at(&self, ts: i64) -> Option<usize> {
        let i = self.tasks.partition_point(|t| t.start <= ts);
        (i > 0 && self.tasks[i - 1].end >= ts).then(|| i - 1)
    }

    /// The first frame whose rendering task ends at or after `ts` (index into `frames`).
    fn frame_after(&self, ts: i64) -> Option<usize> {
        self.frames.iter().position(|&(i, _)| self.tasks[i].end >= ts)
    }

    /// When the compositor drew frame `f` (index into `frames`): the first draw after its layer
    /// tree was activated. `None` when it changed nothing that needed a new tree.
    fn drawn(&self, f: usize) -> Option<i64> {
        let (i, id) = self.frames[f];
        let act = self.activations.iter().find(|&&(a, ts)| a == id && ts >= self.tasks[i].start)?.1;
        self.draws.iter().copied().find(|&d| d >= act)
    }

    /// When what the page changed before `ts` is on screen: the draw of the first frame after it,
    /// or, when that frame changed nothing on screen (lines added below it, out of the
    /// compositor's tiles), the end of its main-thread task, when its layout was done; and that
    /// frame (index into `frames`).
    fn shown_at(&self, ts: i64) -> anyhow::Result<(i64, usize)> {
        let f = self.frame_after(ts).ok_or_else(|| anyhow::anyhow!("no frame after the chart's DOM"))?;
        Ok((self.drawn(f).unwrap_or(self.tasks[self.frames[f].0].end), f))
    }

    /// The main thread's busy time in `[from, to]`, ms, counting the tasks that start there.
    fn busy(&self, from: i64, to: i64) -> f64 {
        self.tasks.iter().filter(|t| t.start >= from && t.start <= to).map(Task::ms).sum()
    }

    /// Frame `f`'s time: its rendering task and the other tasks since the previous frame's,
    /// within one vsync before it, ms.
    fn frame_time(&self, f: usize) -> f64 {
        let t = self.tasks[self.frames[f].0];
        let prev = if f > 0 { self.tasks[self.frames[f - 1].0].end } else { i64::MIN };
        let from = prev.max(t.start - VSYNC_US);
        t.ms() + self.tasks.iter().filter(|x| x.start >= from && x.start < t.start).map(Task::ms).sum::<f64>()
    }

    /// Frame times of the frames that start rendering in `[from, to]`.
    fn frame_times(&self, from: i64, to: i64) -> Vec<f64> {
        (0..self.frames.len())
            .filter(|&f| {
                let s = self.tasks[self.frames[f].0].start;
                s >= from && s <= to
            })
            .map(|f| self.frame_time(f))
            .collect()
    }

    /// The compositor's work for each frame drawn in `[from, to]` (its tasks and raster tasks
    /// since the previous draw, within one vsync), ms; and how many draws came more than 1.5
    /// vsyncs after the one before.
    fn compositor_times(&self, from: i64, to: i64) -> (Vec<f64>, usize) {
        let draws: Vec<i64> = self.draws.iter().copied().filter(|&d| d >= from && d <= to).collect();
        let mut work = Vec::new();
        let mut prev = i64::MIN;
        for &d in &draws {
            let lo = prev.max(d - VSYNC_US);
            work.push(self.compositor.iter().filter(|t| t.start > lo && t.start <= d).map(Task::ms).sum());
            prev = d;
        }
        let late = draws.windows(2).filter(|w| w[1] - w[0] > VSYNC_US * 3 / 2).count();
        (work, late)
    }
}

// ---- one device, one run ---------------------------------------------------------------------

fn unix_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64() * 1000.0
}

/// Runs an asynchronous script in the page (its last argument is the callback).
fn run_async(p: &Page, what: &str, script: &str, args: &[Value]) -> Value {
    let r = p.s.execute_async(script, args);
    p.ok(r, what)
}

/// What every run measures.
struct Plan {
    /// The song's title.
    title: &'static str,
    /// Its chart.
    chart: String,
    /// How many lines the read view shows for it.
    shown: usize,
    /// How long the smooth scroll takes, ms.
    smooth_ms: u64,
    /// The web UI the host serves.
    ui: PathBuf,
    /// Where failure screenshots go.
    shots: PathBuf,
}

/// Measures `plan` on `dev`; writes the whole trace to `trace` when given (Chrome's JSON trace
/// format, which DevTools' Performance panel loads).
fn measure(dev: &Device, plan: &Plan, trace: Option<&Path>) -> anyhow::Result<Figures> {
    let Plan { title, chart, shown, smooth_ms, ui, shots } = plan;
    let (title, chart, shown) = (*title, chart.as_str(), *shown);
    let (host, url) = Proc::host_with_ui(ui);
    let setlist =
        json!([{"id": "s1", "title": title, "key": "G", "tempo": 96, "meter": "4/4", "notes": "", "flow": ""}]);
    anyhow::ensure!(run(&["setlist", "set", &url], &setlist.to_string()).0 == 0, "the setlist is refused");

    let launch =
        Launch { size: dev.size, phone: dev.phone, env: Vec::new(), shots: shots.to_owned(), label: dev.name.into() };
    let b = browser::open(Engine::Chromium, &launch);
    let p = &b.page;
    let version = p.s.capabilities["browserVersion"].as_str().unwrap_or("?").to_owned();
    let hook = json!({"cmd": "Page.addScriptToEvaluateOnNewDocument", "params": {"source": HOOK}});
    p.ok(p.s.cmd("POST", "/goog/cdp/execute", Some(hook)), "inject the message hook");
    p.ok(p.s.cmd("POST", "/timeouts", Some(json!({"script": 120_000}))), "a long script timeout");
    p.ok(p.s.navigate(&url), "open the join link");
    p.type_into("[data-testid=your-name]", "Keys");
    p.click("[data-testid=join-button]");
    p.until("online", "document.querySelector('[data-testid=connection-state][data-state=online]')");
    p.until("the setlist", "window.__bandsync.state.songs.length === 1");
    p.until("the song's read view", &format!("document.querySelector('{READ}')"));
    p.eval(&format!("(document.querySelector('{READ}').scrollIntoView({{block: 'start'}}), true)"));
    run_async(p, "a quiet frame", TWO_FRAMES, &[]);

    let mut dt = DevTools::connect(&p.s)?;
    dt.start_trace(&[
        "devtools.timeline",
        "disabled-by-default-devtools.timeline",
        "disabled-by-default-devtools.timeline.frame",
    ])?;

    // 1. The chart, set from the command line.
    let origin = p.ok(p.s.execute(ARM, &[json!(SHOWN), json!(shown)]), "arm the marks").as_f64().unwrap_or(f64::NAN);
    let set_at = unix_ms();
    anyhow::ensure!(run(&["chart", "set", &url, title], chart).0 == 0, "the chart is refused");
    p.until("every line in the read view", "window.__bsDom");
    run_async(p, "the chart drawn", TWO_FRAMES, &[]);
    let count = p.eval(&format!("document.querySelectorAll('{SHOWN}').length")).as_u64().unwrap_or(0) as usize;
    anyhow::ensure!(count == shown, "the read view shows {count} lines of the chart's {shown}");
    let msg_at = p.eval("window.__bsMsgs[0] ?? null").as_f64();
    let view = p.eval(&format!(
        "(() => {{ const el = document.querySelector('{READ}'); el.scrollIntoView({{block: 'center'}}); \
         const r = el.getBoundingClientRect(); return {{w: innerWidth, h: innerHeight, dpr: devicePixelRatio, \
         top: r.top, bottom: r.bottom, client: el.clientHeight, scroll: el.scrollHeight}}; }})()"
    ));
    run_async(p, "a quiet frame", TWO_FRAMES, &[]);

    // 2. Smooth scrolling; 3. page turns.
    let smooth = run_async(p, "the smooth scroll", SMOOTH, &[json!(smooth_ms)]);
    let turns = run_async(p, "the page turns", TURNS, &[json!(8)]);
    anyhow::ensure!(turns["stuck"] == false, "a page turn did not move the chart: {turns}");
    let events = dt.end_trace(|e| trace.is_some() || e["name"].as_str().is_some_and(|n| KEPT.contains(&n)))?;
    if let Some(path) = trace {
        std::fs::write(path, json!({"traceEvents": events}).to_string())?;
        eprintln!("CHART-FRAMES {} trace written to {}", dev.name, path.display());
    }
    drop(b);
    host.terminate();

    let tl = Timeline::read(&events)?;
    eprintln!(
        "CHART-FRAMES {} Chromium {}, view {}x{} @{}x: read view {} px tall on screen at {:.0}..{:.0}, {} px of chart; \
         smooth {} frames over {} px; {} page turns; {} trace events kept",
        dev.name,
        version,
        view["w"],
        view["h"],
        view["dpr"],
        view["client"],
        view["top"].as_f64().unwrap_or_default(),
        view["bottom"].as_f64().unwrap_or_default(),
        view["scroll"],
        smooth["frames"],
        smooth["end"],
        turns["turns"],
        events.len()
    );

    // The render.
    let msg = tl.mark("bandsync-chart-message", 0)?;
    let dom = tl.mark("bandsync-chart-dom", msg)?;
    let (drawn, f) = tl.shown_at(dom)?;
    let (first_drawn, _) = tl.shown_at(tl.mark("bandsync-chart-first", msg)?)?;
    let frame_task = tl.tasks[tl.frames[f].0];
    let first = tl.task_at(msg).map_or(msg, |i| tl.tasks[i].start);
    let longest =
        tl.tasks.iter().filter(|t| t.end >= first && t.start <= frame_task.end).map(Task::ms).fold(0.0, f64::max);
    let render = (drawn - msg) as f64 / 1000.0;
    let mut fig = Figures {
        render,
        render_first: (first_drawn - msg) as f64 / 1000.0,
        render_script: (dom - msg) as f64 / 1000.0,
        render_frame: frame_task.ms(),
        render_longest: longest,
        set_to_drawn: msg_at.map_or(f64::NAN, |m| origin + m - set_at + render),
        ..Figures::default()
    };
    eprintln!(
        "CHART-FRAMES {} render busy: main thread {:.1} ms between the message and the frame",
        dev.name,
        tl.busy(first, frame_task.end)
    );

    // Smooth scrolling.
    let (from, to) = (tl.mark("bandsync-smooth-start", drawn)?, tl.mark("bandsync-smooth-end", drawn)?);
    fig.smooth = Dist::of(tl.frame_times(from, to));
    let (comp, late) = tl.compositor_times(from, to);
    fig.smooth_compositor = Dist::of(comp);
    fig.smooth_late = late;

    // Page turns.
    let (from, to) = (tl.mark("bandsync-turns-start", to)?, tl.mark("bandsync-turns-end", to)?);
    let (mut times, mut drawn_after) = (Vec::new(), Vec::new());
    for &(_, key) in tl.marks.iter().filter(|(m, t)| m == "bandsync-turn" && *t >= from && *t <= to) {
        let Some(k) = tl.task_at(key) else { continue };
        let Some(f) = tl.frame_after(tl.tasks[k].end) else { continue };
        let end = tl.tasks[tl.frames[f].0].end;
        times.push(tl.busy(tl.tasks[k].start, end));
        if let Some(d) = tl.drawn(f) {
            drawn_after.push((d - key) as f64 / 1000.0);
        }
    }
    anyhow::ensure!(!times.is_empty() && fig.smooth.n > 0, "no frames measured");
    fig.turns = Dist::of(times);
    fig.turn_drawn = Dist::of(drawn_after);
    Ok(fig)
}

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
