//! A session that starts while the database does not answer holds up nobody else: the lookups
//! every member's join and every listing make go on while the start waits.

use bandsync_e2e::partition::PartitionLink;
use bandsync_server::store::Store;
use bandsync_server::{HostClock, Hub, ServerConfig};
use std::time::Duration;

/// Before, the start held the sessions' lock across the store's writes and reads: every lookup
/// on the async workers waited with it, for as long as the database took to answer (up to the
/// statement deadline, 10 s by default), and a node with a slow database stalled all its bands.
pub fn a_start_waiting_on_the_database_holds_up_no_lookup(url: &str) {
    let pg_addr: std::net::SocketAddr = url
        .split_once('@')
        .and_then(|(_, rest)| rest.split_once('/'))
        .and_then(|(addr, _)| addr.parse().ok())
        .expect("the database URL names 127.0.0.1:PORT");
    drop(Store::connect(url).unwrap()); // the schema, made directly
    let link = PartitionLink::start(pg_addr);
    let linked = url.replacen(&pg_addr.to_string(), &link.addr.to_string(), 1);
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
        std::thread::yield_now();
    }
    assert_eq!(hub.get(&running).map(|h| h.info().id), Some(running.clone()), "a member's lookup");
    assert_eq!(hub.list().len(), 1, "a listing");
    assert!(!starting.is_finished(), "the lookups were answered while the start still waited");
    let refused = starting.join().unwrap();
    assert!(refused.is_err(), "a start whose rows were not written is refused: {:?}", refused.map(|h| h.info().id));
    assert!(hub.get(&running).is_some());
    assert_eq!(hub.list().len(), 1, "and not listed");
}
