//! A Mac finds the network MIDI session by Bonjour and joins it: `bandsync join --midi-out rtp`
//! advertises `_apple-midi._udp` as Audio MIDI Setup looks for one, and an independent peer
//! (`rtp_bonjour.py`: python-zeroconf browses, pymidi's packets invite) finds it, joins both
//! ports, exchanges clocks, and receives the band's Start and clock. mDNS is multicast, so the
//! test runs itself again inside a network namespace of its own (`unshare -rn`).

use bandsync_e2e::process::{Proc, host_with_setlist, python_peers};
use std::process::Command;

const NAME: &str = "bonjour::a_mac_finds_the_network_midi_session_by_bonjour_and_gets_the_bands_clock";

#[test]
fn a_mac_finds_the_network_midi_session_by_bonjour_and_gets_the_bands_clock() {
    let _machine = bandsync_e2e::jack::one_at_a_time();
    if !bandsync_e2e::netns::inside(NAME) {
        return;
    }
    let (_host, url) = host_with_setlist(r#"[{"id":"one","title":"One","tempo":120,"meter":"4/4"}]"#);
    // mDNS on for this member only (the harness turns it off for every process).
    let mut keys = Proc::bandsync_env(
        &["join", "--no-audio", &url, "--name", "Keys", "--json", "--midi-out", "rtp:0", "--mdns-iface", "lo"],
        &[("BANDSYNC_NO_MDNS", "0")],
        false,
    );
    let ad = keys.event("midi_advertised");
    assert_eq!(ad["name"], "BandSync Keys");
    let port = ad["port"].as_u64().unwrap();

    let mut mac = Proc::start(
        {
            let mut c = Command::new(python_peers());
            c.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/midi/rtp_bonjour.py"));
            c
        },
        true,
    );
    let found = mac.event("found");
    assert_eq!(found["name"], "BandSync Keys", "{found}");
    assert_eq!(found["port"].as_u64(), Some(port), "the advertised port is the session's control port");
    assert_eq!(mac.event("joined")["session"], "bandsync-Keys");
    mac.event("synced");

    let mut lead = Proc::bandsync(&["join", "--no-audio", &url, "--name", "Ana", "--leader", "--json"]);
    lead.event("joined");
    lead.say("song one");
    lead.say("play 1");
    mac.wait_for("Start", |v| v["event"] == "midi" && v["commands"].as_array().unwrap().iter().any(|c| c == "fa"));
    let clocks = (0..24)
        .map(|_| mac.wait_for("a clock", |v| v["event"] == "midi"))
        .filter(|v| v["commands"].as_array().unwrap().iter().any(|c| c == "f8"))
        .count();
    assert!(clocks >= 20, "the clock runs after Start: {clocks} of 24 packets");
    lead.say("stop");
}
