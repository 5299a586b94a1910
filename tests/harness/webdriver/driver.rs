//! The driver process: chromedriver, WebKitWebDriver or tauri-driver on a free port, with its log.

use super::error::{Error, Result};
use super::http::http;
use super::wait::wait_until;
use std::ffi::OsStr;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A free TCP port on loopback, for a process to bind after this returns (a driver, a cluster
/// node, Postgres, the proxy, and a node again after it was killed).
///
/// It is taken below the kernel's ephemeral range (`ip_local_port_range`, 32768 up here), where
/// no outgoing connection is ever given a local port. A port the kernel handed out for `:0` is in
/// that range, and the connections the test makes meanwhile (a proxy's health checks, Postgres
/// clients) could take it before the process binds it: a cluster node in CI failed to start with
/// "Address already in use" that way.
///
/// # Panics
/// If no port can be bound.
#[must_use]
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next().and_then(|lo| lo.parse::<u16>().ok()))
        .unwrap_or(32_768);
    let (lo, hi) = (10_000u16, ephemeral.max(10_001));
    // A different start per process and per call, so that tests running at once rarely try the
    // same port; each candidate is checked by binding it.
    let seed = u64::from(std::process::id()) << 20 ^ NEXT.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9E37_79B9);
    let mut rng = bandsync_sim::rng::Rng::new(seed);
    for _ in 0..1000 {
        let port = lo + rng.below(u64::from(hi - lo)) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port on loopback").port()
}

/// A WebDriver server process (chromedriver, WebKitWebDriver, tauri-driver) on a free port, in a
/// process group of its own with the browser or app it starts, all killed on drop. Its output goes
/// to a log file, for failure messages.
pub struct WebDriver {
    child: Child,
    addr: String,
    log: PathBuf,
}

impl WebDriver {
    /// Starts `program` with the arguments `args(port)` on a free loopback port and waits (up to
    /// 30 s) until `GET /status` says it is ready.
    ///
    /// chromedriver and WebKitWebDriver take `--port=N`; tauri-driver takes
    /// `--port N --native-port M` (use [`free_port`] for M).
    ///
    /// # Errors
    /// [`Error::Driver`] if it cannot start or does not become ready; the message has its log.
    pub fn start(program: impl AsRef<OsStr>, args: impl FnOnce(u16) -> Vec<String>) -> Result<WebDriver> {
        WebDriver::start_env(program, args, &[])
    }

    /// [`WebDriver::start`] with extra environment for the driver and the browser it starts (an X
    /// display, a PulseAudio server and sink).
    ///
    /// # Errors
    /// [`Error::Driver`] if it cannot start or does not become ready; the message has its log.
    pub fn start_env(
        program: impl AsRef<OsStr>,
        args: impl FnOnce(u16) -> Vec<String>,
        env: &[(String, String)],
    ) -> Result<WebDriver> {
        let program = program.as_ref();
        let port = free_port();
        let log = std::env::temp_dir().join(format!("bandsync-webdriver-{}-{port}.log", std::process::id()));
        let out = std::fs::File::create(&log)?;
        let child = Command::new(program)
            .args(args(port))
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .process_group(0)
            .spawn()
            .map_err(|e| Error::Driver(format!("cannot run {}: {e}", program.to_string_lossy())))?;
        let mut d = WebDriver { child, addr: format!("127.0.0.1:{port}"), log };
        let ready = wait_until("the driver's /status", Duration::from_secs(30), || {
            if let Some(st) = d.child.try_wait()? {
                return Err(Error::Driver(format!("exited with {st}")));
            }
            let (status, v) = http(&d.addr, "GET", "/status", None, Duration::from_secs(5))?;
            // Not every driver says `ready` (tauri-driver's proxy); a 200 is enough then.
            Ok((status == 200 && v["value"]["ready"].as_bool() != Some(false)).then_some(()))
        });
        if let Err(e) = ready {
            return Err(Error::Driver(format!(
                "{} did not become ready: {e}\n--- its log ---\n{}",
                program.to_string_lossy(),
                d.log_text()
            )));
        }
        Ok(d)
    }

    /// Where the driver listens, `127.0.0.1:PORT`.
    #[must_use]
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The driver's log file.
    #[must_use]
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The driver's output so far.
    #[must_use]
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for WebDriver {
    fn drop(&mut self) {
        // The whole group: the driver alone left the app's WebKit web process running on, a core
        // busy for seconds, and the next test's clock window (clock_sync, right after the app's
        // test) missed its bound every time. Waited for until it is gone (or 10 s).
        let group = self.child.id();
        crate::process::signal_group(group, libc::SIGKILL);
        let _ = self.child.wait();
        let _ = wait_until("the driver's processes gone", Duration::from_secs(10), || {
            Ok((!group_runs(group)).then_some(()))
        });
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// Whether any process of process group `group` still runs (a zombie does not: an orphan's may
/// never be reaped where process 1 does not reap).
fn group_runs(group: u32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else { return false };
    let group = group.to_string();
    dir.flatten().any(|e| {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { return false };
        // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(')') else { return false };
        let mut f = rest.split_whitespace();
        let (state, pgrp) = (f.next(), f.nth(1));
        state != Some("Z") && pgrp == Some(group.as_str())
    })
}
