//! The cluster benchmark: the local cluster (Postgres, 3 `bandsync serve --node` nodes, HAProxy;
//! `tests/harness/cluster.rs`) under a steady load, with nodes killed (-9) and restarted.
//!
//! ```text
//! cargo build --release -p bandsync-cli
//! cargo bench -p bandsync-e2e --bench cluster -- [SESSIONS] [KILLS] [SECONDS_BETWEEN_KILLS] [BIG] [PING_MS]
//! ```
//!
//! SESSIONS sessions of 5 members, and one of BIG members when BIG is given (the issue's load is
//! 2 000 of 5 and one of 500), on nodes that ask for a clock-sync ping every PING_MS when given
//! (`serve --clock-ping-ms`). Each has a leader, the rest follow: real members, `bandsync_client`,
//! with their own clock sync, reconnects and resumes. They are made through the proxy's API and
//! joined through the proxy. Every leader changes tempo every 2 s and posts a chat message every
//! 4 s. Every KILL_EVERY seconds a node that owns sessions is killed, and restarted once its
//! sessions have moved. Printed: deliveries/s and their latency (the change's host time to its
//! arrival, read through each follower's clock), failover (from the kill to the last member of
//! the node's sessions resumed), members that came back as someone else, acknowledged chat
//! messages missing from Postgres at the end, and each node's RSS per connection.

use bandsync_client::{Client, ClientOptions, Event, JoinTarget};
use bandsync_core::protocol::ServerMsg;
use bandsync_core::{ClientMsg, Tempo};
use bandsync_e2e::cluster::Cluster;
use bandsync_e2e::process::{http, proc_stat, stat_cpu_secs};
use bandsync_sim::stats::quantile;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Stats {
    /// Delivery latencies of tempo changes to followers, µs.
    latencies: Vec<i64>,
    /// Deliveries not timed: in the seconds after a member (re)joined, or while its clock was
    /// not synced (its error bound over 1 ms: a saturated machine's).
    untimed: usize,
    /// Chat texts the leaders saw come back (acknowledged), by session.
    acked: HashMap<String, HashSet<String>>,
    /// Members joined at least once, and their first participant ids.
    first_id: HashMap<(usize, usize), u32>,
    /// Members that came back as another participant.
    changed_id: usize,
    /// When each member last (re)joined.
    joined_at: HashMap<(usize, usize), Instant>,
    /// Members currently disconnected, since when.
    down_since: HashMap<(usize, usize), Instant>,
    /// Each member's connection events (joins, drops, retries, refusals, errors), for a slow
    /// failover's story.
    story: HashMap<(usize, usize), Vec<(Instant, String)>>,
}

/// CPU-seconds this process has used, and the machine's idle CPU-seconds (all cores), since boot.
fn cpu_seconds() -> (f64, f64) {
    let own = proc_stat(std::path::Path::new("/proc/self/stat")).map_or(0.0, |(_, f)| stat_cpu_secs(&f));
    // The first line of /proc/stat: "cpu user nice system idle ...", in USER_HZ (100 on Linux).
    let idle = std::fs::read_to_string("/proc/stat").ok().map_or(0.0, |s| {
        s.lines().next().and_then(|l| l.split_whitespace().nth(4)).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0)
            / 100.0
    });
    (own, idle)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn main() {
    let args: Vec<usize> =
        std::env::args().skip(1).filter(|a| !a.starts_with('-')).filter_map(|a| a.parse().ok()).collect();
    let sessions = args.first().copied().unwrap_or(50);
    let kills = args.get(1).copied().unwrap_or(2);
    let kill_every = Duration::from_secs(args.get(2).copied().unwrap_or(15) as u64);
    let big = args.get(3).copied().unwrap_or(0);
    let ping_ms = args.get(4).map(|&ms| u32::try_from(ms).expect("PING_MS in ms"));
    // Each session's size.
    let sizes: Vec<usize> = std::iter::repeat_n(5, sessions).chain((big > 0).then_some(big)).collect();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(run(&sizes, kills, kill_every, ping_ms));
}

async fn run(sizes: &[usize], kills: usize, kill_every: Duration, ping_ms: Option<u32>) {
    let sessions = sizes.len();
    let all: usize = sizes.iter().sum();
    // The harness is blocking (processes, a Postgres client): off the runtime's workers.
    let mut c = tokio::task::block_in_place(|| Cluster::start_for(3, all, ping_ms));
    let token = tokio::task::block_in_place(|| c.token("bench", 1_000_000));
    let addr = c.addr.clone();
    let mut links = Vec::new();
    for i in 0..sessions {
        let (code, made) = tokio::task::block_in_place(|| {
            http(&addr, "POST", "/api/sessions", Some(&token), Some(&json!({"name": format!("Band {i}")})))
        });
        assert_eq!(code, 201, "{made}");
        let s = |k: &str| made[k].as_str().unwrap().to_owned();
        links.push((s("id"), s("leader_link"), s("join_link")));
    }
    let stats = Arc::new(Mutex::new(Stats::default()));
    let base_rss: u64 = c.node_pids().into_iter().map(|p| p.map_or(0, rss_kib)).sum();
    let mut leaders = Vec::new();
    let mut n = 0usize;
    for (si, (id, lead, join)) in links.iter().enumerate() {
        for mi in 0..sizes[si] {
            let link = if mi == 0 { lead } else { join };
            let mut opts = ClientOptions::new(JoinTarget::parse(link).unwrap(), format!("m{mi}"));
            opts.member.forward_server_messages = mi == 0;
            // No participant list as an event on every change: the bench reads none, and in a
            // session of 500 each member would be handed 500 lists of up to 500 as the band joins.
            opts.member.reads_messages = true;
            opts.member.backoff.give_up_after = None;
            // A device of its own: one loopback address per member, so that the nodes' limits
            // per source address (which the proxy's PROXY header carries) count each member.
            n += 1;
            opts.bind = Some(std::net::IpAddr::from([127, 1 + (n >> 16) as u8, (n >> 8) as u8, n as u8]));
            let mut client = Client::spawn(opts);
            let (stats, id) = (stats.clone(), id.clone());
            if mi == 0 {
                leaders.push((si, client.sender()));
            }
            tokio::spawn(async move {
                while let Some(ev) = client.next_event().await {
                    let now = Instant::now();
                    let mut st = stats.lock().unwrap();
                    if matches!(
                        ev,
                        Event::Joined { .. }
                            | Event::Disconnected { .. }
                            | Event::Reconnecting { .. }
                            | Event::Refused { .. }
                            | Event::Error { .. }
                    ) {
                        st.story.entry((si, mi)).or_default().push((now, format!("{ev:?}")));
                    }
                    match ev {
                        Event::Joined { you, .. } => {
                            let first = *st.first_id.entry((si, mi)).or_insert(you);
                            if first != you {
                                st.changed_id += 1;
                            }
                            st.joined_at.insert((si, mi), now);
                            st.down_since.remove(&(si, mi));
                        }
                        Event::Disconnected { .. } => {
                            st.down_since.entry((si, mi)).or_insert(now);
                        }
                        // Read through a settled clock only: after a move the member's clock starts
                        // again on the new owner's epoch, and reads the old one until its first
                        // pongs (the welcome comes first). Deliveries in the 3 s after a join, or
                        // to a member whose clock is not synced, are counted, not timed.
                        Event::Transport { .. }
                            if mi > 0
                                && st
                                    .joined_at
                                    .get(&(si, mi))
                                    .is_some_and(|j| now.duration_since(*j) < Duration::from_secs(3)) =>
                        {
                            st.untimed += 1;
                        }
                        Event::Transport { now: sent, .. } if mi > 0 => {
                            match client.host_now().filter(|_| client.clock_status().synced && sent.0 > 0) {
                                Some(h) => st.latencies.push(h.0 - sent.0),
                                None => st.untimed += 1,
                            }
                        }
                        Event::Server { msg: ServerMsg::Chat { message } } => {
                            st.acked.entry(id.clone()).or_default().insert(message.text);
                        }
                        _ => {}
                    }
                }
            });
        }
    }
    // Everyone joined.
    let t0 = Instant::now();
    let join_within = Duration::from_secs(120 + all as u64 / 50);
    while stats.lock().unwrap().joined_at.len() < all {
        if t0.elapsed() > join_within {
            let st = stats.lock().unwrap();
            let out: Vec<_> = (0..sessions)
                .flat_map(|si| (0..sizes[si]).map(move |mi| (si, mi)))
                .filter(|k| !st.joined_at.contains_key(k))
                .collect();
            for k in out.iter().take(5) {
                eprintln!(
                    "{k:?} not joined: {:?}",
                    st.story.get(k).map(|s| s.iter().map(|(_, e)| e).collect::<Vec<_>>())
                );
            }
            panic!("{} of {all} members did not join in {join_within:?}", out.len());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let joined_in = t0.elapsed();
    {
        let mut st = stats.lock().unwrap();
        st.latencies.clear();
        st.untimed = 0;
    }
    // The load: tempo every 2 s and chat every 4 s per leader, spread over the period.
    let load = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(2000) / leaders.len().max(1) as u32);
        let mut n = 0u64;
        loop {
            for (si, send) in &leaders {
                tick.tick().await;
                n += 1;
                let bpm = 100 + (n % 40) as u32;
                send.send(ClientMsg::Tempo { tempo: Tempo(bpm * 1000) });
                if n % 2 == 0 {
                    send.send(ClientMsg::Chat { text: format!("s{si} n{n}"), reply_to: None });
                }
            }
        }
    });
    let load_start = Instant::now();
    let cpu_start = cpu_seconds();
    let mut failovers = Vec::new();
    for k in 0..kills {
        tokio::time::sleep(kill_every).await;
        // A node that owns sessions.
        let owners: Vec<Option<usize>> =
            tokio::task::block_in_place(|| c.owners(&links.iter().map(|(id, _, _)| id.as_str()).collect::<Vec<_>>()));
        let victim = owners.iter().flatten().copied().next().expect("an owner");
        let affected: Vec<usize> = (0..sessions).filter(|&i| owners[i] == Some(victim)).collect();
        let killed = Instant::now();
        c.kill9(victim);
        // Every member of its sessions back (joined after the kill).
        loop {
            let back = {
                let st = stats.lock().unwrap();
                affected.iter().all(|&si| (0..sizes[si]).all(|mi| st.joined_at[&(si, mi)] > killed))
            };
            if back || killed.elapsed() > Duration::from_secs(60) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let last = {
            let st = stats.lock().unwrap();
            affected.iter().flat_map(|&si| (0..sizes[si]).map(move |mi| (si, mi))).map(|k| st.joined_at[&k]).max()
        };
        let took = last.map_or(Duration::MAX, |l| l.saturating_duration_since(killed));
        let not_back = {
            let st = stats.lock().unwrap();
            let missing: Vec<(usize, usize)> = affected
                .iter()
                .flat_map(|&si| (0..sizes[si]).map(move |mi| (si, mi)))
                .filter(|k| st.joined_at[k] <= killed)
                .collect();
            if !missing.is_empty() {
                eprintln!("not back after the kill (session, member): {missing:?}");
                // Their last connection events, whenever they came (a member that stopped
                // trying says why).
                for k in missing.iter().take(3) {
                    let story = st.story.get(k).map_or(&[][..], |s| &s[s.len().saturating_sub(6)..]);
                    for (t, e) in story {
                        let ms = t.saturating_duration_since(killed).as_millis() as i128
                            - killed.saturating_duration_since(*t).as_millis() as i128;
                        eprintln!("  {k:?}, {ms:>7} ms from the kill: {e}");
                    }
                }
            }
            let mut back: Vec<(u128, usize, usize)> = affected
                .iter()
                .flat_map(|&si| (0..sizes[si]).map(move |mi| (si, mi)))
                .map(|(si, mi)| (st.joined_at[&(si, mi)].saturating_duration_since(killed).as_millis(), si, mi))
                .collect();
            back.sort_unstable();
            let shown = back.len().saturating_sub(20);
            eprintln!("last members back (ms after the kill, session, member): {:?}", &back[shown..]);
            if let Some(&(_, si, mi)) = back.last() {
                for (t, e) in st.story.get(&(si, mi)).into_iter().flatten().filter(|(t, _)| *t > killed) {
                    eprintln!("  slowest, {:>6} ms: {e}", t.duration_since(killed).as_millis());
                }
            }
            missing.len()
        };
        // Members still not back when the wait gave up (60 s) are not in `took`.
        let all = if not_back == 0 { "all".to_owned() } else { format!("{not_back} not back after 60 s; the rest") };
        eprintln!("kill {}: node {victim}, {} sessions, {all} back in {took:?}", k + 1, affected.len());
        failovers.push((affected.len(), affected.iter().map(|&si| sizes[si]).sum::<usize>(), took, not_back));
        tokio::task::block_in_place(|| c.start_node(victim));
    }
    tokio::time::sleep(kill_every).await;
    load.abort();
    let elapsed = load_start.elapsed();
    let cpu_end = cpu_seconds();
    let per_s = |a: f64, b: f64| (b - a) / elapsed.as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Acknowledged chat messages against Postgres.
    let (acked, lost) = tokio::task::block_in_place(|| {
        let mut db = postgres::Client::connect(&c.database, postgres::NoTls).unwrap();
        let st = stats.lock().unwrap();
        let mut acked = 0;
        let mut lost = 0;
        for (session, texts) in &st.acked {
            let rows = db.query("SELECT message FROM chat WHERE session = $1", &[session]).unwrap();
            let stored: HashSet<String> = rows
                .iter()
                .filter_map(|r| serde_json::from_str::<serde_json::Value>(&r.get::<_, String>(0)).ok())
                .filter_map(|v| v["text"].as_str().map(str::to_owned))
                .collect();
            acked += texts.len();
            lost += texts.iter().filter(|t| !stored.contains(*t)).count();
        }
        (acked, lost)
    });
    let st = stats.lock().unwrap();
    let deliveries = st.latencies.len() + st.untimed;
    // The latencies in ms.
    let ms: Vec<f64> = st.latencies.iter().map(|&us| us as f64 / 1000.0).collect();
    let (p50, p99) = (quantile(&ms, 0.5), quantile(&ms, 0.99));
    let rss: Vec<u64> = c.node_pids().into_iter().map(|p| p.map_or(0, rss_kib)).collect();
    println!(
        "{}",
        json!({
            "sessions": sessions,
            "members": all,
            "ping_ms": ping_ms,
            "big_session": sizes.iter().find(|&&n| n != 5),
            "driver_cpu_cores": per_s(cpu_start.0, cpu_end.0),
            "machine_idle_cores": per_s(cpu_start.1, cpu_end.1),
            "joined_in_s": joined_in.as_secs_f64(),
            "deliveries_per_s": deliveries as f64 / elapsed.as_secs_f64(),
            "deliveries_timed": st.latencies.len(),
            "delivery_ms": {"p50": p50, "p99": p99},
            "failovers": failovers
                .iter()
                .map(|(n, m, t, out)| json!({"sessions": n, "members": m, "back_s": t.as_secs_f64(), "not_back": out}))
                .collect::<Vec<_>>(),
            "came_back_as_someone_else": st.changed_id,
            "chat_acknowledged": acked,
            "chat_acknowledged_lost": lost,
            "node_rss_kib": rss,
            "node_rss_before_members_kib": base_rss,
            "rss_growth_per_connection_kib": (rss.iter().sum::<u64>() as f64 - base_rss as f64) / all as f64,
        })
    );
}
