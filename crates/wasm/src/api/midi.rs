//! The page's MIDI (Web MIDI). Out: the core's feeder ([`bandsync_core::midi::feed`]), the same
//! the native backends run, walks the transport ahead of host time and maps each event onto the
//! browser's clock (`performance.now()`), which `MIDIOutput.send` takes as its time stamp. In:
//! the core's pedal map ([`bandsync_core::midi::input`]) turns a press into the message the
//! leader's button sends, as the app's and the CLI's pedals do.

use super::{H, Res, done, ok, parse};
use crate::registry::Registry;
use bandsync_core::Micros;
use bandsync_core::Transport;
use bandsync_core::host_axis::HostAxis;
use bandsync_core::midi::MidiMessage;
use bandsync_core::midi::feed::{Feeder, MAX_OFFSET_MS};
use bandsync_core::midi::input::{DEFAULT_MAP, MidiInput, MidiMap};
use bandsync_core::protocol::ClientMsg;
use serde::{Deserialize, Serialize};

/// The longest horizon a page may ask for: changes land a lead time (250 ms or more) ahead, and
/// nothing handed out can be taken back.
const MAX_HORIZON_US: i64 = 200_000;

#[derive(Deserialize)]
struct New {
    horizon_us: i64,
}

/// `midi.set`: `[h, transport, axis]`: the schedule, and the host clock it is on.
#[derive(Deserialize)]
struct Set(u32, Transport, HostAxis);

/// `midi.tick`: `[h, host, epoch, device, early]`: host µs now and the epoch of the host clock it
/// is on; the browser's clock at the same moment (`performance.now()`, µs); and how much earlier
/// than its moment each event is sent (the user's offset), µs, clamped to [`MAX_OFFSET_MS`]
/// either way.
#[derive(Deserialize)]
struct Tick(u32, f64, u64, f64, f64);

/// One message for `MIDIOutput.send`, and when (`performance.now()` time, ms).
#[derive(Serialize, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MidiSend {
    /// When it must reach the gear, in the browser's clock (ms).
    pub at_ms: f64,
    /// The message's bytes.
    pub data: Vec<u8>,
}

#[derive(Deserialize)]
struct PedalNew {
    /// The map (`note 62=next; cc 64=playstop`); empty for the default.
    map: String,
}

/// `pedal.press`: `[h, at, data, setlist, current, transport]`: the pedal map, when the message
/// came (`performance.now()`, µs: tap tempo goes by it), its bytes, the setlist's song ids in
/// order, the current song and the schedule (`null` for none). (Owned strings: serde borrows none
/// with an escape in it, and an editor may put one in an id.)
#[derive(Deserialize)]
struct Press(u32, f64, Vec<u8>, Vec<String>, Option<String>, Option<Transport>);

/// What a pedal's press does: the message to send as the leader's button would, and the action's
/// name; or why it sends nothing.
#[derive(Serialize, Debug)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PedalPress {
    /// `next`, `previous`, `play`, `stop`, `tempo`, `cue`.
    pub action: Option<&'static str>,
    /// The message.
    pub msg: Option<ClientMsg>,
    /// Why nothing is sent (no next song in the setlist).
    pub refused: Option<String>,
}

fn send(at_us: u64, msg: MidiMessage) -> MidiSend {
    let (bytes, n) = msg.bytes();
    MidiSend { at_ms: at_us as f64 / 1000.0, data: bytes[..n].to_vec() }
}

pub(super) fn call(r: &mut Registry, op: &str, a: &str) -> Res {
    match op {
        "midi.new" => {
            let x: New = parse(a)?;
            ok(&r.feeders.insert(Feeder::with_horizon(Micros(x.horizon_us.clamp(1_000, MAX_HORIZON_US)))))
        }
        "midi.set" => {
            let Set(h, transport, axis) = parse(a)?;
            r.feeders.get_mut(h).ok_or("no such feeder")?.set(transport, axis);
            done()
        }
        "midi.tick" => {
            let Tick(h, host, epoch, device, early) = parse(a)?;
            let f = r.feeders.get_mut(h).ok_or("no such feeder")?;
            let mut out = Vec::new();
            let early = early.clamp(-MAX_OFFSET_MS * 1000.0, MAX_OFFSET_MS * 1000.0);
            f.tick(host, epoch, Some(device - host - early), &mut |e| out.push(send(e.at, e.msg)));
            ok(&out)
        }
        "midi.running" => ok(&r.feeders.get_mut(parse::<H>(a)?.h).ok_or("no such feeder")?.running()),
        "midi.free" => {
            r.feeders.remove(parse::<H>(a)?.h);
            done()
        }
        "pedal.new" => {
            let x: PedalNew = parse(a)?;
            let text = if x.map.trim().is_empty() { DEFAULT_MAP } else { &x.map };
            let map: MidiMap = text.parse().map_err(|e| format!("pedal map: {e}"))?;
            ok(&r.pedals.insert(MidiInput::new(map)))
        }
        "pedal.default" => ok(DEFAULT_MAP),
        "pedal.press" => {
            let Press(h, at, data, setlist, current, transport) = parse(a)?;
            let input = r.pedals.get_mut(h).ok_or("no such pedal map")?;
            let Some(cmd) = input.handle(Micros(at.round() as i64), &data) else { return ok(&()) };
            let playing = transport.as_ref().is_some_and(|t| t.latest().playing);
            let setlist: Vec<&str> = setlist.iter().map(String::as_str).collect();
            ok(&match cmd.message(&setlist, current.as_deref(), playing) {
                Ok((action, msg)) => PedalPress { action: Some(action), msg: Some(msg), refused: None },
                Err(why) => PedalPress { action: None, msg: None, refused: Some(why) },
            })
        }
        "pedal.free" => {
            r.pedals.remove(parse::<H>(a)?.h);
            done()
        }
        _ => Err(format!("unknown op {op}")),
    }
}
