//! [`RendererTrace`]: the page's renderer as a DevTools trace shows it (the main thread's top-level
//! tasks and the frames they render, the compositor's activations, draws and tasks, the page's
//! `console.timeStamp` marks), and the frame times read from it. Pure: it reads trace events
//! that [`crate::measure`] recorded.

use serde_json::Value;

/// One vsync of headless Chromium's 60 Hz begin-frame source, µs.
const VSYNC_US: i64 = 16_667;

/// A task, µs on the trace's clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Task {
    pub(crate) start: i64,
    pub(crate) end: i64,
}

impl Task {
    pub(crate) fn ms(&self) -> f64 {
        (self.end - self.start) as f64 / 1000.0
    }
}

/// The page's renderer in a trace: its main thread's tasks and frames, and its compositor's.
pub(crate) struct RendererTrace {
    /// `console.timeStamp` marks from the page, in order.
    pub(crate) marks: Vec<(String, i64)>,
    /// The main thread's top-level tasks, in order.
    pub(crate) tasks: Vec<Task>,
    /// The tasks that render a frame (index into `tasks`) and the frame's source frame number.
    pub(crate) frames: Vec<(usize, u64)>,
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

impl RendererTrace {
    pub(crate) fn read(events: &[Value]) -> anyhow::Result<RendererTrace> {
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
        Ok(RendererTrace { marks, tasks, frames, activations, draws, compositor })
    }

    /// The first mark named `name` at or after `from`.
    pub(crate) fn mark(&self, name: &str, from: i64) -> anyhow::Result<i64> {
        self.marks
            .iter()
            .find(|(m, t)| m == name && *t >= from)
            .map(|m| m.1)
            .ok_or_else(|| anyhow::anyhow!("no {name} mark in the trace"))
    }

    /// The main-thread task running at `ts`.
    pub(crate) fn task_at(&self, ts: i64) -> Option<usize> {
        let i = self.tasks.partition_point(|t| t.start <= ts);
        (i > 0 && self.tasks[i - 1].end >= ts).then(|| i - 1)
    }

    /// The first frame whose rendering task ends at or after `ts` (index into `frames`).
    pub(crate) fn frame_after(&self, ts: i64) -> Option<usize> {
        self.frames.iter().position(|&(i, _)| self.tasks[i].end >= ts)
    }

    /// When the compositor drew frame `f` (index into `frames`): the first draw after its layer
    /// tree was activated. `None` when it changed nothing that needed a new tree.
    pub(crate) fn drawn(&self, f: usize) -> Option<i64> {
        let (i, id) = self.frames[f];
        let act = self.activations.iter().find(|&&(a, ts)| a == id && ts >= self.tasks[i].start)?.1;
        self.draws.iter().copied().find(|&d| d >= act)
    }

    /// When what the page changed before `ts` is on screen: the draw of the first frame after it,
    /// or, when that frame changed nothing on screen (lines added below it, out of the
    /// compositor's tiles), the end of its main-thread task, when its layout was done; and that
    /// frame (index into `frames`).
    pub(crate) fn shown_at(&self, ts: i64) -> anyhow::Result<(i64, usize)> {
        let f = self.frame_after(ts).ok_or_else(|| anyhow::anyhow!("no frame after the chart's DOM"))?;
        Ok((self.drawn(f).unwrap_or(self.tasks[self.frames[f].0].end), f))
    }

    /// The main thread's busy time in `[from, to]`, ms, counting the tasks that start there.
    pub(crate) fn busy(&self, from: i64, to: i64) -> f64 {
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
    pub(crate) fn frame_times(&self, from: i64, to: i64) -> Vec<f64> {
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
    pub(crate) fn compositor_times(&self, from: i64, to: i64) -> (Vec<f64>, usize) {
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
