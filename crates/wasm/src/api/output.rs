//! The page's audio output against its clock: the device-clock filter
//! ([`bandsync_audio::filter`]) and the judge of the browser's output timestamps
//! ([`bandsync_audio::stamps`]).

use super::{H, Res, done, ok, parse, rate};
use crate::registry::Registry;
use bandsync_audio::calibrate;
use bandsync_audio::stamps::{Reading, StampJudge, Verdict};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct FilterNew {
    capacity: usize,
}

/// `filter.push`: `[h, frame, local]`: a device frame, and the local µs it was read at.
#[derive(Deserialize)]
struct FilterPush(u32, f64, f64);

/// `filter.fit`: `[h, nominal]`: the nominal µs per frame.
#[derive(Deserialize)]
struct FilterFitArgs(u32, f64);

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

pub(super) fn call(r: &mut Registry, op: &str, a: &str, samples: &[f32]) -> Res {
    match op {
        "filter.new" => {
            let x: FilterNew = parse(a)?;
            ok(&r.filters.insert(bandsync_audio::filter::DeviceClockFilter::new(x.capacity.clamp(2, 16_384))))
        }
        "filter.push" => {
            let FilterPush(h, frame, local) = parse(a)?;
            r.filters.get_mut(h).ok_or("no such filter")?.push(frame.max(0.0) as u64, local);
            done()
        }
        "filter.fit" => {
            let FilterFitArgs(h, nominal) = parse(a)?;
            let f = r.filters.get_mut(h).ok_or("no such filter")?;
            let fit = f.fit(nominal).map(|(frame, local, us_per_frame)| FilterFit {
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
            // [the taps' host µs, the offset in effect at each (ms), then each tap's clicks around
            // it (host µs)]: arrays, which take less wasm than an object.
            let [at_us, latency_ms, clicks_us @ ..] = &parse::<Vec<Vec<f64>>>(a)?[..] else {
                return Err("bad arguments: [taps, offsets, clicks...]".to_owned());
            };
            ok(&calibrate::along(at_us, latency_ms, clicks_us).map_err(|e| e.to_string())?)
        }
        "calibrate.loopback" => loopback(a, samples),
        // The probe's first click (host µs): a plain number, as tap tempo's taps are a plain
        // array (an object's fields take more wasm).
        "calibrate.probe" => ok(&calibrate::probe_plan(parse::<f64>(a)?).until_us),
        "tap.tempo" => {
            // The leader's TAP button: the page keeps the taps' times, the rule is core's.
            // The taps so far (any monotonic ms), oldest first.
            let taps_ms: Vec<f64> = parse(a)?;
            let mut t = bandsync_core::tap::TapTempo::new();
            let mut tempo = None;
            for ms in taps_ms {
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

/// Tap tempo's answer.
#[derive(Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TapResult {
    /// The series' tempo (BPM, to 0.1), or `null` after its first tap.
    pub bpm: Option<f64>,
    /// How many of the last taps make the series (the page keeps only those).
    pub count: u32,
}

/// `calibrate.loopback`: `[rate, deliveries, start_us, clicks, output_rate, readings]`:
/// - the recording's sample rate;
/// - each delivery of the recording: the frame after its last, and the local µs it arrived (flat,
///   as the lists below: a pair's two numbers one after the other);
/// - host µs of the probe's first click;
/// - the probe's clicks as the engine started them: host µs on the plan, and context frame;
/// - the output's rate, and its readings as it played: a context frame, and the local µs it is
///   heard by the browser's figures.
#[derive(Deserialize)]
struct Loopback(u32, Vec<f64>, f64, Vec<f64>, u32, Vec<f64>);

/// A flat list's pairs; `what` names the list in the error.
fn pairs(v: &[f64], what: &str) -> Result<Vec<(f64, f64)>, String> {
    if v.len() % 2 == 1 {
        return Err(format!("{what}: pairs of numbers, and one is left over"));
    }
    let mut p = Vec::with_capacity(v.len() / 2);
    for c in v.chunks_exact(2) {
        p.push((c[0], c[1]));
    }
    Ok(p)
}

/// `calibrate.loopback`: a microphone loopback ([`calibrate::by_microphone`], each click timed by
/// [`calibrate::played_by_device`]); the recording comes beside the request
/// (`bs_call_samples`).
fn loopback(a: &str, recording: &[f32]) -> Res {
    let Loopback(recording_rate, deliveries, start_us, clicks, output_rate, readings) = parse(a)?;
    let plan = calibrate::probe_plan(start_us);
    let (clicks, readings) = (pairs(&clicks, "clicks")?, pairs(&readings, "readings")?);
    let played = calibrate::played_by_device(&plan, &clicks, &readings, rate(output_rate)?);
    let c = calibrate::by_microphone(recording, rate(recording_rate)?, &pairs(&deliveries, "deliveries")?, &played);
    ok(&c.map_err(|e| e.to_string())?)
}

#[cfg(test)]
mod tests {
    use crate::api::{call, call_with};
    use serde_json::{Value, json};

    fn answer(a: &str) -> Value {
        serde_json::from_str(a).unwrap()
    }

    #[test]
    fn a_loopback_comes_with_its_recording_beside_the_request() {
        // The probe from 1 s on: ten clicks 750 ms apart, heard by 8.5 s at the latest.
        let until = answer(&call(r#"{"op":"calibrate.probe","args":1000000}"#))["ok"].clone();
        assert_eq!(until.as_f64(), Some(1e6 + 10.0 * 750_000.0));
        // The output (48 kHz) says frame f is heard at local f / 48 kHz, each click started 0.5 ms
        // before its planned time by those figures, and heard 1.5 ms after it started; the recording
        // delivered 480 frames at a time, each exactly when its last frame was captured.
        let sounds = bandsync_audio::sounds::Sounds::synthesized(48_000);
        let probe = sounds.get(bandsync_audio::sounds::Sound::Downbeat);
        let mut rec = vec![0.0f32; 450_000];
        let mut clicks = Vec::new();
        for k in 0..10 {
            let frame = ((1e6 + f64::from(k) * 750_000.0 - 500.0) / 1e6 * 48_000.0).round();
            clicks.extend([1e6 + f64::from(k) * 750_000.0, frame]);
            let at = (frame + 72.0) as usize;
            rec[at..at + probe.len()].copy_from_slice(probe);
        }
        let points: Vec<f64> = (1..900).map(|k| f64::from(k) * 480.0).flat_map(|f| [f, f / 0.048]).collect();
        let req = json!({"op": "calibrate.loopback", "args": [48_000, points, 1e6, clicks, 48_000, points]});
        let c = answer(&call_with(&req.to_string(), &rec));
        assert!((c["ok"]["latency_ms"].as_f64().unwrap() - 1.5).abs() < 0.03, "{c}");
        // Without the recording, at a rate no context or microphone has, and with a list of pairs
        // a number short: clear errors.
        assert_eq!(answer(&call(&req.to_string()))["err"], "nothing was heard");
        // (The recording's rate, the output's, and the clicks: the list's items 0, 4 and 3.)
        for (field, value, says) in [
            (0, json!(7), "7 Hz"),
            (4, json!(9), "9 Hz"),
            (3, json!([1e6]), "clicks: pairs of numbers, and one is left over"),
        ] {
            let mut bad = req.clone();
            bad["args"][field] = value;
            let err = answer(&call_with(&bad.to_string(), &rec))["err"].as_str().unwrap().to_owned();
            assert!(err.contains(says), "{field}: {err}");
        }
    }
}
