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

#![allow(unsafe_code)] // setrlimit: to raise the descriptor limit

use bandsync_server::store::Store;
use bandsync_server::{RunningServer, ServerConfig};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

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
}

const SCENARIOS: &[Scenario] = &[
    Scenario { name: "10x1", store: Stored::Memory, sessions: 1, members: 10, rate: 200.0, secs: 5.0 },
    Scenario { name: "100x1", store: Stored::Memory, sessions: 1, members: 100, rate: 500.0, secs: 5.0 },
    Scenario { name: "200x1", store: Stored::Memory, sessions: 1, members: 200, rate: 500.0, secs: 5.0 },
    Scenario { name: "200x1-paced", store: Stored::Memory, sessions: 1, members: 200, rate: 50.0, secs: 10.0 },
    Scenario { name: "500x1", store: Stored::Memory, sessions: 1, members: 500, rate: 200.0, secs: 5.0 },
    // Issue #14: what storing costs the fan-out (a tempo change is a change of what the session
    // carries, written before anyone hears of it), on SQLite and on Postgres.
    Scenario { name: "500x1-sqlite", store: Stored::Sqlite, sessions: 1, members: 500, rate: 200.0, secs: 5.0 },
    Scenario { name: "500x1-postgres", store: Stored::Postgres, sessions: 1, members: 500, rate: 200.0, secs: 5.0 },
    // The saturation ladder of issue #14: deliveries per server CPU-second as the load rises
    // towards what this machine can carry (the seeds' server saturates near 240k deliveries/s).
    Scenario { name: "500x1-r800", store: Stored::Memory, sessions: 1, members: 500, rate: 800.0, secs: 5.0 },
    Scenario { name: "500x1-r1600", store: Stored::Memory, sessions: 1, members: 500, rate: 1600.0, secs: 5.0 },
    Scenario { name: "500x1-r3200", store: Stored::Memory, sessions: 1, members: 500, rate: 3200.0, secs: 5.0 },
    Scenario { name: "5x1000", store: Stored::Memory, sessions: 1000, members: 5, rate: 20.0, secs: 5.0 },
    Scenario { name: "5x1000-r100", store: Stored::Memory, sessions: 1000, members: 5, rate: 100.0, secs: 5.0 },
    Scenario { name: "5x1000-r200", store: Stored::Memory, sessions: 1000, members: 5, rate: 200.0, secs: 5.0 },
    Scenario { name: "5x1000-sqlite", store: Stored::Sqlite, sessions: 1000, members: 5, rate: 20.0, secs: 5.0 },
    Scenario { name: "5x1000-postgres", store: Stored::Postgres, sessions: 1000, members: 5, rate: 20.0, secs: 5.0 },
];

fn main() {
    raise_fd_limit();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--members") {
        return members_main(&args[1..]);
    }
    let filter = args.iter().find(|a| !a.starts_with('-')).cloned();
    println!(
        "| scenario | members | offered deliveries/s | achieved deliveries/s | p50 | p99 | max | lost | server memory per connection | server CPU | deliveries per server CPU-second | Postgres's CPU | members' process's CPU |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
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
        "| {} | {} | {:.0} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms | {} | {:.1} KiB | {:.0} % | {:.0} k | {} | {:.0} % |",
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
    );
    eprintln!(
        "{}",
        json!({"scenario": sc.name, "result": result, "server_kib_per_connection": per_conn_kib, "server_cpu_secs": cpu})
    );
}

/// The member process: connects and joins everyone, waits for "go", runs the load, prints results.
fn members_main(args: &[String]) {
    let addr = args[0].clone();
    let members: usize = args[1].parse().unwrap();
    let rate: f64 = args[2].parse().unwrap();
    let secs: f64 = args[3].parse().unwrap();
    let ids: Vec<String> = args[4..].to_vec();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let start = Instant::now();
        let per_session = ((rate * secs) as usize).max(1);
        // Send times of each change, per session, in ns since `start` (0 = not sent).
        let sent: Arc<Vec<Vec<AtomicU64>>> =
            Arc::new(ids.iter().map(|_| (0..per_session).map(|_| AtomicU64::new(0)).collect()).collect());
        let mut leaders = Vec::new();
        let mut readers = Vec::new();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        for (si, pair) in ids.iter().enumerate() {
            let (id, secret) = pair.split_once(':').expect("ID:SECRET");
            for m in 0..members {
                let cfg = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(4096);
                let (mut ws, _) =
                    tokio_tungstenite::connect_async_with_config(format!("ws://{addr}/ws"), Some(cfg), true)
                        .await
                        .unwrap();
                let join = json!({"type": "join", "v": 2, "session": id, "name": format!("m{m}"), "leader": m == 0, "secret": secret});
                ws.send(Message::Text(join.to_string().into())).await.unwrap();
                loop {
                    if let Some(Ok(Message::Text(t))) = ws.next().await {
                        if t.as_str().starts_with(r#"{"type":"welcome""#) {
                            break;
                        }
                        assert!(!t.as_str().starts_with(r#"{"type":"error""#), "join refused: {t}");
                    }
                }
                let (tx, rx) = ws.split();
                if m == 0 {
                    leaders.push((si, tx));
                }
                readers.push(tokio::spawn(read_member(rx, si, sent.clone(), start, per_session, stop_rx.clone())));
            }
        }
        println!("joined");
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).unwrap();
        // Let join broadcasts settle before measuring.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let t0 = Instant::now();
        let mut senders = Vec::new();
        for (si, mut tx) in leaders {
            let sent = sent.clone();
            senders.push(tokio::spawn(async move {
                let period = Duration::from_secs_f64(1.0 / rate);
                // Spread sessions over the period so the load is even.
                tokio::time::sleep(period.mul_f64((si % 97) as f64 / 97.0)).await;
                let mut tick = tokio::time::interval(period);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                for seq in 0..per_session {
                    tick.tick().await;
                    let milli = 100_000 + seq as u64;
                    let m = format!(r#"{{"type":"tempo","tempo":{milli}}}"#);
                    sent[si][seq].store(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
                    tx.send(Message::Text(m.into())).await.unwrap();
                }
                tx
            }));
        }
        let mut keep = Vec::new();
        for s in senders {
            keep.push(s.await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let elapsed = t0.elapsed().as_secs_f64() - 0.5;
        let mut lat: Vec<u64> = Vec::new();
        stop_tx.send(true).unwrap();
        for r in readers {
            if let Ok(v) = r.await {
                lat.extend(v);
            }
        }
        drop(keep);
        let expected = ids.len() * members * per_session;
        let lost = expected.saturating_sub(lat.len());
        lat.sort_unstable();
        let q = |p: f64| lat.get(((lat.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0) as f64 / 1000.0;
        let r = json!({
            "deliveries": lat.len(),
            "deliveries_per_sec": lat.len() as f64 / elapsed,
            "p50_us": q(0.5),
            "p99_us": q(0.99),
            "max_us": q(1.0),
            "lost": lost,
        });
        println!("{r}");
    });
    rt.shutdown_background();
}

/// Reads one member's frames and returns the latency of every tempo change it saw, in ns.
async fn read_member(
    mut rx: futures_util::stream::SplitStream<
        tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    >,
    si: usize,
    sent: Arc<Vec<Vec<AtomicU64>>>,
    start: Instant,
    per_session: usize,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<u64> {
    let mut out = Vec::with_capacity(per_session);
    loop {
        let frame = tokio::select! {
            f = rx.next() => f,
            _ = stop.changed() => break,
        };
        if let Some(Ok(Message::Text(t))) = frame {
            let now = start.elapsed().as_nanos() as u64;
            let s = t.as_str();
            if !s.starts_with(r#"{"type":"transport""#) {
                continue;
            }
            // The newest change is the last segment; its tempo is 100 000 + sequence number.
            let Some(i) = s.rfind(r#""tempo":"#) else { continue };
            let digits: String = s[i + 8..].chars().take_while(char::is_ascii_digit).collect();
            let Ok(milli) = digits.parse::<u64>() else { continue };
            let Some(seq) = milli.checked_sub(100_000).map(|x| x as usize) else { continue };
            if let Some(t0) = sent[si].get(seq).map(|a| a.load(Ordering::Relaxed)).filter(|&t| t > 0) {
                out.push(now.saturating_sub(t0));
            }
        } else if frame.is_none() {
            break;
        }
    }
    out
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

fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 {
            r.rlim_cur = r.rlim_max.min(1 << 20);
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}
