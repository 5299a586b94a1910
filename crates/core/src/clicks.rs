//! The click grid: which clicks a transport schedule puts in a window of host time, and a cursor
//! that hands each one out exactly once across consecutive windows.
//!
//! One rule for every place that needs beats: the audio engine (natively through cpal, and in the
//! phone page's AudioWorklet through wasm), the visual beat, and the tests. The grid is exact:
//! click `g` of a segment sits at `bar_origin + floor(g * 1 000 000 / sub)` micro-beats, never at a
//! sum of steps, so a third of a beat does not drift.
//!
//! Seams: a change lands on a bar line whose host time was rounded on the old timeline; on the new
//! one the same bar line can map a microsecond or two earlier. A segment's walk therefore starts
//! [`SEGMENT_SLACK`] before the segment, and two clicks closer than [`SAME_CLICK`] are one click
//! seen from both sides. Real clicks are at least 60 s / 999 BPM / 8 = 7.5 ms apart.

use crate::host_axis::{AxisFollower, HostAxis};
use crate::time::{Beats, Micros};
use crate::timeline::{Accent, Segment, Timeline};
use serde::{Deserialize, Serialize};

/// How far before its segment's start a click may fall and still belong to it.
pub const SEGMENT_SLACK: Micros = Micros(50);
/// Two clicks closer than this are the same click.
pub const SAME_CLICK: Micros = Micros(1_000);

/// One click to sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Click {
    /// Host time at which it is heard.
    pub host: Micros,
    /// Its grid position.
    pub position: Beats,
    /// Bar counted from the segment's bar origin; negative during a count-in from bar 0.
    pub bar: i64,
    /// Beat within the bar, from 0.
    pub beat_in_bar: u8,
    /// A subdivision between beats rather than a beat.
    pub subdivision: bool,
    /// Downbeat, group start, or plain beat (subdivisions are always `Beat`).
    pub accent: Accent,
    /// Before the song start: a count-in click.
    pub count_in: bool,
}

/// What the grid needs of a schedule segment, so that the audio thread's fixed-size copy
/// (no heap, no allocation) walks the same grid as [`Segment`].
pub trait GridSegment {
    /// Host time the segment takes effect.
    fn at(&self) -> Micros;
    /// Whether the metronome runs.
    fn playing(&self) -> bool;
    /// Position against host time.
    fn timeline(&self) -> Timeline;
    /// Beats per bar.
    fn beats_per_bar(&self) -> u8;
    /// How the beat at `index` in the bar is accented.
    fn accent(&self, index: u8) -> Accent;
    /// A position where a bar starts.
    fn bar_origin(&self) -> Beats;
    /// Positions before this are count-in.
    fn song_start(&self) -> Beats;
}

impl GridSegment for Segment {
    fn at(&self) -> Micros {
        self.at
    }
    fn playing(&self) -> bool {
        self.playing
    }
    fn timeline(&self) -> Timeline {
        self.timeline
    }
    fn beats_per_bar(&self) -> u8 {
        self.meter.beats
    }
    fn accent(&self, index: u8) -> Accent {
        self.meter.accent(index)
    }
    fn bar_origin(&self) -> Beats {
        self.bar_origin
    }
    fn song_start(&self) -> Beats {
        self.song_start
    }
}

/// Calls `f` for every click with host time in `[lo, hi)`, in time order, at `sub` clicks per beat
/// (clamped to 1 to 8). Segments are in time order; each runs until the next one's `at`.
/// Allocates nothing: real-time safe.
pub fn clicks_between<S: GridSegment>(segs: &[S], lo: Micros, hi: Micros, sub: u8, f: &mut impl FnMut(Click)) {
    let sub = i64::from(sub.clamp(1, 8));
    let mut last: Option<Micros> = None;
    for (i, seg) in segs.iter().enumerate() {
        if !seg.playing() {
            continue;
        }
        let seg_end = segs.get(i + 1).map_or(Micros::MAX, GridSegment::at);
        let start = lo.max(seg.at());
        let end = hi.min(seg_end);
        if start >= end {
            continue;
        }
        let from = if start == seg.at() { start - SEGMENT_SLACK } else { start };
        grid_between(&seg.timeline(), seg.bar_origin(), sub, from, end, &mut |g, b, t| {
            if last.is_none_or(|l| (t - l).abs() >= SAME_CLICK) {
                last = Some(t);
                f(describe(seg, b, g, sub, t));
            }
        });
    }
}

/// The clicks a player missed while it could not sound (a locked phone, an output device gone):
/// those of a schedule on the host clock of epoch `on`, from host time `from` to `to`, each read
/// on the host clock of the epoch beside it. None when the clock changed in between (a restarted
/// host's times are not comparable with the old one's), or the schedule is on another.
#[must_use]
pub fn missed_between<S: GridSegment>(segs: &[S], on: u64, from: (Micros, u64), to: (Micros, u64), sub: u8) -> u32 {
    if from.1 != to.1 || on != to.1 || to.0 <= from.0 {
        return 0;
    }
    let mut n = 0u32;
    clicks_between(segs, from.0, to.0, sub, &mut |_| n = n.saturating_add(1));
    n
}

/// Calls `f(g, position, host)` for every point `g` of the grid with `per_beat` points a beat from
/// `origin` on timeline `tl`, with host time in `[from, end)`, in order. Point `g` sits at
/// `origin + floor(g * 1 000 000 / per_beat)` micro-beats, so the grid never drifts. The one grid
/// rule, for the clicks and for MIDI clock. Allocates nothing.
pub fn grid_between(
    tl: &Timeline,
    origin: Beats,
    per_beat: i64,
    from: Micros,
    end: Micros,
    f: &mut impl FnMut(i64, Beats, Micros),
) {
    let per_beat = per_beat.max(1);
    let at = |g: i64| Beats(origin.0 + (g * Beats::ONE).div_euclid(per_beat));
    // One grid step early: `to_beats` rounds, and a point exactly at `from` must not be lost.
    let mut g = ((tl.to_beats(from).0 - origin.0) * per_beat).div_euclid(Beats::ONE) - 1;
    let b_end = tl.to_beats(end);
    while at(g) <= b_end {
        let b = at(g);
        let t = tl.from_beats(b);
        if t >= from && t < end {
            f(g, b, t);
        }
        g += 1;
    }
}

fn describe<S: GridSegment>(seg: &S, b: Beats, g: i64, sub: i64, t: Micros) -> Click {
    let beat = g.div_euclid(sub);
    let subdivision = g.rem_euclid(sub) != 0;
    let beats = i64::from(seg.beats_per_bar().max(1));
    let beat_in_bar = beat.rem_euclid(beats) as u8;
    Click {
        host: t,
        position: b,
        bar: beat.div_euclid(beats),
        beat_in_bar,
        subdivision,
        accent: if subdivision { Accent::Beat } else { seg.accent(beat_in_bar) },
        count_in: b < seg.song_start(),
    }
}

/// Walks the grid window by window and hands each click out once, even when windows overlap, a
/// seam shows a click twice, or the schedule is replaced midway.
///
/// A click up to [`ClickCursor::SEAM`] before the window's start is still handed out (to be played
/// at once) once the cursor has started: when the map from device frames to host time is refitted
/// between two buffers, the window can jump forward a little, and a click in the gap must not be
/// lost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClickCursor {
    /// Host time of the last click handed out.
    last: Option<Micros>,
    /// The host clock `last` is on.
    axis: AxisFollower,
}

impl ClickCursor {
    /// How far before a window a click is still played (1 ms, 48 frames at 48 kHz).
    pub const SEAM: Micros = Micros(1_000);
    /// The longest jump of the window over which a click is still played, late, rather than lost:
    /// a device's latency figure settling (0 to 21 ms through PulseAudio's ALSA plugin) moves
    /// the map that much at once.
    pub const CATCH_UP: Micros = Micros(40_000);

    /// A cursor that has handed nothing out.
    #[must_use]
    pub fn new() -> Self {
        ClickCursor { last: None, axis: AxisFollower::default() }
    }

    /// The epoch of the host clock the clicks handed out are on, once a schedule came.
    #[must_use]
    pub fn epoch(&self) -> Option<u64> {
        self.axis.epoch()
    }

    /// The schedule now in use is on host clock `to` (see [`crate::host_axis`]): what was handed
    /// out moves onto it. Returns the shift applied, or `None` when `to` does not continue the
    /// clock before (a restarted host), and the cursor starts over.
    pub fn move_to(&mut self, to: HostAxis) -> Option<Micros> {
        let shift = self.axis.follow(to);
        self.last = match shift {
            Some(d) => self.last.map(|l| l + d),
            None => None,
        };
        shift
    }

    /// Calls `f` for each click in `[lo, hi)` (or from `lo - SEAM` once started) not handed out
    /// before. Real-time safe.
    pub fn take<S: GridSegment>(&mut self, segs: &[S], lo: Micros, hi: Micros, sub: u8, f: &mut impl FnMut(Click)) {
        self.take_after_jump(segs, lo, hi, sub, Micros::ZERO, f);
    }

    /// As [`ClickCursor::take`], the window having just jumped `jump` forward (the map from device
    /// frames to host time was corrected: a new latency figure, an underrun): a click in the part
    /// jumped over, not handed out yet, is handed out too, to be played at once. Up to
    /// [`ClickCursor::CATCH_UP`]: a longer jump (a stall) drops them, rather than play a burst.
    pub fn take_after_jump<S: GridSegment>(
        &mut self,
        segs: &[S],
        lo: Micros,
        hi: Micros,
        sub: u8,
        jump: Micros,
        f: &mut impl FnMut(Click),
    ) {
        let back = if jump <= Self::CATCH_UP { Self::SEAM.max(jump) } else { Self::SEAM };
        let from = if self.last.is_some() { lo - back } else { lo };
        let last = &mut self.last;
        clicks_between(segs, from, hi, sub, &mut |c| {
            if last.is_none_or(|l| c.host - l >= SAME_CLICK) {
                *last = Some(c.host);
                f(c);
            }
        });
    }

    /// The host time of the last click handed out.
    #[must_use]
    pub fn last(&self) -> Option<Micros> {
        self.last
    }
}

#[cfg(test)]
mod tests;
