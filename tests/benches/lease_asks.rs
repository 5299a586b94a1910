//! What a node's asks for its sessions back cost Postgres (#14), printed as a Markdown table.
//!
//! ```text
//! cargo bench -p bandsync-e2e --bench lease_asks
//! ```
//!
//! A node back after a kill or a drain asks for the sessions whose home it is, 64 at each renewal
//! tick ([`Store::claim_homes`]), and counts what is left when none was free to ask
//! ([`Store::homes_left`]); a draining node withdraws its asks ([`Store::withdraw_asks`]). With
//! 100,000 leases over 3 nodes (the national service's 100k sessions of `docs/SCALING.md`, in
//! one database), some of one node's sessions held by another, each statement runs through the
//! store against a Postgres server of the bench's own, with the leases' partial indexes
//! (`ADDED_INDEXES`) and with them dropped. Each run asks the same: the asks are undone between
//! runs, outside the time. The withdrawal is of a node with no asks: the cost of finding none.

use bandsync_e2e::postgres::PgServer;
use bandsync_server::store::Store;
use bandsync_server::store::postgres::Postgres as PgDb;
use bandsync_server::store::sql::{ADDED_INDEXES, Db, create_index};
use bandsync_sim::stats::quantile;
use std::time::Instant;

const LEASES: i64 = 100_000;
const RUNS: usize = 21;

/// Median ms of `RUNS` runs of `f`, with `reset` between them.
fn median_ms(mut f: impl FnMut(), mut reset: impl FnMut()) -> f64 {
    let mut ms: Vec<f64> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            let took = t.elapsed().as_secs_f64() * 1e3;
            reset();
            took
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    quantile(&ms, 0.5)
}

fn main() {
    let pg = PgServer::start();
    let url = pg.database("asks");
    let store = Store::connect(&url).expect("the store");
    let mut raw = PgDb::connect(&url).expect("a connection");
    let mut run = |sql: &str| {
        raw.execute(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}"));
    };
    run(&format!(
        "INSERT INTO leases (session, node, token, expires, home)
         SELECT 's' || i, 'node-' || (i % 3), 1, 0, 'node-' || (i % 3) FROM generate_series(1, {LEASES}) i"
    ));
    println!(
        "| leases of node-0 held by node-1 | statement | with the indexes (ms, p50) | without (ms, p50) | ratio |"
    );
    println!("|---|---|---|---|---|");
    for away in [100, 20_000] {
        // Away from home, spread over the sessions' order as a hash spreads them.
        run("UPDATE leases SET node = home, wanted_by = NULL");
        run(&format!(
            "UPDATE leases SET node = 'node-1' WHERE session IN (
                 SELECT session FROM leases WHERE home = 'node-0' ORDER BY md5(session) LIMIT {away})"
        ));
        let mut figures = Vec::new();
        for indexed in [true, false] {
            for index in ADDED_INDEXES {
                run(&if indexed { create_index(index) } else { format!("DROP INDEX IF EXISTS {}", index.0) });
            }
            run("VACUUM ANALYZE leases");
            let claim = median_ms(
                || assert_eq!(store.claim_homes("node-0", 64).unwrap(), 64, "a full batch"),
                || run("UPDATE leases SET wanted_by = NULL WHERE wanted_by IS NOT NULL"),
            );
            let left = median_ms(|| assert!(store.homes_left("node-0").unwrap()), || {});
            let withdraw = median_ms(|| assert_eq!(store.withdraw_asks("node-2").unwrap(), 0), || {});
            figures.push([claim, left, withdraw]);
        }
        for (i, what) in ["`claim_homes` (64)", "`homes_left`", "`withdraw_asks`"].iter().enumerate() {
            let (with, without) = (figures[0][i], figures[1][i]);
            println!("| {away} | {what} | {with:.3} | {without:.3} | {:.1}× |", without / with);
        }
    }
}
