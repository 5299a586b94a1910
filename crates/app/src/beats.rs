//! The visual beat when no audio plays: the clicks the transport puts on the shared timeline,
//! found ahead of time from host time alone. Sans-IO: the caller passes host time `now`.
//!
//! It runs the audio crate's own [`Engine`] on a virtual, muted device whose frames are host
//! milliseconds, so the click grid (subdivisions, accents, count-in, seeks, scheduled changes)
//! is exactly the one the audible metronome plays, not a second implementation of it.

use bandsync_audio::engine::{BeatEvent, Command, Engine, FrameMap, Levels};
use bandsync_audio::schedule::FixedSchedule;
use bandsync_core::{Micros, Transport};

/// Virtual frames per second: one frame is one millisecond of host time.
const RATE: u32 = 1000;
/// Host µs per virtual frame.
const US_PER_FRAME: f64 = 1e6 / RATE as f64;
/// The most frames rendered in one step (a second).
const CHUNK: usize = RATE as usize;

/// Finds the clicks of a transport schedule ahead of host time.
#[derive(Debug)]
pub struct VisualBeats {
    engine: Engine,
    /// Host time of virtual frame 0; set on the first [`VisualBeats::advance`].
    origin: Option<f64>,
    /// The first frame not rendered yet.
    cursor: u64,
    scratch: Vec<f32>,
}

impl Default for VisualBeats {
    fn default() -> Self {
        Self::new()
    }
}

impl VisualBeats {
    /// A source with no schedule yet (silent until [`VisualBeats::set_transport`]).
    #[must_use]
    pub fn new() -> Self {
        let mut engine = Engine::new(RATE);
        engine.apply(Command::Levels(Levels { mute: true, ..Levels::default() }));
        VisualBeats { engine, origin: None, cursor: 0, scratch: vec![0.0; CHUNK] }
    }

    /// A new transport schedule.
    pub fn set_transport(&mut self, t: &Transport) {
        self.engine.apply(Command::Schedule(FixedSchedule::from(t)));
    }

    /// Clicks per beat, 1 to 8.
    pub fn set_subdivision(&mut self, n: u8) {
        self.engine.apply(Command::Subdivision(n));
    }

    /// Hands `f` every click from where the last call stopped up to `now + lookahead`, in
    /// order. Clicks before `now` are skipped (after a stall nothing is flashed late), and none
    /// is handed out twice.
    pub fn advance(&mut self, now: Micros, lookahead: Micros, mut f: impl FnMut(BeatEvent)) {
        let origin = *self.origin.get_or_insert_with(|| {
            let o = now.0 as f64;
            self.engine.apply(Command::Map(FrameMap { frame_ref: 0, host_at_ref: o, us_per_frame: US_PER_FRAME }));
            o
        });
        let frame_of = |t: i64| ((t as f64 - origin) / US_PER_FRAME).floor().max(0.0) as u64;
        self.cursor = self.cursor.max(frame_of(now.0));
        let end = frame_of(now.0 + lookahead.0);
        while self.cursor < end {
            let n = usize::try_from(end - self.cursor).unwrap_or(CHUNK).min(CHUNK);
            let first = self.cursor;
            // The engine plays a click up to a few frames late when it fell into a seam between
            // two buffers; after a stall that would be a click before `now`, which is dropped.
            self.engine.process(&mut self.scratch[..n], 1, first, |b| {
                if b.host_time >= now {
                    f(b);
                }
            });
            self.cursor += n as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bandsync_core::Beats;
    use bandsync_core::timeline::{Accent, Meter, Segment, Tempo, Timeline};

    /// 120 BPM in `meter`, playing from host time 1 s at position 0.
    fn playing(meter: Meter) -> Transport {
        let at = Micros(1_000_000);
        Transport {
            segments: vec![Segment {
                at,
                playing: true,
                timeline: Timeline { tempo: Tempo(120_000), beat_origin: Beats::ZERO, time_origin: at },
                meter,
                bar_origin: Beats::ZERO,
                song_start: Beats::ZERO,
            }],
        }
    }

    fn collect(v: &mut VisualBeats, from_ms: i64, to_ms: i64, step_ms: i64, lookahead_ms: i64) -> Vec<BeatEvent> {
        let mut out = Vec::new();
        let mut t = from_ms;
        while t <= to_ms {
            v.advance(Micros(t * 1000), Micros(lookahead_ms * 1000), |b| out.push(b));
            t += step_ms;
        }
        out
    }

    #[test]
    fn clicks_land_on_the_beat_grid_once_each_with_accents() {
        let mut v = VisualBeats::new();
        v.set_transport(&playing(Meter::new(3, 4).unwrap()));
        // Ticks every 25 ms with 150 ms lookahead, over 3 s of host time from 0.9 s.
        let beats = collect(&mut v, 900, 3900, 25, 150);
        let times: Vec<i64> = beats.iter().map(|b| b.host_time.0).collect();
        // Beats every 500 ms from 1 s, up to now + lookahead = 4.05 s.
        let want: Vec<i64> = (0..7).map(|i| 1_000_000 + i * 500_000).collect();
        assert_eq!(times, want);
        let accents: Vec<Accent> = beats.iter().map(|b| b.accent).collect();
        assert_eq!(accents[..4], [Accent::Downbeat, Accent::Beat, Accent::Beat, Accent::Downbeat]);
        assert_eq!(beats[3].bar, 1);
        assert_eq!(beats[4].beat_in_bar, 1);
    }

    #[test]
    fn each_click_is_found_ahead_of_time() {
        let mut v = VisualBeats::new();
        v.set_transport(&playing(Meter::default()));
        let mut t = 900;
        while t <= 3000 {
            v.advance(Micros(t * 1000), Micros(150_000), |b| {
                let lead = b.host_time.0 - t * 1000;
                assert!((100_000..=150_000).contains(&lead), "found {lead} µs ahead");
            });
            t += 50;
        }
    }

    #[test]
    fn a_stall_skips_past_clicks_instead_of_flashing_them_late() {
        let mut v = VisualBeats::new();
        v.set_transport(&playing(Meter::default()));
        let mut seen = Vec::new();
        v.advance(Micros(1_100_000), Micros(100_000), |b| seen.push(b.host_time.0));
        assert!(seen.is_empty());
        // Nothing is asked for 2 s: the beats at 1.5, 2.0, 2.5 and 3.0 s are gone.
        v.advance(Micros(3_100_000), Micros(100_000), |b| seen.push(b.host_time.0));
        assert_eq!(seen, Vec::<i64>::new());
        v.advance(Micros(3_450_000), Micros(100_000), |b| seen.push(b.host_time.0));
        assert_eq!(seen, [3_500_000]);
    }

    #[test]
    fn a_stopped_transport_is_silent_and_subdivisions_are_marked() {
        let mut v = VisualBeats::new();
        let mut stopped = playing(Meter::default());
        stopped.segments[0].playing = false;
        v.set_transport(&stopped);
        assert!(collect(&mut v, 900, 3000, 25, 150).is_empty());
        let mut v = VisualBeats::new();
        v.set_transport(&playing(Meter::default()));
        v.set_subdivision(2);
        let beats = collect(&mut v, 900, 2000, 25, 150);
        let subs: Vec<(i64, bool)> = beats.iter().map(|b| (b.host_time.0, b.subdivision)).collect();
        assert_eq!(subs[..4], [(1_000_000, false), (1_250_000, true), (1_500_000, false), (1_750_000, true)]);
    }
}
