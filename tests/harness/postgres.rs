//! A real Postgres server of the test's own: Debian's `postgresql` binaries, `initdb` into a temp
//! folder, listening on a free port of 127.0.0.1 and a socket in that folder. Run as the
//! `postgres` user when the test runs as root (Postgres refuses root). Stopped and removed when
//! dropped; [`Postgres::kill9`] and [`Postgres::start_again`] crash and restart it on the same data.

use crate::webdriver::free_port;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running Postgres.
pub struct PgServer {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    user: Option<(u32, u32)>,
    child: Option<Child>,
}

/// The newest installed server's `bin` folder (`/usr/lib/postgresql/N/bin`).
fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, p)| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|v| v.1)
        .expect("no Postgres server in /usr/lib/postgresql: scripts/test.sh installs `postgresql`")
}

/// `id ARGS`, as a number.
fn id(args: &[&str]) -> Option<u32> {
    let out = Command::new("id").args(args).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// The `postgres` user's uid and gid, when this test runs as root.
fn unprivileged() -> Option<(u32, u32)> {
    if id(&["-u"]) != Some(0) {
        return None;
    }
    let user = id(&["-u", "postgres"]).zip(id(&["-g", "postgres"]));
    assert!(user.is_some(), "running as root, and there is no `postgres` user to run Postgres as");
    user
}

impl PgServer {
    /// A new cluster, started, with a superuser `bandsync` and trust authentication on loopback.
    ///
    /// # Panics
    /// When Postgres is not installed, or does not come up in 30 s.
    #[must_use]
    pub fn start() -> PgServer {
        let bin = bin_dir();
        let dir = std::env::temp_dir().join(format!("bandsync-pg-{}-{}", std::process::id(), free_port()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let user = unprivileged();
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
        }
        let mut init = Command::new(bin.join("initdb"));
        init.args(["-D"])
            .arg(dir.join("data"))
            .args(["-U", "bandsync", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"])
            .stdout(Stdio::null());
        let out = Self::as_user(&mut init, user).output().expect("initdb runs");
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        let mut pg = PgServer { dir, bin, port: free_port(), user, child: None };
        pg.start_again();
        pg
    }

    fn as_user(cmd: &mut Command, user: Option<(u32, u32)>) -> &mut Command {
        if let Some((uid, gid)) = user {
            cmd.uid(uid).gid(gid).env("HOME", "/tmp");
        }
        cmd
    }

    /// Starts the server on its data (after [`Postgres::kill9`]) and waits until it accepts
    /// connections. Crash recovery replays its WAL first.
    ///
    /// # Panics
    /// When it does not come up in 30 s.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = self.dir.join("log");
        let _ = std::fs::remove_file(&log);
        let mut cmd = Command::new(self.bin.join("postgres"));
        cmd.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(&self.dir)
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=on", "-c", "synchronous_commit=on"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        // A process group of its own (its backends each start a session of their own: `kill9`
        // finds them as the postmaster's children).
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        if let Some((uid, gid)) = self.user {
            std::os::unix::fs::chown(&log, Some(uid), Some(gid)).unwrap();
        }
        self.child = Some(Self::as_user(&mut cmd, self.user).spawn().expect("postgres starts"));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("ready to accept connections") {
                return;
            }
            if let Some(st) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("postgres exited ({st}): {text}");
            }
            assert!(Instant::now() < deadline, "postgres did not come up in 30 s: {text}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server outright (SIGKILL), as a machine dying would: the postmaster and every
    /// backend at once. (Killed alone, the postmaster left its backends running until they
    /// noticed, and a connection's next query could still be answered: seen once in CI. Each
    /// backend runs in a session of its own, so signalling the postmaster's group missed them.)
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let pid = i32::try_from(c.id()).expect("a pid");
            // Stopped first, it starts no backend while they are found (once it is dead they
            // would be another process's children).
            crate::process::signal(c.id(), libc::SIGSTOP);
            for (each, _) in family(pid).collect::<Vec<_>>() {
                crate::process::signal(each.unsigned_abs(), libc::SIGKILL);
            }
            let _ = c.wait();
            let deadline = Instant::now() + Duration::from_secs(10);
            while family_running(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// The URL of a database on it, made if it does not exist yet.
    #[must_use]
    pub fn database(&self, name: &str) -> String {
        let mut c = postgres::Client::connect(&self.url("postgres"), postgres::NoTls).expect("connect to postgres");
        let exists = c.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name]).unwrap().is_some();
        if !exists {
            c.batch_execute(&format!("CREATE DATABASE \"{name}\"")).unwrap();
        }
        self.url(name)
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://bandsync@127.0.0.1:{}/{db}", self.port)
    }

    /// CPU time (user and system, seconds) that the server's processes alive now have used:
    /// the postmaster and its backends (a benchmark's connections stay open throughout).
    #[must_use]
    pub fn cpu_secs(&self) -> f64 {
        let Some(c) = &self.child else { return 0.0 };
        let pid = i32::try_from(c.id()).expect("a pid");
        family(pid).map(|(_, f)| crate::process::stat_cpu_secs(&f)).sum()
    }

    /// Its folder.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if let Some(c) = &self.child {
            // SIGINT: Postgres's fast shutdown.
            crate::process::signal(c.id(), libc::SIGINT);
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether the postmaster `pid` or one of its backends still runs (a zombie, dead and not yet
/// reaped, does not).
fn family_running(pid: i32) -> bool {
    family(pid).any(|(_, fields)| !matches!(fields.first().map(String::as_str), Some("Z" | "X")))
}

/// The postmaster `pid` and its children (each backend runs in a session of its own, so they
/// are not in its process group), with their `/proc/PID/stat` fields after the command's name
/// (state, ppid, pgrp, …).
fn family(pid: i32) -> impl Iterator<Item = (i32, Vec<String>)> {
    let procs = std::fs::read_dir("/proc").into_iter().flatten().flatten();
    procs.filter_map(move |p| {
        let (me, fields) = crate::process::proc_stat(&p.path().join("stat"))?;
        (me == pid || fields.get(1)?.parse::<i32>().ok()? == pid).then_some((me, fields))
    })
}
