//! On a node of a cluster, a join for a session the node does not hold (it left between the
//! upgrade and the join: its lease lost or handed over under load). The node places it again
//! (here it waits out a dead node's lease, and takes the session); while that cannot be done (the
//! node is draining), the member is told to reconnect; only a session no node has is refused as
//! unknown, which a member takes as final. Seen in the cluster bench at 5 500 members: 21-46
//! members a kill refused for good (`docs/BENCHMARKS.md`, "The cluster under load").

use bandsync_e2e::raw::Raw;
use bandsync_server::config::NodeConfig;
use bandsync_server::store::Store;
use bandsync_server::{HostClock, Hub, RunningServer, ServerConfig};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn node(name: &str, store: &Arc<Store>, lease_ttl: Duration) -> ServerConfig {
    let node = NodeConfig { name: name.into(), lease_ttl };
    ServerConfig { store: Some(store.clone()), node: Some(node), ..ServerConfig::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_for_a_session_this_node_does_not_hold_is_placed_again_not_refused() {
    let dir = std::env::temp_dir().join(format!("bandsync-moved-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Arc::new(Store::open(&dir).unwrap());
    // Node a holds the session, and dies: its leases of 400 ms run out, as nothing renews them.
    let a = Hub::new(node("a", &store, Duration::from_millis(400)), HostClock::new());
    let held = a.create_session("Band").unwrap();
    let (id, secret) = (held.info().id.to_string(), held.first_secret().expose().to_owned());
    // b's leases outlast the test, however loaded the machine.
    let b =
        RunningServer::start("127.0.0.1:0".parse().unwrap(), node("b", &store, Duration::from_secs(60))).await.unwrap();
    // b is alive, as `bandsync serve` runs it: its renewals (of no lease) tell it the database
    // answers.
    let renewing = tokio::spawn(b.hub.clone().keep_leases());

    // The upgrade names no session (so nothing placed it), as when it left after the upgrade:
    // b waits out a's lease, takes the session, and the member joins on this connection.
    let mut m = Raw::connect(b.addr).await;
    m.secret = Some(secret.clone());
    let welcome = m.join(&id, "Ana", false, None).await;
    assert_eq!(welcome["snapshot"]["name"], "Band", "{welcome}");

    // A session no node has is refused as unknown.
    let mut m = Raw::connect(b.addr).await;
    m.send(json!({"type": "join", "v": 3, "session": "nosuchband", "name": "Ana"})).await;
    assert_eq!(m.recv_error().await, "unknown_session");

    // b drains (hands the session over) and places nothing more: the proxy's check is told to
    // take it out, and the member to reconnect, not refused as unknown.
    assert_eq!(bandsync_e2e::http_get(b.addr, "/healthz").await.0, 200);
    let draining = b.hub.clone();
    tokio::task::spawn_blocking(move || draining.drain()).await.unwrap();
    let (status, health) = bandsync_e2e::http_get(b.addr, "/healthz").await;
    assert_eq!((status, health["status"].as_str()), (503, Some("draining")), "{health}");
    let mut m = Raw::connect(b.addr).await;
    m.send(json!({"type": "join", "v": 3, "session": id, "name": "Ben", "secret": secret})).await;
    let closed = m.recv_close().await;
    assert_eq!(closed, Some((1001, "the session is moving; reconnect".to_owned())), "not refused as unknown");
    renewing.abort();
    b.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
