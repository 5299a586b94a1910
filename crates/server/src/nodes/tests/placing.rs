//! How a node brings a session here for its members: a dead holder's lease waited out and taken
//! as it runs out, one released taken at once, one attempt shared by the members of a session,
//! and a load whose member stopped waiting.

use super::{Placement, band_on_a, try_load};
use crate::hub::Hub;
use crate::placements::Load;
use crate::store::lease::Lease;
use std::sync::Arc;
use std::time::Duration;

/// The owner was killed, and a member of its band reached c (the node the proxy's hash names
/// once it noticed). c waits out the dead owner's lease and then takes the session at once: the
/// proxy does not redispatch a session's members, so nobody of this band is waiting on another
/// node. It sent the member back through the proxy before, which brought nearly every one back
/// to the same node, a reconnect later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_waited_out_a_dead_holders_lease_has_it_loaded_at_once() {
    let ttl = Duration::from_millis(400);
    let (scratch, a, c, id) = band_on_a("dead-holder", "c", ttl);
    // c is alive: its renewals (of no lease) tell it the database answers.
    let renewing = tokio::spawn(c.clone().keep_leases());
    // a dies: nothing renews its lease. A member reaches c meanwhile, and waits.
    let (_, dead) = scratch.1.lease_holder(&id).unwrap().expect("a holds it");
    assert_eq!(c.place(&id).await, Placement::Here, "loaded once the lease ran out");
    let now = c.clock().wall_ms();
    assert!(now > dead.expires_ms, "not before the lease ran out: {} ms before", dead.expires_ms - now);
    let (by, taken) = scratch.1.lease_holder(&id).unwrap().expect("held");
    assert!(by == "c" && taken.token > dead.token, "taken by c: {by}, {taken:?}");
    assert!(c.leases().contains_key(id.as_str()) && c.get(&id).is_some(), "running under c's lease");
    a.close_all();
    c.close_all();
    renewing.await.unwrap();
}

/// Members of one session that reach a node together, while a dead node's lease runs out, share
/// one attempt, which reads the lease again when it would run out. Each member polled the store
/// ten times a second, one attempt at a time: a node taking over 300 sessions of 5 spent its
/// failover reading leases it could not take yet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_of_one_session_share_one_attempt_that_waits_for_the_lease_to_run_out() {
    let ttl = Duration::from_millis(600);
    let (_scratch, a, c, id) = band_on_a("shared-attempt", "c", ttl);
    let renewing = tokio::spawn(c.clone().keep_leases());
    let members: Vec<_> = (0..20)
        .map(|_| {
            let (c, id) = (c.clone(), id.clone());
            tokio::spawn(async move { c.place(&id).await })
        })
        .collect();
    for m in members {
        assert_eq!(m.await.unwrap(), Placement::Here, "each placed here once the lease ran out");
    }
    let attempts = c.placing.attempts();
    assert!(
        (2..=4).contains(&attempts),
        "one attempt for all of them, at the start and as the lease ran out: {attempts}"
    );
    a.close_all();
    c.close_all();
    renewing.await.unwrap();
}

/// A lease its holder released while a member waited (a drained node handing the session over)
/// is taken at once, as one that ran out is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_released_while_a_member_waits_is_taken_at_once() {
    let (_scratch, a, c, id) = band_on_a("released", "c", Duration::from_secs(60));
    let seen = seen_then_drained(&a, &c, &id).await;
    assert!(matches!(try_load(&c, &id, false, Some(seen)).unwrap(), Load::Loaded), "taken, not sent back");
    assert!(c.get(&id).is_some());
    a.close_all();
    c.close_all();
}

/// A member whose node's database did not answer in time is sent back through the proxy; the
/// load under way goes on until the database answers, and then takes nothing. Taken, the session
/// sat on a node nobody reached it on, and the node the member's retry reached waited a lease
/// time for a hand-over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_whose_member_stopped_waiting_takes_nothing() {
    let (scratch, a, b, id) = band_on_a("given-up-load", "b", Duration::from_secs(1));
    super::drain(&a).await;
    // b's database stops answering: a thread holds its connection.
    let (release, hold) = std::sync::mpsc::channel::<()>();
    let (held, holding) = std::sync::mpsc::channel();
    let store = scratch.1.clone();
    let holder = std::thread::spawn(move || {
        let _db = store.db();
        held.send(()).unwrap();
        let _ = hold.recv();
    });
    holding.recv().unwrap();
    assert_eq!(b.place(&id).await, Placement::Elsewhere, "sent back by the deadline");
    release.send(()).unwrap();
    holder.join().unwrap();
    // The attempt ends once it has its answer (it holds the loading lock until then).
    tokio::task::spawn_blocking({
        let b = b.clone();
        move || drop(b.loading.lock().unwrap())
    })
    .await
    .unwrap();
    assert!(b.get(&id).is_none() && b.leases().is_empty(), "b took nothing");
    // Once the database answers b again (its renewals' ping, not running here), a retry that
    // reaches b takes the session at once.
    b.heard_from_store(b.clock().wall_ms());
    assert_eq!(b.place(&id).await, Placement::Here, "the member's retry takes it at once");
    a.close_all();
    b.close_all();
}

/// A member that waited on one node's lease, which a third node took meanwhile, goes back through
/// the proxy: the session went where the proxy sends its members. Waiting on, its node asked for
/// the session a lease time later, and the band moved twice (hundreds of hand-overs a run of the
/// cluster bench at 5,500 members).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_another_node_took_while_a_member_waited_sends_it_back() {
    let (scratch, a, b, id) = band_on_a("taken-meanwhile", "b", Duration::from_secs(60));
    let c = super::node("c", &scratch.1);
    let seen = seen_then_drained(&a, &c, &id).await;
    assert_eq!(b.place(&id).await, Placement::Here, "b takes the released lease");
    assert!(
        matches!(try_load(&c, &id, true, Some(seen)).unwrap(), Load::TakenMeanwhile),
        "c's member goes back through the proxy"
    );
    let token = b.leases()[id.as_str()].token;
    let renewed = scratch.1.renew_lease(&id, token, b.clock().wall_ms(), 60_000).unwrap();
    assert_eq!(renewed, crate::store::lease::Renewal::Held, "c did not ask b for it");
    for n in [&a, &b, &c] {
        n.close_all();
    }
}

/// The lease `c` reads while `a` holds the session, then `a` drained (its lease released).
async fn seen_then_drained(a: &Arc<Hub>, c: &Hub, id: &str) -> Lease {
    let seen = match try_load(c, id, false, None).unwrap() {
        Load::Held(Some(l)) => l,
        _ => panic!("a holds it"),
    };
    super::drain(a).await;
    seen
}
