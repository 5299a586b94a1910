//! Connections in the simulated world: cut and resumed, refused, lost for good, and left.

use super::world::{SECRET, World, count};
use crate::member::MemberEvent;
use crate::protocol::ErrorCode;
use crate::time::Micros;

#[test]
fn a_cut_connection_is_noticed_and_resumes_as_the_same_participant() {
    let mut w = World::new(2, 5, 3);
    let a = w.add("Ana", true, 0.0, 0.0, SECRET);
    let b = w.add("Ben", false, -20_000.0, -80.0, SECRET);
    w.run_for(Micros::from_secs(5));
    w.cut();
    // The member notices the silence (15 s), backs off and resumes; the session kept it away.
    w.run_for(Micros::from_secs(25));
    for i in [a, b] {
        let ev = w.events(i);
        assert!(count(ev, |e| matches!(e, MemberEvent::Disconnected { .. })) >= 1, "{ev:?}");
        assert_eq!(count(ev, |e| matches!(e, MemberEvent::Joined { resumed: true, .. })), 1, "{ev:?}");
        assert!(w.peers[i].m.is_joined());
    }
    let ids: Vec<_> = w.session.participants().map(|p| p.id).collect();
    assert_eq!(ids, [1, 2], "the same two participants, no duplicates");
    // The leader came back within the grace period and leads again.
    assert_eq!(w.session.stats().leader, Some(1));
}

#[test]
fn a_wrong_secret_is_refused_for_good_without_retrying() {
    let mut w = World::new(4, 5, 0);
    let a = w.add("Mallory", false, 0.0, 0.0, "guess");
    w.run_for(Micros::from_secs(20));
    let ev = w.events(a);
    assert!(matches!(ev.last(), Some(MemberEvent::Refused { code: ErrorCode::BadSecret, .. })), "{ev:?}");
    assert_eq!(count(ev, |e| matches!(e, MemberEvent::Reconnecting { .. })), 0);
    assert!(w.peers[a].m.is_ended() && w.peers[a].m.poll_timeout().is_none());
    assert_eq!(w.session.participants().count(), 0);
}

#[test]
fn a_host_gone_for_good_ends_in_lost_after_the_retry_window() {
    let mut w = World::new(5, 5, 2);
    let a = w.add("Ana", false, 0.0, 0.0, SECRET);
    w.run_for(Micros::from_secs(3));
    w.server_up = false;
    w.cut();
    w.run_for(Micros::from_secs(120));
    let ev = w.events(a);
    assert!(matches!(ev.last(), Some(MemberEvent::Lost { .. })), "{ev:?}");
    let delays: Vec<Micros> = ev
        .iter()
        .filter_map(|e| if let MemberEvent::Reconnecting { delay, .. } = e { Some(*delay) } else { None })
        .collect();
    assert!(delays.len() >= 5, "it kept trying: {delays:?}");
    assert!(delays.iter().all(|d| *d <= Micros::from_secs(5)), "backoff is capped: {delays:?}");
    assert!(delays.windows(2).take(4).all(|w| w[1].0 > w[0].0 / 2), "and grows: {delays:?}");
}

#[test]
fn leaving_removes_the_participant_and_ends_the_member() {
    let mut w = World::new(6, 5, 2);
    let a = w.add("Ana", false, 0.0, 0.0, SECRET);
    let b = w.add("Ben", false, 0.0, 0.0, SECRET);
    w.run_for(Micros::from_secs(3));
    w.peers[b].m.leave();
    w.pump_member(b);
    w.run_for(Micros::from_secs(1));
    assert!(matches!(w.events(b).last(), Some(MemberEvent::Left)));
    assert_eq!(w.session.participants().count(), 1);
    let left = w
        .events(a)
        .iter()
        .any(|e| matches!(e, MemberEvent::Participants { participants, .. } if participants.len() == 1));
    assert!(left, "the other member saw it go");
}
