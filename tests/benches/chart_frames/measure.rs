//! One device, one run: a `bandsync host` serving the UI, headless Chromium joined to it on a
//! [`Device`]'s screen, the chart set while DevTools records a trace, then the smooth scroll and
//! the page turns; the page-side scripts that drive and mark them; and the [`Figures`] read off
//! the trace through [`RendererTrace`].

use crate::figures::{Dist, Figures};
use crate::trace::{RendererTrace, Task};
use bandsync_e2e::browser::{self, Launch, WebEngine};
use bandsync_e2e::devtools::DevTools;
use bandsync_e2e::page::Page;
use bandsync_e2e::process::{Proc, run};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

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
pub(crate) struct Device {
    /// Its name in the figures.
    pub(crate) name: &'static str,
    /// Its viewport, CSS px.
    pub(crate) size: (u32, u32),
    /// A phone's screen (twice the pixels, touch) rather than a desktop's.
    phone: bool,
}

pub(crate) const PHONE: Device = Device { name: "phone", size: (390, 844), phone: true };
pub(crate) const DESKTOP: Device = Device { name: "desktop", size: (1280, 800), phone: false };

fn unix_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64() * 1000.0
}

/// Runs an asynchronous script in the page (its last argument is the callback).
fn run_async(p: &Page, what: &str, script: &str, args: &[Value]) -> Value {
    let r = p.s.execute_async(script, args);
    p.ok(r, what)
}

/// What every run measures.
pub(crate) struct Plan {
    /// The song's title.
    pub(crate) title: &'static str,
    /// Its chart.
    pub(crate) chart: String,
    /// How many lines the read view shows for it.
    pub(crate) shown: usize,
    /// How long the smooth scroll takes, ms.
    pub(crate) smooth_ms: u64,
    /// The web UI the host serves.
    pub(crate) ui: PathBuf,
    /// Where failure screenshots go.
    pub(crate) shots: PathBuf,
}

/// Measures `plan` on `dev`; writes the whole trace to `trace` when given (Chrome's JSON trace
/// format, which DevTools' Performance panel loads).
pub(crate) fn measure(dev: &Device, plan: &Plan, trace: Option<&Path>) -> anyhow::Result<Figures> {
    let Plan { title, chart, shown, smooth_ms, ui, shots } = plan;
    let (title, chart, shown) = (*title, chart.as_str(), *shown);
    let (host, url) = Proc::host_with_ui(ui);
    let setlist =
        json!([{"id": "s1", "title": title, "key": "G", "tempo": 96000, "meter": "4/4", "notes": "", "flow": ""}]);
    anyhow::ensure!(run(&["setlist", "set", &url], &setlist.to_string()).0 == 0, "the setlist is refused");

    let launch =
        Launch { size: dev.size, phone: dev.phone, env: Vec::new(), shots: shots.to_owned(), label: dev.name.into() };
    let b = browser::open(WebEngine::Chromium, &launch);
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

    let tl = RendererTrace::read(&events)?;
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
