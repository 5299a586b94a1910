//! The journal's rules on the host clock (bursts of edits), and against a real store (what a
//! refused write gives back).

use super::*;
use bandsync_core::Micros;

fn closed(effects: &[Effect]) -> (Vec<VersionInfo>, Vec<ActivityEvent>) {
    let mut out = (Vec::new(), Vec::new());
    for e in effects {
        match e {
            Effect::Broadcast(ServerMsg::Versions { versions }) => out.0.clone_from(versions),
            Effect::Broadcast(ServerMsg::Activity { event }) => out.1.push(event.clone()),
            _ => {}
        }
    }
    out
}

/// On tokio's paused time: the burst's deadline is read from the host clock the journal was
/// given, so the test moves it without waiting.
#[tokio::test(start_paused = true)]
async fn a_burst_of_edits_closes_on_the_host_clock_after_its_idle_time() {
    // Its wall side too: the version and the activity entry are stamped from it.
    let wall = Arc::new(std::sync::atomic::AtomicI64::new(1_765_000_000_000_000));
    let read = wall.clone();
    let clock = HostClock::new().with_wall(move || read.load(std::sync::atomic::Ordering::Relaxed));
    let mut j = Journal::load("s", None, None, Duration::from_secs(2), clock.clone()).unwrap();
    let doc = SessionDoc::new();
    assert_eq!(j.deadline(), None);
    let t0 = clock.instant();
    j.editing("Ana".into(), &doc);
    let _ = doc.set_chart("s1", "Intro");
    tokio::time::advance(Duration::from_secs(1)).await;
    j.editing("Ben".into(), &doc);
    let _ = doc.set_chart("s1", "Intro, verse");
    assert_eq!(j.deadline(), Some(t0 + Duration::from_secs(3)), "two seconds after the last edit");
    tokio::time::sleep_until(j.deadline().unwrap()).await;
    assert_eq!(clock.now(), Micros(3_000_000));
    wall.fetch_add(3_000_000, std::sync::atomic::Ordering::Relaxed);
    let (versions, events) = closed(&j.flush(&doc));
    assert_eq!(versions.len(), 1);
    assert_eq!((versions[0].at, events[0].at), (1_765_000_003_000, 1_765_000_003_000));
    assert!(versions[0].label.starts_with("Ana, Ben edited") && !versions[0].named, "{versions:?}");
    assert_eq!(events.iter().map(|e| e.kind).collect::<Vec<_>>(), [ActivityKind::Edit]);
    assert_eq!(j.deadline(), None);
}

/// A session that keeps all the chat it may: a new message lets the oldest go, in memory at
/// once and on disk with the message. The disk refuses it: the oldest is back in memory too,
/// as on disk (a restart would show it).
#[test]
fn a_refused_message_gives_back_the_oldest_it_let_go() {
    let held = crate::store::TestStore::new("chat-kept");
    let store = held.store.clone();
    let old = |id: u64| ChatMessage {
        id,
        from: 1,
        name: "Ana".into(),
        text: format!("message {id}"),
        at: 1_000 + id as i64,
        edited_at: None,
        deleted: false,
        reply_to: None,
        reactions: Vec::new(),
        mentions: Vec::new(),
    };
    let kept = (1..=retention::CHAT_KEPT).map(|id| (old(id), None)).collect();
    store.append("s", crate::store::Appended { chat: kept, ..Default::default() }).unwrap();
    let mut j = Journal::load("s", Some(store), None, Duration::from_secs(2), HostClock::new()).unwrap();
    let from = Author { id: 1, name: "Ana", access: Access::Editor, people: &[] };
    let doc = SessionDoc::new();
    let effects = j.handle(ClientMsg::Chat { text: "one too many".into(), reply_to: None }, &from, &doc).unwrap();
    let [Effect::Chat { message, old, gone: Some(1) }] = &effects[..] else { panic!("{effects:?}") };
    let lost = crate::appends::ChatChange { message: message.clone(), gone: Some(1), old: old.clone(), from: None };
    j.chat_lost(&[lost]);
    let page = |j: &mut Journal, before| match &j
        .handle(ClientMsg::ChatHistory { before, limit: Some(1), query: None }, &from, &doc)
        .unwrap()[..]
    {
        [Effect::Reply(ServerMsg::ChatHistory { messages, .. })] => messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(page(&mut j, Some(2)), [1], "the oldest message is back");
    assert_eq!(page(&mut j, None), [retention::CHAT_KEPT], "and the refused one is not there");
}

/// A write whose outcome is unknown (its connection lost during the COMMIT) is taken as lost,
/// but its message landed: the chat is read back from the store, so the message stays, and the
/// next one gets an id of its own (put back blindly, the next would have taken its id, over it).
#[test]
fn a_message_whose_write_landed_after_all_keeps_its_id() {
    let held = crate::store::TestStore::new("chat-landed");
    let store = held.store.clone();
    let mut j = Journal::load("s", Some(store.clone()), None, Duration::from_secs(2), HostClock::new()).unwrap();
    let from = Author { id: 1, name: "Ana", access: Access::Editor, people: &[] };
    let doc = SessionDoc::new();
    let chat = |j: &mut Journal, text: &str| {
        let effects = j.handle(ClientMsg::Chat { text: text.into(), reply_to: None }, &from, &doc).unwrap();
        let [Effect::Chat { message, old, gone }] = &effects[..] else { panic!("{effects:?}") };
        crate::appends::ChatChange { message: message.clone(), gone: *gone, old: old.clone(), from: None }
    };
    let landed = chat(&mut j, "landed");
    store
        .append("s", crate::store::Appended { chat: vec![(landed.message.clone(), None)], ..Default::default() })
        .unwrap();
    let id = landed.message.id;
    j.chat_lost(&[landed]);
    assert_ne!(chat(&mut j, "next").message.id, id, "the next message has an id of its own");
}

#[tokio::test(start_paused = true)]
async fn a_burst_that_never_pauses_still_closes_after_five_minutes() {
    let clock = HostClock::new();
    let mut j = Journal::load("s", None, None, Duration::from_secs(2), clock.clone()).unwrap();
    let doc = SessionDoc::new();
    let t0 = clock.instant();
    for i in 0..400 {
        j.editing("Ana".into(), &doc);
        let _ = doc.set_chart("s1", &format!("take {i}"));
        tokio::time::advance(Duration::from_secs(1)).await;
    }
    assert_eq!(j.deadline(), Some(t0 + EDIT_MAX));
}
