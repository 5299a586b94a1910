//! A session carried to another server: members resume as themselves, the grid moves clocks.

use super::*;
use crate::session::carry::Carried;

#[test]
fn a_carried_session_resumes_its_members_and_keeps_its_grid_on_another_clock() {
    let mut a = Harness::new();
    let ana = a.join(1, "Ana", true, None);
    a.join(2, "Ben", false, None);
    a.send(1, ClientMsg::Tempo { tempo: Tempo(96_000) });
    a.send(1, ClientMsg::Play { count_in: 0, on_bar: None });
    let wall = 1_700_000_000_000_000;
    let carried = a.s.carry(a.now, wall);
    let json = serde_json::to_string(&carried).unwrap();
    let back: Carried = serde_json::from_str(&json).unwrap();
    assert_eq!(back, carried, "it round-trips through the store's JSON");

    // Another server, whose clock reads 5 s where the first read 60 s, 2 s of wall time later.
    let mut b = Harness::on_epoch(8);
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

    // Who comes over is told how the new clock continues the old one, to keep time through it.
    b.join(5, "Ana", false, ana);
    let welcome = b.inbox[&5].iter().find_map(|m| match m {
        ServerMsg::Welcome { resumed, rebase, .. } => Some((*resumed, *rebase)),
        _ => None,
    });
    assert_eq!(welcome, Some((true, Some(crate::protocol::Rebase { from: 7, shift: Micros(shift) }))));
}

#[test]
fn a_session_carried_without_its_clock_epoch_tells_no_one_to_rebase() {
    let mut a = Harness::new();
    let ana = a.join(1, "Ana", true, None);
    // A state saved by an older build (no epoch), and one from a server on the same clock.
    let mut old = a.s.carry(a.now, 1_700_000_000_000_000);
    old.epoch = 0;
    for (carried, epoch) in [(old, 8), (a.s.carry(a.now, 1_700_000_000_000_000), 7)] {
        let mut b = Harness::on_epoch(epoch);
        b.s.take_over(carried, Micros(5_000_000), 1_700_000_002_000_000);
        b.join(5, "Ana", false, ana.clone());
        let rebase = b.inbox[&5].iter().find_map(|m| match m {
            ServerMsg::Welcome { rebase, .. } => Some(*rebase),
            _ => None,
        });
        assert_eq!(rebase, Some(None), "carried onto epoch {epoch}");
    }
}

#[test]
fn a_session_taken_over_is_saved_again_once_a_member_is_on_the_new_clock() {
    let mut a = Harness::new();
    let ana = a.join(1, "Ana", true, None);
    let carried = a.s.carry(a.now, 1_700_000_000_000_000);
    let mut b = Harness::on_epoch(8);
    b.s.take_over(carried, Micros(5_000_000), 1_700_000_002_000_000);
    let before = Carried::key(&b.s);
    b.join(5, "Ana", false, ana);
    assert_ne!(Carried::key(&b.s), before, "Ana's clock is b's now: what b carries must say so");
}

#[test]
fn the_store_keeps_the_roster_apart_and_writes_it_only_when_it_changes() {
    let mut a = Harness::new();
    a.join(1, "Ana", true, None);
    a.join(2, "Ben", false, None);
    let report = ClientMsg::SyncReport {
        rtt_us: Micros(40_000),
        error_us: Micros(5_000),
        synced: true,
        output: None,
        delivery_us: None,
    };
    a.send(2, report.clone());
    assert!(a.s.members[1].p.sync.is_some(), "Ben's sync is known here");
    let (now, wall) = (a.now, 1_700_000_000_000_000);
    // Read back from its parts, it is the whole, but for the sync quality (judged on this clock).
    let parts = a.s.carry_parts(now, wall, true);
    assert!(!parts.schedule.contains("\"members\""), "{}", parts.schedule);
    let back = Carried::from_parts(&parts.schedule, parts.roster.as_deref()).unwrap();
    let mut whole = a.s.carry(now, wall);
    assert!(whole.members.iter().all(|m| m.participant.sync.is_none()), "sync is not carried");
    assert_eq!(back, whole);
    assert!(a.s.carry_parts(now, wall, false).roster.is_none());
    // A state saved whole, by a build from before the parts, reads as it was, over a roster.
    whole.members.truncate(1);
    let old = serde_json::to_string(&whole).unwrap();
    assert_eq!(Carried::from_parts(&old, parts.roster.as_deref()).unwrap(), whole);

    // What changes the roster's key: a new colour or a newcomer, not a tempo or a sync report.
    let key = Carried::key(&a.s);
    a.send(1, ClientMsg::Tempo { tempo: Tempo(90_000) });
    a.send(2, report);
    let after = Carried::key(&a.s);
    assert_eq!(after.roster, key.roster);
    assert_ne!(after.rest, key.rest, "the schedule changed");
    a.send(2, ClientMsg::Profile { name: None, instrument: None, color: Some("#123456".into()) });
    assert_ne!(Carried::key(&a.s).roster, key.roster, "a colour is carried");
}
