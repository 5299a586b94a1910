//! A BandSync member: connects to a peer server, joins a session, keeps a mirror of its state,
//! and reconnects with backoff and jitter, resuming as the same participant.
//!
//! - [`target`]: join links and addresses, turned into a WebSocket URL and a session id.
//! - [`client`]: the connection task, its commands and its events.
//! - [`backoff`]: reconnect delays.
//!
//! Used by the CLI and the desktop app alike.

pub mod backoff;
pub mod client;
pub mod local_clock;
pub mod target;

pub use client::{Client, ClientOptions, ClockView, Event};
pub use local_clock::LocalClock;
pub use target::JoinTarget;
