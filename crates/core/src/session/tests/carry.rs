//! A session carried to another server: members resume as themselves, the grid moves clocks.

use super::*;
use crate::session::carry::Carried;

#[test]
fn a_carried_session_resumes_its_members_and_keeps_its_grid_on_another_clock() {
    let mut a = Harness::new();
    a.join(1, "Ana", true, None);
    a.join(2, "Ben", false, None);
    a.send(1, ClientMsg::Tempo { tempo: Tempo(96_000) });
    a.send(1, ClientMsg::Play { count_in: 0 });
    let wall = 1_700_000_000_000_000;
    let carried = a.s.carry(a.now, wall);
    let json = serde_json::to_string(&carried).unwrap();
    let back: Carried = serde_json::from_str(&json).unwrap();
    assert_eq!(back, carried, "it round-trips through the store's JSON");

    // Another server, whose clock reads 5 s where the first read 60 s, 2 s of wall time later.
    let mut b = Harness::new();
    let later = Micros(5_000_000);
    b.s.take_over(back, later, wall + 2_000_000);
    let seg = b.s.transport().latest().clone();
    let old = a.s.transport().latest().clone();
    let shift = (later.0 - 2_000_000) - a.now.0;
    assert_eq!(seg.at.0 - old.at.0, shift, "the grid moved onto the new clock");
    assert_eq!(seg.timeline.time_origin.0 - old.timeline.time_origin.0, shift);
    assert_eq!((seg.playing, seg.timeline.tempo), (true, Tempo(96_000)));
    let people: Vec<_> = b.s.participants().map(|p| (p.id, p.name.clone(), p.connection)).collect();
    assert_eq!(people, [(1, "Ana".into(), Connection::Away), (2, "Ben".into(), Connection::Away)]);
    assert_eq!(b.s.stats().leader, None, "the leader comes back by resuming");
}
