//! MIDI out through a gig driven by the real session: what the gear is told, and on which beat.

use super::*;
use crate::clicks::clicks_between;
use crate::midi::{MidiCursor, MidiEvent, MidiMessage};
use crate::patch::PatchMsg;
use crate::timeline::Meter;

/// Advances the harness in 7 ms steps for `for_`, walking the MIDI cursor 40 ms ahead like a
/// device layer does, with the transport as it stood at each step.
fn run(h: &mut Harness, cur: &mut MidiCursor, out: &mut Vec<MidiEvent>, for_: Micros) {
    let until = h.now + for_;
    while h.now < until {
        h.advance(Micros(7_000));
        let t = h.s.transport().clone();
        cur.take(&t.segments, h.now, h.now + Micros(40_000), &mut |e| out.push(e));
    }
}

fn kinds(ev: &[MidiEvent]) -> Vec<MidiMessage> {
    ev.iter().map(|e| e.msg).filter(|m| *m != MidiMessage::Clock).collect()
}

#[test]
fn a_gig_tells_the_gear_to_start_follow_tempo_change_song_seek_and_stop_on_the_beat() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    let mut cur = MidiCursor::new();
    let mut ev = Vec::new();
    h.send(1, ClientMsg::Play { count_in: 1, on_bar: None });
    let start_seg = h.s.transport().latest().clone();
    run(&mut h, &mut cur, &mut ev, Micros::from_secs(4));

    // Start on the song's first beat, after a bar of count-in clocked at 24 a beat.
    let song_at = start_seg.timeline.from_beats(start_seg.song_start);
    let start = ev.iter().position(|e| e.msg == MidiMessage::Start).expect("a Start");
    assert_eq!(ev[start].host, song_at);
    assert_eq!(
        ev[start + 1],
        MidiEvent { host: song_at, msg: MidiMessage::Clock },
        "the first clock of the song follows Start"
    );
    assert_eq!(ev[..start].iter().filter(|e| e.msg == MidiMessage::Clock).count(), 4 * 24, "the count-in is clocked");
    // Every click of the grid is a clock pulse, to the microsecond.
    let mut clicks = Vec::new();
    clicks_between(&h.s.transport().segments, start_seg.at, h.now, 1, &mut |c| clicks.push(c.host));
    let pulses: Vec<Micros> = ev.iter().filter(|e| e.msg == MidiMessage::Clock).map(|e| e.host).collect();
    for c in &clicks {
        assert!(pulses.contains(c), "click at {c:?} has no clock pulse");
    }

    // A tempo change on a bar line: no transport message, the pulses close up.
    ev.clear();
    h.send(1, ClientMsg::Tempo { tempo: bpm(150.0) });
    let change = h.s.transport().latest().at;
    run(&mut h, &mut cur, &mut ev, Micros::from_secs(2));
    assert_eq!(kinds(&ev), vec![], "a tempo change is not a jump");
    let gaps: Vec<i64> = ev.windows(2).filter(|w| w[0].host >= change).map(|w| (w[1].host - w[0].host).0).collect();
    assert!(gaps.iter().all(|g| (16_666..=16_667).contains(g)), "150 BPM is 16 667 µs a pulse: {gaps:?}");

    // A song with a patch: Stop where it lands, the patch, then Start on its first beat.
    ev.clear();
    let patch =
        [PatchMsg::Control { channel: 1, controller: 0, value: 2 }, PatchMsg::Program { channel: 1, program: 17 }];
    let choice = SongChoice {
        id: Some("s2".into()),
        title: Some("Take Five".into()),
        tempo: Some(Tempo(172_000)),
        meter: Some(Meter::with_groups(5, 4, vec![3, 2]).unwrap()),
        midi: "cc 0 2; pc 17".into(),
    };
    h.s.select_song(h.now, 1, choice).unwrap();
    h.pump();
    let lands = h.s.transport().latest().at;
    run(&mut h, &mut cur, &mut ev, Micros::from_secs(2));
    let want: Vec<MidiMessage> = [MidiMessage::Stop]
        .into_iter()
        .chain(patch.iter().map(|m| MidiMessage::Patch(*m)))
        .chain([MidiMessage::Start])
        .collect();
    assert_eq!(kinds(&ev), want);
    assert!(ev.iter().filter(|e| e.msg != MidiMessage::Clock).all(|e| e.host == lands), "all on the song's bar");

    // A seek mid-song: Stop, where to, and Continue on that beat.
    ev.clear();
    h.send(1, ClientMsg::Seek { position: Beats::whole(40) });
    let seg = h.s.transport().latest().clone();
    run(&mut h, &mut cur, &mut ev, Micros::from_secs(3));
    // The seek starts the song over at beat 40: the gear is told position 0.
    assert_eq!(kinds(&ev), vec![MidiMessage::Stop, MidiMessage::Start]);
    assert!(ev.iter().filter(|e| e.msg != MidiMessage::Clock).all(|e| e.host == seg.at));

    // Stop: the gear stops where the metronome does, and the clock with it.
    ev.clear();
    h.send(1, ClientMsg::Stop {});
    let stop = h.s.transport().latest().at;
    run(&mut h, &mut cur, &mut ev, Micros::from_secs(3));
    assert_eq!(kinds(&ev), vec![MidiMessage::Stop]);
    assert!(ev.iter().all(|e| e.host <= stop), "no clock after the stop");
    assert!(!cur.running());
}

#[test]
fn a_member_that_joins_mid_song_tells_its_gear_the_song_and_where_the_band_is() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    let patch = [PatchMsg::Program { channel: 3, program: 5 }];
    let choice = SongChoice { id: Some("s1".into()), title: None, tempo: None, meter: None, midi: "pc 5 @3".into() };
    h.s.select_song(h.now, 1, choice).unwrap();
    h.send(1, ClientMsg::Play { count_in: 0, on_bar: None });
    let seg = h.s.transport().latest().clone();
    h.advance(Micros::from_millis(5_000) + Micros(123_456));
    let mut cur = MidiCursor::new();
    let mut ev = Vec::new();
    run(&mut h, &mut cur, &mut ev, Micros::from_secs(1));
    let first = ev[0].host;
    let pos = seg.timeline.to_beats(first) - seg.song_start;
    let n16 = (pos.0 + Beats::ONE / 4 - 1) / (Beats::ONE / 4);
    assert_eq!(
        kinds(&ev),
        vec![MidiMessage::Patch(patch[0]), MidiMessage::SongPosition(n16 as u16), MidiMessage::Continue]
    );
    let cont = ev.iter().find(|e| e.msg == MidiMessage::Continue).unwrap().host;
    assert_eq!(
        cont,
        seg.timeline.from_beats(seg.song_start + Beats(n16 * Beats::ONE / 4)),
        "on the sixteenth it named"
    );
    assert!(
        ev.iter().take_while(|e| e.msg != MidiMessage::Continue).all(|e| e.msg != MidiMessage::Clock || e.host < cont)
    );
}
