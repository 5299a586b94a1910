//! Sound at the speaker: a private PulseAudio per test, a multi-channel null sink whose channels
//! are separate mono sinks (`module-remap-sink`), so that each player (a cpal follower, Chromium,
//! WebKit) sounds on its own channel; `parecord` of the sink's monitor; and the onset analysis that
//! turns the recording into click times.
//!
//! Needs `pulseaudio`, `pactl` and `parecord` (Debian: pulseaudio, pulseaudio-utils,
//! libasound2-plugins, which routes ALSA's `default` device, and so cpal, to PulseAudio).

use crate::process::{require, signal};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The sample rate of every sink and recording.
pub const RATE: u32 = 48_000;

/// A private PulseAudio server with one null sink, `bandsync`, of `channels` channels
/// (`aux0`..), stopped on drop.
pub struct Pulse {
    /// Its runtime folder (socket, cookie, log) and a home for its clients.
    pub dir: PathBuf,
    daemon: Child,
    /// Holds the sink at a sound card's pace (see [`Pulse::keep_pace`]).
    keeper: Option<Child>,
    /// Channels of the `bandsync` sink.
    pub channels: u32,
}

impl Pulse {
    /// Starts PulseAudio with a `channels`-channel null sink at [`RATE`].
    ///
    /// # Panics
    /// If a tool is missing or the server does not come up.
    #[must_use]
    pub fn start(channels: u32) -> Pulse {
        let hint = "apt-get install pulseaudio pulseaudio-utils libasound2-plugins";
        let pa = require("pulseaudio", hint);
        let _ = require("pactl", hint);
        let _ = require("parecord", hint);
        let _ = require("parec", hint);
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("bandsync-pulse-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let run = dir.join("run");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::create_dir_all(dir.join("home")).unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let map = Self::channel_map(channels);
        let mut cmd = Command::new(pa);
        Self::apply_env(&mut cmd, &dir);
        cmd.args(["-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no", "--disallow-exit=no"])
            .arg(format!("--log-target=file:{}", run.join("pa.log").display()))
            .args(["-L", "module-native-protocol-unix auth-anonymous=1"])
            .arg("-L")
            .arg(format!("module-null-sink sink_name=bandsync rate={RATE} channels={channels} channel_map={map}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let daemon = cmd.spawn().expect("pulseaudio starts");
        let mut p = Pulse { dir, daemon, keeper: None, channels };
        let end = Instant::now() + Duration::from_secs(15);
        while !p.pactl(&["info"]).0 {
            assert!(Instant::now() < end, "pulseaudio did not come up; its log:\n{}", p.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        p.keep_pace();
        p
    }

    /// Keeps a reader of the sink's monitor at 10 ms for the server's life, so that the null
    /// sink runs at a sound card's pace. Left alone, a null sink with no low-latency client
    /// renders in 2 s blocks and sleeps through each: a player that reconnects (ALSA's PulseAudio
    /// plugin reconnects its stream after every underrun) was then not read for up to 2 s. Under
    /// 5–30 ms stalls of the machine, a follower's click went silent for 1.95 s after an
    /// underrun (its callbacks stopped for 1.98 s), 4 beats lost at 140 BPM, 1 run in 2: the
    /// test's sound server, not the player. A sound card drains its stream continuously.
    fn keep_pace(&mut self) {
        let mut c = self.reader("parec", "bandsync.monitor", self.channels);
        self.keeper = Some(c.spawn().expect("parec starts"));
        // Connected, or the tests would silently be back on 2 s blocks.
        let end = Instant::now() + Duration::from_secs(15);
        while self.pactl(&["list", "short", "source-outputs"]).1.trim().is_empty() {
            assert!(Instant::now() < end, "the sink's pace keeper (parec) did not connect; the log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn channel_map(channels: u32) -> String {
        (0..channels).map(|i| format!("aux{i}")).collect::<Vec<_>>().join(",")
    }

    fn apply_env(cmd: &mut Command, dir: &Path) {
        for (k, v) in Self::env_of(dir) {
            cmd.env(k, v);
        }
        cmd.env("HOME", dir.join("home"));
    }

    fn env_of(dir: &Path) -> Vec<(&'static str, String)> {
        let run = dir.join("run");
        vec![
            ("XDG_RUNTIME_DIR", run.display().to_string()),
            ("PULSE_SERVER", format!("unix:{}", run.join("pulse/native").display())),
            ("PULSE_COOKIE", run.join("cookie").display().to_string()),
        ]
    }

    /// The environment a client needs to reach this server (and, with `sink`, to play there).
    #[must_use]
    pub fn env(&self, sink: Option<&str>) -> Vec<(&'static str, String)> {
        let mut e = Self::env_of(&self.dir);
        if let Some(s) = sink {
            e.push(("PULSE_SINK", s.to_owned()));
        }
        e
    }

    /// Points `cmd` at this server, playing into `sink` (the default `bandsync` when `None`).
    pub fn apply(&self, cmd: &mut Command, sink: Option<&str>) {
        for (k, v) in self.env(sink) {
            cmd.env(k, v);
        }
    }

    /// Runs `pactl ARGS`; returns whether it succeeded and its output.
    #[must_use]
    pub fn pactl(&self, args: &[&str]) -> (bool, String) {
        let mut c = Command::new("pactl");
        self.apply(&mut c, None);
        match c.args(args).stdin(Stdio::null()).output() {
            Ok(o) => (
                o.status.success(),
                format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)),
            ),
            Err(e) => (false, e.to_string()),
        }
    }

    /// A mono sink named `name` that plays into channel `index` of `bandsync` only.
    ///
    /// # Panics
    /// If the module does not load.
    pub fn channel_sink(&self, name: &str, index: u32) -> String {
        assert!(index < self.channels, "channel {index} of {}", self.channels);
        let args = format!(
            "sink_name={name} master=bandsync channels=1 master_channel_map=aux{index} channel_map=mono remix=no"
        );
        let (ok, out) = self.pactl(&["load-module", "module-remap-sink", &args]);
        assert!(ok, "module-remap-sink {args}: {out}");
        name.to_owned()
    }

    /// A sink named `name` that delays what is played into it by exactly `delay_ms` before it
    /// reaches `master` (`ladspa-sdk`'s `delay_5s`, sample-exact), for injecting an output latency.
    ///
    /// # Panics
    /// If the plugin is missing or the module does not load.
    pub fn delay_sink(&self, name: &str, master: &str, delay_ms: f64) -> String {
        assert!(
            Path::new("/usr/lib/ladspa/delay.so").exists(),
            "no /usr/lib/ladspa/delay.so: apt-get install ladspa-sdk (scripts/test.sh installs it)"
        );
        // delay_5s: control 0 is the delay in seconds, control 1 the dry/wet balance (1 = wet only).
        let args =
            format!("sink_name={name} master={master} plugin=delay label=delay_5s control={},1", delay_ms / 1000.0);
        let (ok, out) = self.pactl(&["load-module", "module-ladspa-sink", &args]);
        assert!(ok, "module-ladspa-sink {args}: {out}");
        name.to_owned()
    }

    /// Starts recording the `bandsync` sink's monitor into `path` and returns once data flows
    /// (until a low-latency client connects, a null sink renders in large blocks).
    ///
    /// # Panics
    /// If no data arrives in time.
    #[must_use]
    pub fn record(&self, path: &Path) -> Recorder {
        self.record_source("bandsync.monitor", self.channels, path)
    }

    /// Records `source` (`channels` channels) into `path`; see [`Pulse::record`].
    ///
    /// # Panics
    /// If no data arrives in time.
    #[must_use]
    pub fn record_source(&self, source: &str, channels: u32, path: &Path) -> Recorder {
        let mut c = self.reader("parecord", source, channels);
        let child = c.arg("--file-format=wav").arg(path).spawn().expect("parecord starts");
        let rec = Recorder { child: Some(child), path: path.to_owned() };
        let end = Instant::now() + Duration::from_secs(15);
        while std::fs::metadata(path).map_or(0, |m| m.len()) < 20_000 {
            assert!(Instant::now() < end, "the recorder got no data");
            std::thread::sleep(Duration::from_millis(50));
        }
        rec
    }

    /// `program` (`parecord` or `parec`) reading `source` (`channels` channels, float32 at
    /// [`RATE`], 10 ms latency) from this server, its output and errors discarded.
    fn reader(&self, program: &str, source: &str, channels: u32) -> Command {
        let mut c = Command::new(program);
        self.apply(&mut c, None);
        let map = if source == "bandsync.monitor" { Self::channel_map(channels) } else { String::new() };
        c.arg(format!("--device={source}"))
            .args(["--format=float32le", "--latency-msec=10"])
            .arg(format!("--rate={RATE}"))
            .arg(format!("--channels={channels}"))
            .args(if map.is_empty() { vec![] } else { vec![format!("--channel-map={map}")] })
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }

    /// The server's log.
    #[must_use]
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("run/pa.log")).unwrap_or_default()
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        if let Some(mut k) = self.keeper.take() {
            let _ = k.kill();
            let _ = k.wait();
        }
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A `parecord` in progress.
pub struct Recorder {
    child: Option<Child>,
    path: PathBuf,
}

impl Recorder {
    /// Stops recording (SIGINT, so that parecord finishes the WAV header) and reads the file.
    #[must_use]
    pub fn stop(mut self) -> Vec<Vec<f32>> {
        if let Some(mut c) = self.child.take() {
            signal(c.id(), libc::SIGINT);
            let _ = c.wait();
        }
        read_wav(&self.path)
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

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

/// The `q` quantile (0 to 1) of `v`, by nearest rank; `NaN` for an empty slice.
#[must_use]
pub fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * q).round() as usize]
}

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
