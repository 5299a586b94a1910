//! What a member's cpal output reports to the band ([`OutputReport`], shown in every participant
//! list): its latency and where that figure comes from, the clicks it played, those it played
//! late, and those it missed while its device was gone. The page's player reports the same
//! figures for a browser (`ui/src/audio/player.ts`); the rules they are judged by are the core's
//! (`bandsync_core::protocol::concerns`).

use bandsync_audio::device::AudioInfo;
use bandsync_audio::engine::PlayedClick;
use bandsync_core::clicks::missed_between;
use bandsync_core::host_axis::HostAxis;
use bandsync_core::protocol::OutputReport;
use bandsync_core::{Micros, Transport};

/// The counts since the output opened (the app reopens it when its device or buffer changes,
/// and the counts start again then; a new latency offset keeps it open).
#[derive(Debug, Default)]
pub(crate) struct Tally {
    clicks: u32,
    late: u32,
    missed: u32,
    /// When the device went away (host time, and the epoch of that clock), while it is gone.
    gone_since: Option<(Micros, u64)>,
}

impl Tally {
    /// A click the engine started.
    pub(crate) fn played(&mut self, b: &PlayedClick) {
        self.clicks = self.clicks.saturating_add(1);
        self.late = self.late.saturating_add(u32::from(b.late));
    }

    /// The device went away at host time `now` (`None` while the clock has not synced).
    pub(crate) fn gone(&mut self, now: Option<(Micros, u64)>) {
        if self.gone_since.is_none() {
            self.gone_since = now;
        }
    }

    /// A device plays again at host time `now`: every click the transport held in between was
    /// missed.
    pub(crate) fn back(&mut self, now: Option<(Micros, u64)>, playing: Option<&(Transport, HostAxis)>, sub: u8) {
        let gap = self.gap(now, playing, sub);
        self.missed = self.missed.saturating_add(gap);
        self.gone_since = None;
    }

    /// The clicks the transport held from when the device went away until `now` (none while it
    /// plays, and none when the clock moved onto another host's in between: a restarted host's
    /// clicks are not comparable).
    fn gap(&self, now: Option<(Micros, u64)>, playing: Option<&(Transport, HostAxis)>, sub: u8) -> u32 {
        let (Some(from), Some(to), Some((t, axis))) = (self.gone_since, now, playing) else {
            return 0;
        };
        missed_between(&t.segments, axis.epoch, from, to, sub)
    }

    /// The report for a device with figures `info`, at host time `now`: while no device plays,
    /// the clicks missed so far count too, so the leader sees it.
    pub(crate) fn report(
        &self,
        info: &AudioInfo,
        now: Option<(Micros, u64)>,
        playing: Option<&(Transport, HostAxis)>,
        sub: u8,
    ) -> OutputReport {
        let source = info.latency_source;
        // Rounded here; bounded by the core's one rule (`as` saturates, and reads NaN as 0).
        let ms = |v: f64| Micros((v * 1000.0).round() as i64);
        let buffer_ms = f64::from(info.buffer_frames) * 1000.0 / f64::from(info.sample_rate.max(1));
        let mut r = OutputReport {
            latency_us: ms(info.output_latency_ms + info.latency_offset_ms),
            buffer_us: ms(buffer_ms),
            source,
            clicks: self.clicks,
            missed: self.missed.saturating_add(self.gap(now, playing, sub)),
            late: self.late,
            engine: OutputReport::engine_name(&format!("cpal {}", info.device)),
            unreported: false,
        };
        r.bound();
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bandsync_core::protocol::LatencySource;

    fn info(source: LatencySource, offset_ms: f64) -> AudioInfo {
        AudioInfo {
            device: "a device\twith a tab and a name far longer than forty characters".into(),
            sample_rate: 48_000,
            channels: 2,
            sample_format: "f32".into(),
            buffer_frames: 480,
            output_latency_ms: 30.0,
            underruns: 0,
            playout_steps: 0,
            playout_outliers: 0,
            latency_offset_ms: offset_ms,
            latency_source: source,
        }
    }

    #[test]
    fn the_report_carries_the_devices_figures_in_the_hosts_bounds() {
        let r = Tally::default().report(&info(LatencySource::Reported, 0.0), None, None, 1);
        assert_eq!((r.latency_us, r.buffer_us, r.source), (Micros(30_000), Micros(10_000), LatencySource::Reported));
        assert_eq!(r.engine.chars().count(), OutputReport::MAX_ENGINE_CHARS);
        assert!(r.engine.starts_with("cpal a devicewith"), "{}", r.engine);
        assert!(r.is_valid(), "the host takes it: {r:?}");
        let r = Tally::default().report(&info(LatencySource::Calibrated, 180.0), None, None, 1);
        assert_eq!((r.latency_us, r.source), (Micros(210_000), LatencySource::Calibrated));
    }

    #[test]
    fn late_clicks_and_the_clicks_of_a_devices_absence_are_counted() {
        // 120 BPM in 4/4 from 0.
        let mut tr = Transport::new(Micros::ZERO);
        tr.segments[0].playing = true;
        let playing = (tr, HostAxis::new(7));
        let mut first = None;
        bandsync_core::clicks::clicks_between(&playing.0.segments, Micros::ZERO, Micros(1), 1, &mut |c| {
            first = Some(c)
        });
        let click = |late| PlayedClick { click: first.expect("a click at 0"), frame: 0, late };
        let mut t = Tally::default();
        t.played(&click(false));
        t.played(&click(true));
        // The device is gone from 1.2 s to 3.2 s, over the clicks at 1.5, 2, 2.5 and 3 s.
        t.gone(Some((Micros(1_200_000), 7)));
        t.gone(Some((Micros(2_000_000), 7)));
        // While it is still gone, the report counts the clicks missed so far (1.5 and 2 s).
        let r = t.report(&info(LatencySource::Reported, 0.0), Some((Micros(2_200_000), 7)), Some(&playing), 1);
        assert_eq!(r.missed, 2);
        t.back(Some((Micros(3_200_000), 7)), Some(&playing), 1);
        // Gone again, but the clock moved onto a restarted host's in between: not counted.
        t.gone(Some((Micros(4_000_000), 7)));
        t.back(Some((Micros(6_000_000), 8)), Some(&playing), 1);
        let r = t.report(&info(LatencySource::Reported, 0.0), Some((Micros(6_500_000), 8)), Some(&playing), 1);
        assert_eq!((r.clicks, r.late, r.missed), (2, 1, 4));
    }
}
