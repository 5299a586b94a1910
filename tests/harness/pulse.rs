//! Sound at the speaker: a private PulseAudio per test, a multi-channel null sink whose channels
//! are separate mono sinks (`module-remap-sink`), so that each player (a cpal follower, Chromium,
//! WebKit) sounds on its own channel; and `parecord` of the sink's monitor (turned into click
//! times by [`crate::onsets`]).
//!
//! Needs `pulseaudio`, `pactl` and `parecord` (Debian: pulseaudio, pulseaudio-utils,
//! libasound2-plugins, which routes ALSA's `default` device, and so cpal, to PulseAudio).

use crate::onsets::read_wav;
use crate::process::{Proc, bandsync, require, signal};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use crate::onsets::RATE;

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

    /// `bandsync ARGS` sounding here (into `sink`, or the default), without mDNS.
    #[must_use]
    pub fn sounding(&self, sink: Option<&str>, args: &[&str]) -> Proc {
        self.sounding_with(sink, args, &[])
    }

    /// `bandsync host` on loopback, sounding here, serving the page from `ui`: the process and
    /// its session's link.
    #[must_use]
    pub fn host_serving(&self, ui: &Path) -> (Proc, String) {
        let ui = ui.to_str().expect("a UTF-8 path");
        let mut host = self.sounding(None, &["host", "--bind", "127.0.0.1:0", "--no-mdns", "--json", "--ui", ui]);
        let url = host.event("hosting")["url"].as_str().expect("the session's link").to_owned();
        (host, url)
    }

    /// [`Pulse::sounding`], with `env` besides.
    #[must_use]
    pub fn sounding_with(&self, sink: Option<&str>, args: &[&str], env: &[(&str, String)]) -> Proc {
        let mut cmd = Command::new(bandsync());
        self.apply(&mut cmd, sink);
        cmd.args(args).env("BANDSYNC_NO_MDNS", "1");
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        Proc::start(cmd, true)
    }

    /// `bandsync join LINK --name NAME --json --audio --mute --beats`: a follower playing its
    /// click (muted) here, printing every beat it plays.
    #[must_use]
    pub fn clicking_follower(&self, link: &str, name: &str) -> Proc {
        self.sounding(None, &["join", link, "--name", name, "--json", "--audio", "--mute", "--beats"])
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
    pub fn record(&self, path: &Path) -> SoundRecorder {
        self.record_source("bandsync.monitor", self.channels, path)
    }

    /// Records `source` (`channels` channels) into `path`; see [`Pulse::record`].
    ///
    /// # Panics
    /// If no data arrives in time.
    #[must_use]
    pub fn record_source(&self, source: &str, channels: u32, path: &Path) -> SoundRecorder {
        let mut c = self.reader("parecord", source, channels);
        let child = c.arg("--file-format=wav").arg(path).spawn().expect("parecord starts");
        let rec = SoundRecorder { child: Some(child), path: path.to_owned() };
        let end = Instant::now() + Duration::from_secs(15);
        while std::fs::metadata(path).map_or(0, |m| m.len()) < 20_000 {
            assert!(Instant::now() < end, "the recorder got no data");
            std::thread::sleep(Duration::from_millis(50));
        }
        rec
    }

    /// Taps along as a player would: calls `tap` as each of the next `n` sounds on `source`
    /// reaches this program (a rise above 0.05 after 200 ms below it), read live in 5 ms blocks.
    /// Returns once the `n`-th is tapped.
    ///
    /// # Panics
    /// If `parec` does not start, or the `n` sounds do not come within 60 s.
    pub fn tap_along(&self, source: &str, n: usize, mut tap: impl FnMut()) {
        use std::io::Read;
        let mut c = self.reader("parec", source, 1);
        let mut child = c.arg("--raw").stdout(Stdio::piped()).spawn().expect("parec starts");
        let mut out = child.stdout.take().expect("stdout is piped");
        let quiet = (RATE / 5) as usize;
        let (mut tapped, mut since_loud) = (0, quiet);
        let mut block = vec![0u8; 4 * (RATE / 200) as usize];
        let end = Instant::now() + Duration::from_secs(60);
        while tapped < n {
            assert!(Instant::now() < end, "{tapped} of {n} sounds on {source} in 60 s");
            out.read_exact(&mut block).expect("parec reads");
            for s in block.chunks_exact(4) {
                if f32::from_le_bytes([s[0], s[1], s[2], s[3]]).abs() < 0.05 {
                    since_loud += 1;
                    continue;
                }
                if since_loud >= quiet && tapped < n {
                    tap();
                    tapped += 1;
                }
                since_loud = 0;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
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
pub struct SoundRecorder {
    child: Option<Child>,
    path: PathBuf,
}

impl SoundRecorder {
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

impl Drop for SoundRecorder {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
