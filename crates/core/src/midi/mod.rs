//! MIDI for the band's gear: the messages BandSync sends (a song's patch among them:
//! [`crate::patch`]), and [`MidiCursor`], which turns the shared transport into timed MIDI clock,
//! transport and song-change events.
//!
//! Sans-IO like the click grid: a device layer (JACK, ALSA, CoreMIDI, network MIDI) asks for the
//! events in a window of host time and places each at its exact time.

mod clock;
pub mod feed;
pub mod input;
pub mod rtp;

// A patch message is one of the messages sent (`MidiMessage::Patch`).
pub use crate::patch::PatchMsg;
pub use clock::{MidiCursor, MidiEvent, pulses_per_beat};

/// One MIDI message BandSync sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MidiMessage {
    /// Timing clock (0xF8): 24 per quarter note.
    Clock,
    /// Start (0xFA): play from the song's beginning at the next clock.
    Start,
    /// Continue (0xFB): play from the Song Position Pointer at the next clock.
    Continue,
    /// Stop (0xFC).
    Stop,
    /// Song Position Pointer (0xF2): sixteenth notes since the song's start, 0 to 16 383.
    SongPosition(u16),
    /// A patch message (program or control change).
    Patch(PatchMsg),
}

impl MidiMessage {
    /// The bytes on the wire, and how many of the three are used.
    #[must_use]
    pub fn bytes(self) -> ([u8; 3], usize) {
        match self {
            MidiMessage::Clock => ([0xF8, 0, 0], 1),
            MidiMessage::Start => ([0xFA, 0, 0], 1),
            MidiMessage::Continue => ([0xFB, 0, 0], 1),
            MidiMessage::Stop => ([0xFC, 0, 0], 1),
            MidiMessage::SongPosition(p) => {
                let p = p.min(0x3FFF);
                ([0xF2, (p & 0x7F) as u8, (p >> 7) as u8], 3)
            }
            MidiMessage::Patch(PatchMsg::Program { channel, program }) => ([0xC0 | (channel - 1), program, 0], 2),
            MidiMessage::Patch(PatchMsg::Control { channel, controller, value }) => {
                ([0xB0 | (channel - 1), controller, value], 3)
            }
        }
    }
}

#[cfg(test)]
mod tests;
