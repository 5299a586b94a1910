use super::{Append, Appends, Kind, Written};
use crate::outbox::Outgoing;
use axum::extract::ws::Utf8Bytes;
use bandsync_core::session::carry::CarriedParts;

fn parts(schedule: &str, roster: Option<&str>) -> CarriedParts {
    CarriedParts { schedule: schedule.into(), roster: roster.map(Into::into) }
}

fn text(s: &str) -> Outgoing {
    Outgoing::Text(Utf8Bytes::from(s.to_owned()))
}

/// A connection let go (too slow) is still in the session until its disconnect arrives, and may
/// be held for again meanwhile: what was held for it before is not taken off what is held since
/// (which would wrap past zero).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_let_go_and_held_for_again_counts_only_what_is_held_since() {
    let held = crate::store::TestStore::new("appends-forgotten");
    let mut a = Appends::new(held.store.clone(), "s", usize::MAX);
    a.push(Append::Carried(parts("{}", None)));
    let never = |_, _| false;
    a.hold(vec![1], (text(&"x".repeat(1000)), Kind::State, None), never);
    a.forget(1);
    a.hold(vec![1, 2], (text("small"), Kind::State, None), never);
    let Written::Durable { frames, .. } = a.written().await else { panic!("the write fails") };
    assert_eq!(frames.len(), 2, "both frames go, in order");
    assert!(a.load.is_empty(), "nothing counted as held: {:?}", a.load);
}

/// Carried states queued behind a write go as one: the last schedule, with the last roster
/// among them (a later schedule without one did not change the members).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn carried_states_queued_together_keep_the_last_roster_among_them() {
    let held = crate::store::TestStore::new("appends-roster");
    let mut a = Appends::new(held.store.clone(), "s", usize::MAX);
    a.push(Append::Carried(parts("1", Some("[a]"))));
    a.push(Append::Carried(parts("2", Some("[b]"))));
    a.push(Append::Carried(parts("3", None)));
    for w in a.settle().await {
        assert!(matches!(w, Written::Durable { .. }), "a write failed");
    }
    assert_eq!(held.store.carried("s").unwrap(), Some(("3".into(), Some("[b]".into()))));
}
