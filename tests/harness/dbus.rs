//! A D-Bus session bus of the test's own, and a monitor on it: what the desktop app sends the
//! system's notification service (`org.freedesktop.Notifications`) is seen as it is sent, with
//! no notification daemon (the bus answers "no such service", which the app does not mind).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A private session bus that lets a monitor see every message; stopped on drop.
pub struct SessionBus {
    daemon: Child,
    /// `DBUS_SESSION_BUS_ADDRESS` for the processes that should use it.
    pub address: String,
    monitor: Option<Child>,
    log: PathBuf,
}

impl SessionBus {
    /// Starts `dbus-daemon` on a socket in `dir`, and `dbus-monitor` writing what `rule` matches
    /// to `dir/monitor.txt`.
    ///
    /// # Panics
    /// When `dbus-daemon` or `dbus-monitor` (Debian's `dbus`, `dbus-bin`) cannot run.
    #[must_use]
    pub fn start(dir: &Path, rule: &str) -> SessionBus {
        std::fs::create_dir_all(dir).unwrap();
        let sock = dir.join("bus.sock");
        let _ = std::fs::remove_file(&sock);
        let conf = dir.join("bus.conf");
        std::fs::write(
            &conf,
            format!(
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\" \
                 \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n<busconfig><type>session</type>\
                 <listen>unix:path={}</listen><auth>EXTERNAL</auth><policy context=\"default\">\
                 <allow send_destination=\"*\" eavesdrop=\"true\"/><allow eavesdrop=\"true\"/><allow own=\"*\"/>\
                 </policy></busconfig>\n",
                sock.display()
            ),
        )
        .unwrap();
        let daemon = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", conf.display()))
            .arg("--nofork")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run dbus-daemon (apt-get install dbus-daemon): {e}"));
        let address = format!("unix:path={}", sock.display());
        let end = Instant::now() + Duration::from_secs(10);
        while !sock.exists() {
            assert!(Instant::now() < end, "dbus-daemon made no socket in 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        let log = dir.join("monitor.txt");
        let mut bus = SessionBus { daemon, address, monitor: None, log: log.clone() };
        let out = std::fs::File::create(&log).unwrap();
        let monitor = Command::new("dbus-monitor")
            .args(["--address", &bus.address, rule])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run dbus-monitor (apt-get install dbus-bin): {e}"));
        bus.monitor = Some(monitor);
        // The monitor is in once the bus has told it its name.
        let end = Instant::now() + Duration::from_secs(10);
        while !bus.seen().contains("NameAcquired") {
            assert!(Instant::now() < end, "dbus-monitor did not start in 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        bus
    }

    /// What the monitor has printed so far.
    #[must_use]
    pub fn seen(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        if let Some(m) = &mut self.monitor {
            let _ = m.kill();
            let _ = m.wait();
        }
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}
