//! The metronome at the speaker: players sound into a private PulseAudio null sink, each on its
//! own channel, and the recording of the sink is measured. Timing tests: they run one at a time,
//! in a binary of their own, so that nothing else loads the two cores meanwhile.
//!
//! - [`native`]: two `bandsync join --audio` followers (cpal), one on a deliberately wrong clock.

mod native;
