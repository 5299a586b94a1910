//! A native stream's start: when a jump in its playback times is an underrun. Until the device
//! plays, hosts may give no delay (ALSA's pulse plugin: each buffer "heard" as its callback runs,
//! at the speaker for the 512-frame follower's first 3.6 s after two buffers that had one), and
//! then their delay comes in over a few callbacks as the device's buffer fills (4, then 11, then
//! 18 ms: each a jump of 7 ms past where the last buffer ended). The filter follows those jumps
//! as gaps, but they are the reports coming alive, not underruns: each was counted as one, shown
//! to the leader, and voided the native pair's recording. So a jump counts as an underrun only
//! once the stream is steady: its reports alive for [`STEADY_S`] on end, or [`START_MAX_S`] after
//! it opened (reports that keep dying must not hide underruns for good). Pure: the caller passes
//! the seconds since the stream opened.

/// How long a stream's reports must have been alive, on end, for it to be steady (s).
pub const STEADY_S: f64 = 3.0;

/// A stream is steady this long after it opened (s), whatever its reports.
pub const START_MAX_S: f64 = 15.0;

/// Where a stream's start stands.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamStart {
    /// Whether the last stamp had a delay, and since when its stamps have had one (s after the
    /// stream opened).
    live: bool,
    live_from: f64,
    steady: bool,
}

impl StreamStart {
    /// A buffer's stamp, read `at` s after the stream opened (when the stamp was read, up to one
    /// update after its callback ran): `live` when the host gave it a delay (its playback time is
    /// not its callback's).
    pub fn stamp(&mut self, at: f64, live: bool) {
        if live && !self.live {
            self.live_from = at;
        }
        self.live = live;
        self.steady |= at >= START_MAX_S || (live && at - self.live_from >= STEADY_S);
    }

    /// Whether the stream is steady: a jump in its playback times is then an underrun.
    #[must_use]
    pub fn steady(&self) -> bool {
        self.steady
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_is_steady_once_its_reports_have_been_alive_three_seconds() {
        // As at the speaker: two buffers with a delay, none for 3.6 s, then alive again: the
        // jumps as they come alive are no underruns; 3 s later a jump is one.
        let mut s = StreamStart::default();
        s.stamp(0.01, true);
        s.stamp(0.02, false);
        s.stamp(3.0, false);
        s.stamp(3.65, true);
        s.stamp(3.70, true);
        assert!(!s.steady(), "the reports coming alive are no underrun");
        s.stamp(6.6, true);
        assert!(!s.steady());
        s.stamp(6.7, true);
        assert!(s.steady());
        // Once steady, reports that die and come back (around an underrun) change nothing.
        s.stamp(20.0, false);
        s.stamp(20.3, true);
        assert!(s.steady());
        // Reports that die every second: steady 15 s after the stream opened.
        let mut s = StreamStart::default();
        for k in 0..29 {
            s.stamp(f64::from(k) * 0.5, k % 2 == 0);
            assert!(!s.steady(), "{k}");
        }
        s.stamp(15.0, true);
        assert!(s.steady());
        // A host that never gives a delay: steady 15 s on.
        let mut s = StreamStart::default();
        s.stamp(0.5, false);
        s.stamp(14.9, false);
        assert!(!s.steady());
        s.stamp(15.0, false);
        assert!(s.steady());
    }
}
