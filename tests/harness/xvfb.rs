//! An X display of the test's own (Xvfb), for WebKit and the desktop app: these machines have no
//! display. Stopped on drop.

use crate::process::require;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running Xvfb.
pub struct Xvfb {
    child: Child,
    /// The display name, `:N`.
    pub display: String,
}

impl Xvfb {
    /// `None` when there already is a display (`DISPLAY` set, e.g. under `xvfb-run`).
    #[must_use]
    pub fn start_if_needed() -> Option<Xvfb> {
        if std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty()) {
            return None;
        }
        Some(Xvfb::start())
    }

    /// Starts a new display on the first free number.
    ///
    /// # Panics
    /// If Xvfb is missing or does not come up in time.
    #[must_use]
    pub fn start() -> Xvfb {
        let xvfb = require("Xvfb", "apt-get install xvfb");
        let free = |n: &u32| {
            !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
        };
        // Several tests may start displays at once: retry when another took our number first.
        for _ in 0..5 {
            let n = (90..400).find(free).expect("a free X display number");
            let display = format!(":{n}");
            let child = Command::new(&xvfb)
                .args([display.as_str(), "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("Xvfb starts");
            let mut x = Xvfb { child, display };
            let end = Instant::now() + Duration::from_secs(20);
            loop {
                if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                    return x;
                }
                if x.child.try_wait().unwrap().is_some() || Instant::now() > end {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = x.child.kill();
        }
        panic!("Xvfb did not come up");
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
