//! Where a session goes back to (`home`, `Store::claim_homes`): a node whose lease ran out
//! (killed, cut off) asks for its sessions back, a batch at a time, and their holders are told
//! at their next renewal. A lease given up, a chain of takes, a node members were sent to and a
//! hand-over the members came back from each leave the home as the proxy's hash would have it.

use bandsync_server::store::Store;
use bandsync_server::store::lease::Renewal;

/// Both engines.
pub fn a_session_goes_back_to_the_node_it_moved_off(open: &dyn Fn() -> Store) {
    let (x, y, z) = (open(), open(), open());
    let ttl = 3_000;
    let take = |s: &Store, id: &str, node: &str, now: i64| s.take_lease(id, node, now, ttl).unwrap().expect("takeable");
    take(&x, "h1", "node-x", 10_000);
    take(&x, "h2", "node-x", 10_000);
    // A session made on z and handed on (given up, not run out) is not z's to ask back.
    let made = take(&z, "h3", "node-z", 10_000);
    z.release_lease("h3", made.token, 10_100).unwrap();
    let h3 = take(&y, "h3", "node-y", 10_200);
    // x is killed: its leases run out at 13 s, and y takes its sessions over.
    let (h1, h2) = (take(&y, "h1", "node-y", 14_000), take(&y, "h2", "node-y", 14_000));
    assert_eq!((z.claim_homes("node-z", 10).unwrap(), y.claim_homes("node-y", 10).unwrap()), (0, 0));
    // x is back: it asks for them, a batch at a time, and never twice for one.
    assert_eq!(x.claim_homes("node-x", 1).unwrap(), 1);
    assert_eq!(x.claim_homes("node-x", 10).unwrap(), 1);
    assert_eq!(x.claim_homes("node-x", 10).unwrap(), 0, "both asked for already");
    let held = [("h1".to_owned(), h1.token), ("h2".to_owned(), h2.token), ("h3".to_owned(), h3.token)];
    let wanted = Renewal::Wanted("node-x".into());
    assert_eq!(y.renew_leases(&held, 14_500, ttl).unwrap(), [wanted.clone(), wanted, Renewal::Held]);
    // y hands both over. h1's members reach x, which takes it: it is home.
    y.release_lease("h1", h1.token, 14_600).unwrap();
    y.release_lease("h2", h2.token, 14_600).unwrap();
    take(&x, "h1", "node-x", 14_700);
    // h2's members came back to y (the proxy had not brought x in yet): y takes it again, and
    // h2 is still x's to ask for, and only h2.
    let h2 = take(&y, "h2", "node-y", 14_700);
    assert_eq!(x.claim_homes("node-x", 10).unwrap(), 1, "h2 asked for again, h1 home");
    // y is killed too, holding h2 (x's) and h3 (its own): z takes both over. Each keeps to its
    // own home: h2 is x's, h3 y's.
    assert_eq!(y.renew_leases(&[("h3".to_owned(), h3.token)], 14_800, ttl).unwrap(), [Renewal::Held]);
    assert!(h2.expires_ms < 18_000);
    take(&z, "h2", "node-z", 18_000);
    take(&z, "h3", "node-z", 18_000);
    assert_eq!((x.claim_homes("node-x", 10).unwrap(), y.claim_homes("node-y", 10).unwrap()), (1, 1));
    assert_eq!(z.claim_homes("node-z", 10).unwrap(), 0);
    let cleaner = open();
    for id in ["h1", "h2", "h3"] {
        cleaner.delete_session(id).unwrap();
    }
}
