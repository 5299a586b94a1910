//! The page's audio output against its clock: the device-clock filter
//! ([`bandsync_audio::filter`]) and the judge of the browser's output timestamps
//! ([`bandsync_audio::stamps`]).

use super::{H, Res, done, ok, parse};
use crate::registry::Registry;
use bandsync_audio::calibrate;
use bandsync_audio::stamps::{Reading, StampJudge, Verdict};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct FilterNew {
    capacity: usize,
}

#[derive(Deserialize)]
struct FilterPush {
    h: u32,
    frame: f64,
    local: f64,
}

#[derive(Deserialize)]
struct FilterFitArgs {
    h: u32,
    nominal: f64,
}

/// The fitted line: `local(f) = local + (f - frame) * us_per_frame`.
#[derive(Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FilterFit {
    /// A frame on the line.
    pub frame: f64,
    /// Local µs at which it is heard.
    pub local: f64,
    /// Local µs per frame.
    pub us_per_frame: f64,
    /// Points in the fit.
    pub points: u32,
    /// Steps in the playout followed since the filter was made.
    pub steps: u32,
    /// Glitch readings dropped since the filter was made.
    pub outliers: u32,
}

pub(super) fn call(r: &mut Registry, op: &str, a: &str) -> Res {
    match op {
        "filter.new" => {
            let x: FilterNew = parse(a)?;
            ok(&r.filters.insert(bandsync_audio::filter::DeviceClockFilter::new(x.capacity.clamp(2, 16_384))))
        }
        "filter.push" => {
            let x: FilterPush = parse(a)?;
            r.filters.get_mut(x.h).ok_or("no such filter")?.push(x.frame.max(0.0) as u64, x.local);
            done()
        }
        "filter.fit" => {
            let x: FilterFitArgs = parse(a)?;
            let f = r.filters.get_mut(x.h).ok_or("no such filter")?;
            let fit = f.fit(x.nominal).map(|(frame, local, us_per_frame)| FilterFit {
                frame,
                local,
                us_per_frame,
                points: f.len() as u32,
                steps: f.steps() as u32,
                outliers: f.outliers() as u32,
            });
            ok(&fit)
        }
        "filter.reset" => {
            r.filters.get_mut(parse::<H>(a)?.h).ok_or("no such filter")?.reset();
            done()
        }
        "filter.switch" => {
            r.filters.get_mut(parse::<H>(a)?.h).ok_or("no such filter")?.switch_source();
            done()
        }
        "filter.free" => {
            r.filters.remove(parse::<H>(a)?.h);
            done()
        }
        "calibrate.taps" => {
            let x: Taps = parse(a)?;
            ok(&calibrate::taps(&x.offsets_ms).map_err(|e| e.to_string())?)
        }
        "tap.tempo" => {
            // The leader's TAP button: the page keeps the taps' times, the rule is core's.
            let x: TapTimes = parse(a)?;
            let mut t = bandsync_core::tap::TapTempo::new();
            let mut tempo = None;
            for ms in x.taps_ms {
                tempo = t.tap(bandsync_core::Micros((ms * 1000.0).round() as i64));
            }
            ok(&TapResult { bpm: tempo.map(bandsync_core::Tempo::bpm), count: t.count() as u32 })
        }
        "stamps.new" => ok(&r.judges.insert(StampJudge::new())),
        "stamps.judge" => {
            let x: Judge = parse(a)?;
            let j = r.judges.get_mut(x.h).ok_or("no such judge")?;
            let verdict = j.judge(x.reading);
            ok(&Judged { verdict, switched: j.switched(), drops: j.drops() })
        }
        "stamps.restart" => {
            r.judges.get_mut(parse::<H>(a)?.h).ok_or("no such judge")?.restart();
            done()
        }
        "stamps.free" => {
            r.judges.remove(parse::<H>(a)?.h);
            done()
        }
        _ => Err(format!("unknown op {op}")),
    }
}

#[derive(Deserialize)]
struct Judge {
    h: u32,
    /// `getOutputTimestamp()`'s reading, or `null` where the browser has none.
    reading: Option<Reading>,
}

/// What the page does with a reading of its output.
#[derive(Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "StampVerdict"))]
pub struct Judged {
    /// Use the timestamp, skip the reading, or use the reported latency.
    pub verdict: Verdict,
    /// The source changed with this reading: the filter's points are of the other one.
    pub switched: bool,
    /// Times the timestamps were dropped in this context.
    pub drops: u32,
}

#[derive(Deserialize)]
struct TapTimes {
    /// The taps so far (any monotonic ms), oldest first.
    taps_ms: Vec<f64>,
}

/// Tap tempo's answer.
#[derive(Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TapResult {
    /// The series' tempo (BPM, to 0.1), or `null` after its first tap.
    pub bpm: Option<f64>,
    /// How many of the last taps make the series (the page keeps only those).
    pub count: u32,
}

#[derive(Deserialize)]
struct Taps {
    /// Each tap's offset from the click nearest it, ms.
    offsets_ms: Vec<f64>,
}
