//! An honest member's round trip through the session task, before and during each hostile case
//! of issue #12 (its target: within 2× the baseline through every case). The hostile tests
//! (`tests/e2e/hostile/`) check each case's outcome, and hold this figure only loosely: they run
//! beside the rest of their binary. Here one case runs at a time, on the server alone.
//!
//! ```text
//! cargo bench -p bandsync-e2e --bench hostile            # every case, 5 runs each
//! cargo bench -p bandsync-e2e --bench hostile -- flood   # cases whose name contains "flood"
//! ```
//!
//! Each run starts a server (the default configuration, on a 2-thread runtime) with one session,
//! takes 20 probes to warm up and then 100 probes 20 ms apart (an HTTP request the session task answers: `hostile::probe`), then
//! starts the attack and probes while it runs (4 s). The attacker is a child process (this binary
//! with `--attack CASE ADDR SESSION SECRET`), connecting from other loopback addresses, as another
//! machine would: its sockets, its kernel time and its runtime are not the server's. It shares the
//! machine's two cores, though, so the figure is an upper bound on what the server alone costs the
//! honest member. Printed per run: p50 and p99 before and during, and the ratio of the p99s; per
//! case, the median ratio.

use bandsync_docs::SessionDoc;
use bandsync_e2e::hostile::{AttackedSession, amplifying_frames, binary, ip, member_from, p99, probe, stalled_member};
use bandsync_e2e::{Raw, TestServer};
use bandsync_server::ServerConfig;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

const RUNS: usize = 5;
const GAP: Duration = Duration::from_millis(20);
const ATTACK: Duration = Duration::from_secs(4);

/// Sync step 1 and awareness frames that claim millions of clients, every 11 ms.
async fn amplification(ts: &AttackedSession) -> u64 {
    let until = start();
    let mut evil = member_from(ts.clone(), "127.0.0.2", "Mallory", false).await;
    let (step1, aw) = amplifying_frames();
    let mut tick = tokio::time::interval(Duration::from_millis(11));
    let mut sent = 0;
    while Instant::now() < until {
        tick.tick().await;
        if !binary(&mut evil, if sent % 2 == 0 { step1.clone() } else { aw.clone() }).await {
            break;
        }
        let _ = evil.recv_type("error").await;
        sent += 1;
    }
    sent
}

/// Connections from one address that each send 250 heartbeats as fast as they can, one after
/// another (reconnecting to start its rate limit afresh).
async fn reconnect_flood(ts: &AttackedSession) -> u64 {
    let until = start();
    let mut answered = 0;
    while Instant::now() < until {
        let mut r = Raw::connect_from(ts.addr, ip("127.0.0.3"), None).await;
        for n in 0..250 {
            let m = Message::Text(json!({"type": "heartbeat", "n": n}).to_string().into());
            if r.ws.send(m).await.is_err() {
                break;
            }
        }
        for _ in 0..250 {
            match tokio::time::timeout(Duration::from_secs(2), r.recv()).await {
                Ok(Some(m)) if m["type"] == "heartbeat" => answered += 1,
                Ok(Some(_)) => {}
                _ => break,
            }
        }
    }
    answered
}

/// As many idle sockets as one address may hold, and more, kept open.
async fn hoarded_sockets(ts: &AttackedSession) -> u64 {
    let until = start();
    let mut held = Vec::new();
    for _ in 0..=ServerConfig::default().address_max_connections {
        let s = tokio::net::TcpSocket::new_v4().expect("socket");
        s.bind((ip("127.0.0.4"), 0).into()).expect("bind");
        if let Ok(c) = s.connect(ts.addr).await {
            held.push(c);
        }
    }
    tokio::time::sleep_until(until.into()).await;
    held.len() as u64
}

/// 60 KiB chart updates as fast as the limits let an editor send them, until the document is full.
async fn big_updates(ts: &AttackedSession) -> u64 {
    let until = start();
    let mut ed = member_from(ts.clone(), "127.0.0.2", "Filler", false).await;
    let local = SessionDoc::new();
    let chunk = "x".repeat(60 * 1024);
    let mut sent = 0;
    while Instant::now() < until && sent < 200 {
        if !binary(&mut ed, local.insert_chart(&format!("big{sent}"), 0, &chunk)).await {
            break;
        }
        sent += 1;
        tokio::task::yield_now().await;
    }
    tokio::time::sleep_until(until.into()).await;
    sent
}

/// A document filled to 6 MiB (100 charts of 60 KiB, before the attack), then small edits as
/// fast as two editors' limits let them: every 500 the host folds its stored log into a snapshot
/// of the whole document. Run against a host with a store (SQLite), as `bandsync host` runs.
async fn edits_on_a_full_document(ts: &AttackedSession) -> u64 {
    let mut filler = member_from(ts.clone(), "127.0.0.2", "Filler", false).await;
    let local = SessionDoc::new();
    let chunk = "x".repeat(60 * 1024);
    for i in 0..100 {
        assert!(binary(&mut filler, local.insert_chart(&format!("big{i}"), 0, &chunk)).await);
    }
    // Stored: a heartbeat is answered by the connection, so wait for the relay of the last chart
    // to a second member instead.
    let mut watcher = member_from(ts.clone(), "127.0.0.3", "Watcher", false).await;
    let doc = SessionDoc::new();
    assert!(binary(&mut watcher, doc.sync_step1()).await);
    while doc.chart("big99").is_none() {
        let frame = tokio::time::timeout(Duration::from_secs(30), watcher.ws.next()).await;
        match frame.expect("the filled document in 30 s") {
            Some(Ok(Message::Binary(b))) => {
                for back in doc.handle_from_server(&b).expect("frames from the host") {
                    assert!(binary(&mut watcher, back).await);
                }
            }
            Some(Ok(_)) => {}
            other => panic!("the watcher's connection ended: {other:?}"),
        }
    }
    let until = start();
    let editors = ["127.0.0.4", "127.0.0.5"].map(|src| {
        let ts = ts.clone();
        tokio::spawn(async move {
            let mut ed = member_from(ts, src, "Typist", false).await;
            let mine = SessionDoc::new();
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            let mut sent = 0;
            while Instant::now() < until {
                tick.tick().await;
                if !binary(&mut ed, mine.insert_chart(&format!("notes {src}"), 0, "a")).await {
                    break;
                }
                sent += 1;
            }
            sent
        })
    });
    let mut sent = 0;
    for e in editors {
        sent += e.await.expect("an editor");
    }
    drop((filler, watcher));
    sent
}

/// A member that stops reading (a 4 KiB receive window), while an editor sends the session
/// 6.6 MB: the server's writes to it back up until its write deadline.
async fn stalled_reader(ts: &AttackedSession) -> u64 {
    let until = start();
    let held = stalled_member(ts.clone()).await;
    tokio::time::sleep_until(until.into()).await;
    drop(held);
    110
}

type Attack = for<'a> fn(&'a AttackedSession) -> std::pin::Pin<Box<dyn Future<Output = u64> + 'a>>;

macro_rules! case {
    ($name:literal, $f:ident) => {
        ($name, (|ts| Box::pin($f(ts))) as Attack)
    };
}

/// The attack starts now (after its setting up, if any): the bench probes from here until the
/// attacker exits. Returns when to stop.
fn start() -> Instant {
    println!("attacking");
    Instant::now() + ATTACK
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn probes(ts: &TestServer, at_least: usize, mut until: impl FnMut() -> bool) -> Vec<Duration> {
    let mut v = Vec::new();
    while v.len() < at_least || !until() {
        v.push(probe(ts).await);
        tokio::time::sleep(GAP).await;
    }
    v
}

fn run(rt: &tokio::runtime::Runtime, name: &str) -> f64 {
    let dir = std::env::temp_dir().join(format!("bandsync-hostile-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = (name == "edits_on_a_full_document")
        .then(|| std::sync::Arc::new(bandsync_server::store::Store::open(&dir).expect("a store")));
    let ts = rt.block_on(TestServer::start(ServerConfig { store, ..ServerConfig::default() }));
    // Warm the server's connections and the probe's own path first.
    rt.block_on(probes(&ts, 20, || true));
    let before = rt.block_on(probes(&ts, 100, || true));
    let mut child = Command::new(std::env::current_exe().expect("this binary"))
        .args(["--attack", name, &ts.addr().to_string(), &ts.session, &ts.secret])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the attacker starts");
    let mut out = BufReader::new(child.stdout.take().expect("stdout")).lines();
    assert_eq!(out.next().and_then(Result::ok).as_deref(), Some("attacking"));
    let during = rt.block_on(probes(&ts, 0, || child.try_wait().expect("the attacker").is_some()));
    let done = out.next().and_then(Result::ok).unwrap_or_default();
    eprintln!("  {name}: the attack did {done} things");
    rt.block_on(ts.server.shutdown()).expect("the server stops");
    let _ = std::fs::remove_dir_all(&dir);
    let p50 = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (b50, b99, d50, d99) = (p50(before.clone()), p99(before), p50(during.clone()), p99(during.clone()));
    let ratio = ms(d99) / ms(b99);
    println!(
        "{name}: before p50 {:.3} ms p99 {:.3} ms; during ({} probes) p50 {:.3} ms p99 {:.3} ms; p99 ratio {ratio:.2}",
        ms(b50),
        ms(b99),
        during.len(),
        ms(d50),
        ms(d99)
    );
    ratio
}

/// The attacking process: `--attack CASE ADDR SESSION SECRET`. Sets up, says `attacking`,
/// attacks for `ATTACK`, then prints what it did and exits.
fn attacker(args: &[String], cases: &[(&str, Attack)]) {
    let [name, addr, session, secret] = args else { panic!("--attack CASE ADDR SESSION SECRET") };
    let attack = cases.iter().find(|(n, _)| n == name).expect("a case of this bench").1;
    let target =
        AttackedSession { addr: addr.parse().expect("an address"), session: session.clone(), secret: secret.clone() };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let done = rt.block_on(attack(&target));
    println!("{done}");
}

fn main() {
    let cases = [
        case!("amplification", amplification),
        case!("reconnect_flood", reconnect_flood),
        case!("hoarded_sockets", hoarded_sockets),
        case!("big_updates", big_updates),
        case!("stalled_reader", stalled_reader),
        case!("edits_on_a_full_document", edits_on_a_full_document),
    ];
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--attack") {
        return attacker(&args[1..], &cases);
    }
    let filter: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    for (name, _) in cases {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let mut ratios: Vec<f64> = (0..RUNS).map(|_| run(&rt, name)).collect();
        ratios.sort_by(f64::total_cmp);
        println!(
            "{name}: median p99 ratio {:.2} over {RUNS} runs (range {:.2}..{:.2})",
            ratios[RUNS / 2],
            ratios[0],
            ratios[RUNS - 1]
        );
    }
}
