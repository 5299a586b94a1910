//! The calls the phone page makes, as JSON: `{"op": "...", "args": {...}}` in, `{"ok": value}` or
//! `{"err": "why"}` out. Pure (no IO), so every call is tested natively; `abi.rs` only moves the
//! bytes. Each op parses its arguments straight into its own type (no dynamic JSON values: that
//! keeps the wasm small); several take a list rather than an object (a tuple struct, which serde
//! reads without matching field names: 3 kB of gzip less for the first seven ops, 2.8 kB for
//! the next eight, `docs/BENCHMARKS.md`, "Bundle size"). Times are the page's local clock in µs (`performance.now() * 1000`,
//! made wrong on purpose in tests) and host µs, as in the native member.
//!
//! Ops:
//! - `member.new`, `.connected`, `.connect_failed`, `.text`, `.heard`, `.closed`, `.timeout`,
//!   `.send`, `.leave`, `.set_output`, `.poll`, `.to_host`, `.to_local`, `.status`, `.free`: the
//!   sans-IO member ([`bandsync_core::member`]).
//! - `mirror.new`, `.apply`, `.free`: the app's mirror of the session, fed with the raw server
//!   messages the app forwards (the page's is its member's: `member.text` answers with what changed).
//! - `link.parse`, `link.build`: join links.
//! - `grid.clicks`: the click grid;
//!   `transport.at`: where the transport stands at a host time.
//! - `filter.new`, `.push`, `.fit`, `.reset`, `.free`: the device-clock filter; `stamps.new`,
//!   `.judge`, `.restart`, `.free`: the judge of the browser's output timestamps;
//!   `calibrate.taps`: tap-along latency calibration; `calibrate.probe`: when a microphone
//!   loopback's probe train (played by the worklet's engine) has been heard, and
//!   `calibrate.loopback`: its figure from the recording, which comes beside the request
//!   (`call_with`, the `bs_call_samples` export) (all in `api/output.rs`).
//! - `midi.new`, `.set`, `.tick`, `.running`, `.free`: the page's MIDI out (Web MIDI), on the
//!   core's feeder; `pedal.new`, `.default`, `.press`, `.free`: its pedals, on the core's map
//!   (`api/midi.rs`).
//! - `engine.new`, `.command`, `.stats`: the worklet's click engine (rendering itself is
//!   the `bs_engine_render` export, without JSON).
//! - `chart.render`: a ChordPro chart read and its chords written for one reader
//!   ([`bandsync_core::chart`]), with the count of its music lines (for auto-scroll);
//!   `flow.place`: the part of a song's flow (and the chart section) where the transport's flow
//!   cursor is at a host time, or why the flow does not read; `flow.start`:
//!   the bar a part starts on, for the leader's moves (the `flow` message).
//! - `library.songs`, `.imported`, `.exported`: the band's ChordPro library in and out
//!   ([`bandsync_core::chart::library`]): a file split into its songs, what a song's file says
//!   about it (title, key, tempo, meter), and a song written as a file.
//! - `setlist.tempos`: the setlist's stored tempo numbers (`null` for a song's value that is not
//!   a number), read by the one rule ([`bandsync_core::setlist::stored_tempo_of`]): milli-BPM, or none.
//! - `clock.distortion`: the page's clock made wrong on purpose, for tests, as the native
//!   client's (`bandsync_core::clock::Distortion`).
//! - `text.diff`, `text.diff16`: the one edit between a textarea's text before and after an
//!   input ([`bandsync_core::textdiff`]), in UTF-16 units; the second takes the texts as their
//!   units (one with a lone surrogate, which JSON cannot carry as a string).
//! - `meter.parse`, `meter.format`, `tempo.check`, `tempo.format`, `protocol.info` (with the extensions ChordPro
//!   files go by).

use crate::engine::{EngineCommand, PageEngine};
use crate::registry::{self, Registry};
use bandsync_audio::sounds::ClickSound;
use bandsync_core::chart::library;
use bandsync_core::member::JoinTarget;
use bandsync_core::protocol::{Secret, SyncConcern};
use bandsync_core::{Beats, Meter, Micros, Tempo};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

type Res = Result<String, String>;

/// A request: the op, and its arguments as raw JSON (parsed once, into the op's own type).
#[derive(Deserialize)]
struct Request<'a> {
    op: &'a str,
    #[serde(borrow, default)]
    args: Option<&'a RawValue>,
}

/// Handles one request and returns the answer, both JSON text.
#[must_use]
pub fn call(req: &str) -> String {
    call_with(req, &[])
}

/// [`call`], with samples beside the request (too many for JSON: a recording), for the ops
/// that take them (`calibrate.loopback`).
#[must_use]
pub fn call_with(req: &str, samples: &[f32]) -> String {
    let out = match serde_json::from_str::<Request<'_>>(req) {
        Ok(r) => {
            let args = r.args.map_or("null", RawValue::get);
            registry::with(|reg| dispatch(reg, r.op, args, samples))
        }
        Err(e) => Err(format!("not a request: {e}")),
    };
    match out {
        Ok(v) => format!(r#"{{"ok":{v}}}"#),
        Err(e) => format!(r#"{{"err":{}}}"#, json(&e)),
    }
}

fn parse<'a, T: Deserialize<'a>>(args: &'a str) -> Result<T, String> {
    serde_json::from_str(args).map_err(|e| format!("bad arguments: {e}"))
}

fn json<T: Serialize + ?Sized>(t: &T) -> String {
    serde_json::to_string(t).unwrap_or_else(|_| "null".to_owned())
}

fn ok<T: Serialize + ?Sized>(t: &T) -> Res {
    Ok(json(t))
}

fn done() -> Res {
    Ok("null".to_owned())
}

/// A context's sample rate, as an audio device can have it.
fn rate(rate: u32) -> Result<u32, String> {
    if (8_000..=384_000).contains(&rate) { Ok(rate) } else { Err(format!("a sample rate of {rate} Hz")) }
}

/// A time from JavaScript (µs, possibly fractional).
fn t(x: f64) -> Micros {
    Micros(if x.is_finite() { x.round() as i64 } else { 0 })
}

/// The argument of most ops on an object: its handle.
#[derive(Deserialize)]
struct H {
    h: u32,
}

/// A time (with the handle, read separately).
#[derive(Deserialize)]
struct HNow {
    now: f64,
}

/// Each op to its group; `samples`, beside the request, go to the ops that take them.
fn dispatch(r: &mut Registry, op: &str, a: &str, samples: &[f32]) -> Res {
    match op.split_once('.').map_or(op, |(g, _)| g) {
        "member" => member::member(r, op, a),
        "mirror" => member::mirror(r, op, a),
        "grid" | "transport" => grid::call(op, a),
        "filter" | "stamps" | "calibrate" | "tap" => output::call(r, op, a, samples),
        "engine" => engine(r, op, a),
        "midi" | "pedal" => midi::call(r, op, a),
        _ => misc(op, a),
    }
}

#[derive(Deserialize)]
struct EngineNew {
    rate: u32,
    #[serde(default)]
    sound: ClickSound,
}

#[derive(Deserialize)]
struct EngineCmd {
    h: u32,
    command: EngineCommand,
}

fn engine(r: &mut Registry, op: &str, a: &str) -> Res {
    match op {
        "engine.new" => {
            let x: EngineNew = parse(a)?;
            rate(x.rate)?;
            ok(&r.engines.insert(PageEngine::new(x.rate, x.sound)))
        }
        "engine.command" => {
            let x: EngineCmd = parse(a)?;
            r.engines.get_mut(x.h).ok_or("no such engine")?.command(x.command);
            done()
        }
        "engine.stats" => ok(&r.engines.get_mut(parse::<H>(a)?.h).ok_or("no such engine")?.stats()),
        _ => Err(format!("unknown op {op}")),
    }
}

#[derive(Deserialize)]
struct LinkArg {
    link: String,
}

#[derive(Deserialize)]
struct Build {
    target: JoinTarget,
    secret: String,
}

/// A text argument: a meter to read (`meter.parse`), a ChordPro file (`library.*`, `chart.marks`).
#[derive(Deserialize)]
struct Text {
    text: String,
}

#[derive(Deserialize)]
struct MeterValue {
    meter: Meter,
}

#[derive(Deserialize)]
struct Bpm {
    bpm: f64,
}

/// A tempo in milli-BPM, as the wire carries it (`tempo.format`).
#[derive(Deserialize)]
struct MilliBpm {
    tempo: u32,
}

#[derive(Deserialize)]
struct Pin {
    pin: String,
}

/// `chart.render`: `[text, view]`: a chart's text and how this reader wants its chords (`null`:
/// as written).
#[derive(Deserialize)]
struct ChartCall(String, Option<bandsync_core::chart::View>);

/// `flow.place`: `[flow, transport, now, text]`: a song's flow, the transport and host time to
/// read it at, and the song's chart (for the section), or `null`.
#[derive(Deserialize)]
struct FlowAt(String, bandsync_core::Transport, f64, Option<String>);

/// `flow.start`: `[flow, index]`: where part `index` of a flow starts.
#[derive(Deserialize)]
struct FlowStart(String, usize);

/// `text.diff`: `[before, after, caret]`: a textarea's text before and after an edit, and its
/// caret after it (`null`: not known).
#[derive(Deserialize)]
struct TextDiff<T>(T, T, Option<usize>);

/// `clock.distortion`: `[offset_ms, skew_ppm]`: how wrong the page's clock is to be made
/// (tests). JSON writes a number that is not finite as `null`, which counts as zero, as such a
/// number does.
#[derive(Deserialize)]
struct Distort(Option<f64>, Option<f64>);

/// The answer to `chart.render`.
#[derive(Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChartRendered {
    /// The chart, its chords written for the reader.
    pub rendered: bandsync_core::chart::Rendered,
    /// Its lines that stand for music (for the song-length estimate of auto-scroll).
    pub music_lines: usize,
}

fn misc(op: &str, a: &str) -> Res {
    match op {
        "link.parse" => ok(&JoinTarget::parse(&parse::<LinkArg>(a)?.link).map_err(|e| e.to_string())?),
        "link.build" => {
            let x: Build = parse(a)?;
            ok(&x.target.link(&Secret(x.secret)))
        }
        "meter.parse" => ok(&parse::<Text>(a)?.text.parse::<Meter>().map_err(|e| e.to_string())?),
        "meter.format" => ok(&parse::<MeterValue>(a)?.meter.to_string()),
        "tempo.check" => ok(&Tempo::from_bpm(parse::<Bpm>(a)?.bpm).map_err(|e| e.to_string())?),
        // Any tempo, played or not: a setlist's may be one no one can play, and it is shown as written.
        "tempo.format" => ok(&Tempo(parse::<MilliBpm>(a)?.tempo).to_string()),
        "pin.check" => {
            bandsync_core::session::check_pin(&parse::<Pin>(a)?.pin)?;
            done()
        }
        "chart.render" => {
            let ChartCall(text, view) = parse(a)?;
            let chart = bandsync_core::chart::parse(&text);
            let music_lines = bandsync_core::chart::music_lines(&chart);
            ok(&ChartRendered { rendered: bandsync_core::chart::render(chart, &view.unwrap_or_default()), music_lines })
        }
        "clock.distortion" => {
            let Distort(offset_ms, skew_ppm) = parse(a)?;
            ok(&bandsync_core::clock::Distortion::new(offset_ms.unwrap_or(0.0), skew_ppm.unwrap_or(0.0)))
        }
        "text.diff" => {
            let TextDiff(before, after, caret) = parse::<TextDiff<String>>(a)?;
            ok(&bandsync_core::textdiff::diff_str(&before, &after, caret))
        }
        // A text JSON cannot carry as a string (one with a lone surrogate), as its UTF-16 units.
        "text.diff16" => {
            let TextDiff(before, after, caret) = parse::<TextDiff<Vec<u16>>>(a)?;
            ok(&bandsync_core::textdiff::diff(&before, &after, caret))
        }
        "chart.marks" => ok(&bandsync_core::chart::marks(&parse::<Text>(a)?.text)),
        "flow.place" => {
            use bandsync_core::chart::flow;
            let FlowAt(f, transport, now, text) = parse(a)?;
            let parts = flow::parse(&f)?;
            let chart = text.as_deref().map(bandsync_core::chart::parse);
            ok(&flow::place_now(&parts, &transport, t(now), chart.as_ref()))
        }
        "flow.start" => {
            let FlowStart(f, index) = parse(a)?;
            ok(&bandsync_core::chart::flow::start_bar(&bandsync_core::chart::flow::parse(&f)?, index))
        }
        "library.exported" => {
            // `[chart, title, key, tempo, meter]`, all text, the tempo in milli-BPM (a tempo that
            // does not read is unset):
            // lists of strings are read already, where a struct of five fields would add 3.3 kB of
            // wasm code and a tuple 1.2 kB.
            let v: Vec<String> = parse(a)?;
            let [chart, title, key, tempo, meter] = v.as_slice() else { return Err("bad arguments".into()) };
            ok(&library::exported(chart, title, key, serde_json::from_str(tempo).ok().map(Tempo), meter))
        }
        "library.imported" => ok(&library::imported(&parse::<Text>(a)?.text)),
        // The numbers only (the page passes anything else as `null`): reading any JSON value
        // here would add 1 kB of gzip to the wasm.
        "setlist.tempos" => {
            let read: Vec<Option<f64>> = parse(a)?;
            ok(&read.into_iter().map(|t| t.and_then(bandsync_core::setlist::stored_tempo_of)).collect::<Vec<_>>())
        }
        "library.songs" => ok(&library::songs(&parse::<Text>(a)?.text)),
        "protocol.info" => Ok(format!(
            r#"{{"version":{},"one_beat":{},"min_bpm":{},"max_bpm":{},"extensions":{},"concerns":{}}}"#,
            bandsync_core::PROTOCOL_VERSION,
            Beats::ONE,
            bandsync_core::timeline::MIN_BPM,
            bandsync_core::timeline::MAX_BPM,
            json(&library::EXTENSIONS),
            json(&SyncConcern::ALL.map(|c| (c, c.words())))
        )),
        _ => Err(format!("unknown op {op}")),
    }
}

pub mod grid;
pub mod member;
pub mod midi;
pub mod output;
pub use grid::TransportPlace;
pub use member::{Do, Mirrored, Polled};
pub use midi::{MidiSend, PedalPress};
pub use output::{FilterFit, Judged, TapResult};
#[cfg(test)]
mod tests;
