//! The metronome at the speaker: players sound into a private PulseAudio null sink, each on its
//! own channel, and the recording of the sink is measured. Timing tests, in a binary of their
//! own: the two light ones (a few processes, under a tenth of the two cores: calibration, the native
//! pair) run side by side, each on its own PulseAudio ([`bandsync_e2e::machine::shared`]); the
//! heavy ones (browsers under Xvfb) run alone ([`bandsync_e2e::machine::alone`]). In
//! `scripts/test.sh` the MIDI tests run beside the light ones, and the heavy ones wait for them
//! (`BANDSYNC_MACHINE_LOCK`).
//!
//! - [`calibrate`]: `bandsync calibrate` against an injected output delay (LADSPA `delay_5s`),
//!   by its microphone and by tapping along (`--taps`).
//! - [`native`]: two `bandsync join --audio` followers (cpal), one on a deliberately wrong clock.
//! - [`page_calibrate`]: the phone page's microphone calibration, in Chromium, against an
//!   injected output delay, then the calibrated page beside a native follower; and by tapping
//!   along ([`taps`]).
//! - [`sleep`]: a locked phone (its AudioContext suspended) comes back on the beat, no burst.
//! - [`paths`]: every click path together: native, the phone page in Chromium and in WebKit.
//! - [`floor`]: WebKit's own floor (a bare page pre-scheduled on its context clock) beside the
//!   phone page in WebKit; a benchmark (`scripts/speaker-floor.sh`), ignored by `cargo test`.
//! - [`stall`]: the native pair after one follower stalls for 300 ms (an underrun): how long the
//!   pair takes to come back together; a benchmark (`scripts/speaker-stall.sh`), ignored.
//! - [`webkit_taps`]: the phone page in WebKit calibrated by tapping along, beside a native
//!   follower; a benchmark (`scripts/speaker-webkit-taps.sh`), ignored.

mod calibrate;
mod floor;
mod native;
mod output_trace;
mod page_calibrate;
mod paths;
mod sleep;
mod stall;
mod taps;
mod webkit_taps;

/// A native follower's hard case: a large buffer, and a clock 1.5 s off and 150 ppm fast.
const WRONG_CLOCK: [&str; 6] = ["--buffer", "2048", "--clock-offset-ms", "1500", "--clock-skew-ppm", "150"];
