//! A native stream's start: when its timestamps can be trusted. Until the device plays, hosts may
//! give no delay (ALSA's pulse plugin: each buffer "heard" as its callback runs, at the speaker
//! for the 512-frame follower's first 3.6 s after two buffers that had one), and then their delay
//! comes in over a few callbacks as the device's buffer fills (4, then 11, then 18 ms: each a
//! jump of 7 ms past where the last buffer ended). Those jumps are the reports coming alive, not
//! underruns (each counted one, and voided a recording's skew bound). And the first seconds of
//! live reports still creep (PulseAudio's by milliseconds), which a regression would read as
//! clock drift. So a stream settles [`SETTLE_S`] after its reports come alive, or after it
//! opened if they never do: until then a jump is no gap, and then its filter starts afresh. Once
//! its reports have been alive that long, the start is over: reports that die and come back
//! later (around an underrun) are the filter's to judge, gap by gap.
//! Pure: the caller passes the seconds since the stream opened.

/// How long a stream's live timestamps are used only until better ones exist (s).
pub const SETTLE_S: f64 = 3.0;

/// Where a stream's start stands.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamStart {
    /// When the settling began (s since the stream opened): its opening, then each time its
    /// reports came alive during its start.
    since: f64,
    /// Whether the last stamp had a delay, and since when its stamps have had one.
    live: bool,
    live_from: f64,
    /// The reports have been alive for [`SETTLE_S`] on end: the start is over.
    steady: bool,
    settled: bool,
}

impl StreamStart {
    /// A buffer's stamp, read `at` s after the stream opened: `live` when the host gave it a delay
    /// (its playback time is not its callback's). During the start, a live one after one without
    /// starts the settling again.
    pub fn stamp(&mut self, at: f64, live: bool) {
        if live && !self.live {
            self.live_from = at;
            if !self.steady {
                (self.since, self.settled) = (at, false);
            }
        }
        self.live = live;
        self.steady |= live && at - self.live_from >= SETTLE_S;
    }

    /// Whether the stream settles now, `at` s after it opened: true once for each settling (its
    /// filter then forgets the points before).
    pub fn settles(&mut self, at: f64) -> bool {
        let now = !self.settled && at - self.since >= SETTLE_S;
        self.settled |= now;
        now
    }

    /// Whether it has settled: a jump in its playback times is then a gap (an underrun).
    #[must_use]
    pub fn settled(&self) -> bool {
        self.settled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_settles_three_seconds_after_its_reports_come_alive() {
        // Reports alive from the first buffer: settled 3 s after it opened, once.
        let mut s = StreamStart::default();
        s.stamp(0.02, true);
        assert!(!s.settles(2.9) && !s.settled());
        assert!(s.settles(3.1) && s.settled());
        assert!(!s.settles(4.0) && s.settled());
        // No delay for 3.6 s (as at the speaker): settled at 3 s by the clock, then the reports
        // come alive and it settles again 3 s on; the jumps meanwhile are no gaps.
        let mut s = StreamStart::default();
        s.stamp(1.0, false);
        assert!(s.settles(3.0));
        s.stamp(3.6, true);
        assert!(!s.settled(), "the reports coming alive are no underrun");
        s.stamp(3.7, true);
        assert!(!s.settles(6.5));
        assert!(s.settles(6.7) && s.settled());
        // As at the speaker: two buffers with a delay, none for 3.6 s, then alive again.
        let mut s = StreamStart::default();
        s.stamp(0.01, true);
        s.stamp(0.02, false);
        assert!(s.settles(3.1));
        s.stamp(3.65, true);
        assert!(!s.settled(), "the reports coming alive again are no underrun");
        assert!(!s.settles(6.0));
        assert!(s.settles(6.7));
        // Steady (alive for 3 s on end), its reports die and come back around an underrun: no
        // new start, the gap is the filter's to judge.
        let mut s = StreamStart::default();
        s.stamp(0.01, true);
        s.stamp(3.5, true);
        assert!(s.settles(3.5));
        s.stamp(20.0, false);
        s.stamp(20.3, true);
        assert!(s.settled() && !s.settles(23.4));
        // A host that never gives a delay: settled by the clock alone.
        let mut s = StreamStart::default();
        s.stamp(0.5, false);
        assert!(s.settles(3.0) && s.settled());
        s.stamp(9.0, false);
        assert!(s.settled());
    }
}
