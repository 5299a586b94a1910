//! The `bandsync` command line tool end to end: real processes on loopback, and the phone page in
//! a real browser.
//!
//! - [`commands`]: `bandsync` as scripts use it: JSON lines, exit codes, TLS, the QR code, the
//!   documents, chat and activity, persistence through `kill -9`.
//! - [`serve`]: `bandsync serve` and `bandsync admin token`: organizers, quotas, expiry.
//! - [`phone`]: a phone (headless Chromium) scans the QR code, joins, follows the beat, writes a
//!   chart and chats.
//! - [`import`]: a phone imports ChordPro files into the setlist, downloads and prints them.

mod commands;
mod cue;
mod import;
mod library;
mod phone;
mod restart;
mod serve;
mod stage;

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

static MACHINE: RwLock<()> = RwLock::new(());

/// Held for the whole run by a test that judges a follower's click beat by beat (the restart): it
/// runs beside no heavy test. In CI (two cores) it ran beside a browser and a Postgres starting,
/// and the follower lost five beats after the restart while its audio underran twice: most likely
/// starved, but the lines then carried no times to tell (they do now).
fn alone() -> RwLockWriteGuard<'static, ()> {
    MACHINE.write().unwrap_or_else(PoisonError::into_inner)
}

/// Held for the whole run by a heavy test (a browser, a Postgres): it may run beside another
/// heavy one, never beside one that runs [`alone`].
fn heavy() -> RwLockReadGuard<'static, ()> {
    MACHINE.read().unwrap_or_else(PoisonError::into_inner)
}
