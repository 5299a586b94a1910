//! The visual beat when no audio plays: the clicks the transport puts on the shared timeline,
//! found ahead of time from host time alone. Sans-IO: the caller passes host time `now`.
//!
//! It walks core's one click grid ([`bandsync_core::clicks`]) with a cursor, the same grid the
//! audio engine plays, so subdivisions, accents, count-in, seeks and scheduled changes are exactly
//! those of the audible metronome.

use bandsync_core::clicks::{Click, ClickCursor};
use bandsync_core::host_axis::HostAxis;
use bandsync_core::{Micros, Transport};

/// Finds the clicks of a transport schedule ahead of host time.
#[derive(Debug, Default)]
pub struct VisualBeats {
    transport: Option<Transport>,
    subdivision: u8,
    cursor: ClickCursor,
    /// Host time up to which the grid was walked.
    until: Option<Micros>,
}

impl VisualBeats {
    /// A source with no schedule yet (silent until [`VisualBeats::set_transport`]).
    #[must_use]
    pub fn new() -> Self {
        VisualBeats { subdivision: 1, ..VisualBeats::default() }
    }

    /// A new transport schedule, whose times are on host clock `axis`: what was walked moves
    /// onto that clock ([`bandsync_core::host_axis`]).
    pub fn set_transport(&mut self, t: &Transport, axis: HostAxis) {
        let shift = self.cursor.move_to(axis);
        self.until = self.until.zip(shift).map(|(u, d)| u + d);
        self.transport = Some(t.clone());
    }

    /// Whether host times of the clock of `epoch` are those of the schedule's clock (they are
    /// not for a moment when the estimate moved onto another server's clock before its schedule
    /// came).
    #[must_use]
    pub fn is_on(&self, epoch: u64) -> bool {
        self.cursor.epoch().is_none_or(|e| e == epoch)
    }

    /// Clicks per beat, 1 to 8.
    pub fn set_subdivision(&mut self, n: u8) {
        self.subdivision = n.clamp(1, 8);
    }

    /// Hands `f` every click from where the last call stopped up to `now + lookahead`, in
    /// order. Clicks before `now` are skipped (after a stall nothing is flashed late), and none
    /// is handed out twice.
    pub fn advance(&mut self, now: Micros, lookahead: Micros, mut f: impl FnMut(Click)) {
        let Some(t) = &self.transport else { return };
        let from = self.until.map_or(now, |u| u.max(now));
        let to = now + lookahead;
        if from >= to {
            return;
        }
        self.cursor.take(&t.segments, from, to, self.subdivision, &mut |c| {
            if c.host >= now {
                f(c);
            }
        });
        self.until = Some(to);
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
                song: None,
                flow: None,
            }],
        }
    }

    fn collect(v: &mut VisualBeats, from_ms: i64, to_ms: i64, step_ms: i64, lookahead_ms: i64) -> Vec<Click> {
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
        v.set_transport(&playing(Meter::new(3, 4).unwrap()), HostAxis::default());
        // Ticks every 25 ms with 150 ms lookahead, over 3 s of host time from 0.9 s.
        let beats = collect(&mut v, 900, 3900, 25, 150);
        let times: Vec<i64> = beats.iter().map(|b| b.host.0).collect();
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
        v.set_transport(&playing(Meter::default()), HostAxis::default());
        let mut t = 900;
        while t <= 3000 {
            v.advance(Micros(t * 1000), Micros(150_000), |b| {
                let lead = b.host.0 - t * 1000;
                assert!((100_000..=150_000).contains(&lead), "found {lead} µs ahead");
            });
            t += 50;
        }
    }

    #[test]
    fn a_stall_skips_past_clicks_instead_of_flashing_them_late() {
        let mut v = VisualBeats::new();
        v.set_transport(&playing(Meter::default()), HostAxis::default());
        let mut seen = Vec::new();
        v.advance(Micros(1_100_000), Micros(100_000), |b| seen.push(b.host.0));
        assert!(seen.is_empty());
        // Nothing is asked for 2 s: the beats at 1.5, 2.0, 2.5 and 3.0 s are gone.
        v.advance(Micros(3_100_000), Micros(100_000), |b| seen.push(b.host.0));
        assert_eq!(seen, Vec::<i64>::new());
        v.advance(Micros(3_450_000), Micros(100_000), |b| seen.push(b.host.0));
        assert_eq!(seen, [3_500_000]);
    }

    #[test]
    fn a_stopped_transport_is_silent_and_subdivisions_are_marked() {
        let mut v = VisualBeats::new();
        let mut stopped = playing(Meter::default());
        stopped.segments[0].playing = false;
        v.set_transport(&stopped, HostAxis::default());
        assert!(collect(&mut v, 900, 3000, 25, 150).is_empty());
        let mut v = VisualBeats::new();
        v.set_transport(&playing(Meter::default()), HostAxis::default());
        v.set_subdivision(2);
        let beats = collect(&mut v, 900, 2000, 25, 150);
        let subs: Vec<(i64, bool)> = beats.iter().map(|b| (b.host.0, b.subdivision)).collect();
        assert_eq!(subs[..4], [(1_000_000, false), (1_250_000, true), (1_500_000, false), (1_750_000, true)]);
    }
}
