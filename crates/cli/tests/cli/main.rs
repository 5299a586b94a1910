//! The `bandsync` command line tool end to end: real processes on loopback, and the phone page in
//! a real browser.
//!
//! - [`commands`]: `bandsync` as scripts use it: JSON lines, exit codes, TLS, the QR code, the
//!   documents, chat and activity, persistence through `kill -9`.
//! - [`serve`]: `bandsync serve` and `bandsync admin token`: organizers, quotas, expiry.
//! - [`phone`]: a phone (headless Chromium) scans the QR code, joins, follows the beat, writes a
//!   chart and chats.
//! - [`import`]: a phone imports ChordPro files into the setlist, downloads and prints them.
//! - [`late`]: a change that reaches a follower after it landed is printed, late.
//!
//! The restart test judges a follower's click beat by beat: it runs alone
//! ([`bandsync_e2e::machine`]), and the heavy tests (browsers, Postgres) share the machine. In CI
//! it once ran beside a browser and a Postgres starting, and the follower lost five beats while
//! its audio underran twice.

mod commands;
mod cue;
mod import;
mod late;
mod library;
mod phone;
mod restart;
mod serve;
mod stage;
