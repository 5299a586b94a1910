//! Finding programs for process-level tests: the binaries this workspace builds (`bandsync`),
//! programs on `PATH` (with the package that provides them when missing), the Python with the
//! interoperability peers, and the home directory their caches live under.
//!
//! Starting and reading processes is [`crate::process`], which re-exports these.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The path of a binary built in this workspace's target directory, next to the running test
/// (`target/debug/deps/TEST-HASH` runs; `target/debug/NAME` is the binary).
///
/// # Panics
/// When there is no such binary: the message says how to build it.
#[must_use]
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let dir = exe.parent().and_then(Path::parent).expect("target/debug");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "no {name} binary at {}: build the workspace first (`cargo test --workspace` builds every binary)",
        path.display()
    );
    path
}

/// The `bandsync` command line tool of this build.
#[must_use]
pub fn bandsync() -> PathBuf {
    bin("bandsync")
}

/// The path of a program on `PATH`.
#[must_use]
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// A program on `PATH`, or a failure naming the Debian package (or command) that provides it.
///
/// # Panics
/// When the program is missing.
#[must_use]
pub fn require(name: &str, provided_by: &str) -> PathBuf {
    which(name).unwrap_or_else(|| panic!("{name} is not on PATH: {provided_by} (scripts/test.sh installs it)"))
}

/// The Python that has the interoperability peers (pymidi, aalink): `$BANDSYNC_PYTHON`, which
/// `scripts/test.sh` sets, or the virtual environment it makes.
///
/// # Panics
/// When that Python lacks either.
#[must_use]
pub fn python_peers() -> PathBuf {
    let py = std::env::var_os("BANDSYNC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".cache/bandsync/py/bin/python"));
    let ok = Command::new(&py).args(["-c", "import pymidi, aalink"]).status().is_ok_and(|s| s.success());
    assert!(
        ok,
        "{} has no pymidi or aalink: scripts/test.sh installs them (need_python_peers in scripts/lib.sh)",
        py.display()
    );
    py
}

/// The home directory (for caches of test tools).
#[must_use]
pub fn home() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from)
}
