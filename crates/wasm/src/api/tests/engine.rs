//! The page's click engine through the page's calls: a click at its exact frame, and the last
//! clicks kept for a reader that stalled.

use super::{ok, transport_120};
use serde_json::{Value, json};

/// An engine at 48 kHz whose frame 0 is heard at host `host_at_0` µs, playing 120 BPM from 0.
fn engine_at(host_at_0: f64) -> Value {
    let e = ok("engine.new", json!({"rate": 48000, "sound": "classic"}));
    let map = json!({"frame_ref": 0, "host_at_ref": host_at_0, "us_per_frame": 1e6 / 48000.0});
    ok("engine.command", json!({"h": e, "command": {"kind": "map", "map": map}}));
    ok("engine.command", json!({"h": e, "command": {"kind": "schedule", "transport": transport_120()}}));
    e
}

#[test]
fn the_engine_renders_a_click_at_its_exact_frame() {
    // Frame 0 is heard at host 1 s; one frame is 1e6/48000 µs.
    let e = engine_at(1_000_000.0);
    // Clicks at host 1.0, 1.5 and 2.0 s are frames 0, 24 000 and 48 000: each starts at full
    // level on its first frame, after silence.
    let mut onsets = Vec::new();
    let mut quiet = 1_000;
    crate::registry::with(|r| {
        let eng = r.engines.get_mut(e.as_u64().unwrap() as u32).unwrap();
        for q in 0..400u64 {
            let buf = eng.render(128, q * 128).to_vec();
            for (i, pair) in buf.chunks(2).enumerate() {
                if pair[0].abs() > 0.1 && quiet >= 1_000 {
                    onsets.push(q * 128 + i as u64);
                }
                quiet = if pair[0].abs() < 1e-4 { quiet + 1 } else { 0 };
            }
        }
    });
    assert_eq!(onsets, [0, 24_000, 48_000]);
    let stats = ok("engine.stats", json!({"h": e}));
    assert!(stats["clicks"] == 3 && stats["late"] == 0, "{stats}");
    // Every click started is there for a reader that missed some, with its frame.
    let mut recent = vec![0; 10];
    recent.extend([1_000_000, 0, 1_500_000, 24_000, 2_000_000, 48_000]);
    assert_eq!(stats["recent"], json!(recent), "zeros before the first");
}

#[test]
fn the_engine_keeps_its_last_clicks_for_a_reader_that_stalled() {
    let e = engine_at(0.0);
    // Ten beats unread: the last eight, oldest first.
    crate::registry::with(|r| {
        let eng = r.engines.get_mut(e.as_u64().unwrap() as u32).unwrap();
        for q in 0..(10 * 24_000 / 128) {
            eng.render(128, q * 128);
        }
    });
    let stats = ok("engine.stats", json!({"h": e}));
    assert_eq!(stats["clicks"], 10, "{stats}");
    let recent: Vec<i64> = serde_json::from_value(stats["recent"].clone()).unwrap();
    let want: Vec<i64> = (2..10).flat_map(|k| [k * 500_000, k * 24_000]).collect();
    assert_eq!(recent, want);
}
