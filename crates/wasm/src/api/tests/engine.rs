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

/// The page's engine at 120 BPM, rendered to just before the click at host 0.5 s (frame 24 000),
/// then moved 20.8 ms (1 000 frames) forward by `move_`, then rendered on for a beat: its stats.
fn moved_before_a_click(move_: impl Fn(&Value)) -> Value {
    let e = engine_at(0.0);
    let render = |from: u64, to: u64| {
        crate::registry::with(|r| {
            let eng = r.engines.get_mut(e.as_u64().unwrap() as u32).unwrap();
            for q in from..to {
                eng.render(128, q * 128);
            }
        });
    };
    render(0, 187);
    move_(&e);
    render(187, 375);
    ok("engine.stats", json!({"h": e}))
}

#[test]
fn a_move_of_the_players_offset_plays_the_click_it_jumps_over_and_does_not_count_it_late() {
    // Written out, as the page writes it: `kind` first (a `json!` object sorts its members).
    let settings = |e: &Value, offset_us: f64| {
        let levels = r#"{"downbeat":1,"group":0.8,"beat":0.6,"subdivision":0.35,"master":0.8,"mute":false}"#;
        let command = format!(
            r#"{{"kind":"settings","levels":{levels},"ear":"both","n":1,"offset_us":{offset_us},"sound":"classic"}}"#
        );
        let answer = crate::api::call(&format!(r#"{{"op":"engine.command","args":{{"h":{e},"command":{command}}}}}"#));
        assert!(!answer.contains("\"err\""), "{answer}");
    };
    // The player's calibration: the click due 20.8 ms before the next quantum plays at its start,
    // and the band is not told that the phone played it late.
    let stats = moved_before_a_click(|e| settings(e, 1e6 / 48.0));
    assert!(stats["clicks"] == 3 && stats["late"] == 0, "{stats}");
    // The same move by the output's readings (its map) is the output's: counted late.
    let stats = moved_before_a_click(|e| {
        let map = json!({"frame_ref": 0, "host_at_ref": 1e6 / 48.0, "us_per_frame": 1e6 / 48000.0});
        ok("engine.command", json!({"h": e, "command": {"kind": "map", "map": map}}));
    });
    assert!(stats["clicks"] == 3 && stats["late"] == 1, "{stats}");
}
