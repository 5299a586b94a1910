//! The transport schedule in a fixed-size, `Copy` form that can cross a lock-free queue to the
//! audio thread without allocating.

use bandsync_core::clicks::GridSegment;
use bandsync_core::host_axis::HostAxis;
use bandsync_core::timeline::{Accent, Segment, Timeline, Transport};
use bandsync_core::{Beats, Micros};

/// The most segments the audio thread holds (the one in effect and scheduled ones).
pub const MAX_SEGMENTS: usize = 8;
/// The most accent groups in a bar.
pub const MAX_GROUPS: usize = 16;

/// A [`Segment`] without heap data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FixedSegment {
    /// Host time it takes effect.
    pub at: Micros,
    /// Whether the metronome runs.
    pub playing: bool,
    /// Position against host time.
    pub timeline: Timeline,
    /// Beats per bar.
    pub beats: u8,
    /// Accent groups (`groups[..ngroups]`).
    pub groups: [u8; MAX_GROUPS],
    /// How many groups.
    pub ngroups: u8,
    /// A position where a bar starts.
    pub bar_origin: Beats,
    /// Positions before this are count-in.
    pub song_start: Beats,
}

impl FixedSegment {
    /// How the beat at `index` in the bar is accented.
    #[must_use]
    pub fn accent(&self, index: u8) -> Accent {
        Accent::in_groups(&self.groups[..usize::from(self.ngroups)], index)
    }
}

impl From<&Segment> for FixedSegment {
    fn from(s: &Segment) -> Self {
        let mut groups = [0u8; MAX_GROUPS];
        let n = s.meter.groups.len().min(MAX_GROUPS);
        groups[..n].copy_from_slice(&s.meter.groups[..n]);
        FixedSegment {
            at: s.at,
            playing: s.playing,
            timeline: s.timeline,
            beats: s.meter.beats,
            groups,
            ngroups: n as u8,
            bar_origin: s.bar_origin,
            song_start: s.song_start,
        }
    }
}

/// Up to [`MAX_SEGMENTS`] segments, in time order.
#[derive(Debug, Clone, Copy, Default)]
pub struct FixedSchedule {
    segs: [FixedSegment; MAX_SEGMENTS],
    len: usize,
    /// The host clock its times are on.
    pub axis: HostAxis,
}

impl FixedSchedule {
    /// `t`, whose times are on host clock `axis`.
    #[must_use]
    pub fn on(t: &Transport, axis: HostAxis) -> Self {
        FixedSchedule { axis, ..FixedSchedule::from(t) }
    }

    /// The segments, in time order.
    #[must_use]
    pub fn segments(&self) -> &[FixedSegment] {
        &self.segs[..self.len]
    }
}

impl GridSegment for FixedSegment {
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
        self.beats
    }
    fn accent(&self, index: u8) -> Accent {
        FixedSegment::accent(self, index)
    }
    fn bar_origin(&self) -> Beats {
        self.bar_origin
    }
    fn song_start(&self) -> Beats {
        self.song_start
    }
}

impl From<&Transport> for FixedSchedule {
    /// Keeps the last [`MAX_SEGMENTS`] segments (the newest schedule wins).
    fn from(t: &Transport) -> Self {
        let mut s = FixedSchedule::default();
        let skip = t.segments.len().saturating_sub(MAX_SEGMENTS);
        // A segment no session would make (a zero tempo or an empty bar) is dropped rather than
        // allowed to divide by zero on the audio thread.
        for seg in t.segments[skip..].iter().filter(|s| s.timeline.tempo.0 > 0 && s.meter.beats > 0) {
            s.segs[s.len] = FixedSegment::from(seg);
            s.len += 1;
        }
        s
    }
}
