//! The stage: cues to the band, and the leader's moves in a song's flow, each on a bar line.

use super::*;

#[test]
fn a_cue_lands_on_the_next_bar_line_for_everyone_and_only_the_leader_cues() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    h.join(2, "Ben", false, None);
    let cues = |h: &Harness, c: ConnId| -> Vec<(String, Micros, Option<i64>, ParticipantId)> {
        h.inbox[&c]
            .iter()
            .filter_map(|m| match m {
                ServerMsg::Cue { text, at, bar, by } => Some((text.clone(), *at, *bar, *by)),
                _ => None,
            })
            .collect()
    };
    // Stopped: at once, on no bar.
    h.send(1, ClientMsg::Cue { text: " Soundcheck ".into() });
    assert_eq!(cues(&h, 2), [("Soundcheck".into(), h.now, None, 1)]);
    // Playing in 3/4 at 90 BPM: on a bar line after the lead time.
    h.send(1, ClientMsg::Meter { beats: 3, unit: 4, groups: None });
    h.send(1, ClientMsg::Tempo { tempo: bpm(90.0) });
    h.send(1, ClientMsg::Play { count_in: 0, on_bar: None });
    h.now += Micros::from_millis(5_300);
    h.send(1, ClientMsg::Cue { text: "Last chorus".into() });
    let (text, at, bar, by) = cues(&h, 2).pop().unwrap();
    assert_eq!((text.as_str(), by), ("Last chorus", 1));
    assert!(at >= h.now + h.s.lead_time(), "not before the lead time");
    let seg = h.s.transport().segment_at(at);
    let pos = seg.position(at) - seg.bar_origin;
    assert_eq!(pos.0 % seg.meter.bar_len().0, 0, "on a bar line");
    assert_eq!(bar, Some(pos.0 / seg.meter.bar_len().0));
    assert!(
        at - (h.now + h.s.lead_time())
            <= seg.timeline.from_beats(seg.meter.bar_len()) - seg.timeline.from_beats(Beats(0)),
        "the next one"
    );
    assert_eq!(cues(&h, 1).len(), 2, "the leader sees its cue too");
    assert!(h.activity.iter().any(|(k, by, s)| *k == ActivityKind::Cue && *by == Some(1) && s == "cued: Last chorus"));
    // Only the leader; and a cue is a line of text.
    h.send(2, ClientMsg::Cue { text: "Break".into() });
    assert_eq!(h.last_error(2), Some(ErrorCode::NotLeader));
    for bad in ["", "   ", &"x".repeat(61), "a\u{7}b"] {
        h.send(1, ClientMsg::Cue { text: bad.into() });
        assert_eq!(h.last_error(1), Some(ErrorCode::Malformed), "{bad:?}");
    }
    assert_eq!(cues(&h, 2).len(), 2);
    // The leader lets editors cue; a viewer still may not; the leader takes it back.
    h.join(3, "Cy", false, None);
    h.send(1, ClientMsg::SetAccess { participant: 3, access: Access::Viewer });
    h.send(2, ClientMsg::CueBy { who: CueBy::Editors, member: None });
    assert_eq!(h.last_error(2), Some(ErrorCode::NotLeader), "only the leader decides");
    h.send(1, ClientMsg::CueBy { who: CueBy::Editors, member: None });
    assert!(h.inbox[&3].contains(&ServerMsg::CueBy { who: CueBy::Editors, member: None }));
    assert_eq!(h.s.snapshot(h.now).cue_by, CueBy::Editors);
    h.assert_mirrors_agree();
    h.send(2, ClientMsg::Cue { text: "Break".into() });
    assert_eq!(cues(&h, 1).pop().map(|c| (c.0, c.3)), Some(("Break".into(), 2)));
    h.send(3, ClientMsg::Cue { text: "Stop".into() });
    assert_eq!(h.last_error(3), Some(ErrorCode::NotLeader));
    h.send(1, ClientMsg::CueBy { who: CueBy::Leader, member: None });
    h.send(2, ClientMsg::Cue { text: "Again".into() });
    assert_eq!(cues(&h, 1).len(), 3);
    h.assert_mirrors_agree();
}

#[test]
fn the_leader_names_one_member_who_may_cue_on_every_device_of_theirs() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    h.join(2, "Ben", false, None);
    h.join(3, "Cy", false, None);
    h.join(4, "ben", false, None); // Ben's tablet
    h.join(5, "Dee", false, None);
    h.send(1, ClientMsg::SetAccess { participant: 5, access: Access::Viewer });
    let cue = |h: &mut Harness, c: ConnId, text: &str| {
        h.send(c, ClientMsg::Cue { text: text.into() });
        h.inbox[&1].iter().any(|m| matches!(m, ServerMsg::Cue { text: t, .. } if t == text))
    };
    h.send(1, ClientMsg::CueBy { who: CueBy::Leader, member: Some(2) });
    assert!(h.inbox[&3].contains(&ServerMsg::CueBy { who: CueBy::Leader, member: Some("Ben".into()) }));
    assert!(h.activity.iter().any(|(k, by, s)| *k == ActivityKind::Cue && *by == Some(1) && s == "lets Ben cue"));
    assert_eq!(h.s.snapshot(h.now).cue_member.as_deref(), Some("Ben"));
    h.assert_mirrors_agree();
    let may_cue = |h: &Harness| h.mirrors.iter().filter(|(_, m)| m.may_cue).map(|(c, _)| *c).collect::<Vec<_>>();
    assert_eq!(may_cue(&h), [1, 2, 4], "each member's own mirror says whether it may");
    assert!(cue(&mut h, 2, "Count us out"), "the member named");
    assert!(cue(&mut h, 4, "Break"), "on each of their devices");
    assert!(!cue(&mut h, 3, "Stop"), "nobody else");
    assert_eq!(h.last_error(3), Some(ErrorCode::NotLeader));
    // A viewer cannot be named, nor a participant the session does not have; neither changes it.
    h.send(1, ClientMsg::CueBy { who: CueBy::Leader, member: Some(5) });
    assert_eq!(h.last_error(1), Some(ErrorCode::ReadOnly));
    h.send(1, ClientMsg::CueBy { who: CueBy::Leader, member: Some(42) });
    assert_eq!(h.last_error(1), Some(ErrorCode::UnknownParticipant));
    h.send(1, ClientMsg::CueBy { who: CueBy::Editors, member: Some(3) });
    assert_eq!(h.last_error(1), Some(ErrorCode::Malformed), "every editor, and one named: which?");
    // Naming the member by another of their devices changes nothing.
    let activity = h.activity.len();
    h.inbox.get_mut(&1).unwrap().clear();
    h.send(1, ClientMsg::CueBy { who: CueBy::Leader, member: Some(4) });
    assert_eq!((h.activity.len(), h.inbox[&1].len()), (activity, 0), "the same member: no news, no error");
    assert_eq!(h.s.snapshot(h.now).cue_member.as_deref(), Some("Ben"));
    // Made a viewer, the member named may no longer cue.
    h.send(1, ClientMsg::SetAccess { participant: 4, access: Access::Viewer });
    assert!(!cue(&mut h, 4, "Outro"));
    assert_eq!(may_cue(&h), [1, 2]);
    // A restarted host (or the next node) keeps who was named.
    let carried = h.s.carry(h.now, 1_000);
    assert_eq!(carried.cue_member.as_deref(), Some("Ben"));
    let json = serde_json::to_string(&carried).unwrap();
    assert_eq!(
        serde_json::from_str::<crate::session::carry::Carried>(&json).unwrap().cue_member.as_deref(),
        Some("Ben")
    );
    // The leader alone again: nobody named.
    h.send(1, ClientMsg::CueBy { who: CueBy::Leader, member: None });
    assert!(!cue(&mut h, 2, "Again"));
    assert_eq!(h.s.snapshot(h.now).cue_member, None);
    h.assert_mirrors_agree();
}

#[test]
fn the_leader_moves_the_songs_flow_on_a_bar_line_and_a_meter_change_keeps_its_count() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    h.join(2, "Ben", false, None);
    let flow_at = |h: &Harness, t: Micros| {
        let seg = h.s.transport().segment_at(t);
        seg.flow_bar(seg.position(t))
    };
    h.send(1, ClientMsg::Flow { bar: Some(3), vamp: false });
    assert_eq!(h.last_error(1), Some(ErrorCode::InvalidPosition), "no song, no flow");
    let song = SongChoice { id: Some("s1".into()), title: None, tempo: None, meter: None, midi: String::new() };
    h.s.select_song(h.now, 1, song).unwrap();
    h.pump();
    h.send(1, ClientMsg::Play { count_in: 0, on_bar: None });
    let start = h.s.transport().latest().at;
    let bar = Micros::from_secs(2); // 4/4 at 120 BPM
    assert_eq!(flow_at(&h, start + Micros(1)), Some((0, None)), "the song's first bar");
    assert_eq!(flow_at(&h, start + Micros(bar.0 * 5) + Micros(1)), Some((5, None)));
    // "Go to the outro" (bar 40), from the next bar line on.
    h.advance(Micros::from_millis(4_100));
    h.send(1, ClientMsg::Flow { bar: Some(40), vamp: false });
    let seg = h.s.transport().latest().clone();
    assert_eq!((seg.position(seg.at) - seg.bar_origin).0 % Beats::whole(4).0, 0, "on a bar line");
    assert_eq!(
        flow_at(&h, seg.at - Micros(1)).map(|f| f.0),
        Some((seg.at - start).0 / bar.0 - 1),
        "before: counting on"
    );
    assert_eq!(flow_at(&h, seg.at + Micros(1)), Some((40, None)));
    assert_eq!(flow_at(&h, seg.at + Micros(bar.0 * 2) + Micros(1)), Some((42, None)));
    // A meter change later keeps counting the flow's bars across the new grid.
    h.advance(Micros::from_millis(6_000));
    h.send(1, ClientMsg::Meter { beats: 3, unit: 4, groups: None });
    let m = h.s.transport().latest().clone();
    let before = flow_at(&h, m.at - Micros(1)).unwrap().0;
    assert_eq!(flow_at(&h, m.at + Micros(1)), Some((before + 1, None)), "the next bar, in 3/4");
    assert_eq!(flow_at(&h, m.at + Micros::from_millis(1_500) + Micros(1)), Some((before + 2, None)), "3/4 bars now");
    // A vamp keeps where it began; only the leader moves the flow.
    h.send(1, ClientMsg::Flow { bar: Some(8), vamp: true });
    let v = h.s.transport().latest().clone();
    assert_eq!(flow_at(&h, v.at + Micros(1)), Some((8, Some(8))));
    // Vamping where the band is: the bar it reaches on the next bar line.
    h.advance(Micros::from_millis(5_000));
    h.send(1, ClientMsg::Flow { bar: Some(20), vamp: false });
    h.advance(Micros::from_millis(4_000));
    h.send(1, ClientMsg::Flow { bar: None, vamp: true });
    let w = h.s.transport().latest().clone();
    let reached = flow_at(&h, w.at - Micros(1)).unwrap().0 + 1;
    assert_eq!(flow_at(&h, w.at + Micros(1)), Some((reached, Some(reached))));
    h.send(1, ClientMsg::Flow { bar: None, vamp: false });
    assert_eq!(h.last_error(1), Some(ErrorCode::InvalidPosition), "a move names a bar");
    h.send(2, ClientMsg::Flow { bar: Some(0), vamp: false });
    assert_eq!(h.last_error(2), Some(ErrorCode::NotLeader));
    h.send(1, ClientMsg::Flow { bar: Some(-1), vamp: false });
    assert_eq!(h.last_error(1), Some(ErrorCode::InvalidPosition));
    h.assert_mirrors_agree();
}
