//! MIDI out into a real JACK server (`jackd -d dummy`, Debian's `jackd2`), recorded frame by frame
//! by a second JACK client ([`bandsync_e2e::jack`]), and into an independent network MIDI peer.
//!
//! - [`gig`]: the MIDI layer on a gig's schedule: every event on its frame, within 0.1 ms.
//! - [`member`]: `bandsync join --midi-out` in a real session: the setlist's patches on the bar,
//!   clock with the band, a bad patch refused with a clear error.
//! - [`phase`]: one member's MIDI clock and its click (through JACK's audio), beat by beat.
//! - [`pedal`]: `--midi-in`: a foot controller chooses songs, plays, stops and taps the tempo,
//!   with the leader's authority.
//! - [`rtp`]: network MIDI into pymidi, an independent AppleMIDI session (Python's registry).
//! - [`bonjour`]: a Mac's side (python-zeroconf and pymidi) finds the network MIDI session by
//!   Bonjour, joins it and gets the band's clock, inside a network namespace.

mod bonjour;
mod gig;
mod member;
mod pedal;
mod phase;
mod rtp;
