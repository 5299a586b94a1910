//! A deterministic simulation of clock sync between a host and followers.
//!
//! Sans-IO and seeded: a host and N followers each have their own clock (offset up to ±1 h,
//! skew up to ±200 ppm, optionally drifting), joined by links with latency, jitter, heavy-tailed
//! spikes, loss, reordering, asymmetry and outages. An event queue steps simulated time from one
//! packet or timer to the next, so an hour of simulated time runs in well under a second.
//!
//! - [`rng`]: a small seeded random source.
//! - [`link`]: the link model.
//! - [`method`]: the sync methods compared: BandSync's estimator and the two baselines.
//! - [`world`]: the simulation and its measurements.
//! - [`scenario`]: the named scenarios of the `sync-sim` benchmark.
//! - [`stats`]: the quantile rule every figure is reported by.

pub mod link;
pub mod method;
pub mod rng;
pub mod scenario;
pub mod stats;
pub mod world;
