//! The page's MIDI out (Web MIDI): the core's feeder ([`bandsync_core::midi::feed`]), the same
//! the native backends run, walks the transport ahead of host time and maps each event onto the
//! browser's clock (`performance.now()`), which `MIDIOutput.send` takes as its time stamp.

use super::{H, Res, done, ok, parse};
use crate::registry::Registry;
use bandsync_core::Micros;
use bandsync_core::Transport;
use bandsync_core::host_axis::HostAxis;
use bandsync_core::midi::MidiMessage;
use bandsync_core::midi::feed::{Feeder, MAX_OFFSET_MS};
use serde::{Deserialize, Serialize};

/// The longest horizon a page may ask for: changes land a lead time (250 ms or more) ahead, and
/// nothing handed out can be taken back.
const MAX_HORIZON_US: i64 = 200_000;

#[derive(Deserialize)]
struct New {
    horizon_us: i64,
}

#[derive(Deserialize)]
struct Set {
    h: u32,
    transport: Transport,
    #[serde(default)]
    axis: HostAxis,
}

#[derive(Deserialize)]
struct Tick {
    h: u32,
    /// Host µs now, and the epoch of the host clock it is on.
    host: f64,
    epoch: u64,
    /// The browser's clock at the same moment (`performance.now()`, µs).
    device: f64,
    /// How much earlier than its moment each event is sent (the user's offset), µs; clamped to
    /// [`MAX_OFFSET_MS`] either way.
    early: f64,
}

/// One message for `MIDIOutput.send`, and when (`performance.now()` time, ms).
#[derive(Serialize, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MidiSend {
    /// When it must reach the gear, in the browser's clock (ms).
    pub at_ms: f64,
    /// The message's bytes.
    pub data: Vec<u8>,
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
            let x: Set = parse(a)?;
            r.feeders.get_mut(x.h).ok_or("no such feeder")?.set(x.transport, x.axis);
            done()
        }
        "midi.tick" => {
            let x: Tick = parse(a)?;
            let f = r.feeders.get_mut(x.h).ok_or("no such feeder")?;
            let mut out = Vec::new();
            let early = x.early.clamp(-MAX_OFFSET_MS * 1000.0, MAX_OFFSET_MS * 1000.0);
            f.tick(x.host, x.epoch, Some(x.device - x.host - early), &mut |e| out.push(send(e.at, e.msg)));
            ok(&out)
        }
        "midi.running" => ok(&r.feeders.get_mut(parse::<H>(a)?.h).ok_or("no such feeder")?.running()),
        "midi.free" => {
            r.feeders.remove(parse::<H>(a)?.h);
            done()
        }
        _ => Err(format!("unknown op {op}")),
    }
}
