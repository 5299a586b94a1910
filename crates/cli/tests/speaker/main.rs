//! The metronome at the speaker: players sound into a private PulseAudio null sink, each on its
//! own channel, and the recording of the sink is measured. Timing tests: they run one at a time
//! ([`quiet`]), in a binary of their own, so that nothing else loads the two cores meanwhile.
//!
//! - [`calibrate`]: `bandsync calibrate` against an injected output delay (LADSPA `delay_5s`).
//! - [`native`]: two `bandsync join --audio` followers (cpal), one on a deliberately wrong clock.
//! - [`sleep`]: a locked phone (its AudioContext suspended) comes back on the beat, no burst.
//! - [`paths`]: every click path together: native, the phone page in Chromium and in WebKit.

mod calibrate;
mod native;
mod paths;
mod sleep;

/// Held by each test for its whole run: one timing test at a time.
fn quiet() -> std::sync::MutexGuard<'static, ()> {
    static QUIET: std::sync::Mutex<()> = std::sync::Mutex::new(());
    QUIET.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
