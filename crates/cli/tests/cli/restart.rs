//! A host killed (-9) and restarted on its data directory brings the band back as it was: the
//! members reconnect and resume as the same participants, a viewer is still a viewer, the leader
//! leads again, and the metronome plays on at its tempo. The follower's click goes on through the
//! restart and after it, every beat once: the new host's clock reads from zero, its welcome says
//! how that clock continues the old one (read from the wall clock, as a session carried to
//! another node), and the click moves onto it without a gap.

use bandsync_e2e::process::Proc;
use serde_json::Value;
use std::time::Duration;

fn access_of(v: &Value, id: &Value) -> Option<String> {
    v["participants"].as_array()?.iter().find(|p| &p["id"] == id)?["access"].as_str().map(str::to_owned)
}

#[test]
fn a_restarted_host_brings_the_band_back_as_it_was() {
    let _machine = bandsync_e2e::machine::alone();
    let dir = std::env::temp_dir().join(format!("bandsync-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap().to_owned();
    let port = bandsync_e2e::webdriver::free_port();
    let bind = format!("127.0.0.1:{port}");
    let host = || Proc::bandsync(&["host", "--bind", &bind, "--no-mdns", "--json", "--data-dir", &d]);
    let mut h = host();
    let url = h.event("hosting")["url"].as_str().unwrap().to_owned();
    let mut lead = Proc::bandsync(&["join", "--no-audio", &url, "--name", "Lead", "--leader", "--json"]);
    let lead_id = lead.event("joined")["you"].clone();
    let pulse = bandsync_e2e::pulse::Pulse::start(1);
    let mut ben = pulse.clicking_follower(&url, "Ben");
    let ben_id = ben.event("joined")["you"].clone();
    lead.say(&format!("viewer {ben_id}"));
    ben.wait_for("made a viewer", |v| {
        v["event"] == "participants" && access_of(v, &ben_id).as_deref() == Some("viewer")
    });
    lead.say("tempo 140");
    lead.say("play");
    ben.wait_for("playing", |v| v["event"] == "state" && v["playing"] == true && v["tempo"] == 140.0);
    // Long enough that the old host's clock reads well past a beat when it dies.
    for _ in 0..6 {
        ben.wait_for("a beat", |v| v["event"] == "beat");
    }

    h.child.kill().unwrap(); // SIGKILL
    let _ = h.child.wait();
    let _h2 = host();
    for (p, id) in [(&mut lead, &lead_id), (&mut ben, &ben_id)] {
        p.timeout = Duration::from_secs(30);
        let v = p.wait_for("joined again", |v| v["event"] == "joined");
        assert_eq!((&v["resumed"], &v["you"]), (&Value::Bool(true), id), "the same participant: {v}");
    }
    let v = lead.wait_for("the band as it was", |v| {
        v["event"] == "participants" && v["leader"] == lead_id && access_of(v, &ben_id).as_deref() == Some("viewer")
    });
    assert_eq!(v["participants"].as_array().unwrap().len(), 2, "nobody twice: {v}");
    ben.wait_for("still playing", |v| v["event"] == "state" && v["playing"] == true && v["tempo"] == 140.0);
    for _ in 0..4 {
        ben.wait_for("a beat on the new host's clock", |v| v["event"] == "beat");
    }
    ben.assert_every_beat();
    let _ = std::fs::remove_dir_all(&dir);
}
