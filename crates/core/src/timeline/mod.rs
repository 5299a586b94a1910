//! The shared timeline: tempo, meter, and the mapping between host time and beats.
//!
//! A [`Timeline`] is Link's `{tempo, beat_origin, time_origin}`: at host time `time_origin` the
//! position is `beat_origin`, and it advances at `tempo`. A [`Transport`] is a short schedule of
//! [`Segment`]s: the one in effect now and the changes already scheduled for future bar
//! boundaries, so that every device switches on the same beat. All arithmetic is integer
//! (micro-beats, microseconds, milli-BPM) and exact up to rounding of one micro-unit.
//!
//! Choosing *when* a change lands (the lead time) is the session's business, not this file's.

use crate::patch::SongCue;
use crate::time::{Beats, Micros};
use serde::{Deserialize, Serialize};

mod meter;
mod tempo;

pub use meter::{Accent, Meter};
pub use tempo::{MAX_BPM, MIN_BPM, Tempo};

/// Link's timeline: position `beat_origin` at host time `time_origin`, advancing at `tempo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Timeline {
    /// The tempo the position advances at.
    pub tempo: Tempo,
    /// The position at `time_origin`.
    pub beat_origin: Beats,
    /// The host time at which the position is `beat_origin`.
    pub time_origin: Micros,
}

impl Timeline {
    /// The position at host time `t`.
    #[must_use]
    pub fn to_beats(&self, t: Micros) -> Beats {
        let dt = i128::from(t.0 - self.time_origin.0);
        // micro-beats = µs * milli-BPM / 60 000, rounded to nearest (halves upward).
        let num = dt * i128::from(self.tempo.0);
        Beats(self.beat_origin.0 + div_round(num, 60_000) as i64)
    }

    /// The host time at which the position is `b`.
    #[must_use]
    pub fn from_beats(&self, b: Beats) -> Micros {
        let db = i128::from(b.0 - self.beat_origin.0);
        let num = db * 60_000;
        Micros(self.time_origin.0 + div_round(num, i128::from(self.tempo.0)) as i64)
    }
}

fn div_round(num: i128, den: i128) -> i128 {
    let q = num.div_euclid(den);
    let r = num.rem_euclid(den);
    if 2 * r >= den { q + 1 } else { q }
}

/// The transport state from host time `at` on, until the next segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Segment {
    /// The host time this segment takes effect.
    pub at: Micros,
    /// Whether the metronome runs. When stopped the position stays at `timeline.beat_origin`.
    pub playing: bool,
    /// Position against host time.
    pub timeline: Timeline,
    /// The meter in effect.
    pub meter: Meter,
    /// A position where a bar starts, so bar lines fall at `bar_origin + k * bar_len`.
    pub bar_origin: Beats,
    /// Positions before this one are count-in: clicked, but not part of the song.
    pub song_start: Beats,
    /// The setlist song current from this segment on (its patch goes to the band's MIDI gear on
    /// this segment's bar), if the leader chose one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub song: Option<SongCue>,
    /// Where the current song's flow stands (its parts and bars, in the setlist), if a song is
    /// current: every device reads the part being played from here ([`Segment::flow_bar`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub flow: Option<FlowCursor>,
}

/// The song's flow from a segment's `bar_origin` on: the flow bar there, counting on one per bar,
/// or looping the part the band vamps on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FlowCursor {
    /// The flow bar (0 is the song's first bar) at the segment's `bar_origin`.
    pub bar: i64,
    /// While vamping: the flow bar where it began; the part that bar is in repeats until the
    /// leader moves on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub vamp: Option<i64>,
}

impl Segment {
    /// The position at host time `t`, which must not be before `at` for a meaningful answer.
    #[must_use]
    pub fn position(&self, t: Micros) -> Beats {
        if self.playing { self.timeline.to_beats(t) } else { self.timeline.beat_origin }
    }

    /// The first bar line at or after position `b`.
    #[must_use]
    pub fn next_bar(&self, b: Beats) -> Beats {
        b.ceil_to(self.bar_origin, self.meter.bar_len())
    }

    /// The bar line nearest position `b`: where a change scheduled on a bar line stands, the
    /// micro-beat of converting its host time back to a position rounded away.
    #[must_use]
    pub fn nearest_bar(&self, b: Beats) -> Beats {
        let len = self.meter.bar_len().0;
        let into = (b - self.bar_origin).0.rem_euclid(len);
        Beats(b.0 - into + if into * 2 > len { len } else { 0 })
    }

    /// The song's flow at position `b`: the flow bar counted on from the cursor (before any
    /// vamp's looping, which needs the flow's parts: `chart::flow::place_vamping`), and the
    /// vamp's start; `None` without a current song.
    #[must_use]
    pub fn flow_bar(&self, b: Beats) -> Option<(i64, Option<i64>)> {
        let c = self.flow?;
        Some((c.bar + (b - self.bar_origin).0.div_euclid(self.meter.bar_len().0), c.vamp))
    }

    /// Playing from position 0 at host time 0, `tempo` in milli-BPM, in `meter`, with no song:
    /// where the grid's tests and the engine's benchmarks start.
    #[must_use]
    pub fn playing_from_zero(tempo: u32, meter: Meter) -> Segment {
        Segment {
            at: Micros(0),
            playing: true,
            timeline: Timeline { tempo: Tempo(tempo), beat_origin: Beats(0), time_origin: Micros(0) },
            meter,
            bar_origin: Beats(0),
            song_start: Beats(0),
            song: None,
            flow: None,
        }
    }
}

/// What the transport does: the segment in effect and any scheduled ones, in time order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Transport {
    /// At least one segment; the first is in effect (or was, before the next took over).
    pub segments: Vec<Segment>,
}

impl Transport {
    /// A stopped transport at position zero, 120 BPM in 4/4.
    #[must_use]
    pub fn new(now: Micros) -> Self {
        Transport {
            segments: vec![Segment {
                at: now,
                playing: false,
                timeline: Timeline { tempo: Tempo::default(), beat_origin: Beats::ZERO, time_origin: now },
                meter: Meter::default(),
                bar_origin: Beats::ZERO,
                song_start: Beats::ZERO,
                song: None,
                flow: None,
            }],
        }
    }

    /// Whether a schedule received from a host is one a session could have made: at least one
    /// segment, in time order, each with a tempo in range and a sensible meter. A client drops a
    /// schedule that is not, rather than divide by zero on it.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        let ok_seg = |s: &Segment| {
            Tempo::from_bpm(s.timeline.tempo.bpm()).is_ok()
                && Meter::with_groups(s.meter.beats, s.meter.unit, s.meter.groups.clone()).is_ok()
                && s.song.as_ref().is_none_or(|c| crate::patch::parse_patch(&c.midi).is_ok())
        };
        !self.segments.is_empty()
            && self.segments.windows(2).all(|w| w[0].at <= w[1].at)
            && self.segments.iter().all(ok_seg)
    }

    /// The segment in effect at host time `t`.
    #[must_use]
    pub fn segment_at(&self, t: Micros) -> &Segment {
        self.segments.iter().rev().find(|s| s.at <= t).unwrap_or(&self.segments[0])
    }

    /// The last scheduled segment: what the transport will be once every change has landed.
    #[must_use]
    pub fn latest(&self) -> &Segment {
        self.segments.last().expect("a transport always has a segment")
    }

    /// The position at host time `t`.
    #[must_use]
    pub fn position(&self, t: Micros) -> Beats {
        self.segment_at(t).position(t)
    }

    /// Drops segments that have been superseded by `now`.
    pub fn prune(&mut self, now: Micros) {
        while self.segments.len() > 1 && self.segments[1].at <= now {
            self.segments.remove(0);
        }
    }

    /// The earliest host time at or after `not_before` at which a change may land: the next bar
    /// line of the latest segment when it is playing, or `not_before` itself when it is stopped.
    #[must_use]
    pub fn next_boundary(&self, not_before: Micros) -> Micros {
        let last = self.latest();
        let t = not_before.max(last.at);
        if !last.playing {
            return t;
        }
        let bar = last.next_bar(last.timeline.to_beats(t));
        let at = last.timeline.from_beats(bar);
        // Rounding can put the bar line a microsecond before `t`; then take the next one.
        if at < t { last.timeline.from_beats(bar + last.meter.bar_len()) } else { at }
    }

    /// Schedules `seg` to land at `seg.at`, replacing any scheduled segment at or after it.
    pub fn schedule(&mut self, seg: Segment) {
        self.segments.retain(|s| s.at < seg.at);
        self.segments.push(seg);
    }

    /// The next host time after `now` at which the schedule changes, if any.
    #[must_use]
    pub fn next_change(&self, now: Micros) -> Option<Micros> {
        self.segments.iter().map(|s| s.at).find(|&at| at > now)
    }
}

/// Why a tempo or meter was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TimelineError {
    /// The tempo is outside 20–999 BPM or not a number.
    #[error("tempo {0} BPM is outside 20 to 999 BPM")]
    Tempo(f64),
    /// The meter is not one a musician could play.
    #[error("meter {0}")]
    Meter(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tl(bpm: f64) -> Timeline {
        Timeline { tempo: Tempo::from_bpm(bpm).unwrap(), beat_origin: Beats::ZERO, time_origin: Micros(1_000) }
    }

    #[test]
    fn one_beat_at_120_bpm_is_half_a_second() {
        let t = tl(120.0);
        assert_eq!(t.to_beats(Micros(501_000)), Beats::whole(1));
        assert_eq!(t.from_beats(Beats::whole(3)), Micros(1_501_000));
        assert_eq!(Tempo::from_bpm(120.0).unwrap().beat_len(), Micros(500_000));
    }

    #[test]
    fn beats_and_time_round_trip_within_one_unit() {
        for bpm in [20.0, 61.7, 97.0, 120.0, 133.333, 999.0] {
            let t = tl(bpm);
            for us in [-7_777_777i64, 0, 1, 999_999, 3_600_000_000] {
                let b = t.to_beats(Micros(us));
                let back = t.from_beats(b);
                // One micro-beat is at most 60/20 µs = 3 µs at 20 BPM.
                assert!((back.0 - us).abs() <= 3, "{bpm} {us} {back:?}");
            }
        }
    }

    #[test]
    fn tempo_outside_range_is_refused() {
        assert!(Tempo::from_bpm(19.99).is_err());
        assert!(Tempo::from_bpm(1000.0).is_err());
        assert!(Tempo::from_bpm(f64::NAN).is_err());
        assert!(Tempo::from_bpm(20.0).is_ok());
        assert!(Tempo::from_bpm(999.0).is_ok());
    }

    #[test]
    fn meters_validate_and_group() {
        assert_eq!(Meter::new(7, 8).unwrap().groups, vec![2, 2, 3]);
        assert_eq!(Meter::new(6, 8).unwrap().groups, vec![3, 3]);
        assert!(Meter::new(0, 4).is_err());
        assert!(Meter::new(4, 3).is_err());
        assert!(Meter::new(33, 4).is_err());
        assert!(Meter::with_groups(7, 8, vec![3, 3]).is_err());
        let m = Meter::new(7, 8).unwrap();
        let accents: Vec<_> = (0..7).map(|i| m.accent(i)).collect();
        use Accent::*;
        assert_eq!(accents, vec![Downbeat, Beat, Group, Beat, Group, Beat, Beat]);
    }

    #[test]
    fn schedules_no_session_could_make_are_invalid() {
        let good = Transport::new(Micros(0));
        assert!(good.is_valid());
        assert!(!Transport { segments: vec![] }.is_valid());
        let mut zero = good.clone();
        zero.segments[0].timeline.tempo = Tempo(0);
        assert!(!zero.is_valid());
        let mut empty_bar = good.clone();
        empty_bar.segments[0].meter.beats = 0;
        assert!(!empty_bar.is_valid());
        let mut unordered = good.clone();
        let mut later = good.segments[0].clone();
        later.at = Micros(-5);
        unordered.segments.push(later);
        assert!(!unordered.is_valid());
    }

    #[test]
    fn change_while_playing_lands_on_next_bar_line() {
        let mut tr = Transport::new(Micros(0));
        let mut seg = tr.latest().clone();
        seg.playing = true;
        tr.schedule(seg);
        // 120 BPM 4/4: bars every 2 s. At 2.1 s the next bar line is 4 s.
        assert_eq!(tr.next_boundary(Micros(2_100_000)), Micros(4_000_000));
        assert_eq!(tr.next_boundary(Micros(4_000_000)), Micros(4_000_000));
    }

    #[test]
    fn meters_read_and_print_with_and_without_groups() {
        assert_eq!("7/8".parse::<Meter>().unwrap().groups, vec![2, 2, 3]);
        assert_eq!("7/8 3+2+2".parse::<Meter>().unwrap().groups, vec![3, 2, 2]);
        assert_eq!("7/8 (2+2+3)".parse::<Meter>().unwrap().groups, vec![2, 2, 3]);
        for bad in ["7", "7/", "x/8", "7/8 3+3", "7/7", "0/4", "7/8 a+b"] {
            assert!(bad.parse::<Meter>().is_err(), "{bad}");
        }
        for m in ["4/4", "7/8", "7/8 3+2+2", "6/8", "5/4 3+2", "3/4", "12/8"] {
            assert_eq!(m.parse::<Meter>().unwrap().to_string(), m);
        }
        // The usual grouping goes without saying.
        assert_eq!("7/8 2+2+3".parse::<Meter>().unwrap().to_string(), "7/8");
    }

    #[test]
    fn tempos_are_checked_in_milli_bpm_and_print_as_bpm() {
        assert_eq!(Tempo::checked(120_000).unwrap().to_string(), "120");
        assert_eq!(Tempo::checked(96_500).unwrap().to_string(), "96.5");
        assert_eq!(Tempo(133_333).to_string(), "133.333");
        assert!(Tempo::checked(19_999).is_err() && Tempo::checked(999_001).is_err());
    }
}
