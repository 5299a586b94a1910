//! A change that reaches a follower only after it landed is still printed: `join` prints the state
//! it landed in, late, rather than never. Here the follower's link is 600 ms each way and the
//! leader starts at once, before the follower has told the host its round trip (the host's lead
//! time is then its least, 250 ms): the start lands before it reaches the follower. Before the
//! fix, the follower's last `state` said "stopped, starting at …" for good (seen in a CI run of
//! the app's end-to-end test).

use bandsync_e2e::process::Proc;
use bandsync_e2e::{Impair, ImpairedRelay};
use std::time::Duration;

#[test]
fn a_start_that_arrives_after_it_landed_is_printed_at_once() {
    let bind = format!("127.0.0.1:{}", bandsync_e2e::webdriver::free_port());
    let mut host = Proc::bandsync(&["host", "--bind", &bind, "--no-mdns", "--json"]);
    let url = host.event("hosting")["url"].as_str().unwrap().to_owned();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let slow = Impair { base: Duration::from_millis(600), jitter: Duration::ZERO, loss: 0.0 };
    let relay = rt.block_on(ImpairedRelay::start(bind.parse().unwrap(), slow, 1));
    let far = url.replace(&bind, &relay.addr.to_string());
    assert_ne!(far, url, "the link names the bound address: {url}");

    let mut lead = Proc::bandsync(&["join", "--no-audio", &url, "--name", "Lead", "--leader", "--json"]);
    lead.event("joined");
    let mut ben = Proc::bandsync(&["join", "--no-audio", &far, "--name", "Ben", "--json"]);
    ben.timeout = Duration::from_secs(20);
    ben.event("joined");
    lead.say("play");
    let told = ben.wait_for("the start", |v| {
        v["event"] == "state" && v["pending"].as_array().is_some_and(|p| p.iter().any(|s| s["playing"] == true))
    });
    let at = told["pending"][0]["at"].as_i64().unwrap();
    let lead_us = at - told["now"].as_i64().unwrap();
    assert!(lead_us < 600_000, "the start lands before it reaches Ben ({lead_us} µs ahead), or this tests nothing");
    let landed = ben.wait_for("the start, landed", |v| v["event"] == "state" && v["playing"] == true);
    assert_eq!(landed["now"].as_i64(), Some(at), "the state as the start landed: {landed}");
    assert_eq!(landed["position"].as_f64(), told["pending"][0]["position"].as_f64(), "{landed}");
}
