//! Clock sync over real sockets: a host and three followers on deliberately wrong clocks,
//! through a relay that adds delay, jitter and TCP-style loss stalls. The followers' idea of host
//! time must agree with the host's real clock to within half a millisecond at p99.

use bandsync_client::{Client, ClientOptions, Event, JoinTarget, LocalClock};
use bandsync_e2e::{Impair, ImpairedRelay, TestServer, eventually};
use bandsync_server::ServerConfig;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_on_wrong_clocks_agree_with_the_host_within_half_a_millisecond() {
    // The host runs on its own runtime and threads, as it would in its own process, so that the
    // followers' and relays' work in this one does not delay its timestamps.
    let host_rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let ts = host_rt.spawn(TestServer::start(ServerConfig::default())).await.unwrap();
    let imp = Impair { base: Duration::from_millis(2), jitter: Duration::from_millis(1), loss: 0.005 };
    let clocks = [(3_600_000.0, 150.0), (-42_000.0, -120.0), (1.5, 200.0)];
    let mut followers = Vec::new();
    for (i, (offset_ms, skew_ppm)) in clocks.into_iter().enumerate() {
        let relay = ImpairedRelay::start(ts.addr(), imp, 7 + i as u64).await;
        let link = ts.link_via(relay.addr);
        let mut o = ClientOptions::new(JoinTarget::parse(&link).unwrap(), format!("F{i}"));
        o.clock = LocalClock::distorted(offset_ms, skew_ppm);
        followers.push(Client::spawn(o));
    }
    eventually("every follower reports synced", || async { followers.iter().all(|c| c.clock_status().synced) }).await;
    // Let the estimate settle for 6 s, then compare with the host's own clock for 4 s. Through
    // this relay, 6 s of samples leave a skew up to 56 ppm off by chance alone (the floor
    // measured in `bandsync_core`'s clock tests); from 14 s it is within 14 ppm. A 2-core machine
    // also sometimes stalls the relays' or the host's threads for long enough to skew a window.
    // A window that misses is printed, and the estimate runs on for 10 s more and is measured
    // again.
    let clock = ts.server.hub.clock().clone();
    let mut attempt = 1;
    loop {
        tokio::time::sleep(Duration::from_secs(if attempt == 1 { 6 } else { 10 })).await;
        let mut errors = Vec::new();
        let mut per = vec![Vec::new(); followers.len()];
        for _ in 0..200 {
            for (i, c) in followers.iter().enumerate() {
                let before = clock.now().0 as f64;
                let est = c.host_now_f64().unwrap();
                let after = clock.now().0 as f64;
                // A read interrupted by the scheduler measures the scheduler, not the estimate.
                if after - before <= 50.0 {
                    errors.push((est - (before + after) / 2.0).abs());
                    per[i].push(est - (before + after) / 2.0);
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(errors.len() >= 400, "{} clean reads", errors.len());
        for (i, v) in per.iter().enumerate() {
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            eprintln!("follower {i}: mean error {mean:.0} µs, status {:?}", followers[i].clock_status());
        }
        errors.sort_by(f64::total_cmp);
        let p50 = errors[errors.len() / 2];
        let p99 = errors[errors.len() * 99 / 100];
        eprintln!(
            "host-time error over loopback with 2±1 ms jitter, window {attempt}: p50 {p50:.0} µs, p99 {p99:.0} µs"
        );
        // Each follower learned its clock's skew (the host runs at -skew relative to it).
        let skews: Vec<(f64, f64)> =
            followers.iter().zip(clocks).map(|(c, (_, k))| (c.clock_status().skew_ppm, k)).collect();
        let skew_ok = skews.iter().all(|(s, k)| (s + k).abs() < 60.0);
        if (p99 <= 500.0 && skew_ok) || attempt == 2 {
            assert!(p99 <= 500.0, "p99 {p99:.0} µs (p50 {p50:.0})");
            assert!(skew_ok, "skews learned against the clocks' (ppm): {skews:?}");
            break;
        }
        eprintln!("CLOCK-VOID window {attempt} missed (p99 {p99:.0} µs, skews {skews:?}); measuring again");
        attempt += 1;
    }
    // And the participant view shows each follower's sync quality.
    let mut f0 = followers.remove(0);
    eventually("sync quality reaches the participant list", || async {
        f0.mirror().is_some_and(|m| m.participants.iter().all(|p| p.sync.as_ref().is_some_and(|q| q.synced)))
    })
    .await;
    // Clock events flow about once a second.
    let mut clocks_seen = 0;
    while let Ok(Some(ev)) = tokio::time::timeout(Duration::from_millis(2500), f0.next_event()).await {
        if let Event::Clock { status: s } = ev {
            assert!(s.synced);
            clocks_seen += 1;
            if clocks_seen == 2 {
                break;
            }
        }
    }
    assert_eq!(clocks_seen, 2);
    host_rt.shutdown_background();
}
