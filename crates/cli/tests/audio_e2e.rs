//! The metronome at the speaker: a host and two `bandsync join --audio` followers play into a
//! PulseAudio null sink, and the sink's monitor is recorded and measured. The followers differ in
//! ear, in buffer size, and one runs on a clock 1.5 s off and 150 ppm fast.
//!
//! Needs `pulseaudio`, `parecord` and `pactl` (Debian: pulseaudio, pulseaudio-utils,
//! libasound2-plugins); `scripts/test.sh` installs them. The test starts its own PulseAudio in a
//! private runtime directory and stops it afterwards.

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_bandsync");
const RATE: usize = 48_000;

/// Kills its process on drop, so that nothing outlives the test.
struct Guard(Child, &'static str);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(Some(st)) = self.0.try_wait() {
            if !st.success() && self.1 != "parecord" {
                eprintln!("{} exited early: {st}", self.1);
            }
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sigint(c: &Child) {
    #[allow(unsafe_code)]
    // SAFETY: kill(2) on a child's pid has no memory-safety preconditions.
    unsafe {
        libc::kill(c.id() as i32, libc::SIGINT);
    }
}

struct Pulse {
    dir: PathBuf,
    _daemon: Guard,
}

impl Pulse {
    fn start() -> Pulse {
        for tool in ["pulseaudio", "parecord", "pactl"] {
            let found =
                Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().unwrap().status.success();
            assert!(
                found,
                "{tool} is missing: install pulseaudio, pulseaudio-utils and libasound2-plugins (scripts/test.sh does)"
            );
        }
        let dir = std::env::temp_dir().join(format!("bandsync-audio-{}", std::process::id()));
        let run = dir.join("run");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::create_dir_all(dir.join("home")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let mut cmd = Command::new("pulseaudio");
        Self::env(&mut cmd, &dir);
        cmd.env("HOME", dir.join("home"))
            .args(["-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no", "--disallow-exit=no"])
            .arg(format!("--log-target=file:{}", run.join("pa.log").display()))
            .args(["-L", "module-native-protocol-unix auth-anonymous=1"])
            .args(["-L", "module-null-sink sink_name=bandsync rate=48000 channels=2"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let daemon = Guard(cmd.spawn().expect("pulseaudio starts"), "pulseaudio");
        let p = Pulse { dir, _daemon: daemon };
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let mut c = Command::new("pactl");
            p.apply(&mut c);
            if c.arg("info").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success()) {
                break;
            }
            assert!(Instant::now() < end, "pulseaudio did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
        p
    }

    fn env(cmd: &mut Command, dir: &Path) {
        let run = dir.join("run");
        cmd.env("XDG_RUNTIME_DIR", &run)
            .env("PULSE_SERVER", format!("unix:{}", run.join("pulse/native").display()))
            .env("PULSE_COOKIE", run.join("cookie"));
    }

    fn apply(&self, cmd: &mut Command) {
        Self::env(cmd, &self.dir);
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Reads a float32 WAV (as parecord writes it) into per-channel sample vectors.
fn read_wav(path: &Path) -> Vec<Vec<f32>> {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[0..4], b"RIFF");
    let mut i = 12;
    let mut channels = 2usize;
    while i + 8 <= b.len() {
        let id = &b[i..i + 4];
        let len = u32::from_le_bytes(b[i + 4..i + 8].try_into().unwrap()) as usize;
        if id == b"fmt " {
            channels = u16::from_le_bytes(b[i + 10..i + 12].try_into().unwrap()) as usize;
        }
        if id == b"data" {
            let data = &b[i + 8..(i + 8 + len).min(b.len())];
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

/// Sample indices where a click starts: above 0.05 after at least 5 ms of near-silence.
fn onsets(x: &[f32]) -> Vec<usize> {
    let quiet = RATE / 200;
    let mut out = Vec::new();
    let mut silent_run = quiet;
    for (i, &s) in x.iter().enumerate() {
        if s.abs() > 0.05 && silent_run >= quiet {
            out.push(i);
        }
        silent_run = if s.abs() < 0.01 { silent_run + 1 } else { 0 };
    }
    out
}

fn spawn(pulse: &Pulse, args: &[&str], name: &'static str) -> (Guard, std::sync::mpsc::Receiver<Value>) {
    let mut cmd = Command::new(BIN);
    pulse.apply(&mut cmd);
    let mut child = cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&l) {
                let _ = tx.send(v);
            }
        }
    });
    (Guard(child, name), rx)
}

fn wait_for(rx: &std::sync::mpsc::Receiver<Value>, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        let v = rx.recv_timeout(end.saturating_duration_since(Instant::now())).unwrap_or_else(|_| panic!("no {what}"));
        if pred(&v) {
            return v;
        }
    }
}

fn p(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

#[test]
fn two_followers_click_together_at_the_speaker() {
    let pulse = Pulse::start();
    let wav = pulse.dir.join("rec.wav");
    let mut rec = Command::new("parecord");
    pulse.apply(&mut rec);
    let recorder = Guard(
        rec.args([
            "--device=bandsync.monitor",
            "--file-format=wav",
            "--format=float32le",
            "--rate=48000",
            "--channels=2",
        ])
        .arg("--latency-msec=10")
        .arg(&wav)
        .spawn()
        .expect("parecord starts"),
        "parecord",
    );
    // The null sink renders in large blocks until a low-latency client connects: wait for data.
    let end = Instant::now() + Duration::from_secs(15);
    while std::fs::metadata(&wav).map_or(0, |m| m.len()) < 20_000 {
        assert!(Instant::now() < end, "the recorder got no data");
        std::thread::sleep(Duration::from_millis(50));
    }

    let (_host, host_rx) = spawn(&pulse, &["host", "--bind", "127.0.0.1:0", "--no-mdns", "--json"], "host");
    let url = wait_for(&host_rx, "hosting", |v| v["event"] == "hosting")["url"].as_str().unwrap().to_owned();
    let (_left, left_rx) = spawn(
        &pulse,
        &["join", &url, "--name", "Left", "--audio", "--channel", "left", "--buffer", "512", "--json", "--for", "38"],
        "left follower",
    );
    let (_right, right_rx) = spawn(
        &pulse,
        &[
            "join",
            &url,
            "--name",
            "Right",
            "--audio",
            "--channel",
            "right",
            "--buffer",
            "2048",
            "--clock-offset-ms",
            "1500",
            "--clock-skew-ppm",
            "150",
            "--json",
            "--for",
            "38",
        ],
        "right follower",
    );
    for rx in [&left_rx, &right_rx] {
        wait_for(rx, "synced clock", |v| v["event"] == "clock" && v["synced"] == true);
    }
    // Let the followers converge (clock skew, device clock) before the band starts: the
    // measurement is of the steady state, as a band would hear it after the count-in.
    std::thread::sleep(Duration::from_secs(12));
    let (mut lead, _lead_rx) =
        spawn(&pulse, &["join", &url, "--name", "Lead", "--leader", "--no-audio", "--json"], "leader");
    writeln!(lead.0.stdin.as_mut().unwrap(), "tempo 120").unwrap();
    writeln!(lead.0.stdin.as_mut().unwrap(), "play").unwrap();
    lead.0.stdin.as_mut().unwrap().flush().unwrap();
    std::thread::sleep(Duration::from_secs(23));
    sigint(&recorder.0);
    let mut recorder = recorder;
    let _ = recorder.0.wait();

    // Underruns the followers reported (their last audio event).
    let underruns: u64 = [&left_rx, &right_rx]
        .iter()
        .map(|rx| {
            rx.try_iter().filter(|v| v["event"] == "audio").filter_map(|v| v["underruns"].as_u64()).max().unwrap_or(0)
        })
        .sum();

    let ch = read_wav(&wav);
    let (l, r) = (onsets(&ch[0]), onsets(&ch[1]));
    assert!(l.len() >= 40 && r.len() >= 40, "20 s of clicks on each ear: {} left, {} right", l.len(), r.len());
    // Skew between the two followers: each left click against the nearest right one.
    let mut skew: Vec<f64> = l
        .iter()
        .filter_map(|&a| r.iter().map(|&b| b as f64 - a as f64).min_by(|x, y| x.abs().total_cmp(&y.abs())))
        .filter(|d| d.abs() < RATE as f64 / 4.0)
        .map(|d| d.abs() * 1000.0 / RATE as f64)
        .collect();
    assert!(skew.len() >= 40, "paired clicks: {}", skew.len());
    let (skew_p50, skew_p99, skew_max) = (p(&mut skew, 0.5), p(&mut skew, 0.99), p(&mut skew, 1.0));
    // Intervals: constant to ±1 sample around the device's own rate.
    let mut report = Vec::new();
    let mut outliers = 0;
    for (name, on) in [("left", &l), ("right", &r)] {
        let iv: Vec<i64> = on.windows(2).map(|w| w[1] as i64 - w[0] as i64).collect();
        let mut sorted = iv.clone();
        sorted.sort_unstable();
        let median = sorted[sorted.len() / 2];
        // The sink's clock against the host's: within ±500 ppm of 24 000 frames per beat.
        assert!((median - 24_000).abs() <= 12, "{name}: median interval {median}");
        outliers += iv.iter().filter(|&&i| (i - median).abs() > 1).count();
        report.push(format!(
            "{name}: {} clicks, median interval {median}, range {}..{}",
            on.len(),
            sorted[0],
            sorted[sorted.len() - 1]
        ));
        eprintln!("{name} intervals: {iv:?}");
    }
    eprintln!(
        "follower skew: p50 {skew_p50:.3} ms, p99 {skew_p99:.3} ms, max {skew_max:.3} ms over {} clicks; {}; underruns {underruns}",
        skew.len(),
        report.join("; ")
    );
    assert!(skew_p99 <= 0.5, "p99 skew {skew_p99:.3} ms");
    assert!(
        outliers as u64 <= 2 * underruns,
        "{outliers} intervals off by more than 1 sample with {underruns} underruns: {report:?}"
    );
}
