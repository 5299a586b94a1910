//! Sharing the two cores between the tests of one binary that run in parallel. A test that
//! judges timing at the speaker or beat by beat runs [`alone`]; a test that may run beside others
//! of its kind, and never beside one that runs alone, holds [`shared`] (a light timing test, or a
//! heavy one that would starve a timing test: a browser starting, Postgres's `initdb`).
//!
//! One lock per test binary (each links its own copy of this library), held for the test's whole
//! run. When other test binaries run at the same time (`scripts/test.sh` runs the MIDI tests and
//! the app's calibration beside the speaker test's light ones), the file named by
//! `BANDSYNC_MACHINE_LOCK` extends [`alone`] to them: their runs hold the file shared (`flock -s`),
//! and a test that runs alone waits until no process holds it.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

static MACHINE: RwLock<()> = RwLock::new(());

/// The environment variable that names the lock file shared with other processes.
pub const LOCK_FILE: &str = "BANDSYNC_MACHINE_LOCK";

/// The machine to one test: this binary's lock, and the other processes' file lock when there is
/// one. Released when dropped.
pub struct Alone {
    _turn: RwLockWriteGuard<'static, ()>,
    /// Held with `flock(LOCK_EX)`; closing it lets the lock go.
    _file: Option<File>,
}

/// Nothing else that takes the lock runs meanwhile: in this binary, nor in any process that holds
/// the file named by [`LOCK_FILE`].
///
/// # Panics
/// When that file cannot be opened or locked.
pub fn alone() -> Alone {
    let turn = MACHINE.write().unwrap_or_else(PoisonError::into_inner);
    let file = std::env::var_os(LOCK_FILE).map(|path| {
        let f = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .unwrap_or_else(|e| panic!("{LOCK_FILE}={}: {e}", path.to_string_lossy()));
        #[allow(unsafe_code)]
        // SAFETY: flock(2) on a descriptor that this File owns and keeps open for the call.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(r, 0, "flock {}: {}", path.to_string_lossy(), std::io::Error::last_os_error());
        f
    });
    Alone { _turn: turn, _file: file }
}

/// Beside other [`shared`] holders, never beside one [`alone`].
pub fn shared() -> RwLockReadGuard<'static, ()> {
    MACHINE.read().unwrap_or_else(PoisonError::into_inner)
}
