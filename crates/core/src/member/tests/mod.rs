//! Members and a session in simulated time: a seeded network with latency and jitter between
//! [`Member`]s and a [`Session`] behind a minimal server driver (joins, pings and heartbeats
//! answered at once, everything else through the state machine). Each member runs on its own,
//! deliberately wrong clock. A thousand simulated seconds take milliseconds.
//!
//! - `world`: the simulated network, server driver and members;
//! - `band`: a band of members joining, syncing, following the leader, and a busy device's lead;
//! - `connection`: connections cut, refused, lost for good, and left;
//! - `carried`: a session carried to another server, whose clock the member moves onto;
//! - `cadence`: the clock-sync cadence a server asks for.

mod band;
mod cadence;
mod carried;
mod connection;
mod shown;
mod world;
