//! The metronome at the speaker: players sound into a private PulseAudio null sink, each on its
//! own channel, and the recording of the sink is measured. Timing tests, in a binary of their
//! own: the two light ones ([`light`]: a few processes, under a tenth of the two cores) run side
//! by side, each on its own PulseAudio; the heavy ones ([`quiet`]: browsers under Xvfb) run alone.
//!
//! - [`calibrate`]: `bandsync calibrate` against an injected output delay (LADSPA `delay_5s`).
//! - [`native`]: two `bandsync join --audio` followers (cpal), one on a deliberately wrong clock.
//! - [`sleep`]: a locked phone (its AudioContext suspended) comes back on the beat, no burst.
//! - [`paths`]: every click path together: native, the phone page in Chromium and in WebKit.

mod calibrate;
mod native;
mod paths;
mod sleep;

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

static TIMING: RwLock<()> = RwLock::new(());

/// Held by a heavy timing test for its whole run: nothing else runs meanwhile.
fn quiet() -> RwLockWriteGuard<'static, ()> {
    TIMING.write().unwrap_or_else(PoisonError::into_inner)
}

/// Held by a light timing test (calibration: one player; the native pair: two players and a
/// host, 5 to 10 % of the machine together, as measured): it may run beside another light one,
/// never beside a heavy one.
fn light() -> RwLockReadGuard<'static, ()> {
    TIMING.read().unwrap_or_else(PoisonError::into_inner)
}
