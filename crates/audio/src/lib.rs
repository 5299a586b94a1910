//! BandSync's metronome.
//!
//! - [`engine`]: the pure click engine. `process(out, channels, first_frame)` renders the clicks
//!   that the shared timeline puts in the buffer, at the exact frame. Tested without a device.
//! - [`schedule`]: the transport schedule in a fixed-size form for the audio thread.
//! - [`sounds`]: synthesized clicks, and custom samples decoded with rodio.
//! - [`calibrate`]: latency calibration (loopback onsets, tap-along); [`stamps`]: whether a
//!   browser's output timestamps can be trusted; [`filter`]: the device-clock filter.
//! - [`input`]: the cpal input layer, recording for calibration; [`loopback`]: the native
//!   microphone loopback from the devices to the figure (the CLI's and the app's calibration);
//!   [`tapalong`]: the native tap-along (`bandsync calibrate --taps`).
//! - [`device`]: the cpal layer: device choice, sample formats, the device-clock filter that maps
//!   frames to host time, latency compensation, underrun counting, device changes. Inside it,
//!   `device/options.rs` holds the options, figures and errors, and `device/callback.rs` the
//!   real-time callback and the stream's building.
//! - [`offsets`]: the stored per-device latencies; [`stream_clock`]: a stream's clock read
//!   against `Instant`.
//!
//! Unit tests sit beside the code; the filter's are in `filter/tests.rs`.
//!
//! The audio callback never allocates, locks, logs, does IO or reads a clock: parameters and the
//! schedule arrive through a preallocated lock-free queue, beats leave through another.

pub mod calibrate;
#[cfg(feature = "device")]
pub mod device;
pub mod engine;
pub mod filter;
#[cfg(feature = "device")]
pub mod input;
#[cfg(feature = "device")]
pub mod loopback;
#[cfg(feature = "device")]
pub mod offsets;
pub mod schedule;
pub mod sounds;
pub mod stamps;
#[cfg(feature = "device")]
pub mod stream_clock;
#[cfg(feature = "device")]
pub mod tapalong;

pub use engine::{Command, Ear, Engine, FrameMap, Levels, PlayedClick};
pub use schedule::FixedSchedule;
