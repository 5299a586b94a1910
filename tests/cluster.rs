//! `bandsync serve` on three nodes sharing one Postgres behind HAProxy (the local cluster of
//! `harness/cluster.rs`): a session made through the proxy, a leader and a follower joined through
//! it, then the owner node killed (-9): the session resumes on another node within 5 s, with its
//! acknowledged chart edit, and no participant twice. Then the new owner is drained (SIGTERM) and
//! hands the session to the last node.

use bandsync_e2e::cluster::Cluster;
use bandsync_e2e::process::{Proc, http, run};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn online(v: &Value) -> Vec<String> {
    v["participants"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter(|p| p["connection"] == "online")
                .map(|p| p["name"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until both members are joined again after their node went away; how long that took.
fn rejoined(members: &mut [&mut Proc], since: Instant) -> Duration {
    for m in members.iter_mut() {
        m.timeout = Duration::from_secs(20);
        m.wait_for("joined again", |v| v["event"] == "joined");
    }
    since.elapsed()
}

#[test]
fn a_dead_nodes_session_resumes_on_another_within_5_s_and_a_drained_one_hands_over() {
    let mut c = Cluster::start(3);
    let token = c.token("school", 10);
    let (code, made) = http(&c.addr, "POST", "/api/sessions", Some(&token), Some(&json!({"name": "Big band"})));
    assert_eq!(code, 201, "{made}");
    let id = made["id"].as_str().unwrap().to_owned();
    let join = made["join_link"].as_str().unwrap().to_owned();
    let lead = made["leader_link"].as_str().unwrap().to_owned();
    assert!(join.starts_with(&format!("http://{}/s/{id}#k=", c.addr)), "links through the proxy: {join}");

    let mut leader = Proc::bandsync(&["join", "--no-audio", &lead, "--name", "Lead", "--json"]);
    leader.event("joined");
    let mut follower = Proc::bandsync(&["join", "--no-audio", &join, "--name", "Fol", "--json"]);
    follower.event("joined");
    leader.wait_for("both online", |v| v["event"] == "participants" && online(v).len() == 2);
    // An edit acknowledged before the crash.
    let (code, out) = run(&["chart", "set", &join, "Blue Bossa"], "{title: Blue Bossa}\n[Cm7]Sunny side\n");
    assert_eq!(code, 0, "{out}");
    let owner = c.owner(&id).expect("the session has an owner");

    let t0 = Instant::now();
    c.kill9(owner);
    let failover = rejoined(&mut [&mut leader, &mut follower], t0);
    let moved = c.owner(&id).expect("owned again");
    eprintln!("CLUSTER {}", json!({"failover_ms": failover.as_millis(), "from": owner, "to": moved}));
    assert_ne!(moved, owner);
    assert!(failover <= Duration::from_secs(5), "failover took {failover:?}");
    let (code, chart) = run(&["chart", "get", &join, "Blue Bossa"], "");
    assert_eq!(code, 0, "{chart}");
    assert!(chart.contains("[Cm7]Sunny side"), "the acknowledged edit survived: {chart}");
    // Each member once: the list the new owner keeps has the two of them, nobody twice.
    let v = leader.wait_for("both back", |v| v["event"] == "participants" && online(v).len() == 2);
    let mut names = online(&v);
    names.sort();
    assert_eq!(names, ["Fol", "Lead"], "{v}");
    assert_eq!(v["participants"].as_array().unwrap().len(), 2, "no duplicates: {v}");

    // Draining the new owner hands the session over without waiting for a lease to expire.
    let t1 = Instant::now();
    c.drain(moved);
    let handover = rejoined(&mut [&mut leader, &mut follower], t1);
    let last = c.owner(&id).expect("owned by the last node");
    eprintln!("CLUSTER {}", json!({"handover_ms": handover.as_millis(), "to": last}));
    assert!(last != moved && last != owner);
    let (code, chart) = run(&["chart", "get", &join, "Blue Bossa"], "");
    assert!(code == 0 && chart.contains("Sunny side"), "{chart}");
}
