//! A database that stops answering (a partition that drops nothing, or a server that hangs):
//! the statement waited on is given up after its deadline, and a session that starts meanwhile
//! holds up nobody else, and a take whose member gave up takes nothing for it.

use bandsync_e2e::partition::PartitionLink;
use bandsync_server::store::Store;
use bandsync_server::store::postgres::Postgres as PgDb;
use bandsync_server::store::sql::Db;
use bandsync_server::{HostClock, Hub, ServerConfig};
use std::time::Duration;

/// A database that stops answering mid-transaction (a partition that drops nothing): the
/// statement is given up after the time it was given, not waited on for ever; the transaction
/// stays failed until its end (statements after it, on the next connection, would run outside
/// it); once the link is back, the next statement opens a new connection. The server ends the
/// transaction left open, and frees what it locked, after the same time.
pub fn a_statement_is_given_up(url: &str) {
    let (link, linked) = through_link(url);
    let within = std::time::Duration::from_millis(300);
    // The schema made directly, not under the 300 ms given below.
    drop(PgDb::connect(url).unwrap());
    let mut db = PgDb::connect_within(&linked, within).unwrap();
    db.batch("CREATE TABLE cut (n BIGINT)").unwrap();
    db.batch("BEGIN").unwrap();
    db.execute("SELECT pg_advisory_xact_lock(42)", &[]).unwrap();
    db.execute("INSERT INTO cut VALUES (?1)", &[1_i64.into()]).unwrap();
    link.partition();
    let asked = std::time::Instant::now();
    let e = db.execute("INSERT INTO cut VALUES (?1)", &[2_i64.into()]).unwrap_err();
    let waited = asked.elapsed();
    assert!(e.to_string().contains("no answer"), "{e}");
    assert!(waited >= within && waited < within * 10, "given up after {waited:?}");
    link.heal();
    let e = db.execute("INSERT INTO cut VALUES (?1)", &[3_i64.into()]).unwrap_err();
    assert!(e.to_string().contains("given up"), "the rest of the transaction is refused: {e}");
    assert!(db.batch("COMMIT").is_err(), "and its COMMIT");
    // The next statement opens a new connection through the healed link.
    let counted = db.query("SELECT count(*) FROM cut", &[]).unwrap();
    assert_eq!(
        counted[0][0],
        bandsync_server::store::sql::V::Int(0),
        "nothing of the transaction given up was committed"
    );
    // A BEGIN given up leaves no transaction to fail: once the link is back, statements run.
    link.partition();
    assert!(db.batch("BEGIN").is_err(), "no answer");
    link.heal();
    assert_eq!(db.query("SELECT count(*) FROM cut", &[]).unwrap()[0][0], bandsync_server::store::sql::V::Int(0));
    // The server rolled back the transaction left open: its lock is free.
    let mut other = PgDb::connect(url).unwrap();
    other.batch("BEGIN").unwrap();
    other.execute("SELECT pg_advisory_xact_lock(42)", &[]).unwrap();
    other.batch("ROLLBACK").unwrap();
}

/// Before, the start held the sessions' lock across the store's writes and reads: every lookup
/// on the async workers waited with it, for as long as the database took to answer (up to the
/// statement deadline, 10 s by default), and a node with a slow database stalled all its bands.
pub fn a_start_waiting_on_the_database_holds_up_no_lookup(url: &str) {
    drop(Store::connect(url).unwrap()); // the schema, made directly
    let (link, linked) = through_link(url);
    let store = std::sync::Arc::new(Store::connect_within(&linked, Duration::from_secs(2)).unwrap());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let _in_rt = rt.enter();
    let hub = Hub::new(ServerConfig { store: Some(store), ..ServerConfig::default() }, HostClock::new());
    let running = hub.create_session("running").unwrap().info().id;

    link.partition();
    let starting = std::thread::spawn({
        let (hub, rt) = (hub.clone(), rt.handle().clone());
        move || {
            let _in_rt = rt.enter();
            hub.create_session("starting")
        }
    });
    // The start's first statement is out and held: it waits on the database from now on.
    while link.holding() == 0 {
        assert!(!starting.is_finished(), "the start ended before it wrote: {:?}", starting.join());
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(hub.get(&running).map(|h| h.info().id), Some(running.clone()), "a member's lookup");
    assert_eq!(hub.list().len(), 1, "a listing");
    assert!(!starting.is_finished(), "the lookups were answered while the start still waited");
    let refused = starting.join().unwrap();
    assert!(refused.is_err(), "a start whose rows were not written is refused: {:?}", refused.map(|h| h.info().id));
    assert!(hub.get(&running).is_some());
    assert_eq!(hub.list().len(), 1, "and not listed");
}

/// A take whose member gave up while it waited takes nothing for it, not even a lease it passed
/// over and would wait for alone: a node's load of a dead node's sessions, whose members were
/// sent back while the database did not answer. Here the member of `busy` gives up between the
/// take's batch and its own take of `busy` (the row a write holds): the take returns with
/// `spent` while the write still holds `busy`, and `busy` stays the other node's. Postgres, where
/// takes pass over the rows a write holds.
pub fn a_take_whose_member_gave_up_passes_over_its_lease(url: &str) {
    let (a, b, mut write) = crate::leases::a_write_holding_busy(url);
    let ttl = crate::leases::TTL;
    // Asked once for each session as the take starts, and again for each it passed over.
    let asked = std::sync::atomic::AtomicUsize::new(0);
    let gave_up = |s: &str| s == "busy" && asked.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= 1;
    std::thread::scope(|sc| {
        let taking = sc.spawn(|| b.take_leases_unless(&["busy", "spent"], "node-b", 14_000, ttl, &gave_up));
        // Within the server's limit on an idle transaction (10 s), which would free the row.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !taking.is_finished() {
            assert!(std::time::Instant::now() < deadline, "the take waits for a lease its member gave up");
            std::thread::sleep(Duration::from_millis(5));
        }
        let taken: Vec<String> = taking.join().unwrap().unwrap().into_keys().collect();
        assert_eq!(taken, ["spent"]);
    });
    assert_eq!(asked.load(std::sync::atomic::Ordering::Relaxed), 2, "asked as it started, and again for busy alone");
    write.batch("COMMIT").unwrap();
    assert_eq!(a.lease_holder("busy").unwrap().map(|(n, _)| n).as_deref(), Some("node-a"));
}

/// A link that can be partitioned ([`PartitionLink`]) to the database at `url`, and the URL
/// that goes through it.
fn through_link(url: &str) -> (PartitionLink, String) {
    let pg_addr: std::net::SocketAddr = url
        .split_once('@')
        .and_then(|(_, rest)| rest.split_once('/'))
        .and_then(|(addr, _)| addr.parse().ok())
        .expect("the database URL names 127.0.0.1:PORT");
    let link = PartitionLink::start(pg_addr);
    let linked = url.replacen(&pg_addr.to_string(), &link.addr.to_string(), 1);
    (link, linked)
}
