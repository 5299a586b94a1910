//! Two nodes on one database: one owner of a session at a time, under a lease with a fencing
//! token, and a node that lost its lease writes nothing.

use super::{NOW_MS, chat, put_chat, session};
use bandsync_server::store::lease::{Renewal, takeable};
use bandsync_server::store::postgres::Postgres as PgDb;
use bandsync_server::store::sql::Db;
use bandsync_server::store::take;
use bandsync_server::store::{Store, StoreError};

/// Two nodes on one database: one owner at a time, and a node that lost its lease writes nothing.
pub fn one_owner_at_a_time(open: &dyn Fn() -> Store) {
    let (a, b) = (open(), open());
    let ttl = 3_000;
    let la = a.take_lease("l", "node-a", 10_000, ttl).unwrap().expect("a free lease");
    a.put_session(&session("l", "k"), NOW_MS).unwrap();
    a.append_update("l", b"from a").unwrap();
    assert_eq!(b.take_lease("l", "node-b", 11_000, ttl).unwrap(), None, "held by a");
    assert_eq!(a.renew_lease("l", la.token, 12_000, ttl).unwrap(), Renewal::Held);
    assert_eq!(b.take_lease("l", "node-b", 14_000, ttl).unwrap(), None, "renewed until 15 s");
    // a stops renewing (paused, cut off): once expired, b takes it with a higher token.
    let lb = b.take_lease("l", "node-b", 15_001, ttl).unwrap().expect("expired");
    assert!(lb.token > la.token);
    assert_eq!(b.lease_holder("l").unwrap().map(|(n, l)| (n, l.token)), Some(("node-b".into(), lb.token)));
    // a wakes up and writes: refused, with nothing written.
    let e = a.append_update("l", b"late from a").unwrap_err();
    assert!(matches!(e, StoreError::Fenced { token, .. } if token == la.token), "{e}");
    assert!(e.to_string().contains("fenced"), "{e}");
    assert!(matches!(put_chat(&a, "l", &chat(1, "late"), None), Err(StoreError::Fenced { .. })));
    assert_eq!(a.renew_lease("l", la.token, 15_002, ttl).unwrap(), Renewal::Lost, "a learns it lost the lease");
    b.append_update("l", b"from b").unwrap();
    assert_eq!(b.document("l").unwrap().1, vec![b"from a".to_vec(), b"from b".to_vec()]);
    assert!(b.chat("l").unwrap().is_empty());
    // The proxy sends the session's members to a (it came back): a asks, b hears it on renewing,
    // and hands over by releasing; a takes it at once, and b is fenced.
    assert!(a.want_lease("l", "node-a").unwrap());
    assert!(!b.want_lease("l", "node-b").unwrap(), "nobody else holds it");
    assert_eq!(b.renew_lease("l", lb.token, 15_050, ttl).unwrap(), Renewal::Wanted("node-a".into()));
    b.release_lease("l", lb.token, 15_060).unwrap();
    let la2 = a.take_lease("l", "node-a", 15_100, ttl).unwrap().expect("released");
    assert!(la2.token > lb.token);
    // A release of a's first lease, made late (off the task that renews), fences nothing a
    // holds now.
    a.release_lease("l", la.token, 15_120).unwrap();
    a.append_update("l", b"a again").unwrap();
    assert_eq!(a.renew_lease("l", la2.token, 15_150, ttl).unwrap(), Renewal::Held, "taking clears the request");
    assert!(matches!(b.append_update("l", b"b after"), Err(StoreError::Fenced { .. })));
    // A node restarted under the same name takes its own lease again and fences its former self.
    let a2 = open();
    let la3 = a2.take_lease("l", "node-a", 15_200, ttl).unwrap().expect("its own");
    assert!(la3.token > la2.token);
    assert!(matches!(a.append_update("l", b"zombie"), Err(StoreError::Fenced { .. })));
    a2.delete_session("l").unwrap();
    assert_eq!(a2.lease_holder("l").unwrap(), None, "deleted with the session");
    // When each session was last held: one given up at 20 s, one held until 23 s, one never
    // leased since it was made at 5 s, and the sessions never leased since they were made at 30 s.
    for id in ["u1", "u2"] {
        a2.put_session(&session(id, "k"), NOW_MS).unwrap();
    }
    a2.put_session(&session("u3", "k"), 5_000).unwrap();
    a2.put_session(&session("u3", "k2"), NOW_MS).unwrap(); // an update keeps when it was made
    let u1 = a2.take_lease("u1", "node-a", 19_000, ttl).unwrap().unwrap();
    a2.release_lease("u1", u1.token, 20_000).unwrap();
    a2.take_lease("u2", "node-a", 20_000, ttl).unwrap().unwrap();
    assert_eq!(a2.unheld_since(21_000).unwrap(), ["u1", "u3"], "not held since before 21 s");
    let all = a2.unheld_since(i64::MAX / 2).unwrap();
    assert!(["a", "u1", "u2", "u3"].iter().all(|id| all.iter().any(|x| x == id)), "{all:?}");
    // Deleted by a node that holds no lease on them (as the one that expires them, or an API call).
    let c = open();
    for id in ["u1", "u2", "u3"] {
        c.delete_session(id).unwrap();
    }
    // Renewing many leases in one statement (and in batches of RENEW_BATCH): each answered as
    // alone. 450 held by a; b asks for one, and takes another once it expired.
    let ids: Vec<String> = (0..450).map(|i| format!("r{i}")).collect();
    let held: Vec<(String, i64)> =
        ids.iter().map(|id| (id.clone(), a2.take_lease(id, "node-a", 30_000, ttl).unwrap().unwrap().token)).collect();
    assert!(b.want_lease("r7", "node-b").unwrap());
    let mut stale = held.clone();
    stale[300].1 += 1; // a token a no longer has
    let r = a2.renew_leases(&stale, 31_000, ttl).unwrap();
    assert_eq!(r.len(), 450);
    assert_eq!(
        (&r[0], &r[7], &r[300], &r[449]),
        (&Renewal::Held, &Renewal::Wanted("node-b".into()), &Renewal::Lost, &Renewal::Held)
    );
    assert_eq!(b.take_lease("r0", "node-b", 33_500, ttl).unwrap(), None, "renewed until 34 s");
    assert!(b.take_lease("r300", "node-b", 33_500, ttl).unwrap().is_some(), "not renewed: expired at 33 s");
    assert_eq!(a2.renew_leases(&held[..1], 33_600, ttl).unwrap(), [Renewal::Held]);
    for id in &ids {
        c.delete_session(id).unwrap();
    }
}

/// What a node reads before it tries to take a lease (the session's row with its lease, in one
/// read) and what it makes of it ([`takeable`]) agree with what the take's statement does.
pub fn what_a_node_reads_is_what_it_may_take(open: &dyn Fn() -> Store) {
    let (a, b) = (open(), open());
    let ttl = 3_000;
    assert!(a.session_with_lease("t").unwrap().is_none(), "no such session");
    a.put_session(&session("t", "k"), NOW_MS).unwrap();
    assert_eq!(a.session_with_lease("t").unwrap(), Some((session("t", "k"), None)), "never leased");
    let la = a.take_lease("t", "node-a", 10_000, ttl).unwrap().expect("free");
    let read = |s: &Store| s.session_with_lease("t").unwrap().expect("stored").1.expect("leased");
    assert_eq!(read(&b), ("node-a".to_owned(), la));
    // Each try as b reads it first: a's until 13 s (taken again by a then, until 16 s), free
    // after. The takes: no, no, yes, no, yes.
    let tries = [("node-b", 12_000), ("node-b", 13_000), ("node-a", 13_000), ("node-b", 13_001), ("node-b", 16_001)];
    let mut taken = 0;
    for (node, now) in tries {
        let (holder, lease) = read(&b);
        let may = takeable(&holder, &lease, node, now);
        let took = b.take_lease("t", node, now, ttl).unwrap();
        assert_eq!(may, took.is_some(), "{node} at {now} ms, held by {holder} until {}", lease.expires_ms);
        taken += usize::from(may);
    }
    assert_eq!(taken, 2);
    b.delete_session("t").unwrap();
}

/// What a node taking over many sessions reads and takes for them together: rows and leases in
/// one statement, the free leases taken in one (each once, none for a member that gave up), and
/// what each start reads besides, by session.
pub fn many_sessions_at_once(open: &dyn Fn() -> Store) {
    let (a, b) = (open(), open());
    let ttl = 3_000;
    for id in ["m1", "m2", "m3"] {
        a.put_session(&session(id, "k"), NOW_MS).unwrap();
    }
    a.take_lease("m1", "node-a", 10_000, ttl).unwrap().expect("free");
    put_chat(&a, "m1", &chat(1, "one"), None).unwrap();
    put_chat(&a, "m1", &chat(2, "two"), None).unwrap();
    let mut read = b.sessions_with_leases(&["m1", "m2", "m3", "none"]).unwrap();
    assert!(!read.contains_key("none"));
    let mut read = |id: &str| read.remove(id).expect("stored").expect("reads");
    let rows = ["m1", "m2", "m3"].map(&mut read);
    assert_eq!(rows[1].0, session("m2", "k"));
    let holders: Vec<_> = rows.into_iter().map(|(_, holder)| holder.map(|(n, _)| n)).collect();
    assert_eq!(holders, [Some("node-a".to_owned()), None, None]);
    // m1 is a's; m2 is asked for twice; m3's member gave up.
    let taken = b.take_leases_unless(&["m1", "m2", "m3", "m2"], "node-b", 11_000, ttl, &|s| s == "m3").unwrap();
    assert_eq!(taken.keys().collect::<Vec<_>>(), ["m2"], "{}", b.engine());
    let taken = b.take_leases_unless(&["m1", "m3"], "node-b", 13_001, ttl, &|_| false).unwrap();
    let mut ids: Vec<&String> = taken.keys().collect();
    ids.sort();
    assert_eq!(ids, ["m1", "m3"], "a's lease ran out at 13 s ({})", b.engine());
    assert!(taken["m1"].token > 1 && taken["m3"].token == 1);
    // Fenced by the take: b writes, a cannot.
    put_chat(&b, "m3", &chat(1, "three"), None).unwrap();
    assert!(matches!(put_chat(&a, "m1", &chat(3, "late"), None), Err(StoreError::Fenced { .. })));
    let chats = b.chats(&["m1", "m2", "m3"]).unwrap();
    let texts = |id: &str| chats.get(id).map(|c| c.iter().map(|m| m.text.clone()).collect::<Vec<_>>());
    assert_eq!(
        (texts("m1"), texts("m2"), texts("m3")),
        (Some(vec!["one".into(), "two".into()]), None, Some(vec!["three".into()]))
    );
    assert!(b.versions_of(&["m1", "m2"]).unwrap().is_empty() && b.last_activity_ids(&["m1"]).unwrap().is_empty());
    assert!(
        b.chats(&[]).unwrap().is_empty() && b.take_leases_unless(&[], "node-b", 0, ttl, &|_| false).unwrap().is_empty()
    );
    for id in ["m1", "m2", "m3"] {
        b.delete_session(id).unwrap();
    }
}

/// A renewal holds no lease row while it waits for another: a take holds its rows until it
/// commits, and may be waiting for a row the renewal holds (a deadlock). It renews the rows no
/// transaction holds at once, then waits for each held one alone. A write's fencing check, which
/// holds its sessions' rows until the write commits, does not hold the renewal up at all.
/// Postgres, where renewals take a connection of their own; SQLite writes one transaction at a
/// time.
pub fn a_renewal_holds_no_row_while_it_waits_for_another(url: &str) {
    let (a, b) = (Store::connect(url).unwrap(), Store::connect(url).unwrap());
    let ttl = 3_000;
    let busy = a.take_lease("busy", "node-a", 10_000, ttl).unwrap().expect("free");
    let free = a.take_lease("free", "node-a", 10_000, ttl).unwrap().expect("free");
    // A write's transaction, holding both rows as a group commit's check does (`check_writes`):
    // the renewal does not wait for it.
    let mut write = PgDb::connect(url).unwrap();
    write.batch("BEGIN").unwrap();
    write.query("SELECT token FROM leases WHERE session IN ('busy', 'free') FOR KEY SHARE", &[]).unwrap();
    let both = [("busy".to_owned(), busy.token), ("free".to_owned(), free.token)];
    std::thread::scope(|sc| {
        let renewing = sc.spawn(|| a.renew_leases(&both, 10_500, ttl));
        // Well within the server's limit on an idle transaction (10 s), which would free the rows.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while !renewing.is_finished() {
            assert!(std::time::Instant::now() < deadline, "the renewal waits for a write's fencing check");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(renewing.join().unwrap().unwrap(), [Renewal::Held, Renewal::Held]);
    });
    write.batch("COMMIT").unwrap();
    // A take's transaction, holding the row as a take does (`take.rs`).
    write.batch("BEGIN").unwrap();
    write.query("SELECT session FROM leases WHERE session = ?1 FOR UPDATE", &["busy".into()]).unwrap();
    let held = [("busy".to_owned(), busy.token), ("free".to_owned(), free.token), ("gone".to_owned(), 1)];
    let (told, renewed) = std::sync::mpsc::channel();
    std::thread::scope(|sc| {
        let renewing = sc
            .spawn(|| a.renew_leases_telling(&held, 11_000, ttl, &mut |r| told.send(r.to_vec()).expect("listened to")));
        // `free` is renewed, and committed, while the renewal waits for `busy`, and its node is
        // told so at once (it would otherwise let every session go, should the wait be long).
        let expiry = || b.lease_holder("free").unwrap().map(|(_, l)| l.expires_ms);
        // Within the server's limit on an idle transaction (10 s), which would free the row.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while expiry() != Some(14_000) {
            assert!(std::time::Instant::now() < deadline, "free not renewed while the renewal waits for busy");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let early = renewed.recv_timeout(std::time::Duration::from_secs(5)).expect("told before the wait ends");
        assert_eq!(early, [("free".to_owned(), free.token)], "only what the database renewed");
        assert!(!renewing.is_finished(), "the renewal waits for the row the write holds");
        write.batch("COMMIT").unwrap();
        let renewed = renewing.join().unwrap().unwrap();
        assert_eq!(renewed, [Renewal::Held, Renewal::Held, Renewal::Lost]);
    });
    assert_eq!(b.take_lease("busy", "node-b", 13_500, ttl).unwrap(), None, "renewed until 14 s");
}

/// A take of many leases holds no row while it waits for another: a group commit of a node that
/// lost its leases may hold some of their rows, and lock them in another order. The take passes
/// over the held rows, takes and commits the others at once, then waits for each held one alone.
/// Postgres, as the renewals' test.
pub fn a_take_holds_no_row_while_it_waits_for_another(url: &str) {
    // a's write, still under its lease as it knew it, holding the row as `check_writes` does:
    // the take waits for it, so that the write is fenced by the lease it was checked against.
    let (a, b, mut write) = a_write_holding_busy(url);
    let ttl = TTL;
    std::thread::scope(|sc| {
        // Both of a's leases ran out at 13 s; "new" was never taken.
        let taking = sc.spawn(|| b.take_leases_unless(&["busy", "spent", "new"], "node-b", 14_000, ttl, &|_| false));
        let holder = |id: &str| a.lease_holder(id).unwrap().map(|(n, _)| n);
        // Within the server's limit on an idle transaction (10 s), which would free the row.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while holder("spent").as_deref() != Some("node-b") || holder("new").as_deref() != Some("node-b") {
            assert!(std::time::Instant::now() < deadline, "the free leases not taken while the take waits for busy");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(!taking.is_finished(), "the take waits for the row the write holds");
        write.batch("COMMIT").unwrap();
        let mut taken: Vec<String> = taking.join().unwrap().unwrap().into_keys().collect();
        taken.sort();
        assert_eq!(taken, ["busy", "new", "spent"]);
    });
    assert_eq!(a.lease_holder("busy").unwrap().map(|(n, _)| n).as_deref(), Some("node-b"));
}

/// A store write under way, past its fencing check, holds up a take of its lease until it
/// commits: the write lands under the lease it was checked against, and the next one is fenced.
/// Through the store's own write (`check_writes`), held after its check by a lock on the table
/// it writes to. Postgres.
pub fn a_take_waits_for_a_store_write_checked_against_the_lease(url: &str) {
    let (a, b) = (Store::connect(url).unwrap(), Store::connect(url).unwrap());
    a.put_session(&session("w", "k"), NOW_MS).unwrap();
    a.take_lease("w", "node-a", 10_000, 3_000).unwrap().expect("free");
    let (mut table, mut watch) = (PgDb::connect(url).unwrap(), PgDb::connect(url).unwrap());
    table.batch("BEGIN").unwrap();
    table.batch("LOCK TABLE doc_updates IN EXCLUSIVE MODE").unwrap();
    std::thread::scope(|sc| {
        let writing = sc.spawn(|| a.append_update("w", b"checked under node-a's lease"));
        until_waiting(&mut watch, 1, "the write never waited for the table");
        // The lease ran out at 13 s: b may take it, once the write checked against it is done.
        let taking = sc.spawn(|| b.take_lease("w", "node-b", 14_000, 3_000));
        until_waiting(&mut watch, 2, "the take never waited for the write");
        assert!(!taking.is_finished() && !writing.is_finished());
        table.batch("COMMIT").unwrap();
        assert_eq!(writing.join().unwrap().map_err(|e| e.to_string()).map(drop), Ok(()), "the write lands");
        assert!(taking.join().unwrap().unwrap().is_some(), "then b takes the lease");
    });
    let fenced = a.append_update("w", b"after the take");
    assert!(matches!(fenced, Err(StoreError::Fenced { .. })), "a's next write is fenced: {fenced:?}");
}

/// The take's statement itself waits for a write's fencing check on a row it finds there. A take
/// locks `FOR UPDATE` first the rows it read; a row that was not there when it looked (another
/// node's take made it since, and that node's write checked against it) goes straight to the
/// statement, whose update must wait for the write as that lock would. Through the store's own
/// write, held after its check by a lock on the table it writes to, as above. Postgres.
pub fn the_take_statement_waits_for_a_write_on_a_row_made_since_the_take_looked(url: &str) {
    let a = Store::connect(url).unwrap();
    a.put_session(&session("m", "k"), NOW_MS).unwrap();
    a.take_lease("m", "node-a", 10_000, 3_000).unwrap().expect("free");
    let (mut table, mut watch) = (PgDb::connect(url).unwrap(), PgDb::connect(url).unwrap());
    let mut taker = PgDb::connect(url).unwrap();
    table.batch("BEGIN").unwrap();
    table.batch("LOCK TABLE doc_updates IN EXCLUSIVE MODE").unwrap();
    std::thread::scope(|sc| {
        let writing = sc.spawn(|| a.append_update("m", b"checked under node-a's lease"));
        until_waiting(&mut watch, 1, "the write never waited for the table");
        // node-a's lease ran out at 13 s; node-b's statement runs with no lock taken before it.
        let taking = sc.spawn(move || {
            taker.batch("BEGIN").unwrap();
            let rows = take::statement(&mut taker, &["m"], "node-b", 17_000, 14_000).unwrap();
            taker.batch("COMMIT").unwrap();
            rows.into_iter().map(|r| (r[0].clone().text().unwrap(), r[1].int().unwrap())).collect::<Vec<_>>()
        });
        until_waiting(&mut watch, 2, "the take's statement never waited for the write's fencing check");
        assert!(!taking.is_finished() && !writing.is_finished());
        table.batch("COMMIT").unwrap();
        assert_eq!(writing.join().unwrap().map_err(|e| e.to_string()).map(drop), Ok(()), "the write lands");
        assert_eq!(taking.join().unwrap(), [("m".to_owned(), 2)], "then node-b takes the lease");
    });
    let fenced = a.append_update("m", b"after the take");
    assert!(matches!(fenced, Err(StoreError::Fenced { .. })), "a's next write is fenced: {fenced:?}");
}

/// Waits until `n` connections wait for a lock, within the server's limit on an idle
/// transaction (10 s), which would free what the test holds.
fn until_waiting(watch: &mut PgDb, n: i64, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let waiting = |watch: &mut PgDb| {
        let waits =
            "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()";
        watch.query(waits, &[]).unwrap()[0][0].int().unwrap()
    };
    while waiting(watch) < n {
        assert!(std::time::Instant::now() < deadline, "{what}");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The lease time of [`a_write_holding_busy`].
pub const TTL: i64 = 3_000;

/// Two nodes' stores on the database at `url`: node-a holds `busy` and `spent` from 10 s (for
/// [`TTL`]), and a write of node-a's, still under way, holds `busy`'s row as `check_writes`
/// does. The write's connection is returned in its transaction: commit it to let the row go.
pub fn a_write_holding_busy(url: &str) -> (Store, Store, PgDb) {
    let (a, b) = (Store::connect(url).unwrap(), Store::connect(url).unwrap());
    for id in ["busy", "spent"] {
        a.take_lease(id, "node-a", 10_000, TTL).unwrap().expect("free");
    }
    let mut write = PgDb::connect(url).unwrap();
    write.batch("BEGIN").unwrap();
    write.query("SELECT token FROM leases WHERE session = 'busy' FOR KEY SHARE", &[]).unwrap();
    (a, b, write)
}
