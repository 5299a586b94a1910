//! The soak and chaos run. MEMBERS members on one `bandsync host` (a real process, with a data
//! directory) for MINUTES; each member connects through its own impairing relay, from its own
//! loopback address, as phones on their own would. The relays jitter every chunk and now and then
//! hold one for 200 ms (a TCP retransmission); members edit their own chart, sleep (the relay stops
//! reading: a locked phone with a full TCP window), drop (the relay cuts the connection) and come
//! back. The host is killed with -9 and restarted twice. Then it reports:
//!
//! - clicks kept: the spread of the members' host-clock estimates (what every click is scheduled
//!   from), sampled every 200 ms, in all and while the host was down;
//! - acknowledged edits lost (an edit is acknowledged once the member got the host's sync step 2
//!   answering a step 1 sent after it): must be 0;
//! - silent divergences: each member's replica, once the host's state is merged into it, must read
//!   as the host's (a replica holding what the host lacks, or a frame from the host that did not
//!   apply, is one): must be 0;
//! - panics in the host, over all its lives (its stderr): must be 0;
//! - duplicate participants: must be 0;
//! - the host's RSS growth over its last life;
//! - how long the host took to exit on SIGTERM.
//!
//! `cargo test -p bandsync-e2e --test soak` runs the smoke version (8 members, 40 s); every run of
//! `scripts/test.sh` runs it, beside its last gates (it is `test = false`, out of `cargo test`'s
//! default set); `bash scripts/soak.sh` runs the long one (50 members, 10 minutes, release).
//! Arguments: `--minutes F --members N`.

use bandsync_client::{Client, ClientOptions};
use bandsync_core::member::{JoinTarget, MemberEvent};
use bandsync_docs::SessionDoc;
use bandsync_e2e::chaos::MemberRelay;
use bandsync_e2e::http_get;
use bandsync_e2e::process::{Proc, signal};
use bandsync_sim::rng::Rng;
use bandsync_sim::stats::quantile;
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct EditTally {
    made: u64,
    acked: u64,
    /// Frames from the host that did not apply to this member's replica.
    unapplied: u64,
}

struct Args {
    minutes: f64,
    members: usize,
}

fn args() -> Args {
    let mut a = Args { minutes: 40.0 / 60.0, members: 8 };
    let v: Vec<String> = std::env::args().collect();
    for w in v.windows(2) {
        match w[0].as_str() {
            "--minutes" => a.minutes = w[1].parse().expect("--minutes F"),
            "--members" => a.members = w[1].parse().expect("--members N"),
            _ => {}
        }
    }
    a
}

fn host(port: u16, dir: &std::path::Path) -> (Proc, serde_json::Value) {
    let bind = format!("127.0.0.1:{port}");
    let d = dir.to_str().unwrap();
    let args = ["host", "--bind", &bind, "--name", "Soak", "--no-mdns", "--json", "--data-dir", d];
    let mut h = Proc::bandsync_env(&args, &[], true);
    let ev = h.wait_for("hosting", |v| v["event"] == "hosting");
    (h, ev)
}

/// The panics a finished host life printed (the default hook's line, caught or not).
fn panics_in(h: &mut Proc) -> Vec<String> {
    h.stderr().lines().filter(|l| l.contains("panicked at")).map(str::to_owned).collect()
}

fn rss_kb(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[allow(clippy::too_many_lines)]
async fn member(
    i: usize,
    mut client: Client,
    tally: Arc<Mutex<EditTally>>,
    relay: Arc<MemberRelay>,
    stop: Arc<AtomicBool>,
    t0: Instant,
    chaos: bool,
) -> SessionDoc {
    let doc = SessionDoc::new();
    let chart = format!("m{i}");
    let mut rng = Rng::new(i as u64 + 1);
    // Step 1s sent on this connection, each with the edits made before it (None: the opening one).
    let mut pending: VecDeque<Option<u64>> = VecDeque::new();
    let mut synced = false;
    let mut edit = tokio::time::interval(Duration::from_millis(1500 + rng.below(1000)));
    let mut ack = tokio::time::interval(Duration::from_millis(1000));
    let mut chaos_tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            ev = client.next_event() => match ev {
                None => break,
                Some(MemberEvent::Joined { .. }) => {
                    synced = false;
                    pending.clear();
                    pending.push_back(None);
                    client.send_doc(doc.sync_step1());
                }
                Some(MemberEvent::Doc { bytes }) => {
                    let step2 = bytes.starts_with(&[0, 1]);
                    let step1 = bytes.starts_with(&[0, 0]);
                    match doc.handle_from_server(&bytes) {
                        Ok(replies) => replies.into_iter().for_each(|r| client.send_doc(r)),
                        Err(e) => {
                            eprintln!("member {i}: a frame from the host did not apply: {e}");
                            tally.lock().unwrap().unapplied += 1;
                        }
                    }
                    if step1 {
                        synced = true;
                    }
                    if step2 {
                        if let Some(Some(upto)) = pending.pop_front() {
                            let mut t = tally.lock().unwrap();
                            t.acked = t.acked.max(upto);
                        }
                    }
                }
                Some(MemberEvent::Left) => break,
                Some(_) => {}
            },
            _ = edit.tick(), if !stop.load(Ordering::SeqCst) => {
                let made = {
                    let mut t = tally.lock().unwrap();
                    t.made += 1;
                    t.made
                };
                let at = doc.chart(&chart).map_or(0, |c| c.encode_utf16().count()) as u32;
                client.send_doc(doc.insert_chart(&chart, at, &format!("<{i}:{made}>")));
            }
            _ = ack.tick() => {
                let (made, acked) = { let t = tally.lock().unwrap(); (t.made, t.acked) };
                if synced && made > acked && pending.len() < 4 {
                    client.send_doc(doc.sync_step1());
                    pending.push_back(Some(made));
                }
                if stop.load(Ordering::SeqCst) && made == acked {
                    client.leave();
                }
            }
            _ = chaos_tick.tick(), if chaos && !stop.load(Ordering::SeqCst) && i > 0 => {
                // About one member in twelve sleeps (10–25 s), one in thirty drops, each 5 s.
                if rng.chance(1.0 / 12.0) {
                    relay.sleep_for(Duration::from_millis(10_000 + rng.below(15_000)), t0);
                } else if rng.chance(1.0 / 30.0) {
                    relay.cut();
                }
            }
        }
    }
    doc
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    let t0 = Instant::now();
    let total = Duration::from_secs_f64(a.minutes * 60.0);
    let dir = std::env::temp_dir().join(format!("bandsync-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (mut h, hosting) = host(0, &dir);
    let addr: SocketAddr = hosting["addr"].as_str().unwrap().parse().unwrap();
    let url = hosting["url"].as_str().unwrap().to_owned();
    let session = hosting["session"].as_str().unwrap().to_owned();
    let secret = url.split("#k=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    println!("soak: {} members for {:.1} min on {addr} (session {session})", a.members, a.minutes);

    let stop = Arc::new(AtomicBool::new(false));
    let mut tallies = Vec::new();
    let mut tasks = Vec::new();
    let mut clocks = Vec::new();
    for i in 0..a.members {
        let src: IpAddr = format!("127.0.{}.{}", 1 + i / 200, 2 + i % 200).parse().unwrap();
        let relay = Arc::new(MemberRelay::start(addr, src, 77 + i as u64 * 1000, t0).await);
        let link = format!("http://{}/s/{session}#k={secret}", relay.addr);
        let mut opts = ClientOptions::new(JoinTarget::parse(&link).unwrap(), format!("Member {i}"));
        opts.member.leader = i == 0;
        let client = Client::spawn(opts);
        clocks.push(client.clock_view());
        let tally = Arc::new(Mutex::new(EditTally::default()));
        tallies.push(tally.clone());
        tasks.push(tokio::spawn(member(i, client, tally, relay, stop.clone(), t0, true)));
    }

    // Sample every member's host-clock estimate at one instant, every 200 ms.
    let samples: Arc<Mutex<Vec<(f64, f64, bool)>>> = Arc::default();
    let host_down = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (samples, host_down, stop) = (samples.clone(), host_down.clone(), stop.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            while !stop.load(Ordering::SeqCst) {
                tick.tick().await;
                let now = Instant::now();
                let offs: Vec<f64> =
                    clocks.iter().filter_map(|c| c.to_host(c.local_of(now)).map(|h| h - c.local_of(now))).collect();
                if offs.len() < 2 {
                    continue;
                }
                let med = quantile(&offs, 0.5);
                // Members still on the host's previous life (another epoch) are not comparable.
                let same: Vec<f64> = offs.into_iter().filter(|o| (o - med).abs() < 500_000.0).collect();
                let spread =
                    same.iter().copied().fold(f64::MIN, f64::max) - same.iter().copied().fold(f64::MAX, f64::min);
                samples.lock().unwrap().push((t0.elapsed().as_secs_f64(), spread, host_down.load(Ordering::SeqCst)));
            }
        })
    };

    // Kill the host with -9 at a third and at two thirds of the run, and restart it.
    let mut rss_start = 0;
    // The host's finished lives, whose stderr is read for panics at the end.
    let mut lives = Vec::new();
    for k in 1..=2u32 {
        tokio::time::sleep_until(tokio::time::Instant::from_std(t0 + total * k / 3)).await;
        signal(h.pid(), libc::SIGKILL);
        let _ = h.exit_code();
        host_down.store(true, Ordering::SeqCst);
        println!("soak: [{:5.1}s] host killed (-9)", t0.elapsed().as_secs_f64());
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (h2, ev) = host(addr.port(), &dir);
        assert_eq!(ev["session"], session.as_str(), "the restarted host restores the session");
        lives.push(std::mem::replace(&mut h, h2));
        host_down.store(false, Ordering::SeqCst);
        println!("soak: [{:5.1}s] host restarted", t0.elapsed().as_secs_f64());
        if k == 2 {
            tokio::time::sleep(Duration::from_secs(5)).await;
            rss_start = rss_kb(h.pid());
        }
    }
    tokio::time::sleep_until(tokio::time::Instant::from_std(t0 + total)).await;
    let rss_end = rss_kb(h.pid());
    let (_, parts) = http_get(addr, &format!("/api/sessions/{session}/participants")).await;
    let names: Vec<String> =
        parts["participants"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect();
    let mut uniq = names.clone();
    uniq.sort();
    uniq.dedup();
    let duplicates = names.len() - uniq.len();

    // Stop editing; every member leaves once its last edit is acknowledged (or 60 s pass).
    stop.store(true, Ordering::SeqCst);
    let _ = sampler.await;
    let mut docs = Vec::new();
    for t in tasks {
        match tokio::time::timeout(Duration::from_secs(60), t).await {
            Ok(Ok(d)) => docs.push(Some(d)),
            _ => docs.push(None),
        }
    }
    // A fresh replica, synced from the host, must hold every acknowledged edit.
    let reader = SessionDoc::new();
    {
        let link = format!("http://{addr}/s/{session}#k={secret}");
        let mut c = Client::spawn(ClientOptions::new(JoinTarget::parse(&link).unwrap(), "Auditor"));
        let end = Instant::now() + Duration::from_secs(20);
        let mut seen_step2 = false;
        while !seen_step2 && Instant::now() < end {
            match tokio::time::timeout(Duration::from_secs(1), c.next_event()).await {
                Ok(Some(MemberEvent::Joined { .. })) => c.send_doc(reader.sync_step1()),
                Ok(Some(MemberEvent::Doc { bytes })) => {
                    seen_step2 |= bytes.starts_with(&[0, 1]);
                    reader.handle_from_server(&bytes).unwrap();
                }
                _ => {}
            }
        }
        assert!(seen_step2, "the auditor could not sync");
        c.leave();
    }
    let (mut made, mut acked, mut lost, mut unapplied) = (0, 0, 0, 0);
    for (i, t) in tallies.iter().enumerate() {
        let t = t.lock().unwrap();
        made += t.made;
        acked += t.acked;
        unapplied += t.unapplied;
        let chart = reader.chart(&format!("m{i}")).unwrap_or_default();
        lost += (1..=t.acked).filter(|n| !chart.contains(&format!("<{i}:{n}>"))).count();
    }
    // Each finished member's replica with the host's state merged in reads as the host's: a
    // replica that held what the host lacks, or disagreed with it, would differ.
    let charts = |d: &SessionDoc| (0..a.members).map(|j| d.chart(&format!("m{j}"))).collect::<Vec<_>>();
    let host_state = reader.encode_state();
    let diverged: Vec<usize> = docs
        .iter()
        .enumerate()
        .filter_map(|(i, d)| Some((i, d.as_ref()?)))
        .filter(|(_, d)| d.apply_update(&host_state).is_err() || charts(d) != charts(&reader))
        .map(|(i, _)| i)
        .collect();
    let t = Instant::now();
    h.terminate();
    let code = h.exit_code();
    let sigterm = t.elapsed();
    lives.push(h);
    let panics: Vec<String> = lives.iter_mut().flat_map(panics_in).collect();

    let all = samples.lock().unwrap().clone();
    let spread: Vec<f64> = all.iter().map(|s| s.1).collect();
    let down: Vec<f64> = all.iter().filter(|s| s.2).map(|s| s.1).collect();
    println!(
        "soak: clock spread between members (µs): p50 {:.0}, p99 {:.0}, max {:.0} over {} samples; while the host was down: p50 {:.0}, p99 {:.0}, max {:.0} over {} samples",
        quantile(&spread, 0.5),
        quantile(&spread, 0.99),
        quantile(&spread, 1.0),
        spread.len(),
        quantile(&down, 0.5),
        quantile(&down, 0.99),
        quantile(&down, 1.0),
        down.len()
    );
    println!("soak: edits made {made}, acknowledged {acked}, acknowledged and lost {lost}");
    println!(
        "soak: replicas diverged from the host {} (members {diverged:?}; {} unfinished, not compared), host frames that did not apply {unapplied}",
        diverged.len(),
        docs.iter().filter(|d| d.is_none()).count()
    );
    println!("soak: panics in the host {}", panics.len());
    println!("soak: participants {}, duplicates {duplicates}", names.len());
    println!(
        "soak: host RSS {rss_start} kB -> {rss_end} kB over its last life ({:+} kB)",
        rss_end as i64 - rss_start as i64
    );
    println!("soak: SIGTERM exit took {:.0} ms (exit code {code})", sigterm.as_secs_f64() * 1000.0);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(lost, 0, "acknowledged edits were lost");
    assert!(
        diverged.is_empty() && unapplied == 0,
        "silent divergence: replicas {diverged:?}, unapplied frames {unapplied}"
    );
    assert!(panics.is_empty(), "the host panicked: {panics:#?}");
    assert_eq!(duplicates, 0, "duplicate participants: {names:?}");
    assert!(acked > 0, "nothing was acknowledged");
    assert!(sigterm < Duration::from_secs(2), "SIGTERM took {sigterm:?}");
    assert!(!down.is_empty(), "no samples while the host was down");
    assert!(docs.iter().filter(|d| d.is_none()).count() <= a.members / 10, "members did not finish");
}
