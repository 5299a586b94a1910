//! Joins, resume, leadership grace, names, a full session.

use super::*;

#[test]
fn every_member_sees_the_same_participants_after_each_join_and_leave() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    h.assert_mirrors_agree();
    h.join(2, "  Ben  ", false, None);
    h.assert_mirrors_agree();
    h.join(3, "Caro", false, None);
    h.assert_mirrors_agree();
    assert_eq!(h.mirrors[&2].participants.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["Ana", "Ben", "Caro"]);
    // The newcomer itself is told of its own join.
    assert!(
        h.inbox[&3]
            .iter()
            .any(|m| matches!(m, ServerMsg::ParticipantJoined { participant } if participant.name == "Caro"))
    );
    h.send(2, ClientMsg::Leave {});
    assert_eq!(h.closed, vec![2]);
    h.assert_mirrors_agree();
    assert_eq!(h.s.stats().members, 2);
}

#[test]
fn resume_token_keeps_one_participant() {
    let mut h = Harness::new();
    h.join(1, "Ana", false, None);
    let tok = h.join(2, "Ben", false, None);
    h.drop_conn(2);
    assert_eq!(h.mirrors[&1].participants[1].connection, Connection::Away);
    h.advance(Micros::from_secs(5));
    h.join(3, "Ben", false, tok.clone());
    h.assert_mirrors_agree();
    assert_eq!(h.s.stats().members, 2);
    assert!(h.inbox[&3].iter().any(|m| matches!(m, ServerMsg::Welcome { resumed: true, you: 2, .. })));
    // A resume while the old connection is still open replaces it, still one participant.
    h.join(4, "Ben", false, tok);
    assert_eq!(h.closed, vec![3]);
    assert_eq!(h.s.stats().members, 2);
    assert_eq!(h.s.participant_of(4), Some(2));
    h.s.handle_disconnect(h.now, 3); // the replaced connection's late close changes nothing
    h.pump();
    assert_eq!(h.s.stats().online, 2);
}

#[test]
fn a_first_join_whose_welcome_was_lost_is_resumed_by_the_next_not_doubled() {
    let mut h = Harness::new();
    h.join(1, "Ana", false, None);
    // Ben's phone proposes a token; its join is handled, but the welcome never reaches it (the
    // connection stalled), and the connection dies.
    let proposed = Secret("0123456789abcdef0123456789abcdef".into());
    assert_eq!(h.join(2, "Ben", false, Some(proposed.clone())), Some(proposed.clone()), "the proposal is adopted");
    h.drop_conn(2);
    // Its next join, still without a welcome, carries the same proposal: the same participant.
    assert_eq!(h.join(3, "Ben", false, Some(proposed.clone())), Some(proposed));
    assert_eq!(h.s.stats().members, 2);
    assert!(h.inbox[&3].iter().any(|m| matches!(m, ServerMsg::Welcome { resumed: true, you: 2, .. })));
    // A proposal too short or not plain to be as hard to guess as the server's own is replaced.
    for (c, weak) in [(4, "guessable"), (5, "0123456789abcdef0123456789abcde!")] {
        let tok = h.join(c, "Cy", false, Some(Secret(weak.into()))).unwrap();
        assert!(tok.expose().starts_with("token-"), "{weak} was adopted");
    }
    // A proposal does not stand in for the secret.
    h.tokens += 1;
    let req = JoinRequest {
        v: crate::protocol::PROTOCOL_VERSION,
        name: "Eve".into(),
        instrument: None,
        resume: Some(Secret("fedcba9876543210fedcba9876543210".into())),
        leader: false,
        secret: None,
        pin: None,
        source: None,
        once: false,
    };
    h.s.handle_join(h.now, 6, req, Secret("token-x".into()));
    h.pump();
    assert_eq!(h.last_error(6), Some(ErrorCode::AuthRequired));
    h.assert_mirrors_agree();
}

#[test]
fn a_one_shot_members_coming_and_going_is_not_activity() {
    let mut h = Harness::new();
    h.join(1, "Ana", false, None);
    let req = |name: &str, once| JoinRequest {
        v: crate::protocol::PROTOCOL_VERSION,
        name: name.into(),
        instrument: None,
        resume: None,
        leader: false,
        secret: Some(h.s.secret().clone()),
        pin: None,
        source: None,
        once,
    };
    let (script, person) = (req("bandsync", true), req("Ben", false));
    h.s.handle_join(h.now, 2, script, Secret("tok-2".into()));
    h.s.handle_join(h.now, 3, person, Secret("tok-3".into()));
    h.pump();
    h.send(2, ClientMsg::Leave {});
    h.send(3, ClientMsg::Leave {});
    let said: Vec<&str> = h.activity.iter().map(|(_, _, s)| s.as_str()).collect();
    assert_eq!(said, ["Ana joined", "Ben joined", "Ben left"]);
    // It is a participant like any other while it is there.
    assert_eq!(h.s.stats().members, 1);
    h.assert_mirrors_agree();
}

#[test]
fn leader_drop_keeps_playing_frees_leadership_and_grace_returns_it() {
    let mut h = Harness::new();
    let tok = h.join(1, "Ana", true, None);
    h.join(2, "Ben", false, None);
    h.send(1, ClientMsg::Play { count_in: 0, on_bar: None });
    h.advance(Micros::from_secs(1));
    assert!(h.s.transport().segment_at(h.now).playing);
    h.drop_conn(1);
    assert!(h.s.transport().segment_at(h.now).playing, "the band keeps playing");
    assert_eq!(h.s.stats().leader, None);
    assert_eq!(h.mirrors[&2].stats.leader, None);
    h.advance(Micros::from_secs(10));
    h.join(3, "Ana", false, tok);
    assert_eq!(h.s.stats().leader, Some(1), "the former leader takes leadership back");
    h.assert_mirrors_agree();
}

#[test]
fn leader_grace_expires_and_others_may_claim_meanwhile() {
    let mut h = Harness::new();
    let tok = h.join(1, "Ana", true, None);
    h.join(2, "Ben", false, None);
    h.drop_conn(1);
    h.send(2, ClientMsg::Claim {});
    assert_eq!(h.s.stats().leader, Some(2));
    h.join(3, "Ana", false, tok.clone());
    assert_eq!(h.s.stats().leader, Some(2), "a claimed leadership is not taken back");
    // A fresh case: nobody claims, and the grace period runs out.
    let mut h = Harness::new();
    let tok = h.join(1, "Ana", true, None);
    h.drop_conn(1);
    h.advance(Micros::from_secs(31));
    h.join(3, "Ana", false, tok);
    assert_eq!(h.s.stats().leader, None);
}

#[test]
fn away_participant_is_removed_after_resume_window() {
    let mut h = Harness::new();
    h.join(1, "Ana", false, None);
    h.join(2, "Ben", false, None);
    h.drop_conn(2);
    assert_eq!(h.s.poll_timeout(), Some(h.now + Micros::from_secs(120)));
    h.advance(Micros::from_secs(119));
    assert_eq!(h.s.stats().members, 2);
    h.advance(Micros::from_secs(1));
    assert_eq!(h.s.stats().members, 1);
    assert!(h.inbox[&1].iter().any(|m| matches!(m, ServerMsg::ParticipantLeft { id: 2, .. })));
    h.assert_mirrors_agree();
}

#[test]
fn a_resume_with_leader_flag_claims_free_leadership() {
    let mut h = Harness::new();
    let tok = h.join(1, "Ana", false, None);
    h.drop_conn(1);
    h.join(2, "Ana", true, tok);
    assert_eq!(h.s.stats().leader, Some(1));
}

#[test]
fn names_are_trimmed_and_bounded() {
    let mut h = Harness::new();
    h.join(1, "   ", false, None);
    assert_eq!(h.last_error(1), Some(ErrorCode::InvalidName));
    h.join(2, &"x".repeat(41), false, None);
    assert_eq!(h.last_error(2), Some(ErrorCode::InvalidName));
    h.join(3, "bad\u{7}name", false, None);
    assert_eq!(h.last_error(3), Some(ErrorCode::InvalidName));
    assert_eq!(h.s.stats().members, 0);
    h.join(4, &format!(" {} ", "é".repeat(40)), false, None);
    assert_eq!(h.s.stats().members, 1);
}

#[test]
fn messages_before_join_are_refused() {
    let mut h = Harness::new();
    h.send(9, ClientMsg::Tempo { tempo: bpm(100.0) });
    assert_eq!(h.last_error(9), Some(ErrorCode::NotJoined));
}

#[test]
fn handover_and_access_are_leader_only() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    h.join(2, "Ben", false, None);
    h.send(2, ClientMsg::SetAccess { participant: 1, access: Access::Viewer });
    assert_eq!(h.last_error(2), Some(ErrorCode::NotLeader));
    h.send(1, ClientMsg::SetAccess { participant: 2, access: Access::Viewer });
    assert_eq!(h.mirrors[&2].me().unwrap().access, Access::Viewer);
    h.send(1, ClientMsg::Handover { to: 9 });
    assert_eq!(h.last_error(1), Some(ErrorCode::UnknownParticipant));
    h.send(1, ClientMsg::Handover { to: 2 });
    assert!(h.mirrors[&2].is_leader());
    assert_eq!(h.mirrors[&1].me().unwrap().role, Role::Follower);
    h.send(1, ClientMsg::Claim {});
    assert_eq!(h.last_error(1), Some(ErrorCode::LeaderTaken));
    h.assert_mirrors_agree();
}

#[test]
fn a_viewer_cannot_claim_leadership_or_the_secret_that_comes_with_it() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    let ben = h.join(2, "Ben", false, None);
    h.send(1, ClientMsg::SetAccess { participant: 2, access: Access::Viewer });
    h.send(1, ClientMsg::Release {});
    h.send(2, ClientMsg::Claim {});
    assert_eq!(h.last_error(2), Some(ErrorCode::ReadOnly));
    assert!(!h.mirrors[&2].is_leader());
    // Nor by resuming with `leader: true`; and the resume keeps the viewer a viewer.
    h.drop_conn(2);
    h.join(3, "Ben", true, ben);
    assert!(!h.mirrors[&3].is_leader());
    assert_eq!(h.last_error(3), Some(ErrorCode::ReadOnly), "the resume is told why it does not lead");
    assert_eq!(h.mirrors[&3].me().unwrap().access, Access::Viewer);
    h.assert_mirrors_agree();
}

#[test]
fn a_full_session_forgets_the_longest_away_to_let_an_honest_join_in() {
    let mut h = Harness::new();
    let max = h.s.cfg.max_members;
    for c in 1..=max as ConnId {
        h.join(c, &format!("M{c}"), false, None);
    }
    for c in 2..=max as ConnId {
        h.drop_conn(c);
        h.advance(Micros::from_millis(1));
    }
    h.join(1000, "Honest", false, None);
    assert!(h.mirrors[&1000].me().is_some(), "{:?}", h.last_error(1000));
    assert!(h.mirrors[&1].participants.iter().all(|p| p.name != "M2"), "the longest away went first");
    assert!(h.mirrors[&1].participants.iter().any(|p| p.name == "M3"));
    // With everyone online, a join is refused as full.
    let mut h = Harness::new();
    for c in 1..=max as ConnId {
        h.join(c, &format!("M{c}"), false, None);
    }
    h.join(1000, "Late", false, None);
    assert_eq!(h.last_error(1000), Some(ErrorCode::Full));
}

#[test]
fn a_join_that_asks_to_lead_while_someone_leads_is_let_in_and_told_why_not() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    assert_eq!(h.last_error(1), None);
    h.join(2, "Ben", true, None);
    assert!(h.mirrors[&2].me().is_some(), "Ben is in");
    assert!(!h.mirrors[&2].is_leader());
    assert_eq!(h.last_error(2), Some(ErrorCode::LeaderTaken));
    let said = h.inbox[&2].iter().rev().find_map(|m| match m {
        ServerMsg::Error { message, .. } => Some(message.clone()),
        _ => None,
    });
    assert_eq!(said.as_deref(), Some("you joined as a follower: Ana leads; ask them to hand over"));
    // A join that did not ask is told nothing.
    h.join(3, "Caro", false, None);
    assert_eq!(h.last_error(3), None);
    h.assert_mirrors_agree();
}
