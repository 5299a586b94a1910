//! The calls the phone page makes, as JSON: `{"op": "...", "args": {...}}` in, `{"ok": value}` or
//! `{"err": "why"}` out. Pure (no IO), so every call is tested natively; `abi.rs` only moves the
//! bytes. Each op parses its arguments straight into its own type (no dynamic JSON values: that
//! keeps the wasm small). Times are the page's local clock in µs (`performance.now() * 1000`,
//! made wrong on purpose in tests) and host µs, as in the native member.
//!
//! Ops:
//! - `member.new`, `.connected`, `.connect_failed`, `.text`, `.heard`, `.closed`, `.timeout`,
//!   `.send`, `.leave`, `.set_output`, `.poll`, `.to_host`, `.to_local`, `.status`, `.mirror`,
//!   `.free`: the sans-IO member ([`bandsync_core::member`]).
//! - `mirror.new`, `.apply`, `.free`: the UI's mirror of the session, fed with raw server messages.
//! - `link.parse`, `link.build`: join links.
//! - `grid.clicks`, `cursor.new`, `cursor.take`, `cursor.rewind`, `cursor.free`: the click grid;
//!   `transport.at`: where the transport stands at a host time.
//! - `filter.new`, `.push`, `.fit`, `.reset`, `.free`: the device-clock filter; `stamps.new`,
//!   `.judge`, `.restart`, `.free`: the judge of the browser's output timestamps;
//!   `calibrate.taps`: tap-along latency calibration (all in `api/output.rs`).
//! - `engine.new`, `.command`, `.stats`, `.free`: the worklet's click engine (rendering itself is
//!   the `bs_engine_render` export, without JSON).
//! - `meter.parse`, `meter.format`, `tempo.check`, `chat.export`, `protocol.info`.

use crate::engine::{EngineCommand, PageEngine};
use crate::registry::{self, Registry};
use bandsync_audio::sounds::ClickSound;
use bandsync_core::clicks::{Click, ClickCursor, clicks_between};
use bandsync_core::member::{JoinTarget, Member, MemberConfig, MemberEvent, Transmit};
use bandsync_core::mirror::{Changed, Mirror};
use bandsync_core::protocol::{ChatMessage, OutputReport, Secret, ServerMsg};
use bandsync_core::timeline::{Accent, Segment};
use bandsync_core::{Beats, Meter, Micros, Tempo, Transport};
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
    let out = match serde_json::from_str::<Request<'_>>(req) {
        Ok(r) => {
            let args = r.args.map_or("null", RawValue::get);
            registry::with(|reg| dispatch(reg, r.op, args))
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

fn dispatch(r: &mut Registry, op: &str, a: &str) -> Res {
    match op.split_once('.').map_or(op, |(g, _)| g) {
        "member" => member(r, op, a),
        "mirror" => mirror(r, op, a),
        "cursor" | "grid" | "transport" => grid(r, op, a),
        "filter" | "stamps" | "calibrate" => output::call(r, op, a),
        "engine" => engine(r, op, a),
        _ => misc(op, a),
    }
}

/// What the page asks for when it makes a member.
#[derive(Deserialize)]
struct MemberSpec {
    target: JoinTarget,
    name: String,
    #[serde(default)]
    instrument: Option<String>,
    #[serde(default)]
    leader: bool,
    #[serde(default)]
    pin: Option<String>,
    seed: u64,
    /// `None` (the page's default): never give up reconnecting.
    #[serde(default)]
    give_up_after_ms: Option<i64>,
    #[serde(default)]
    forward: bool,
    /// A resume token kept from before a reload.
    #[serde(default)]
    resume: Option<String>,
    now: f64,
}

#[derive(Deserialize)]
struct Text {
    now: f64,
    text: String,
}

/// A message the page wrote, to send as it is.
#[derive(Deserialize)]
struct Outgoing {
    text: String,
}

#[derive(Deserialize)]
struct Failed {
    now: f64,
    reason: String,
    #[serde(default)]
    fatal: bool,
}

#[derive(Deserialize)]
struct Output {
    output: Option<OutputReport>,
}

#[derive(Deserialize)]
struct At {
    at: f64,
}

/// What the connection must do, for the page's driver.
#[derive(Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "MemberTransmit"))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Do<'a> {
    /// Open a WebSocket to `url` (racing `alternates`); report with `member.connected` or
    /// `member.connect_failed`.
    Connect { url: &'a str, alternates: &'a [String] },
    /// Send a text frame.
    Text { text: String },
    /// Send a binary frame.
    Binary { bytes: Vec<u8> },
    /// Close the connection (or abandon the one being opened).
    Close,
}

/// Everything the member has to say after an input.
#[derive(Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "MemberPoll"))]
pub struct Polled<'a> {
    /// What to do with the connection, in order.
    pub transmits: Vec<Do<'a>>,
    /// What happened, in order.
    pub events: Vec<MemberEvent>,
    /// Local µs at which to call `member.timeout` next.
    pub timeout: Option<i64>,
    /// Whether the member has ended (left, refused, lost, replaced).
    pub ended: bool,
    /// The resume token to keep across a reload.
    pub token: Option<&'a str>,
}

fn member(r: &mut Registry, op: &str, a: &str) -> Res {
    if op == "member.new" {
        let spec: MemberSpec = parse(a)?;
        let mut cfg = MemberConfig::new(spec.target, spec.name);
        cfg.instrument = spec.instrument.filter(|i| !i.trim().is_empty());
        cfg.leader = spec.leader;
        cfg.pin = spec.pin.filter(|p| !p.trim().is_empty()).map(Secret);
        cfg.seed = spec.seed;
        cfg.backoff.give_up_after = spec.give_up_after_ms.map(|ms| Micros(ms.saturating_mul(1000)));
        cfg.forward_server_messages = spec.forward;
        cfg.resume = spec.resume.filter(|r| !r.is_empty()).map(Secret);
        return ok(&r.members.insert(Member::new(cfg, t(spec.now))));
    }
    let h: H = parse(a)?;
    if op == "member.free" {
        r.members.remove(h.h);
        return done();
    }
    let m = r.members.get_mut(h.h).ok_or_else(|| format!("no member {}", h.h))?;
    match op {
        "member.connected" => m.handle_connected(t(parse::<HNow>(a)?.now)),
        "member.connect_failed" => {
            let f: Failed = parse(a)?;
            m.handle_connect_failed(t(f.now), &f.reason, f.fatal);
        }
        "member.text" => {
            let x: Text = parse(a)?;
            m.handle_text(t(x.now), &x.text);
        }
        "member.heard" => m.handle_heard(t(parse::<HNow>(a)?.now)),
        "member.closed" => {
            let f: Failed = parse(a)?;
            m.handle_closed(t(f.now), &f.reason);
        }
        "member.timeout" => m.handle_timeout(t(parse::<HNow>(a)?.now)),
        "member.reconnect_now" => m.reconnect_now(t(parse::<HNow>(a)?.now)),
        // The page's messages are typed by the generated bindings and checked by the server;
        // they go out as written.
        "member.send" => m.send_text(parse::<Outgoing>(a)?.text),
        "member.leave" => m.leave(),
        "member.set_output" => m.set_output(parse::<Output>(a)?.output),
        "member.poll" => return poll(m),
        "member.to_host" => return ok(&m.clock().to_host_f64(t(parse::<At>(a)?.at))),
        "member.to_local" => return ok(&m.clock().to_local(t(parse::<At>(a)?.at)).map(|l| l.0)),
        "member.status" => return ok(&m.clock().status(t(parse::<HNow>(a)?.now))),
        "member.mirror" => return ok(&m.mirror()),
        _ => return Err(format!("unknown op {op}")),
    }
    done()
}

fn poll(m: &mut Member) -> Res {
    let transmits: Vec<Transmit> = std::iter::from_fn(|| m.poll_transmit()).collect();
    let events: Vec<MemberEvent> = std::iter::from_fn(|| m.poll_event()).collect();
    let (timeout, ended) = (m.poll_timeout().map(|x| x.0), m.is_ended());
    let token = m.token().map(Secret::expose);
    let target = &m.config().target;
    let transmits = transmits
        .into_iter()
        .map(|x| match x {
            Transmit::Connect => Do::Connect { url: &target.ws_url, alternates: &target.alternates },
            Transmit::Text(text) => Do::Text { text },
            Transmit::Binary(bytes) => Do::Binary { bytes },
            Transmit::Close => Do::Close,
        })
        .collect();
    ok(&Polled { transmits, events, timeout, ended, token })
}

#[derive(Deserialize)]
struct Raw {
    h: u32,
    msg: String,
}

/// What a server message changed in a mirror, and the mirror as it is now.
#[derive(Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Mirrored<'a> {
    /// What changed.
    pub changed: Changed,
    /// The mirror, once a welcome came.
    pub mirror: Option<&'a Mirror>,
}

/// The UI's view of the session, fed with every raw server message (from the page's own
/// connection, or forwarded by the app): the one mirror, in Rust.
fn mirror(r: &mut Registry, op: &str, a: &str) -> Res {
    match op {
        "mirror.new" => ok(&r.mirrors.insert(None)),
        "mirror.apply" => {
            let x: Raw = parse(a)?;
            let slot = r.mirrors.get_mut(x.h).ok_or("no such mirror")?;
            let msg: ServerMsg = serde_json::from_str(&x.msg).map_err(|e| format!("not a server message: {e}"))?;
            let changed = match (&mut *slot, &msg) {
                (_, ServerMsg::Welcome { you, epoch, snapshot, .. }) => {
                    *slot = Some(Mirror::from_welcome(*you, *epoch, snapshot.clone()));
                    Changed { participants: true, transport: true, snapshot: true, song: true }
                }
                (Some(m), msg) => m.apply(msg),
                (None, _) => Changed::default(),
            };
            ok(&Mirrored { changed, mirror: slot.as_ref() })
        }
        "mirror.free" => {
            r.mirrors.remove(parse::<H>(a)?.h);
            done()
        }
        _ => Err(format!("unknown op {op}")),
    }
}

#[derive(Deserialize)]
struct Window {
    #[serde(default)]
    h: u32,
    transport: Transport,
    lo: f64,
    hi: f64,
    sub: u8,
}

#[derive(Deserialize)]
struct Rewind {
    h: u32,
    kept: Option<f64>,
}

#[derive(Deserialize)]
struct TransportAt {
    transport: Transport,
    now: f64,
}

/// Where the transport stands at a host time: what the beat display shows.
#[derive(Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "TransportPlace"))]
pub struct Place<'a> {
    /// Whether the metronome runs.
    pub playing: bool,
    /// The position.
    pub position: Beats,
    /// Bars from the bar origin (negative in a count-in).
    pub bar: i64,
    /// Beat within the bar, from 0.
    pub beat: i64,
    /// Whether this is a count-in.
    pub count_in: bool,
    /// Bars of count-in left (1 in the count-in's last bar).
    pub count_in_bars_left: i64,
    /// The tempo.
    pub tempo: Tempo,
    /// The meter.
    pub meter: &'a Meter,
    /// The next scheduled change.
    pub next: Option<&'a Segment>,
    /// How each beat of the bar is accented.
    pub accents: Vec<Accent>,
    /// Fraction of the current beat elapsed, 0 to 1.
    pub beat_phase: f64,
    /// The segment in effect.
    pub segment: &'a Segment,
    /// Micro-beats since the song started (negative in a count-in): what auto-scroll follows.
    pub since_song_start: i64,
}

fn grid(r: &mut Registry, op: &str, a: &str) -> Res {
    match op {
        "grid.clicks" => {
            let w: Window = parse(a)?;
            let mut out: Vec<Click> = Vec::new();
            clicks_between(&w.transport.segments, t(w.lo), t(w.hi), w.sub, &mut |c| out.push(c));
            ok(&out)
        }
        "cursor.new" => ok(&r.cursors.insert(ClickCursor::new())),
        "cursor.take" => {
            let w: Window = parse(a)?;
            let c = r.cursors.get_mut(w.h).ok_or("no such cursor")?;
            let mut out: Vec<Click> = Vec::new();
            c.take(&w.transport.segments, t(w.lo), t(w.hi), w.sub, &mut |c| out.push(c));
            ok(&out)
        }
        "cursor.rewind" => {
            let x: Rewind = parse(a)?;
            r.cursors.get_mut(x.h).ok_or("no such cursor")?.rewind(x.kept.map(t));
            done()
        }
        "cursor.free" => {
            r.cursors.remove(parse::<H>(a)?.h);
            done()
        }
        "transport.at" => {
            let x: TransportAt = parse(a)?;
            if !x.transport.is_valid() {
                return Err("not a valid transport".into());
            }
            let now = t(x.now);
            let seg = x.transport.segment_at(now);
            let pos = seg.position(now);
            let from_origin = pos.0 - seg.bar_origin.0;
            let beats = i64::from(seg.meter.beats.max(1));
            let count_in = seg.playing && pos < seg.song_start;
            ok(&Place {
                playing: seg.playing,
                position: pos,
                bar: from_origin.div_euclid(seg.meter.bar_len().0),
                beat: from_origin.div_euclid(Beats::ONE).rem_euclid(beats),
                count_in,
                count_in_bars_left: if count_in {
                    let bar = seg.meter.bar_len().0;
                    (seg.song_start.0 - pos.0 + bar - 1) / bar
                } else {
                    0
                },
                tempo: seg.timeline.tempo,
                meter: &seg.meter,
                next: x.transport.segments.iter().find(|s| s.at > now),
                accents: (0..seg.meter.beats).map(|i| seg.meter.accent(i)).collect(),
                beat_phase: from_origin.rem_euclid(Beats::ONE) as f64 / Beats::ONE as f64,
                segment: seg,
                since_song_start: pos.0 - seg.song_start.0,
            })
        }
        _ => Err(format!("unknown op {op}")),
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
            if !(8_000..=384_000).contains(&x.rate) {
                return Err(format!("sample rate {}", x.rate));
            }
            ok(&r.engines.insert(PageEngine::new(x.rate, x.sound)))
        }
        "engine.command" => {
            let x: EngineCmd = parse(a)?;
            r.engines.get_mut(x.h).ok_or("no such engine")?.command(x.command);
            done()
        }
        "engine.stats" => ok(&r.engines.get_mut(parse::<H>(a)?.h).ok_or("no such engine")?.stats()),
        "engine.free" => {
            r.engines.remove(parse::<H>(a)?.h);
            done()
        }
        _ => Err(format!("unknown op {op}")),
    }
}

#[derive(Deserialize)]
struct Link {
    link: String,
}

#[derive(Deserialize)]
struct Build {
    target: JoinTarget,
    secret: String,
}

#[derive(Deserialize)]
struct MeterText {
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

#[derive(Deserialize)]
struct Pin {
    pin: String,
}

#[derive(Deserialize)]
struct Export {
    messages: Vec<ChatMessage>,
    format: String,
}

fn misc(op: &str, a: &str) -> Res {
    match op {
        "link.parse" => ok(&JoinTarget::parse(&parse::<Link>(a)?.link).map_err(|e| e.to_string())?),
        "link.build" => {
            let x: Build = parse(a)?;
            ok(&x.target.link(&Secret(x.secret)))
        }
        "meter.parse" => ok(&parse::<MeterText>(a)?.text.parse::<Meter>().map_err(|e| e.to_string())?),
        "meter.format" => ok(&parse::<MeterValue>(a)?.meter.to_string()),
        "tempo.check" => ok(&Tempo::from_bpm(parse::<Bpm>(a)?.bpm).map_err(|e| e.to_string())?),
        "pin.check" => {
            bandsync_core::session::check_pin(&parse::<Pin>(a)?.pin)?;
            done()
        }
        "chat.export" => {
            let x: Export = parse(a)?;
            ok(&bandsync_core::chat::export(&x.messages, &x.format)?)
        }
        "protocol.info" => Ok(format!(
            r#"{{"version":{},"one_beat":{},"min_bpm":{},"max_bpm":{}}}"#,
            bandsync_core::PROTOCOL_VERSION,
            Beats::ONE,
            bandsync_core::timeline::MIN_BPM,
            bandsync_core::timeline::MAX_BPM
        )),
        _ => Err(format!("unknown op {op}")),
    }
}

pub mod output;
pub use output::{Fit, Judged};
#[cfg(test)]
mod tests;
