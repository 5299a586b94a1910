//! What lets one in: the join secret and its rotation, PINs and their guessers, the leader's and
//! the view-only links, and secrets kept out of debug output.

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
        assert_eq!(h.last_error(c), Some(ErrorCode::WrongPin));
    }
    let mut waited = Vec::new();
    for c in 13..20 {
        join_from(&mut h, c, None, Some("000000"), None, Some("10.0.0.66"));
        assert_eq!(h.last_error(c), Some(ErrorCode::WrongPin), "after its wait, a try");
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
    joins_with_the_pin(&mut h, 50, "10.0.0.3");
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
    joins_with_the_pin(&mut h, 10, "10.0.0.3");
}

#[test]
fn a_wrong_pin_is_told_from_a_stale_link_in_a_code_the_members_version_reads() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    h.send(1, ClientMsg::SetPin { pin: Some(Secret("482913".into())) });
    join_with(&mut h, 2, Some("old-link"), None, None);
    assert_eq!(h.last_error(2), Some(ErrorCode::BadSecret), "a stale link");
    join_with(&mut h, 3, Some("old-link"), Some("000000"), None);
    assert_eq!(h.last_error(3), Some(ErrorCode::WrongPin), "the PIN typed after a stale link is what failed");
    // A version-2 member cannot read `wrong_pin`: it gets the code that covered it then.
    let old = JoinRequest {
        v: 2,
        name: "Old".into(),
        instrument: None,
        resume: None,
        leader: false,
        secret: None,
        pin: Some(Secret("000000".into())),
        source: None,
        once: false,
    };
    h.s.handle_join(h.now, 4, old, Secret("tok-4".into()));
    h.pump();
    assert_eq!(h.last_error(4), Some(ErrorCode::BadSecret));
    assert_eq!(ErrorCode::WrongPin.spoken_in(crate::protocol::PROTOCOL_VERSION), ErrorCode::WrongPin);
}

/// A join on connection `c` from address `src` with the right PIN, which gets in.
fn joins_with_the_pin(h: &mut Harness, c: ConnId, src: &str) {
    join_from(h, c, None, Some("482913"), None, Some(src));
    assert!(h.mirrors[&c].me().is_some(), "{:?}", h.last_error(c));
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
        v: crate::protocol::PROTOCOL_VERSION,
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
