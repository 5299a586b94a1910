//! Ableton Link both ways, against an independent Link peer (`aalink`, from Python's registry,
//! which wraps Ableton's own Link), inside a network namespace the test creates (`unshare -rn`):
//! Link finds its peers by multicast, which stays off the machine's network. `link_peer.py` plays
//! Ableton Live and records; this judges. Only with the `link` feature (GPL): `scripts/test.sh`
//! runs every test with it (`--features bandsync-cli/link`).
#![cfg(feature = "link")]

use serde_json::Value;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_bandsync");

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap_or_default().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

use bandsync_e2e::onsets::quantile;

#[test]
fn a_link_peer_and_the_session_follow_each_other_on_the_bar_line_in_phase() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("link-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let py = bandsync_e2e::process::python_peers();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/link_peer.py");
    let status = Command::new("unshare")
        .args(["-rn", "sh", "-c", r#"set -e; ip link set lo up; exec timeout 90 "$PY" "$SCRIPT""#])
        .env("BIN", BIN)
        .env("DIR", &dir)
        .env("PY", &py)
        .env("SCRIPT", &script)
        .status()
        .expect("unshare runs (util-linux): Link's multicast stays in the test's own namespace");
    let lead = lines(&dir.join("lead.jsonl"));
    assert!(status.success(), "the peer's script failed ({status}); the leader said:\n{lead:#?}");
    let peer: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("peer.json")).unwrap()).unwrap();
    let us = |k: &str| peer[k].as_i64().unwrap_or_else(|| panic!("{k} in {peer}"));

    // BandSync leads: a stopped session's tempo lands at once, and so reaches the peer. Its play
    // starts on Link's next bar at least a lead time ahead (a quantized start, as Live's with
    // Link on): within a bar of 100 BPM and the lead time.
    let (tempo_after, play_after) = (us("peer_at_100_after_us"), us("peer_playing_after_us"));
    eprintln!("LINK the peer followed the session's tempo after {tempo_after} µs, its play after {play_after} µs");
    assert!(tempo_after < 500_000 && play_after < 2_400_000 + 500_000, "{peer}");

    // Live leads: the peer's 130 BPM is scheduled by the session on its next bar line, and Link
    // (every peer) changes there, not before.
    let reports: Vec<&Value> = lead.iter().filter(|v| v["event"] == "link").collect();
    let to_link = |host: i64| {
        let r = reports.iter().min_by_key(|r| (r["host_us"].as_i64().unwrap() - host).abs()).expect("link reports");
        host + r["link_us"].as_i64().unwrap() - r["host_us"].as_i64().unwrap()
    };
    let pending = lead
        .iter()
        .filter(|v| v["event"] == "state")
        .flat_map(|v| v["pending"].as_array().cloned().unwrap_or_default())
        .find(|p| (p["tempo"].as_f64().unwrap() - 130.0).abs() < 0.01)
        .expect("the session scheduled 130 BPM");
    let asked = us("peer_tempo_130_at_us");
    let lands = to_link(pending["at"].as_i64().unwrap());
    let bar = 4.0 * 60e6 / 100.0;
    eprintln!(
        "LINK the peer asked for 130 BPM; the session lands it {:.0} ms later, at beat {} (a bar of 4 is {:.0} ms); the peer was at 130 again {:.1} ms after the bar line",
        (lands - asked) as f64 / 1e3,
        pending["position"],
        bar / 1e3,
        (us("peer_at_130_us") - lands) as f64 / 1e3
    );
    assert!(lands > asked && ((lands - asked) as f64) <= bar + 300_000.0, "lands {lands}, asked {asked}");
    assert!(pending["position"].as_f64().unwrap().rem_euclid(4.0) < 1e-6, "not on a bar line: {pending}");
    assert!(us("peer_at_130_us") >= lands - 2_000, "the peer changed before the bar line");

    // Phase: the peer's beat against the session's, on Link's clock, where both play at one tempo.
    let mut off_ms = Vec::new();
    for s in peer["samples"].as_array().unwrap() {
        let t = s["link_us"].as_i64().unwrap();
        let Some(r) = reports.iter().min_by_key(|r| (r["link_us"].as_i64().unwrap() - t).abs()) else { continue };
        let tempo = r["tempo"].as_f64().unwrap();
        let near = (r["link_us"].as_i64().unwrap() - t).abs() < 100_000;
        let steady =
            s["playing"] == true && r["playing"] == true && (s["tempo"].as_f64().unwrap() - tempo).abs() < 1e-3;
        if !near || !steady || (t - asked).abs() < 300_000 || (t - lands).abs() < 300_000 {
            continue;
        }
        let q = r["quantum"].as_f64().unwrap();
        let ours = r["session_beat"].as_f64().unwrap() + (t - r["link_us"].as_i64().unwrap()) as f64 * tempo / 60e6;
        let d = (s["beat"].as_f64().unwrap() - ours).rem_euclid(q);
        off_ms.push(d.min(q - d) * 60e3 / tempo);
    }
    assert!(off_ms.len() >= 200, "{} steady samples", off_ms.len());
    let (p50, p99, max) = (quantile(&off_ms, 0.5), quantile(&off_ms, 0.99), quantile(&off_ms, 1.0));
    eprintln!(
        "LINK phase, the peer against the session, {} samples: p50 {p50:.3} ms, p99 {p99:.3} ms, max {max:.3} ms",
        off_ms.len()
    );
    assert!(p99 <= 1.0, "phase p99 {p99:.3} ms");

    // And the peer's stop stops the session, on its next bar line too (Link keeps playing until
    // then, with the band).
    let stopped = us("session_stopped_after_us");
    let bar130 = 4.0 * 60e6 / 130.0;
    eprintln!(
        "LINK the session stopped {:.0} ms after the peer's stop (a bar is {:.0} ms)",
        stopped as f64 / 1e3,
        bar130 / 1e3
    );
    assert!((stopped as f64) < bar130 + 300_000.0, "{stopped}");
    let stop = lead
        .iter()
        .filter(|v| v["event"] == "state")
        .flat_map(|v| v["pending"].as_array().cloned().unwrap_or_default())
        .find(|p| p["playing"] == false)
        .expect("the session scheduled its stop");
    assert!(stop["position"].as_f64().unwrap().rem_euclid(4.0) < 1e-6, "not on a bar line: {stop}");
    // A bridge joining a Link session that was there first takes up its tempo, and changes
    // neither its tempo nor its start/stop (Link's TEMPO-2).
    eprintln!("LINK a bridge joining the peer's 90 BPM: the peer's tempos meanwhile {}", peer["join_peer_tempos"]);
    assert!(
        peer["join_peer_tempos"].as_array().unwrap().iter().all(|t| (t.as_f64().unwrap() - 90.0).abs() < 0.01),
        "the peer's tempo moved when BandSync joined: {}",
        peer["join_peer_tempos"]
    );
    assert_eq!(peer["join_peer_stopped"], false, "the peer stopped when BandSync joined");
    // Then the band comes in on the peer's bar: Live's beat runs on as if nothing happened.
    let (b0, b1) = (&peer["band_in_before"], &peer["band_in_after"]);
    let tempo = peer["band_in_tempo"].as_f64().unwrap();
    let expected = b0[1].as_f64().unwrap() + (b1[0].as_i64().unwrap() - b0[0].as_i64().unwrap()) as f64 * tempo / 60e6;
    let d = (b1[1].as_f64().unwrap() - expected).rem_euclid(4.0);
    let jump_ms = d.min(4.0 - d) * 60e3 / tempo;
    eprintln!("LINK the band came in while the peer played at {tempo} BPM: the peer's phase moved {jump_ms:.3} ms");
    assert!((tempo - 90.0).abs() < 0.01 && peer["band_in_playing"] == true, "{peer}");
    assert!(jump_ms <= 1.0, "the peer's phase jumped {jump_ms:.3} ms when the band came in");
    // The bridge asked as the leader: the host took the requests as the leader's own.
    assert!(lead.iter().any(|v| v["event"] == "link_request" && v["request"] == "tempo"));
    assert!(!lead.iter().any(|v| v["event"] == "error"), "{lead:#?}");
}
