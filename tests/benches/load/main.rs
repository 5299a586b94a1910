//! Load benchmark of the peer server: fan-out latency, deliveries per second and memory per
//! connection, with the members in a separate process (as separate devices would be).
//!
//! ```text
//! cargo bench -p bandsync-e2e --bench load            # every scenario
//! cargo bench -p bandsync-e2e --bench load -- 200x1   # scenarios whose name contains "200x1"
//! ```
//!
//! The server runs in this process on a 2-thread runtime. A child process (this same binary with
//! `--members`) opens every member connection, joins, and then each session's leader sends tempo
//! changes at a fixed rate; every member notes when each change reaches it. Sender and receivers
//! share one clock, so latency is exact. The per-connection rate limit is raised so that one
//! leader can offer the load, and the per-address limits so that one process can hold every
//! member; everything else is the default configuration. The server's CPU is this process's
//! (its runtime's threads; the main thread only waits on the member process's pipe), over the
//! load: deliveries per server CPU-second is the fan-out efficiency of issue #14.

mod members;

use bandsync_server::store::Store;
use bandsync_server::{RunningServer, ServerConfig};
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the server stores the sessions: nowhere (as in memory), SQLite (`bandsync host`'s
/// default) or a Postgres the bench starts (`bandsync serve --database`).
#[derive(Clone, Copy, PartialEq)]
enum Stored {
    Memory,
    Sqlite,
    Postgres,
}

struct Scenario {
    name: &'static str,
    store: Stored,
    sessions: usize,
    members: usize,
    /// Tempo changes per second, per session.
    rate: f64,
    secs: f64,
    /// Every member also pings for clock sync this often (ms), as a member does once warmed up
    /// (`ClockConfig::steady_interval`, 50 ms); 0 for none.
    ping_ms: u64,
}

const SCENARIOS: &[Scenario] = &[
    at("10x1", Stored::Memory, 1, 10, 200.0, 5.0),
    at("100x1", Stored::Memory, 1, 100, 500.0, 5.0),
    at("200x1", Stored::Memory, 1, 200, 500.0, 5.0),
    at("200x1-paced", Stored::Memory, 1, 200, 50.0, 10.0),
    at("500x1", Stored::Memory, 1, 500, 200.0, 5.0),
    // Issue #14: what storing costs the fan-out (a tempo change is a change of what the session
    // carries, written before anyone hears of it), on SQLite and on Postgres.
    at("500x1-sqlite", Stored::Sqlite, 1, 500, 200.0, 5.0),
    at("500x1-postgres", Stored::Postgres, 1, 500, 200.0, 5.0),
    // The saturation ladder of issue #14: deliveries per server CPU-second as the load rises
    // towards what this machine can carry (the seeds' server saturates near 240k deliveries/s).
    at("500x1-r800", Stored::Memory, 1, 500, 800.0, 5.0),
    at("500x1-r1600", Stored::Memory, 1, 500, 1600.0, 5.0),
    at("500x1-r3200", Stored::Memory, 1, 500, 3200.0, 5.0),
    at("5x1000", Stored::Memory, 1000, 5, 20.0, 5.0),
    at("5x1000-r100", Stored::Memory, 1000, 5, 100.0, 5.0),
    at("5x1000-r200", Stored::Memory, 1000, 5, 200.0, 5.0),
    at("5x1000-sqlite", Stored::Sqlite, 1000, 5, 20.0, 5.0),
    at("5x1000-postgres", Stored::Postgres, 1000, 5, 20.0, 5.0),
    // A band's load as members make it: a tempo change every 2 s, and every member's clock sync
    // (a ping every 50 ms, answered by the server's connection task). What a member costs a node.
    Scenario { ping_ms: 50, ..at("5x1000-band", Stored::Memory, 1000, 5, 0.5, 10.0) },
    Scenario { ping_ms: 50, ..at("5x1000-band-postgres", Stored::Postgres, 1000, 5, 0.5, 10.0) },
    // The same band on a node that asks for a ping every 200 ms (`serve --clock-ping-ms 200`).
    Scenario { ping_ms: 200, ..at("5x1000-band-p200", Stored::Memory, 1000, 5, 0.5, 10.0) },
];

/// A scenario without clock-sync pings.
const fn at(name: &'static str, store: Stored, sessions: usize, members: usize, rate: f64, secs: f64) -> Scenario {
    Scenario { name, store, sessions, members, rate, secs, ping_ms: 0 }
}

fn main() {
    raise_fd_limit();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--members") {
        return members::main(&args[1..]);
    }
    let filter = args.iter().find(|a| !a.starts_with('-')).cloned();
    println!(
        "| scenario | members | offered deliveries/s | achieved deliveries/s | p50 | p99 | max | lost | server memory per connection | server CPU | deliveries per server CPU-second | Postgres's CPU | members' process's CPU | pongs/s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for sc in SCENARIOS.iter().filter(|s| filter.as_ref().is_none_or(|f| s.name.contains(f.as_str()))) {
        run_scenario(sc);
    }
}

fn run_scenario(sc: &Scenario) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = std::env::temp_dir().join(format!("bandsync-load-{}-{}", std::process::id(), sc.name));
    let _ = std::fs::remove_dir_all(&dir);
    let pg = (sc.store == Stored::Postgres).then(bandsync_e2e::postgres::PgServer::start);
    let store = match (sc.store, &pg) {
        (Stored::Memory, _) => None,
        (Stored::Sqlite, _) => Some(Store::open(&dir).unwrap()),
        (Stored::Postgres, pg) => Some(Store::connect(&pg.as_ref().unwrap().database("load")).unwrap()),
    };
    let cfg = ServerConfig {
        store: store.map(Arc::new),
        rate_burst: 10_000,
        rate_per_sec: 10_000,
        max_connections: 20_000,
        max_sessions: 5_000,
        // Every member of the bench connects from 127.0.0.1, which the per-address limits exist
        // to stop (issue #9); they would refuse the 65th connection.
        address_max_connections: 20_000,
        address_rate_burst: 1_000_000,
        address_rate_per_sec: 1_000_000,
        ..ServerConfig::default()
    };
    let (server, ids) = rt.block_on(async {
        let server = RunningServer::start("127.0.0.1:0".parse().unwrap(), cfg).await.unwrap();
        let ids: Vec<String> =
            // Each session as `ID:SECRET`: members join with the secret, as a join link gives it.
            (0..sc.sessions)
                .map(|i| {
                    let h = server.hub.create_session(&format!("s{i}")).unwrap();
                    format!("{}:{}", h.info().id, h.first_secret().expose())
                })
                .collect();
        (server, ids)
    });
    let rss_before = rss_kib();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--members")
        .arg(server.addr.to_string())
        .arg(sc.members.to_string())
        .arg(sc.rate.to_string())
        .arg(sc.secs.to_string())
        .arg(sc.ping_ms.to_string())
        .args(&ids)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = out.next().unwrap().unwrap();
    assert_eq!(ready, "joined", "the member process joins first");
    std::thread::sleep(Duration::from_millis(500));
    let rss_after = rss_kib();
    let conns = sc.sessions * sc.members;
    let per_conn_kib = (rss_after.saturating_sub(rss_before)) as f64 / conns as f64;
    let pg_cpu = || pg.as_ref().map_or(0.0, bandsync_e2e::postgres::PgServer::cpu_secs);
    // The member process shares the two cores: past what it can drive, the load is its limit.
    let stat = std::path::PathBuf::from(format!("/proc/{}/stat", child.id()));
    let driver_cpu =
        || bandsync_e2e::process::proc_stat(&stat).map_or(0.0, |(_, f)| bandsync_e2e::process::stat_cpu_secs(&f));
    let (cpu_before, pg_before, driver_before, wall) = (cpu_secs(), pg_cpu(), driver_cpu(), Instant::now());
    writeln!(child.stdin.as_mut().unwrap(), "go").unwrap();
    let result: serde_json::Value = serde_json::from_str(&out.next().unwrap().unwrap()).unwrap();
    // This process is the server (its runtime's threads) and a main thread blocked on the pipe.
    let cpu = cpu_secs() - cpu_before;
    let busy = cpu / wall.elapsed().as_secs_f64();
    let pg_busy = pg.as_ref().map(|_| (pg_cpu() - pg_before) / wall.elapsed().as_secs_f64());
    let driver_busy = (driver_cpu() - driver_before) / wall.elapsed().as_secs_f64();
    let per_cpu_sec = result["deliveries"].as_f64().unwrap() / cpu;
    child.wait().unwrap();
    rt.block_on(server.shutdown()).unwrap();
    drop(pg);
    let _ = std::fs::remove_dir_all(&dir);
    let offered = sc.rate * sc.sessions as f64 * sc.members as f64;
    println!(
        "| {} | {} | {:.0} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms | {} | {:.1} KiB | {:.0} % | {:.0} k | {} | {:.0} % | {:.0} |",
        sc.name,
        conns,
        offered,
        result["deliveries_per_sec"].as_f64().unwrap(),
        result["p50_us"].as_f64().unwrap() / 1000.0,
        result["p99_us"].as_f64().unwrap() / 1000.0,
        result["max_us"].as_f64().unwrap() / 1000.0,
        result["lost"],
        per_conn_kib,
        busy * 100.0,
        per_cpu_sec / 1000.0,
        pg_busy.map_or("—".to_owned(), |b| format!("{:.0} %", b * 100.0)),
        driver_busy * 100.0,
        result["pongs_per_sec"].as_f64().unwrap(),
    );
    eprintln!(
        "{}",
        json!({"scenario": sc.name, "result": result, "server_kib_per_connection": per_conn_kib, "server_cpu_secs": cpu})
    );
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
        })
        .unwrap_or(0)
}

/// CPU time (user and system) this process has used, in seconds.
fn cpu_secs() -> f64 {
    let stat = bandsync_e2e::process::proc_stat(std::path::Path::new("/proc/self/stat"));
    stat.map_or(0.0, |(_, f)| bandsync_e2e::process::stat_cpu_secs(&f))
}

/// Room for every scenario's connections (the server's and the members' ends both).
fn raise_fd_limit() {
    let _ = bandsync_server::descriptors::raise_for(100_000);
}
