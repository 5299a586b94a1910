//! A BandSync member over tokio: a thin driver around the sans-IO [`bandsync_core::member`] that
//! owns the WebSocket (plain or TLS), feeds the member what arrives and sends what it asks.
//!
//! - [`client`]: the connection task, its commands, and the clock view the audio thread reads;
//!   inside it, `client/options.rs` (how to join) and `client/connect.rs` (opening the socket).
//! - [`local_clock`]: this device's clock, optionally made wrong on purpose for tests.
//! - `link` (the `link` feature): Ableton Link on the member's device, both ways.
//!
//! Used by the CLI and the desktop app alike; the phone page drives the same member in wasm.

pub mod client;
#[cfg(feature = "link")]
pub mod link;
pub mod local_clock;

pub use bandsync_core::member::{Backoff, JoinTarget, LinkError, MemberConfig, MemberEvent};
pub use client::{Client, ClientOptions, ClockView, Event, Sender};
pub use local_clock::LocalClock;
