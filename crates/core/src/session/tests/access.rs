//! Joins, secrets, PINs, resume, leadership grace, names.

use super::*;

#[test]
fn joins_need_the_secret_and_rotation_revokes_old_links() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    // The leader learns the credentials; nobody else does.
    assert!(
        h.inbox[&1].iter().any(|m| matches!(m, ServerMsg::Credentials { secret, .. } if secret.expose() == "secret-1"))
    );
    join_with(&mut h, 2, None, None, None);
    assert_eq!(h.last_error(2), Some(ErrorCode::AuthRequired));
    join_with(&mut h, 3, Some("nope"), None, None);
    assert_eq!(h.last_error(3), Some(ErrorCode::BadSecret));
    join_with(&mut h, 4, Some("secret-1"), None, None);
    assert_eq!(h.s.stats().members, 2);
    assert!(!h.inbox[&4].iter().any(|m| matches!(m, ServerMsg::Credentials { .. })));
    let tok = h.inbox[&4].iter().find_map(|m| match m {
        ServerMsg::Welcome { resume, .. } => Some(resume.clone()),
        _ => None,
    });
    h.send(4, ClientMsg::RotateSecret {});
    assert_eq!(h.last_error(4), Some(ErrorCode::NotLeader));
    h.send(1, ClientMsg::RotateSecret {});
    assert!(
        h.inbox[&1].iter().any(|m| matches!(m, ServerMsg::Credentials { secret, .. } if secret.expose() == "secret-2"))
    );
    join_with(&mut h, 5, Some("secret-1"), None, None);
    assert_eq!(h.last_error(5), Some(ErrorCode::BadSecret), "the old link is revoked");
    // A member already in resumes with its token, whatever the link.
    h.drop_conn(4);
    join_with(&mut h, 6, None, None, tok);
    assert_eq!(h.s.participant_of(6), Some(2));
}

#[test]
fn pin_joins_work_and_a_guesser_waits_longer_and_longer_alone() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    for short in ["12a456", "4321", "123456789"] {
        h.send(1, ClientMsg::SetPin { pin: Some(Secret(short.into())) });
        assert_eq!(h.last_error(1), Some(ErrorCode::InvalidName), "{short}");
    }
    h.send(1, ClientMsg::SetPin { pin: Some(Secret("482913".into())) });
    join_from(&mut h, 2, None, Some("482913"), None, Some("10.0.0.2"));
    assert_eq!(h.s.stats().members, 2);
    // A guesser at 10.0.0.66: three free tries, then 1 s, 2 s, 4 s ... after each.
    for c in 10..13 {
        join_from(&mut h, c, None, Some("000000"), None, Some("10.0.0.66"));
        assert_eq!(h.last_error(c), Some(ErrorCode::BadSecret));
    }
    let mut waited = Vec::new();
    for c in 13..20 {
        join_from(&mut h, c, None, Some("000000"), None, Some("10.0.0.66"));
        assert_eq!(h.last_error(c), Some(ErrorCode::BadSecret), "after its wait, a try");
        join_from(&mut h, 100 + c, None, Some("482913"), None, Some("10.0.0.66"));
        assert_eq!(h.last_error(100 + c), Some(ErrorCode::TooManyAttempts), "even the right PIN waits");
        let mut w = 0;
        while h.last_error(100 + c) == Some(ErrorCode::TooManyAttempts) {
            h.advance(Micros::from_millis(250));
            w += 250;
            join_from(&mut h, 200 + c, None, Some("111111"), None, Some("10.0.0.66"));
            if h.last_error(200 + c) == Some(ErrorCode::TooManyAttempts) {
                continue;
            }
            // That was its try, and wrong: the wait doubles.
            break;
        }
        waited.push(w);
        h.advance(Micros::from_secs(3600));
    }
    assert!(waited.windows(2).all(|p| p[1] >= p[0]), "waits grow: {waited:?}");
    // Meanwhile an honest phone elsewhere joins at once.
    join_from(&mut h, 50, None, Some("482913"), None, Some("10.0.0.3"));
    assert!(h.mirrors[&50].me().is_some(), "{:?}", h.last_error(50));
}

#[test]
fn a_guess_spread_over_many_addresses_pauses_pin_joins_for_a_minute() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    h.send(1, ClientMsg::SetPin { pin: Some(Secret("482913".into())) });
    for i in 0..crate::session::MAX_PIN_FAILURES {
        let src = format!("10.1.{}.{}", i / 250, i % 250);
        join_from(&mut h, 1000 + i as ConnId, None, Some("000000"), None, Some(&src));
    }
    join_from(&mut h, 9, None, Some("482913"), None, Some("10.0.0.3"));
    assert_eq!(h.last_error(9), Some(ErrorCode::TooManyAttempts));
    // The link still works, and a minute later so does the PIN.
    join_with(&mut h, 8, Some("secret-1"), None, None);
    assert!(h.mirrors[&8].me().is_some());
    h.advance(Micros::from_secs(61));
    join_from(&mut h, 10, None, Some("482913"), None, Some("10.0.0.3"));
    assert!(h.mirrors[&10].me().is_some(), "{:?}", h.last_error(10));
}

#[test]
fn secrets_never_show_in_debug_output() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    let dump = format!("{:?}", h.s);
    assert!(!dump.contains("secret-1"), "the session secret");
    assert!(!dump.contains("token-1"), "a member's resume token");
    assert!(dump.contains("Ana"), "the dump is of the real state");
    let req = JoinRequest {
        name: "a".into(),
        instrument: None,
        resume: None,
        leader: false,
        secret: Some(Secret("hush".into())),
        pin: None,
        source: None,
        once: false,
    };
    assert!(!format!("{req:?}").contains("hush"));
}

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
    h.send(1, ClientMsg::Play { count_in: 0 });
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
fn the_leaders_link_admits_and_makes_its_holder_the_leader() {
    let mut h = Harness::new();
    h.s.set_leader_secret(Some(Secret("lead-1".into())));
    h.join(1, "Ana", true, None);
    assert_eq!(h.s.stats().leader, Some(1));
    // The organizer's leader joins with the leader's link, without asking to lead: takes over.
    join_with(&mut h, 2, Some("lead-1"), None, None);
    assert_eq!(h.s.stats().leader, Some(h.s.participant_of(2).unwrap()));
    assert!(
        h.inbox[&2].iter().any(|m| matches!(m, ServerMsg::Credentials { .. })),
        "the new leader gets the members' link"
    );
    // The members' link does not lead; a wrong secret is still refused.
    join_with(&mut h, 3, Some("secret-1"), None, None);
    assert_ne!(h.s.stats().leader, h.s.participant_of(3));
    join_with(&mut h, 4, Some("lead-2"), None, None);
    assert_eq!(h.last_error(4), Some(ErrorCode::BadSecret));
    h.assert_mirrors_agree();
}

#[test]
fn the_view_only_link_admits_viewers_who_stay_viewers() {
    let mut h = Harness::new();
    h.s.set_viewer_secret(Some(Secret("view-1".into())));
    h.join(1, "Ana", true, None);
    assert!(
        h.inbox[&1]
            .iter()
            .any(|m| matches!(m, ServerMsg::Credentials { viewer: Some(v), .. } if v.expose() == "view-1")),
        "the leader gets the view-only link"
    );
    // A viewer asking to lead, on a session with no leader yet, is still only a viewer.
    h.send(1, ClientMsg::Release {});
    join_with(&mut h, 2, Some("view-1"), None, None);
    let id = h.s.participant_of(2).unwrap();
    let viewer = |h: &Harness| h.s.participants().find(|p| p.id == id).unwrap().clone();
    assert_eq!((viewer(&h).access, viewer(&h).role), (Access::Viewer, Role::Follower));
    h.send(2, ClientMsg::Claim {});
    assert_eq!(h.s.stats().leader, None, "a viewer cannot claim leadership");
    // Joining again with the same link, without the resume token: a viewer again.
    h.drop_conn(2);
    join_with(&mut h, 3, Some("view-1"), None, None);
    let again = h.s.participant_of(3).unwrap();
    assert_eq!(h.s.participants().find(|p| p.id == again).unwrap().access, Access::Viewer);
    h.assert_mirrors_agree();
}

#[test]
fn a_plain_document_connection_gets_what_its_link_gives() {
    let mut h = Harness::new();
    h.s.set_viewer_secret(Some(Secret("view-1".into())));
    h.s.set_leader_secret(Some(Secret("lead-1".into())));
    let members = h.s.secret().expose().to_owned();
    assert_eq!(h.s.link_access(&members), Some(Access::Editor));
    assert_eq!(h.s.link_access("lead-1"), Some(Access::Editor));
    assert_eq!(h.s.link_access("view-1"), Some(Access::Viewer));
    assert_eq!(h.s.link_access("guess"), None);
    assert_eq!(h.s.link_access(""), None);
}
