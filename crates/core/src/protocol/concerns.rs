//! What the leader is warned about, per member: the figures a member reports about its clock and
//! its audio output ([`SyncQuality`], [`OutputReport`]), judged once here (the host computes them
//! into the participant list; every view shows them as they come).

use crate::Micros;
use serde::{Deserialize, Serialize};

/// A clock error bound above this (µs) breaks the product's promise of 1 ms at the speaker.
pub const CLOCK_ERROR_LIMIT_US: i64 = 1_000;

/// An output latency the platform reports above this (µs) past the engine's own buffer, never
/// calibrated, is likely a Bluetooth or processed path whose real figure is higher still.
pub const UNCALIBRATED_LATENCY_LIMIT_US: i64 = 60_000;

/// How well a participant's clock agrees with the host's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncQuality {
    /// Round-trip time to the server (µs).
    pub rtt_us: Micros,
    /// Estimated bound on the clock error (µs).
    pub error_us: Micros,
    /// Whether the participant is synced.
    pub synced: bool,
    /// Its audio output, when it plays the click.
    #[serde(default)]
    pub output: Option<OutputReport>,
    /// What the leader is warned about, judged by the host ([`SyncQuality::judged`]).
    #[serde(default)]
    pub concerns: Vec<SyncConcern>,
}

/// A member's audio output, as it reports it: how late its speaker (or earbuds) sound after the
/// click is rendered, where that figure comes from, and how many clicks it could not play on time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OutputReport {
    /// The output latency the click is compensated for (µs), 0 to 2 s.
    pub latency_us: Micros,
    /// Of `latency_us`, the engine's own buffering (µs): what a browser renders ahead
    /// (`baseLatency`) or the audio callback's buffer. Known exactly, unlike what the device and
    /// its speaker or earbuds add after it; 0 from members that do not say.
    #[serde(default)]
    pub buffer_us: Micros,
    /// Where that figure comes from.
    pub source: LatencySource,
    /// Clicks played since the output opened (the page: since sound was turned on; a native
    /// member: since its device or buffer last changed).
    pub clicks: u32,
    /// Clicks that never sounded: due before they could be scheduled, or the output was
    /// suspended (a locked phone).
    pub missed: u32,
    /// Clicks that sounded later than the shared timeline says, by more than a millisecond.
    pub late: u32,
    /// What plays it, e.g. `cpal`, `web-audio WebKit`, at most 40 characters.
    pub engine: String,
    /// The platform gave no figure for the output past the engine's buffer (a browser whose
    /// `outputLatency` is 0 or missing, as WebKitGTK's is): what the device adds is unknown, not
    /// nothing. Left out when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[cfg_attr(feature = "ts", ts(as = "Option<bool>", optional))]
    pub unreported: bool,
}

/// Where an output latency figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LatencySource {
    /// What the platform reports (it may leave out Bluetooth and speaker processing).
    Reported,
    /// Measured on this device through its microphone.
    Measured,
    /// Set by the player: typed in, or found by tapping along.
    Calibrated,
}

/// The latency offset a player may set, ms: from earbuds' hundreds of ms late to a device that
/// reports too much. The app and the CLI refuse others, a calibration beyond them is not stored,
/// and the store reads none beyond them (`bandsync_audio::offsets`); the page's field takes them
/// from here (generated into `ui/src/bindings.ts`).
pub const LATENCY_OFFSET_MS: std::ops::RangeInclusive<f64> = -200.0..=500.0;

impl LatencySource {
    /// Where an output's figure comes from, given its offset (ms) past what the platform reports
    /// and whether the microphone measured it: measured if it was (a measured 0 too), the
    /// platform's report where there is no offset, else calibrated (typed in or tapped). Every
    /// native player's (`bandsync_audio::device`). The page's player writes the same rule in one
    /// line (`ui/src/audio/player.ts`): one more call into the page's wasm costs 467 B of its
    /// gzip budget (measured), which it does not have.
    #[must_use]
    pub fn of(offset_ms: f64, measured: bool) -> Self {
        match (measured, offset_ms == 0.0) {
            (true, _) => LatencySource::Measured,
            (false, true) => LatencySource::Reported,
            (false, false) => LatencySource::Calibrated,
        }
    }

    /// Its name on the wire (`"reported"`, `"measured"`, `"calibrated"`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            LatencySource::Reported => "reported",
            LatencySource::Measured => "measured",
            LatencySource::Calibrated => "calibrated",
        }
    }
}

/// Why a member's sync looks off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SyncConcern {
    /// The clock has not synced.
    NotSynced,
    /// The clock's error bound is above [`CLOCK_ERROR_LIMIT_US`].
    ClockError,
    /// Clicks never sounded (due before they could be scheduled, or the output was suspended).
    MissedClicks,
    /// Clicks sounded late.
    LateClicks,
    /// An output latency the platform reports and nobody calibrated, high or with nothing said of
    /// the device ([`OutputReport::uncalibrated`]).
    Uncalibrated,
}

impl SyncConcern {
    /// Every concern, in the order a report lists them.
    pub const ALL: [SyncConcern; 5] = [
        SyncConcern::NotSynced,
        SyncConcern::ClockError,
        SyncConcern::MissedClicks,
        SyncConcern::LateClicks,
        SyncConcern::Uncalibrated,
    ];

    /// In a few words, as the CLI prints it and the page's participant list shows it (through
    /// the wasm's `protocol.info`).
    #[must_use]
    pub fn words(self) -> &'static str {
        match self {
            SyncConcern::NotSynced => "clock not synced",
            SyncConcern::ClockError => "clock error over 1 ms",
            SyncConcern::MissedClicks => "clicks missed",
            SyncConcern::LateClicks => "clicks late",
            SyncConcern::Uncalibrated => "latency not calibrated",
        }
    }
}

impl SyncQuality {
    /// A member's report, with what the leader should be warned about.
    #[must_use]
    pub fn judged(rtt_us: Micros, error_us: Micros, synced: bool, output: Option<OutputReport>) -> Self {
        let mut concerns = Vec::new();
        if !synced {
            concerns.push(SyncConcern::NotSynced);
        } else if error_us.0 > CLOCK_ERROR_LIMIT_US {
            concerns.push(SyncConcern::ClockError);
        }
        if let Some(o) = &output {
            if o.missed > 0 {
                concerns.push(SyncConcern::MissedClicks);
            }
            if o.late > 0 {
                concerns.push(SyncConcern::LateClicks);
            }
            if o.uncalibrated() {
                concerns.push(SyncConcern::Uncalibrated);
            }
        }
        SyncQuality { rtt_us, error_us, synced, output, concerns }
    }

    /// Whether this report changes what the leader is warned of or told first against `before`
    /// (the member's previous one): synced or not, its concerns, and the output: there or not,
    /// where its figure comes from, and that figure by 1 ms or more. Not the counts, the round
    /// trip or the buffer, which move with every report (the host sends those at its interval).
    #[must_use]
    pub fn shown_otherwise(&self, before: &SyncQuality) -> bool {
        let output = match (&self.output, &before.output) {
            (Some(a), Some(b)) => a.source != b.source || (a.latency_us.0 - b.latency_us.0).abs() >= 1_000,
            (a, b) => a.is_some() != b.is_some(),
        };
        self.synced != before.synced || self.concerns != before.concerns || output
    }
}

impl OutputReport {
    /// The most output latency a report may give.
    pub const MAX_LATENCY: Micros = Micros(2_000_000);
    /// The longest engine name, in characters.
    pub const MAX_ENGINE_CHARS: usize = 40;

    /// Whether the host takes it: a latency of 0 to [`OutputReport::MAX_LATENCY`], its buffer
    /// part 0 to the latency, an engine name of 1 to [`OutputReport::MAX_ENGINE_CHARS`]
    /// characters, not only whitespace, without control characters.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        (Micros::ZERO..=Self::MAX_LATENCY).contains(&self.latency_us)
            && (Micros::ZERO..=self.latency_us).contains(&self.buffer_us)
            && !self.engine.trim().is_empty()
            && self.engine.chars().count() <= Self::MAX_ENGINE_CHARS
            && !self.engine.chars().any(char::is_control)
    }

    /// Brings this report's figures within [`OutputReport::is_valid`]'s bounds, as every member sends
    /// them (the native player and the page alike, through
    /// [`crate::member::Member::set_output`]): the latency clamped to 0 to
    /// [`OutputReport::MAX_LATENCY`], its buffer part to 0 to the latency. The engine's name is
    /// the member's own ([`OutputReport::engine_name`]; the page's are a few fixed words).
    pub fn bound(&mut self) {
        // `max` and `min`, not `clamp`: no panic path in the page's wasm.
        self.latency_us = self.latency_us.max(Micros::ZERO).min(Self::MAX_LATENCY);
        self.buffer_us = self.buffer_us.max(Micros::ZERO).min(self.latency_us);
    }

    /// `raw` as an engine's name that the host takes: without control characters, cut to
    /// [`OutputReport::MAX_ENGINE_CHARS`] and trimmed (`unknown` if nothing is left).
    #[must_use]
    pub fn engine_name(raw: &str) -> String {
        let name: String = raw.chars().filter(|c| !c.is_control()).take(Self::MAX_ENGINE_CHARS).collect();
        match name.trim() {
            "" => "unknown".to_owned(),
            n => n.to_owned(),
        }
    }

    /// What [`OutputReport::is_valid`] asks, said to a member whose report it refuses.
    #[must_use]
    pub fn bounds() -> String {
        format!(
            "output: latency 0 to {} s, its buffer part 0 to the latency, an engine name of 1 to {} characters",
            Self::MAX_LATENCY.0 / 1_000_000,
            Self::MAX_ENGINE_CHARS
        )
    }

    /// What the device adds after the engine's own buffer: the part no platform can vouch for.
    #[must_use]
    pub fn device_latency(&self) -> Micros {
        Micros(self.latency_us.0.saturating_sub(self.buffer_us.0).max(0))
    }

    /// A latency that only the platform reports, so the player should calibrate
    /// ([`SyncConcern::Uncalibrated`]): a high one for the device (likely earbuds or a processed
    /// path, whose real figure is higher still), or none for it at all ([`OutputReport::unreported`]:
    /// WebKitGTK's page clicks 58 ms late until calibrated). A report with nothing past the
    /// engine's buffer is not flagged by itself: cpal on JACK gives that shape for a wired output
    /// that needs nothing.
    #[must_use]
    pub fn uncalibrated(&self) -> bool {
        self.source == LatencySource::Reported
            && (self.unreported || self.device_latency().0 > UNCALIBRATED_LATENCY_LIMIT_US)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(latency_ms: i64, source: LatencySource, missed: u32, late: u32) -> Option<OutputReport> {
        Some(OutputReport {
            latency_us: Micros(latency_ms * 1000),
            buffer_us: Micros::ZERO,
            source,
            clicks: 100,
            missed,
            late,
            engine: "cpal".into(),
            unreported: false,
        })
    }

    #[test]
    fn each_figure_off_is_named_and_good_ones_are_quiet() {
        let us = Micros;
        assert!(
            SyncQuality::judged(us(3_000), us(200), true, output(20, LatencySource::Reported, 0, 0))
                .concerns
                .is_empty()
        );
        assert_eq!(SyncQuality::judged(us(3_000), us(0), false, None).concerns, [SyncConcern::NotSynced]);
        assert_eq!(SyncQuality::judged(us(3_000), us(1_500), true, None).concerns, [SyncConcern::ClockError]);
        let bad = SyncQuality::judged(us(3_000), us(200), true, output(180, LatencySource::Reported, 2, 1));
        assert_eq!(bad.concerns, [SyncConcern::MissedClicks, SyncConcern::LateClicks, SyncConcern::Uncalibrated]);
        // Earbuds calibrated at 180 ms are fine.
        let buds = SyncQuality::judged(us(3_000), us(200), true, output(180, LatencySource::Calibrated, 0, 0));
        assert!(buds.concerns.is_empty());
    }

    #[test]
    fn a_browsers_own_buffer_is_not_taken_for_unreported_earbuds() {
        let us = Micros;
        let with_buffer = |total_ms: i64, buffer_ms: i64| {
            let mut o = output(total_ms, LatencySource::Reported, 0, 0).unwrap();
            o.buffer_us = us(buffer_ms * 1000);
            SyncQuality::judged(us(3_000), us(200), true, Some(o)).concerns
        };
        // A page that renders 60 ms ahead into a 20 ms device: nothing to calibrate.
        assert!(with_buffer(80, 60).is_empty());
        // The same page into a device that reports 70 ms past the buffer: likely Bluetooth.
        assert_eq!(with_buffer(130, 60), [SyncConcern::Uncalibrated]);
        // A buffer figure above the whole (a confused browser) leaves nothing, never less.
        assert!(with_buffer(10, 60).is_empty());
        // A browser that says nothing of its output (WebKitGTK: its 3 ms buffer, 0 past it, and
        // its clicks heard 58 ms late) is flagged; the same shape without the word (cpal on JACK,
        // a wired output) is not.
        let mut silent = output(3, LatencySource::Reported, 0, 0).unwrap();
        silent.buffer_us = us(3_000);
        assert!(!silent.uncalibrated());
        silent.unreported = true;
        assert_eq!(
            SyncQuality::judged(us(3_000), us(200), true, Some(silent.clone())).concerns,
            [SyncConcern::Uncalibrated]
        );
        silent.source = LatencySource::Calibrated;
        assert!(!silent.uncalibrated(), "calibrated: nothing to say");
        // On the wire only when true, and read as false when left out (hosts and members before it).
        let json = serde_json::to_string(&silent).unwrap();
        assert!(json.ends_with(r#""unreported":true}"#), "{json}");
        silent.unreported = false;
        assert!(!serde_json::to_string(&silent).unwrap().contains("unreported"));
    }

    #[test]
    fn a_report_out_of_bounds_is_bounded_into_what_the_host_takes() {
        let raw = |latency, buffer, engine: &str| OutputReport {
            latency_us: Micros(latency),
            buffer_us: Micros(buffer),
            engine: OutputReport::engine_name(engine),
            ..output(0, LatencySource::Reported, 0, 0).unwrap()
        };
        let bounded = |mut r: OutputReport| {
            r.bound();
            r
        };
        let b = bounded(raw(3_000_000, 2_500_000, " web-audio\tWebKit "));
        assert_eq!(
            (b.latency_us, b.buffer_us, b.engine.as_str()),
            (Micros(2_000_000), Micros(2_000_000), "web-audioWebKit")
        );
        let b = bounded(raw(-5, -1, &"x".repeat(50)));
        assert_eq!((b.latency_us, b.buffer_us, b.engine.chars().count()), (Micros::ZERO, Micros::ZERO, 40));
        assert_eq!(bounded(raw(20_000, 30_000, "\n \u{3000}")).engine, "unknown");
        for r in [raw(i64::MAX, i64::MIN, ""), raw(20_000, 5_000, "cpal"), raw(1, 2, &"é".repeat(41))] {
            assert!(bounded(r.clone()).is_valid(), "{r:?}");
        }
        let valid = raw(20_000, 5_000, "cpal");
        assert_eq!(bounded(valid.clone()), valid, "a valid report is left as it is");
    }

    #[test]
    fn a_figures_source_is_measured_reported_or_calibrated() {
        assert_eq!(LatencySource::of(0.0, false), LatencySource::Reported);
        assert_eq!(LatencySource::of(0.0, true), LatencySource::Measured, "a measured 0 is measured");
        assert_eq!(LatencySource::of(-12.5, false), LatencySource::Calibrated);
        assert_eq!(LatencySource::of(180.0, true), LatencySource::Measured);
        for s in [LatencySource::Reported, LatencySource::Measured, LatencySource::Calibrated] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.name(), "its name is its wire name");
        }
    }
}
