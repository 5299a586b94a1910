//! The local cluster, for `scripts/cluster.sh` and benchmarks: Postgres, N `bandsync serve` nodes
//! and HAProxy on loopback (`harness/cluster.rs`), an organizer token, and `cluster.json`
//! (`{"url":…,"token":…,"database":…,"nodes":N}`) in DIR. Runs until DIR/stop appears, then stops
//! everything and removes its files.
//!
//!   cluster DIR [NODES]

use bandsync_e2e::cluster::Cluster;
use std::path::PathBuf;
use std::time::Duration;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("usage: cluster DIR [NODES]"));
    let n: usize = args.next().map_or(3, |s| s.parse().expect("NODES is a number"));
    std::fs::create_dir_all(&dir).unwrap();
    let _ = std::fs::remove_file(dir.join("stop"));
    let c = Cluster::start(n);
    let token = c.token("local", 100_000);
    let info = serde_json::json!({
        "url": format!("http://{}", c.addr),
        "token": token,
        "database": c.database,
        "nodes": n,
    });
    std::fs::write(dir.join("cluster.json"), format!("{info}\n")).unwrap();
    println!("{info}");
    while !dir.join("stop").exists() {
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(c);
    let _ = std::fs::remove_file(dir.join("cluster.json"));
    let _ = std::fs::remove_file(dir.join("stop"));
}
