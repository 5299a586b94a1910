//! On a node of a cluster, a join for a session the node does not hold (it left between the
//! upgrade and the join: its lease lost or handed over under load). The node places it again;
//! while that cannot be done, the member is told to reconnect; only a session no node has is
//! refused as unknown, which a member takes as final. Seen in the cluster bench at 5 500 members:
//! 21-46 members a kill refused for good (`docs/BENCHMARKS.md`, "The cluster under load").

use bandsync_e2e::raw::Raw;
use bandsync_server::config::NodeConfig;
use bandsync_server::store::Store;
use bandsync_server::{HostClock, Hub, RunningServer, ServerConfig};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn node(name: &str, store: &Arc<Store>) -> ServerConfig {
    // Leases of 400 ms that nothing renews: node a's run out as a dead node's would.
    let node = NodeConfig { name: name.into(), lease_ttl: Duration::from_millis(400) };
    ServerConfig { store: Some(store.clone()), node: Some(node), ..ServerConfig::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_for_a_session_this_node_does_not_hold_is_placed_again_not_refused() {
    let dir = std::env::temp_dir().join(format!("bandsync-moved-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Arc::new(Store::open(&dir).unwrap());
    // Node a holds the session, and dies (nothing renews its lease).
    let a = Hub::new(node("a", &store), HostClock::new());
    let held = a.create_session("Band").unwrap();
    let (id, secret) = (held.info().id.to_string(), held.first_secret().expose().to_owned());
    let b = RunningServer::start("127.0.0.1:0".parse().unwrap(), node("b", &store)).await.unwrap();
    // b is alive, as `bandsync serve` runs it: its renewals (of no lease) tell it the database
    // answers.
    let renewing = tokio::spawn(b.hub.clone().keep_leases());
    let join = json!({"type": "join", "v": 3, "session": id, "name": "Ana", "secret": secret});

    // The upgrade names no session (so nothing placed it), as when it left after the upgrade:
    // b waits out a's lease, and sends the member back through the proxy, as at an upgrade.
    let mut m = Raw::connect(b.addr).await;
    m.send(join.clone()).await;
    let closed = m.recv_close().await;
    assert_eq!(closed, Some((1001, "the session is moving; reconnect".to_owned())), "not refused as unknown");

    // The member's reconnect: the lease ran out, b takes the session, and the member joins.
    let mut m = Raw::connect(b.addr).await;
    m.secret = Some(secret);
    let welcome = m.join(&id, "Ana", false, None).await;
    assert_eq!(welcome["snapshot"]["name"], "Band", "{welcome}");

    // A session no node has is refused as unknown.
    let mut m = Raw::connect(b.addr).await;
    m.send(json!({"type": "join", "v": 3, "session": "nosuchband", "name": "Ana"})).await;
    assert_eq!(m.recv_error().await, "unknown_session");
    renewing.abort();
    b.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
