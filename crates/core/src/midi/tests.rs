//! The bytes on the wire, and the cursor over arbitrary windows.

use super::*;
use crate::time::Micros;
use crate::timeline::{Meter, Segment};

#[test]
fn messages_have_their_wire_bytes() {
    assert_eq!(MidiMessage::Clock.bytes(), ([0xF8, 0, 0], 1));
    assert_eq!(MidiMessage::SongPosition(200).bytes(), ([0xF2, 200 - 128, 1], 3));
    assert_eq!(MidiMessage::Patch(PatchMsg::Program { channel: 10, program: 5 }).bytes(), ([0xC9, 5, 0], 2));
    assert_eq!(
        MidiMessage::Patch(PatchMsg::Control { channel: 1, controller: 7, value: 64 }).bytes(),
        ([0xB0, 7, 64], 3)
    );
}

fn walk(segs: &[Segment], step: impl Fn(i64) -> i64, hi: i64) -> Vec<MidiEvent> {
    let mut cur = MidiCursor::new();
    let mut out = Vec::new();
    let (mut lo, mut k) = (0, 0);
    while lo < hi {
        let next = (lo + step(k)).min(hi);
        cur.take(segs, Micros(lo), Micros(next), &mut |e| out.push(e));
        lo = next;
        k += 1;
    }
    out
}

#[test]
fn any_windows_give_the_same_events_and_the_grid_never_drifts() {
    // 7/8 at 133.333 BPM: 12 pulses an eighth, 37 500.009… µs apart; none may be lost or doubled.
    let segs = [Segment::playing_from_zero(133_333, Meter::new(7, 8).unwrap())];
    let whole = walk(&segs, |_| 600_000_000, 600_000_000);
    for step in [|k: i64| 1 + (k * 7919) % 23_000, |k: i64| 40_000 + (k % 3)] {
        assert_eq!(walk(&segs, step, 600_000_000), whole);
    }
    assert_eq!(whole[0].msg, MidiMessage::Start);
    let pulses: Vec<i64> = whole.iter().filter(|e| e.msg == MidiMessage::Clock).map(|e| e.host.0).collect();
    // Ten minutes is exactly 133.333 * 10 * 12 pulses (rounded up: the first is at 0).
    assert_eq!(pulses.len(), 16_000);
    for (g, t) in pulses.iter().enumerate() {
        let exact = g as f64 * 60e6 / 133.333 / 12.0;
        assert!((*t as f64 - exact).abs() <= 1.0, "pulse {g} at {t} µs, exactly {exact}");
    }
}

#[test]
fn pulses_per_beat_follow_the_beat_unit() {
    assert_eq!([1, 2, 4, 8, 16, 32].map(pulses_per_beat), [96, 48, 24, 12, 6, 3]);
}
