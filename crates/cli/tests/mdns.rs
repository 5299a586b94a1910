//! mDNS discovery, inside a network namespace the test creates (`unshare -rn`), never in the
//! machine's own: mdns-sd joins the multicast group on every interface before any filter applies.

use serde_json::Value;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_bandsync");

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap_or_default().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

#[test]
fn host_is_discovered_within_2_s_and_its_removal_is_seen() {
    let dir = std::env::temp_dir().join(format!("bandsync-mdns-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Everything below runs in a fresh network namespace holding only its own loopback.
    let script = r#"
        set -e
        ip link set lo up
        "$BIN" host --bind 127.0.0.1:0 --name "Friday Gig" --mdns-iface lo --json > "$DIR/host.jsonl" 2> "$DIR/host.log" &
        HOST=$!
        while ! grep -q hosting "$DIR/host.jsonl" 2>/dev/null; do sleep 0.05; done
        start=$(date +%s%N)
        "$BIN" discover --json --timeout 2 --mdns-iface lo > "$DIR/first.jsonl"
        echo $(( ($(date +%s%N) - start) / 1000000 )) > "$DIR/elapsed_ms"
        "$BIN" discover --json --timeout 5 --mdns-iface lo > "$DIR/watch.jsonl" &
        WATCH=$!
        sleep 1.5
        kill -TERM $HOST
        wait $HOST
        wait $WATCH
    "#;
    let status = Command::new("unshare")
        .args(["-rn", "sh", "-c", script])
        .env("BIN", BIN)
        .env("DIR", &dir)
        .status()
        .expect("unshare runs (util-linux); the test needs it to keep mDNS off the real network");
    assert!(status.success(), "the namespace script failed: {status}");

    let hosting = lines(&dir.join("host.jsonl")).into_iter().find(|v| v["event"] == "hosting").expect("hosting");
    let secret = hosting["url"].as_str().unwrap().split_once("#k=").unwrap().1.to_owned();
    let first = lines(&dir.join("first.jsonl"));
    let found =
        first.iter().find(|v| v["event"] == "found").unwrap_or_else(|| panic!("not found within 2 s: {first:?}"));
    assert_eq!(found["name"], "Friday Gig");
    assert_eq!(found["session"], hosting["session"]);
    assert_eq!(found["port"].as_u64(), hosting["addr"].as_str().unwrap().rsplit(':').next().unwrap().parse().ok());
    assert_eq!(found["addrs"][0], "127.0.0.1");
    assert_eq!(found["secret_required"], true);
    let after = found["after_ms"].as_u64().unwrap();
    eprintln!("found {after} ms after discover started");
    assert!(after <= 2000, "found after {after} ms");

    let watch = lines(&dir.join("watch.jsonl"));
    assert!(watch.iter().any(|v| v["event"] == "found"), "{watch:?}");
    let removed = watch.iter().find(|v| v["event"] == "removed").unwrap_or_else(|| panic!("no removal: {watch:?}"));
    assert_eq!(removed["session"], hosting["session"]);

    // The secret is in neither the advertisement nor the host's logs.
    for f in ["first.jsonl", "watch.jsonl", "host.log"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap_or_default();
        assert!(!text.contains(&secret), "the secret leaked into {f}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
