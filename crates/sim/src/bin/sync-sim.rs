//! `sync-sim`: BandSync's clock sync against the design notes' 100 ms tick and a Link-like median,
//! in simulated time, over the scenarios of issue #3.
//!
//! ```text
//! cargo run --release -p bandsync-sim --bin sync-sim                 # the table
//! cargo run --release -p bandsync-sim --bin sync-sim -- --json       # one JSON line per run
//! cargo run --release -p bandsync-sim --bin sync-sim -- wifi --seed 7 --followers 5
//! cargo run --release -p bandsync-sim --bin sync-sim -- wifi --steady-ms 200   # pings 5 a second
//! ```

use bandsync_sim::method::{BandSync, LinkMedian, Method, Seed100ms};
use bandsync_sim::scenario::{NAMES, setup};
use bandsync_sim::stats::quantile;
use bandsync_sim::world::{Report, run};
use serde_json::json;
use std::time::Instant;

const METHODS: &[&str] = &["bandsync", "seed-100ms", "link-median"];

/// Method `method`; BandSync's pings, once warmed up, every `steady_ms` (the default when `None`).
fn make(method: &str, steady_ms: Option<i64>) -> Box<dyn Fn(i64) -> Box<dyn Method>> {
    let mut cfg = bandsync_core::ClockConfig::default();
    if let Some(ms) = steady_ms {
        cfg.steady_interval = bandsync_core::Micros::from_millis(ms);
    }
    match method {
        "bandsync" => Box::new(move |now| Box::new(BandSync::with_config(now, cfg.clone()))),
        "seed-100ms" => Box::new(|_| Box::new(Seed100ms::default())),
        _ => Box::new(|now| Box::new(LinkMedian::new(now))),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json_out = args.iter().any(|a| a == "--json");
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let seed: u64 = value("--seed").map_or(1, |s| s.parse().expect("--seed takes a number"));
    let followers: usize = value("--followers").map_or(3, |s| s.parse().expect("--followers takes a number"));
    let steady_ms: Option<i64> = value("--steady-ms").map(|s| s.parse().expect("--steady-ms takes a number"));
    let skip: Vec<String> = ["--seed", "--followers", "--steady-ms"].iter().filter_map(|f| value(f)).collect();
    let only: Vec<&str> =
        args.iter().filter(|a| !a.starts_with("--") && !skip.contains(a)).map(String::as_str).collect();
    let names: Vec<&str> = NAMES.iter().copied().filter(|n| only.is_empty() || only.contains(n)).collect();
    if names.is_empty() {
        eprintln!("unknown scenario; choose from {NAMES:?}");
        std::process::exit(2);
    }
    if !json_out {
        println!(
            "| scenario | method | p50 µs | p99 µs | max µs | max step µs | first sync ms | packets/s | p99 vs bandsync | wall ms |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|");
    }
    for name in names {
        let s = setup(name, followers, seed).expect("known scenario");
        let mut ours_p99 = f64::NAN;
        for &m in METHODS {
            let t = Instant::now();
            let r: Report = run(&s, &*make(m, steady_ms));
            let wall = t.elapsed().as_secs_f64() * 1000.0;
            let (p50, p99, max) = (r.quantile(0.5), r.quantile(0.99), r.quantile(1.0));
            if m == "bandsync" {
                ours_p99 = p99;
            }
            if args.iter().any(|a| a == "--by-age") {
                for (lo, hi) in [(1.0, 2.0), (2.0, 5.0), (5.0, 10.0), (10.0, 30.0), (30.0, f64::INFINITY)] {
                    let v: Vec<f64> =
                        r.errors.iter().zip(&r.ages).filter(|(_, a)| (lo..hi).contains(*a)).map(|(e, _)| *e).collect();
                    if !v.is_empty() {
                        let (p50, p99) = (quantile(&v, 0.5), quantile(&v, 0.99));
                        eprintln!("{name} {m} {lo}-{hi} s after join: p50 {p50:.0} µs, p99 {p99:.0} µs");
                    }
                }
            }
            if json_out {
                println!(
                    "{}",
                    json!({
                        "scenario": name, "method": m, "p50_us": p50, "p99_us": p99, "max_us": max,
                        "max_step_us": r.max_step_us, "first_sync_ms": r.first_sync_ms,
                        "packets_per_sec": r.packets_per_sec, "samples": r.errors.len(),
                        "followers": followers, "seed": seed, "wall_ms": wall, "steady_ms": steady_ms,
                    })
                );
            } else {
                let fs = r.first_sync_ms.map_or("never".into(), |v| format!("{v:.0}"));
                let ratio = if m == "bandsync" { "1×".into() } else { format!("{:.0}×", p99 / ours_p99) };
                println!(
                    "| {name} | {m} | {p50:.0} | {p99:.0} | {max:.0} | {:.1} | {fs} | {:.1} | {ratio} | {wall:.0} |",
                    r.max_step_us, r.packets_per_sec
                );
            }
        }
    }
}
