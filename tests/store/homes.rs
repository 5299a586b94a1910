//! Where a session goes back to (`home`, `Store::claim_homes`): a node whose lease ran out
//! (killed, cut off) or that drained asks for its sessions back, a batch at a time, and their
//! holders are told at their next renewal. A lease given up, a node members were sent to, and a
//! hand-over the members came back from each leave the home as the proxy's hash would have it,
//! and no session is asked for twice.

use bandsync_server::store::Store;
use bandsync_server::store::lease::{AskStatements, Renewal};
use bandsync_server::store::sql::Db;

/// Both engines.
pub fn a_session_goes_back_to_the_node_it_moved_off(open: &dyn Fn() -> Store, raw: &dyn Fn() -> Box<dyn Db>) {
    let (x, y, z) = (open(), open(), open());
    let ttl = 3_000;
    let take = |s: &Store, id: &str, node: &str, now: i64| s.take_lease(id, node, now, ttl).unwrap().expect("takeable");
    let asks = |s: &Store, node: &str| s.claim_homes(node, 10).unwrap();
    take(&x, "h1", "node-x", 10_000);
    take(&x, "h2", "node-x", 10_000);
    // A session made on z and handed on (given up, not run out) is not z's to ask back.
    let made = take(&z, "h3", "node-z", 10_000);
    z.release_lease("h3", made.token, 10_100).unwrap();
    let h3 = take(&y, "h3", "node-y", 10_200);
    // x is killed: its leases run out at 13 s, and y takes its sessions over.
    let (h1, h2) = (take(&y, "h1", "node-y", 14_000), take(&y, "h2", "node-y", 14_000));
    assert_eq!((asks(&z, "node-z"), asks(&y, "node-y")), (0, 0));
    // x is back: it asks for them, a batch at a time, and never twice for one.
    assert_eq!(x.claim_homes("node-x", 1).unwrap(), 1);
    assert_eq!(asks(&x, "node-x"), 1);
    assert_eq!(asks(&x, "node-x"), 0, "both asked for already");
    let held = [("h1".to_owned(), h1.token), ("h2".to_owned(), h2.token), ("h3".to_owned(), h3.token)];
    let wanted = Renewal::Wanted("node-x".into());
    assert_eq!(y.renew_leases(&held, 14_500, ttl).unwrap(), [wanted.clone(), wanted, Renewal::Held]);
    // y hands both over. h1's members reach x, which takes it: it is home. h2's came back to y
    // (the proxy sends them there): y takes it again, and it is y's now. Neither is asked for
    // again, so no session moves back and forth.
    y.release_lease("h1", h1.token, 14_600).unwrap();
    y.release_lease("h2", h2.token, 14_600).unwrap();
    let h1 = take(&x, "h1", "node-x", 14_700);
    take(&y, "h2", "node-y", 14_700);
    assert_eq!(asks(&x, "node-x"), 0, "h1 is home, and h2's members are sent to y");
    // y drains, to come back: z takes its sessions, and y asks for them once it is back.
    y.release_lease_to_come_back("h3", h3.token, 14_800).unwrap();
    take(&z, "h3", "node-z", 14_900);
    assert_eq!(asks(&y, "node-y"), 1, "h3, which y drained");
    // z is killed holding h3 before it hands it over: x takes it over, and h3 is still y's (a
    // lease that runs out keeps the home it had).
    take(&x, "h3", "node-x", 18_000);
    assert_eq!(asks(&y, "node-y"), 1, "h3 is still y's after the kill");
    // y drains again before x hands h3 over: its ask is withdrawn, and h3 stays y's to ask for.
    assert_eq!(y.withdraw_asks("node-y").unwrap(), 1);
    assert!(y.homes_left("node-y").unwrap() && !x.homes_left("node-x").unwrap());
    // A node the proxy sends a session's members to asks for it; its holder dies before handing
    // it over, and that node takes it once the lease runs out: it is home there, not the dead
    // holder's to ask back.
    take(&z, "h4", "node-z", 15_000);
    assert!(x.want_lease("h4", "node-x").unwrap());
    take(&x, "h4", "node-x", 18_100);
    assert_eq!(asks(&z, "node-z"), 0, "h4 is x's");
    // A lease that says its own holder asked for it (no ask writes that) renews as held: the
    // holder would hand the session over to itself.
    raw().execute("UPDATE leases SET wanted_by = 'node-x' WHERE session = 'h1'", &[]).unwrap();
    assert_eq!(x.renew_leases(&[("h1".to_owned(), h1.token)], 17_000, ttl).unwrap(), [Renewal::Held]);
    let cleaner = open();
    for id in ["h1", "h2", "h3", "h4"] {
        cleaner.delete_session(id).unwrap();
    }
}

/// The asks read the few leases away from home, and the asks themselves, through their partial
/// indexes (`ADDED_INDEXES`), and nothing reads every lease: each statement's plan, as the engine
/// would run it on a table too big to scan (Postgres scans a small one whatever its indexes).
pub fn the_asks_read_their_partial_indexes(raw: &dyn Fn() -> Box<dyn Db>) {
    let mut db = raw();
    let postgres = db.locks_rows();
    if postgres {
        db.execute("SET enable_seqscan = off", &[]).unwrap();
    }
    let explain = if postgres { "EXPLAIN" } else { "EXPLAIN QUERY PLAN" };
    let asks = AskStatements::new(postgres);
    for (sql, params, index) in [
        (asks.claim.as_str(), vec!["node-x".into(), 64i64.into()], "leases_away"),
        (asks.left.as_str(), vec!["node-x".into()], "leases_away"),
        (asks.withdraw, vec!["node-x".into()], "leases_wanted"),
    ] {
        let lines: Vec<String> = db
            .query(&format!("{explain} {sql}"), &params)
            .unwrap()
            .into_iter()
            .filter_map(|row| row.into_iter().last()?.text().ok())
            .collect();
        let plan = lines.join("\n");
        assert!(plan.contains(index), "{sql}\nreads no {index}:\n{plan}");
        // A scan of the whole table: SQLite's `SCAN leases`; on Postgres, a read of `leases`
        // through an index without a condition on it (a walk of the whole index).
        let reads = lines.iter().filter(|l| l.contains("Scan") && l.contains(" on leases")).count();
        let bounded = lines.iter().filter(|l| l.contains("Index Cond") || l.contains("Recheck Cond")).count();
        assert!(
            !plan.contains("SCAN leases") && !plan.contains("Seq Scan") && bounded >= reads,
            "{sql}\nreads every lease:\n{plan}"
        );
    }
}
