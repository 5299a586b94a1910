//! Real processes for process-level tests: the `bandsync` binary (and others) with their JSON lines
//! read as they come, one-shot runs, signals, and finding programs.
//!
//! Nothing here sleeps for a guessed time: every wait is for a condition, with a deadline.
//!
//! Finding programs is [`crate::programs`], blocking HTTP [`crate::http`] and reading a QR code
//! [`crate::qr`]; all are re-exported here, where the tests have always found them.

use serde_json::Value;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

pub use crate::http::{get_json, http};
pub use crate::programs::{bandsync, bin, home, python_peers, require, which};
pub use crate::qr::scan_qr;
pub use libc::{SIGCONT, SIGINT, SIGKILL, SIGSTOP, SIGTERM};

/// How long a process-level wait may take by default (two cores, browsers and several of our
/// processes at once).
pub const PROC_WAIT: Duration = Duration::from_secs(20);

/// A process's `/proc/PID/stat` (the `stat` file at `path`): its pid and the fields after the
/// command's name (state, ppid, pgrp, …). The name may hold spaces and parentheses.
pub fn proc_stat(path: &std::path::Path) -> Option<(i32, Vec<String>)> {
    let stat = std::fs::read_to_string(path).ok()?;
    let (head, rest) = stat.rsplit_once(')')?;
    let pid = head.split_whitespace().next()?.parse().ok()?;
    Some((pid, rest.split_whitespace().map(str::to_owned).collect()))
}

/// The user and system CPU time, in seconds, in [`proc_stat`]'s fields (the 12th and 13th).
#[must_use]
pub fn stat_cpu_secs(fields: &[String]) -> f64 {
    // SAFETY: sysconf has no memory effects.
    #[allow(unsafe_code)]
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    fields.get(11..13).map_or(0, |f| f.iter().map(|v| v.parse::<u64>().unwrap_or(0)).sum::<u64>()) as f64 / ticks
}

/// Sends `sig` to a process.
pub fn signal(pid: u32, sig: i32) {
    #[allow(unsafe_code)]
    // SAFETY: kill(2) with a child's pid and a signal number has no memory-safety preconditions.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

/// Sends `sig` to every process of process group `group` (killpg(2)).
pub fn signal_group(group: u32, sig: i32) {
    #[allow(unsafe_code)]
    // SAFETY: killpg(2) with a process group id and a signal number has no memory-safety
    // preconditions.
    unsafe {
        libc::killpg(group as i32, sig);
    }
}

/// A running process whose stdout lines are read as they come (JSON lines are parsed), with its
/// stdin open for commands. Killed on drop, so nothing outlives the test.
pub struct Proc {
    /// The process.
    pub child: Child,
    stdin: Option<ChildStdin>,
    /// Each stdout line, with when it was printed.
    lines: mpsc::Receiver<(Instant, String)>,
    /// Every JSON line read so far, in order.
    pub seen: Vec<Value>,
    /// When each of [`Proc::seen`] was printed, from the start.
    seen_at: Vec<Duration>,
    started: Instant,
    /// Lines that were not JSON, in order.
    pub text: Vec<String>,
    /// Captured stderr, read continuously so that a chatty process never blocks on it.
    err: Arc<Mutex<String>>,
    /// How long [`Proc::wait_for`] waits.
    pub timeout: Duration,
    label: String,
}

impl Proc {
    /// Starts `cmd` with piped stdin and stdout; stderr is captured when `capture_stderr`, else
    /// inherited (so that it shows in the test's output).
    ///
    /// # Panics
    /// If the process cannot start.
    #[must_use]
    pub fn start(mut cmd: Command, capture_stderr: bool) -> Proc {
        let label = cmd.get_program().to_string_lossy().rsplit('/').next().unwrap_or_default().to_owned();
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(if capture_stderr { Stdio::piped() } else { Stdio::inherit() })
            .spawn()
            .unwrap_or_else(|e| panic!("{label} does not start: {e}"));
        let stdin = child.stdin.take();
        let err = Arc::new(Mutex::new(String::new()));
        if let Some(e) = child.stderr.take() {
            let err = err.clone();
            std::thread::spawn(move || {
                for l in BufReader::new(e).lines().map_while(Result::ok) {
                    let mut s = err.lock().unwrap();
                    s.push_str(&l);
                    s.push('\n');
                }
            });
        }
        let out = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send((Instant::now(), l)).is_err() {
                    break;
                }
            }
        });
        Proc {
            child,
            stdin,
            lines,
            seen: Vec::new(),
            seen_at: Vec::new(),
            started: Instant::now(),
            text: Vec::new(),
            err,
            timeout: PROC_WAIT,
            label,
        }
    }

    /// `bandsync ARGS`, with mDNS off (it only ever runs inside a network namespace here).
    #[must_use]
    pub fn bandsync<S: AsRef<OsStr>>(args: &[S]) -> Proc {
        Proc::bandsync_env(args, &[], false)
    }

    /// `bandsync host` on loopback, named "Gig", serving the web UI built in `ui` to phones, and
    /// its join link.
    ///
    /// # Panics
    /// When the host does not start.
    #[must_use]
    pub fn host_with_ui(ui: &std::path::Path) -> (Proc, String) {
        let ui = ui.to_str().expect("a UTF-8 path");
        let mut host =
            Proc::bandsync(&["host", "--bind", "127.0.0.1:0", "--name", "Gig", "--no-mdns", "--json", "--ui", ui]);
        let url = host.event("hosting")["url"].as_str().unwrap().to_owned();
        (host, url)
    }

    /// The beats a clicking follower (`Pulse::clicking_follower`) played so far, as positions on the grid.
    #[must_use]
    pub fn beat_positions(&self) -> Vec<f64> {
        self.seen.iter().filter(|v| v["event"] == "beat").filter_map(|v| v["position"].as_f64()).collect()
    }

    /// Asserts that the follower played every beat of one grid so far: each on a whole beat
    /// number, one after another (a lost click shows as a gap, a restarted schedule as a jump).
    ///
    /// # Panics
    /// When it did not.
    pub fn assert_every_beat(&self) {
        let grid = self.beat_positions();
        // What else happened between the beats, and when each line came (s from the start), for
        // a failure to explain itself: a gap while the follower's audio underran is the machine.
        let story = || {
            let said: Vec<String> = self
                .seen
                .iter()
                .zip(&self.seen_at)
                .filter(|(v, _)| v["event"] != "participants")
                .map(|(v, at)| (at.as_secs_f64(), v))
                .map(|(at, v)| match v["event"].as_str() {
                    Some("beat") => format!("{at:.2}: {}", v["position"]),
                    Some("audio") => format!("{at:.2}: [audio {} underruns]", v["underruns"]),
                    Some("clock") => format!("{at:.2}: [clock synced {} error {} µs]", v["synced"], v["error_us"]),
                    Some(e) => {
                        let why = v["reason"].as_str().or(v["resumed"].as_bool().map(|_| "")).unwrap_or("");
                        format!("{at:.2}: [{e} {why}]")
                    }
                    None => String::new(),
                })
                .collect();
            format!("{}\nstderr:\n{}", said.join(", "), self.err.lock().unwrap())
        };
        assert!(grid.iter().all(|p| (p - p.round()).abs() < 1e-6), "on the grid: {}", story());
        assert!(grid.windows(2).all(|w| (w[1] - w[0] - 1.0).abs() < 1e-6), "every beat, in order: {}", story());
    }

    /// `bandsync ARGS` with extra environment, optionally capturing stderr.
    #[must_use]
    pub fn bandsync_env<S: AsRef<OsStr>>(args: &[S], env: &[(&str, &str)], capture_stderr: bool) -> Proc {
        let mut cmd = Command::new(bandsync());
        cmd.args(args).env("BANDSYNC_NO_MDNS", "1").envs(env.iter().copied());
        Proc::start(cmd, capture_stderr)
    }

    /// Reads one more stdout line, waiting until `end`; `None` on timeout or end of output.
    fn next_line(&mut self, end: Instant) -> Option<Value> {
        loop {
            let (at, line) = self.lines.recv_timeout(end.saturating_duration_since(Instant::now())).ok()?;
            match serde_json::from_str::<Value>(&line) {
                Ok(v) => {
                    self.seen.push(v.clone());
                    self.seen_at.push(at.saturating_duration_since(self.started));
                    return Some(v);
                }
                Err(_) => self.text.push(line),
            }
        }
    }

    /// The next JSON line matching `pred`, within [`Proc::timeout`].
    ///
    /// # Panics
    /// When none comes in time: the message lists everything the process printed.
    pub fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + self.timeout;
        loop {
            match self.next_line(end) {
                Some(v) if pred(&v) => return v,
                Some(_) => {}
                None => panic!(
                    "{} printed no {what} in {:?}; it printed {:#?}\n{}\nstderr:\n{}",
                    self.label,
                    self.timeout,
                    self.seen,
                    self.text.join("\n"),
                    self.err.lock().unwrap()
                ),
            }
        }
    }

    /// The first line matching `pred` among those already read, or else the next one.
    pub fn seen_or_wait(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        match self.seen.iter().find(|v| pred(v)) {
            Some(v) => v.clone(),
            None => self.wait_for(what, pred),
        }
    }

    /// The next `{"event": name, ...}` line.
    pub fn event(&mut self, name: &str) -> Value {
        self.wait_for(name, |v| v["event"] == name)
    }

    /// The underruns a player reported (the count in its `audio` events) from its `from`th line
    /// on: the machine did not run its audio callback in time.
    pub fn underruns_since(&mut self, from: usize) -> u64 {
        self.audio_count_since("underruns", from)
    }

    /// How much the count `field` of the `audio` events (`underruns`, `playout_steps`) grew
    /// since [`Proc::seen`] held `from` events.
    pub fn audio_count_since(&mut self, field: &str, from: usize) -> u64 {
        self.drain();
        let count = |v: &[Value]| v.iter().filter(|v| v["event"] == "audio").filter_map(|v| v[field].as_u64()).max();
        let from = from.min(self.seen.len());
        count(&self.seen[from..]).unwrap_or(0).saturating_sub(count(&self.seen[..from]).unwrap_or(0))
    }

    /// Every JSON line available now, without waiting.
    pub fn drain(&mut self) -> Vec<Value> {
        let mut out = Vec::new();
        while let Some(v) = self.next_line(Instant::now()) {
            out.push(v);
        }
        out
    }

    /// Writes one line to stdin.
    ///
    /// # Panics
    /// If stdin was closed.
    pub fn say(&mut self, line: &str) {
        let s = self.stdin.as_mut().expect("stdin");
        writeln!(s, "{line}").unwrap();
        s.flush().unwrap();
    }

    /// Closes stdin (end of input).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for the process to exit and returns its code (-1 for a signal).
    ///
    /// # Panics
    /// If it does not exit within [`Proc::timeout`].
    pub fn exit_code(&mut self) -> i32 {
        let end = Instant::now() + self.timeout;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code().unwrap_or(-1);
            }
            assert!(Instant::now() < end, "{} did not exit in {:?}", self.label, self.timeout);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything the process wrote to stderr, once it has exited (with `capture_stderr`).
    pub fn stderr(&mut self) -> String {
        let _ = self.exit_code();
        // The reader thread ends at EOF, which follows the exit.
        let end = Instant::now() + Duration::from_secs(2);
        let mut last = String::new();
        while Instant::now() < end {
            let now = self.err.lock().unwrap().clone();
            if now == last && !now.is_empty() {
                break;
            }
            last = now;
            std::thread::sleep(Duration::from_millis(50));
        }
        last
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        signal(self.child.id(), libc::SIGTERM);
    }

    /// Sends SIGINT.
    pub fn interrupt(&self) {
        signal(self.child.id(), libc::SIGINT);
    }

    /// The process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a one-shot `bandsync ARGS` with `stdin` as its input; returns its exit code and stdout.
///
/// # Panics
/// If it does not finish within [`PROC_WAIT`].
#[must_use]
pub fn run(args: &[&str], stdin: &str) -> (i32, String) {
    let mut c = Command::new(bandsync())
        .args(args)
        .env("BANDSYNC_NO_MDNS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("bandsync runs");
    c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let mut out = c.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).map(|_| s)
    });
    let end = Instant::now() + PROC_WAIT;
    let status = loop {
        if let Some(st) = c.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > end {
            let _ = c.kill();
            panic!("bandsync {args:?} did not finish in {PROC_WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.code().unwrap_or(-1), reader.join().unwrap().expect("utf-8 output"))
}

/// Whether `v` is a `bandsync join --json` `state` line whose current or scheduled transport has
/// `key` = `val`.
#[must_use]
pub fn state_has(v: &Value, key: &str, val: &Value) -> bool {
    v["event"] == "state"
        && (&v[key] == val || v["pending"].as_array().is_some_and(|p| p.iter().any(|s| &s[key] == val)))
}

/// `bandsync host` on loopback with `setlist` (JSON) set: the host and its join link.
///
/// # Panics
/// When the host does not start or the setlist is refused.
#[must_use]
pub fn host_with_setlist(setlist: &str) -> (Proc, String) {
    let mut host = Proc::bandsync(&["host", "--bind", "127.0.0.1:0", "--name", "Gig", "--no-mdns", "--json"]);
    let url = host.event("hosting")["url"].as_str().unwrap().to_owned();
    assert_eq!(run(&["setlist", "set", &url], setlist).0, 0, "the setlist is taken");
    (host, url)
}
