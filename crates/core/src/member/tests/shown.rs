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
    assert!(m.handle_text(now, &text(&ServerMsg::CueBy { who: crate::protocol::CueBy::Editors, member: None })));
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

#[test]
fn a_member_whose_caller_reads_the_messages_says_what_each_changed_and_repeats_none() {
    let now = Micros::from_secs(10);
    let secrets = SecretSource(Box::new(|| Secret(SECRET.to_owned())));
    let mut session = Session::new("s1", "Gig", 1, SessionConfig::default(), now, secrets);
    let mut cfg = MemberConfig::new(World::target(SECRET), "Ana");
    cfg.reads_messages = true;
    let mut m = Member::new(cfg, now);
    m.handle_connected(now);
    m.handle_text(now, &welcome_of(&mut session, now, 1, None));
    assert!(m.changed().snapshot, "a welcome replaces the mirror");
    let text = |msg: &ServerMsg| serde_json::to_string(msg).unwrap();
    let chat = r#"{"type":"chat","message":{"id":1,"from":1,"name":"Ana","text":"hi","at":0,"edited_at":null,"deleted":false,"reply_to":null,"reactions":[],"mentions":[]}}"#;
    assert!(m.handle_text(now, chat));
    assert_eq!(m.changed(), crate::mirror::Changed::default(), "a chat message changes no list");
    let mut ben = m.mirror().unwrap().participants[0].clone();
    ben.id = 9;
    ben.name = "Ben".into();
    m.handle_text(now, &text(&ServerMsg::ParticipantJoined { participant: ben }));
    let c = m.changed();
    assert!(c.participants && c.splice.is_some_and(|s| s.insert), "{c:?}");
    assert_eq!(m.mirror().unwrap().participants.iter().filter(|p| p.name == "Ben").count(), 1);
    m.handle_text(now, &text(&ServerMsg::Pong { n: 1, t0: now, t1: now, t2: now, epoch: 1 }));
    assert_eq!(m.changed(), crate::mirror::Changed::default(), "a pong changes nothing");
    // A server's error is the caller's to show, once.
    assert!(m.handle_text(now, r#"{"type":"error","code":"not_leader","message":"Only the leader.","about":"song"}"#));
    let ev: Vec<_> = std::iter::from_fn(|| m.poll_event()).collect();
    assert!(!ev.iter().any(|e| matches!(e, MemberEvent::Participants { .. } | MemberEvent::Error { .. })), "{ev:?}");
    assert!(ev.iter().any(|e| matches!(e, MemberEvent::Joined { .. })), "{ev:?}");
}
