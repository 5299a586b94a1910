//! Tests that use multicast (mDNS, Ableton Link) run inside a network namespace of their own
//! (`unshare -rn`, its loopback up), never on the machine's network: mdns-sd joins the multicast
//! group on every interface before any filter applies.

use std::process::Command;

/// Whether the calling test runs inside its own namespace. When it does not, this runs the test
/// binary again inside one, with only the test `name` (its full path, `module::test`), asserts
/// that it passed, and returns `false`: the caller then returns.
///
/// # Panics
/// When `unshare` is missing or the test failed inside.
#[must_use]
pub fn inside(name: &str) -> bool {
    if std::env::var_os("BANDSYNC_IN_NETNS").is_some() {
        return true;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let status = Command::new("unshare")
        .args(["-rn", "sh", "-c", r#"set -e; ip link set lo up; exec "$EXE" --exact "$NAME" --nocapture"#])
        .env("EXE", exe)
        .env("NAME", name)
        .env("BANDSYNC_IN_NETNS", "1")
        .status()
        .expect("unshare runs (util-linux): multicast stays in the test's own namespace");
    assert!(status.success(), "the test inside its namespace failed ({status})");
    false
}
