//! Which server messages the embedding is shown: the page's own mirror takes what
//! `Member::handle_text` says is for it, and nothing else.

use super::carried::welcome_of;
use super::world::{SECRET, World};
use crate::member::{Member, MemberConfig, MemberEvent};
use crate::protocol::{ErrorCode, Secret, ServerMsg};
use crate::session::{SecretSource, Session, SessionConfig};
use crate::time::Micros;

#[test]
fn the_session_s_news_is_shown_and_the_member_s_own_frames_are_not() {
    let now = Micros::from_secs(10);
    let secrets = SecretSource(Box::new(|| Secret(SECRET.to_owned())));
    let mut session = Session::new("s1", "Gig", 1, SessionConfig::default(), now, secrets);
    let mut m = Member::new(MemberConfig::new(World::target(SECRET), "Ana"), now);
    assert!(!m.handle_text(now, &welcome_of(&mut session, now, 1, None)), "not connected: nothing is read");
    m.handle_connected(now);
    assert!(m.handle_text(now, &welcome_of(&mut session, now, 2, None)), "a welcome");
    let text = |msg: &ServerMsg| serde_json::to_string(msg).unwrap();
    assert!(!m.handle_text(now, &text(&ServerMsg::Pong { n: 1, t0: now, t1: now, t2: now, epoch: 1 })));
    assert!(!m.handle_text(now, &text(&ServerMsg::Heartbeat { n: 1 })));
    assert!(m.handle_text(now, &text(&ServerMsg::CueBy { who: crate::protocol::CueBy::Editors })));
    assert!(!m.handle_text(now, r#"{"type":"from_a_newer_server"}"#), "unreadable");
    assert!(!m.handle_text(now, "not json"));
}

#[test]
fn a_code_from_a_newer_server_is_read_and_refuses_a_join() {
    let now = Micros::from_secs(10);
    let mut m = Member::new(MemberConfig::new(World::target(SECRET), "Ana"), now);
    m.handle_connected(now);
    while m.poll_event().is_some() {}
    let refusal = r#"{"type":"error","code":"from_a_newer_server","message":"Come back later.","about":"join"}"#;
    m.handle_text(now, refusal);
    let ev: Vec<_> = std::iter::from_fn(|| m.poll_event()).collect();
    assert!(
        matches!(&ev[..], [MemberEvent::Refused { code: ErrorCode::Unknown, message }] if message == "Come back later."),
        "{ev:?}"
    );
    assert!(m.is_ended(), "refused for good, not retried blind");
}

#[test]
fn a_code_from_a_newer_server_after_joining_is_an_error_like_any_other() {
    let now = Micros::from_secs(10);
    let secrets = SecretSource(Box::new(|| Secret(SECRET.to_owned())));
    let mut session = Session::new("s1", "Gig", 1, SessionConfig::default(), now, secrets);
    let mut m = Member::new(MemberConfig::new(World::target(SECRET), "Ana"), now);
    m.handle_connected(now);
    m.handle_text(now, &welcome_of(&mut session, now, 1, None));
    while m.poll_event().is_some() {}
    m.handle_text(now, r#"{"type":"error","code":"from_a_newer_server","message":"No.","about":"cue"}"#);
    let ev: Vec<_> = std::iter::from_fn(|| m.poll_event()).collect();
    assert!(matches!(&ev[..], [MemberEvent::Error { code: ErrorCode::Unknown, .. }]), "{ev:?}");
    assert!(m.is_joined());
}
