//! MIDI clock and transport from the shared timeline.
//!
//! Clock pulses sit on the click grid's rule ([`grid_between`]) at 24 per quarter note, anchored
//! at the bar origin, so every sixth pulse of a quarter-note beat is exactly a click. While the
//! metronome plays, the pulses run, count-in included, so the gear follows the tempo. The gear is
//! told to play where the song plays:
//! - **Start** just before the pulse on the song's first beat (after any count-in);
//! - **Song Position Pointer**, then **Continue** on the next sixteenth, when the band comes in
//!   mid-song (a seek, a member that joins late, a start after a stop mid-song);
//! - **Stop** where the metronome stops, and before any jump (a seek, a new song);
//! - a new song's **patch** on the bar where it becomes current.
//!
//! A tempo or meter change on a bar line moves nothing but the pulses' spacing.

use super::MidiMessage;
use crate::clicks::{SEGMENT_SLACK, grid_between};
use crate::host_axis::{AxisFollower, HostAxis};
use crate::patch::SongCue;
use crate::time::{Beats, Micros};
use crate::timeline::Segment;

/// One MIDI message at the host time it must reach the gear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MidiEvent {
    /// Host time.
    pub host: Micros,
    /// What to send.
    pub msg: MidiMessage,
}

/// Clock pulses per beat of `unit` (a quarter note has 24): 96 for whole notes, 12 for eighths.
#[must_use]
pub fn pulses_per_beat(unit: u8) -> i64 {
    96 / i64::from(unit.clamp(1, 32))
}

/// Two pulses closer than this are one pulse seen from both sides of a seam (the closest real
/// pulses, 96 a beat at 999 BPM, are 625 µs apart).
const SAME_PULSE: Micros = Micros(300);
/// Rounding slack when matching a pulse's position to an armed position, in micro-beats.
const SAME_POSITION: i64 = 2;

/// What the gear has been told, and how far the walk has got. Hand it consecutive windows of host
/// time with the schedule in effect; it hands every event out once, in time order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MidiCursor {
    /// Events before this were handed out.
    done: Option<Micros>,
    /// The `at` of the segment whose start was handled last.
    seg_at: Option<Micros>,
    /// Start or Continue was sent, and no Stop since.
    running: bool,
    /// The song whose patch was sent last.
    song: Option<String>,
    /// The position at which to send Start (`true`) or Continue (`false`).
    armed: Option<(Beats, bool)>,
    /// The last pulse handed out.
    last_pulse: Option<Micros>,
    /// The host clock these times are on.
    axis: AxisFollower,
}

impl MidiCursor {
    /// A cursor that has told the gear nothing.
    #[must_use]
    pub fn new() -> Self {
        MidiCursor::default()
    }

    /// Where the walk has got to: events before this were handed out.
    #[must_use]
    pub fn done(&self) -> Option<Micros> {
        self.done
    }

    /// Whether the gear was told to play.
    #[must_use]
    pub fn running(&self) -> bool {
        self.running
    }

    /// The epoch of the host clock the events handed out are on, once a schedule came.
    #[must_use]
    pub fn epoch(&self) -> Option<u64> {
        self.axis.epoch()
    }

    /// The schedule now in use is on host clock `to` (see [`crate::host_axis`]): what was handed
    /// out moves onto it, so a session carried to another server keeps its clock running. On a
    /// clock that does not continue the one before (a restarted host) the walk starts over.
    pub fn move_to(&mut self, to: HostAxis) {
        match self.axis.follow(to) {
            Some(d) => {
                for t in [&mut self.done, &mut self.seg_at, &mut self.last_pulse].into_iter().flatten() {
                    *t += d;
                }
            }
            None => *self = MidiCursor { axis: self.axis, ..MidiCursor::default() },
        }
    }

    /// Calls `f` for every event with host time in `[lo, hi)` not handed out before, in order.
    /// Windows should follow each other; a gap (the caller fell behind) is skipped, and the state
    /// in effect after it (playing, the song) is told at its end.
    pub fn take(&mut self, segs: &[Segment], lo: Micros, hi: Micros, f: &mut impl FnMut(MidiEvent)) {
        let from = self.done.map_or(lo, |d| d.max(lo));
        if from >= hi {
            return;
        }
        self.done = Some(hi);
        for (i, seg) in segs.iter().enumerate() {
            let next = segs.get(i + 1).map_or(Micros::MAX, |s| s.at);
            let start = from.max(seg.at);
            let end = hi.min(next);
            if start >= end {
                continue;
            }
            if self.seg_at != Some(seg.at) {
                self.seg_at = Some(seg.at);
                let prev = i.checked_sub(1).map(|p| &segs[p]);
                self.enter(seg, prev, start, f);
            }
            if seg.playing {
                self.pulses(seg, if start == seg.at { start - SEGMENT_SLACK } else { start }, end, f);
            }
        }
    }

    /// A segment takes over at `t` (its `at`, or later when the walk starts inside it).
    fn enter(&mut self, seg: &Segment, prev: Option<&Segment>, t: Micros, f: &mut impl FnMut(MidiEvent)) {
        let rel = |s: &Segment| s.position(seg.at) - s.song_start;
        let continuous = self.running && seg.playing && prev.is_some_and(|p| p.playing && rel(p) == rel(seg));
        if !continuous {
            self.armed = None;
            self.last_pulse = None;
            if self.running {
                self.running = false;
                f(MidiEvent { host: t, msg: MidiMessage::Stop });
            }
        }
        let id = seg.song.as_ref().map(|c| c.id.as_str());
        if id != self.song.as_deref() {
            self.song = id.map(str::to_owned);
            for m in seg.song.iter().flat_map(SongCue::patch) {
                f(MidiEvent { host: t, msg: MidiMessage::Patch(m) });
            }
        }
        if seg.playing && !continuous {
            let pos = seg.position(t);
            if pos <= seg.song_start + Beats(SAME_POSITION) {
                self.armed = Some((seg.song_start, true));
            } else {
                // Come in on the next sixteenth, told where that is beforehand.
                let sixteenth = Beats::ONE * i64::from(seg.meter.unit) / 16;
                let rel = (pos - seg.song_start).0;
                let n = rel.div_euclid(sixteenth) + i64::from(rel.rem_euclid(sixteenth) != 0);
                self.armed = Some((seg.song_start + Beats(n * sixteenth), false));
                let spp = u16::try_from(n.min(0x3FFF)).unwrap_or(0x3FFF);
                f(MidiEvent { host: t, msg: MidiMessage::SongPosition(spp) });
            }
        }
    }

    fn pulses(&mut self, seg: &Segment, from: Micros, end: Micros, f: &mut impl FnMut(MidiEvent)) {
        let per_beat = pulses_per_beat(seg.meter.unit);
        grid_between(&seg.timeline, seg.bar_origin, per_beat, from, end, &mut |_, b, t| {
            if self.last_pulse.is_some_and(|l| (t - l).abs() < SAME_PULSE) {
                return;
            }
            self.last_pulse = Some(t);
            if let Some((at, start)) = self.armed
                && b.0 + SAME_POSITION >= at.0
            {
                self.armed = None;
                self.running = true;
                f(MidiEvent { host: t, msg: if start { MidiMessage::Start } else { MidiMessage::Continue } });
            }
            f(MidiEvent { host: t, msg: MidiMessage::Clock });
        });
    }
}
