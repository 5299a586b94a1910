//! The page's calls, natively: a member joins through `member.*` with a scripted server, the grid
//! and cursor hand out clicks, the engine renders them at the exact frame, bad requests are
//! answered with an error rather than a trap.

use super::call;
use serde_json::{Value, json};

mod engine;

fn ok(op: &str, args: Value) -> Value {
    let a = call(&json!({"op": op, "args": args}).to_string());
    let v: Value = serde_json::from_str(&a).unwrap();
    assert!(v.get("err").is_none(), "{op}: {a}");
    v["ok"].clone()
}

fn err(op: &str, args: Value) -> String {
    let a = call(&json!({"op": op, "args": args}).to_string());
    let v: Value = serde_json::from_str(&a).unwrap();
    v["err"].as_str().unwrap_or_else(|| panic!("{op} should fail: {a}")).to_owned()
}

/// A server message as servers write it, `type` first (`bandsync_core::tagged`), where a `Value`
/// would sort its members by name.
fn server(msg: &Value) -> String {
    let mut fields = msg.as_object().unwrap().clone();
    let ty = fields.remove("type").unwrap();
    let rest = Value::Object(fields).to_string();
    format!(r#"{{"type":{ty}{}{}"#, if rest == "{}" { "" } else { "," }, &rest[1..])
}

fn transport_120() -> Value {
    json!({"segments": [{"at": 0, "playing": true, "timeline": {"tempo": 120000, "beat_origin": 0, "time_origin": 0},
        "meter": {"beats": 4, "unit": 4, "groups": [4]}, "bar_origin": 0, "song_start": 0}]})
}

#[test]
fn a_member_connects_joins_and_its_mirror_follows_the_server() {
    let target = ok("link.parse", json!({"link": "http://127.0.0.1:7878/s/abc#k=s3cret"}));
    let spec = json!([target, "Ana", null, false, null, 3, null, null, 1000.0]);
    let h = ok("member.new", spec);
    let p = ok("member.poll", json!({"h": h}));
    assert_eq!(
        p["transmits"][0],
        json!({"kind": "connect", "url": "ws://127.0.0.1:7878/ws?session=abc", "alternates": []})
    );
    ok("member.connected", json!({"h": h, "now": 2000.0}));
    let p = ok("member.poll", json!({"h": h}));
    let join: Value = serde_json::from_str(p["transmits"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(
        (join["type"].as_str(), join["secret"].as_str(), join["v"].as_u64()),
        (Some("join"), Some("s3cret"), Some(u64::from(bandsync_core::PROTOCOL_VERSION)))
    );
    assert!(p["timeout"].as_i64().is_some());
    let welcome = json!({"type": "welcome", "v": 2, "you": 1, "resume": "tok", "resumed": false, "epoch": 9,
        "snapshot": {"session": "abc", "name": "Gig", "song": null, "participants": [], "leader": null,
            "transport": transport_120(), "stats": {"members": 1, "online": 1, "leader": null}, "now": 5}});
    // The member's answer is the page's view of the session: the whole mirror after a welcome.
    let seen = ok("member.text", json!({"h": h, "now": 3000.0, "text": server(&welcome)}));
    assert_eq!(
        (&seen["changed"]["snapshot"], &seen["mirror"]["you"], &seen["mirror"]["name"]),
        (&json!(true), &json!(1), &json!("Gig"))
    );
    let p = ok("member.poll", json!({"h": h}));
    let kinds: Vec<&str> = p["events"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["joined", "transport"], "no participant list: the page has it from the answer");
    assert_eq!(p["events"][0]["name"], "Gig", "{p}");
    // Then only what a message changed: one participant put in, the counts; nothing for a
    // chat message; `null` for the member's own (a pong).
    let ben = json!({"id": 2, "name": "Ben", "instrument": null, "role": "follower", "access": "editor",
        "connection": "online", "color": "#3cb44b", "sync": null, "joined_at": 9});
    let seen = ok(
        "member.text",
        json!({"h": h, "now": 3100.0, "text": server(&json!({"type": "participant_joined", "participant": ben}))}),
    );
    assert_eq!((&seen["mirror"], &seen["participant"]["name"]), (&Value::Null, &json!("Ben")), "{seen}");
    assert!(seen["stats"].is_object(), "the counts come with a list change: {seen}");
    assert_eq!(seen["changed"]["splice"], json!({"at": 0, "remove": 0, "insert": true}), "{seen}");
    let chat = json!({"type": "chat", "message": {"id": 1, "from": 2, "name": "Ben", "text": "hi", "at": 0, "edited_at": null,
        "deleted": false, "reply_to": null, "reactions": [], "mentions": []}});
    let seen = ok("member.text", json!({"h": h, "now": 3200.0, "text": server(&chat)}));
    assert_eq!(
        (&seen["mirror"], &seen["participant"], &seen["changed"]["participants"]),
        (&Value::Null, &Value::Null, &json!(false))
    );
    let pong = json!({"type": "pong", "n": 0, "t0": 0, "t1": 5, "t2": 5, "epoch": 9});
    assert_eq!(ok("member.text", json!({"h": h, "now": 3300.0, "text": server(&pong)})), Value::Null);
    // A message the page writes goes out as written once joined.
    ok("member.send", json!({"h": h, "text": r#"{"type":"tempo","tempo":96000}"#}));
    let p = ok("member.poll", json!({"h": h}));
    assert_eq!(p["transmits"][0]["text"], r#"{"type":"tempo","tempo":96000}"#);
    ok("member.leave", json!({"h": h}));
    let p = ok("member.poll", json!({"h": h}));
    assert_eq!(p["ended"], true);
    ok("member.free", json!({"h": h}));
    assert!(err("member.poll", json!({"h": h})).contains("no member"));
}

#[test]
fn the_grid_hands_out_the_clicks_and_the_place() {
    let whole = ok("grid.clicks", json!([transport_120(), 0.0, 2_000_000.0, 1]));
    let hosts: Vec<i64> = whole.as_array().unwrap().iter().map(|c| c["host"].as_i64().unwrap()).collect();
    assert_eq!(hosts, [0, 500_000, 1_000_000, 1_500_000]);
    let at = ok("transport.at", json!([transport_120(), 1_750_000.0]));
    assert_eq!((at["bar"].as_i64(), at["beat"].as_i64(), at["playing"].as_bool()), (Some(0), Some(3), Some(true)));
}

#[test]
fn links_meters_tempos_and_exports_come_from_the_core() {
    let t = ok("link.parse", json!({"link": "https://band.example:443/s/x#k=abc"}));
    assert_eq!(t["ws_url"], "wss://band.example/ws?session=x");
    assert_eq!(ok("link.build", json!({"target": t, "secret": "new"})), "https://band.example/s/x#k=new");
    assert!(err("link.parse", json!({"link": "ftp://x/s/a"})).contains("scheme"));
    assert_eq!(ok("meter.parse", json!({"text": "7/8 3+2+2"}))["groups"], json!([3, 2, 2]));
    assert_eq!(ok("meter.format", json!({"meter": {"beats": 7, "unit": 8, "groups": [2, 2, 3]}})), "7/8");
    assert_eq!(ok("meter.format", json!({"meter": {"beats": 7, "unit": 8, "groups": [3, 2, 2]}})), "7/8 3+2+2");
    assert_eq!(ok("tempo.check", json!({"bpm": 96.5})), 96_500);
    assert!(err("tempo.check", json!({"bpm": 5})).contains("tempo"));
    assert_eq!(ok("tempo.format", json!({"tempo": 96_500})), "96.5");
    assert_eq!(ok("tempo.format", json!({"tempo": 1_500})), "1.5", "a setlist's unplayable tempo, as written");
    ok("pin.check", json!({"pin": "482913"}));
    assert_eq!(err("pin.check", json!({"pin": "4321"})), "a PIN is 6 to 8 digits");
    assert_eq!(ok("protocol.info", json!(null))["version"], bandsync_core::PROTOCOL_VERSION);
}

#[test]
fn bad_requests_get_errors_not_traps() {
    assert!(call("not json").contains("\"err\""));
    assert!(err("nope.nothing", json!({})).contains("unknown op"));
    assert!(err("member.new", json!({"spec": {"name": "x"}})).contains("bad arguments"));
    assert!(err("engine.new", json!({"rate": 1})).contains("sample rate"));
}

#[test]
fn the_mirror_takes_every_kind_of_server_message() {
    let h = ok("mirror.new", json!(null));
    let welcome = json!({"type": "welcome", "v": 2, "you": 1, "resume": "tok", "resumed": false, "epoch": 9,
        "snapshot": {"session": "abc", "name": "Gig", "song": null, "participants": [], "leader": null,
            "transport": transport_120(), "stats": {"members": 1, "online": 1, "leader": null}, "now": 5}});
    let r = ok("mirror.apply", json!({"h": h, "msg": server(&welcome)}));
    assert_eq!(r["mirror"]["name"], "Gig");
    let chat = json!({"type": "chat", "message": {"id": 1, "from": 1, "name": "Ana", "text": "hi", "at": 1796133490726i64,
        "edited_at": null, "deleted": false, "reply_to": null, "reactions": []}});
    let r = ok("mirror.apply", json!({"h": h, "msg": server(&chat)}));
    assert_eq!(r["changed"]["participants"], false);
    assert!(r["mirror"].is_null(), "nothing changed, so the mirror is not sent again: {r}");
    let joined = json!({"type": "participant_joined", "participant": {"id": 2, "name": "Ben", "instrument": null,
        "role": "follower", "access": "editor", "connection": "online", "color": "#000000", "sync": null, "joined_at": 0}});
    let r = ok("mirror.apply", json!({"h": h, "msg": server(&joined)}));
    // One participant came: that one, where it goes, and the counts; not the whole mirror.
    assert_eq!(r["changed"]["splice"], json!({"at": 0, "remove": 0, "insert": true}), "{r}");
    assert_eq!((r["participant"]["name"].as_str(), r["stats"]["members"].as_u64()), (Some("Ben"), Some(1)), "{r}");
    assert!(r["mirror"].is_null() && r["transport"].is_null(), "{r}");
    let activity = json!({"type": "activity", "event": {"id": 4, "at": 1796133490726i64, "kind": "join", "by": 2, "summary": "x"}});
    ok("mirror.apply", json!({"h": h, "msg": server(&activity)}));
}

#[test]
fn the_output_timestamps_are_judged_and_the_filter_fits_through_the_core() {
    let j = ok("stamps.new", json!({}));
    // A timestamp heard 50 ms in the future (WebKitGTK's): skipped, then dropped.
    let future = json!({"context_s": 1.0, "heard_ms": 1_050.0, "now_ms": 1_000.0});
    assert_eq!(ok("stamps.judge", json!({"h": j, "reading": future}))["verdict"], "skip");
    ok("stamps.judge", json!({"h": j, "reading": future}));
    let third = ok("stamps.judge", json!({"h": j, "reading": future}));
    assert_eq!(third, json!({"verdict": "reported", "switched": true, "drops": 1}));
    // A browser without timestamps: the reported latency from the start.
    let none = ok("stamps.new", json!({}));
    assert_eq!(ok("stamps.judge", json!({"h": none, "reading": null}))["verdict"], "reported");
    assert!(err("stamps.judge", json!({"h": 999, "reading": null})).contains("no such judge"));

    let f = ok("filter.new", json!({"capacity": 64}));
    for k in 0..20 {
        ok("filter.push", json!([f, k * 480, 1e6 + f64::from(k) * 10_000.0]));
    }
    let fit = ok("filter.fit", json!([f, 1e6 / 48_000.0]));
    assert_eq!((fit["points"].as_u64(), fit["steps"].as_u64(), fit["outliers"].as_u64()), (Some(20), Some(0), Some(0)));
    // Another source: the line holds (no points of the new source yet, the old fit stands).
    ok("filter.switch", json!({"h": f}));
    let held = ok("filter.fit", json!([f, 1e6 / 48_000.0]));
    assert_eq!((held["local"].as_f64(), held["points"].as_u64()), (fit["local"].as_f64(), Some(0)));
    // Taps along: each tap's time, the clicks around it and the offset in effect; the figure is
    // the core's (`calibrate/taps.rs`).
    let clicks: Vec<f64> = (0..8).map(|i| 1e7 + f64::from(i) * 5e5).collect();
    let at: Vec<f64> = (0..16).map(|i| clicks[i % 8] + 2e4 + (i % 3) as f64 * 1e3).collect();
    let mut args = vec![json!(at), json!(vec![20.0; 16])];
    args.extend((0..16).map(|_| json!(clicks)));
    let c = ok("calibrate.taps", json!(args));
    assert_eq!((c["latency_ms"].as_f64(), c["used"].as_u64()), (Some(41.0), Some(16)));
    assert!(err("calibrate.taps", json!([&at[..2], vec![20.0; 2], clicks, clicks])).contains("agreed"));
    assert!(err("calibrate.taps", json!([at])).contains("bad arguments"));
    // Tap tempo: the page's TAP button; a pause starts a new series, which is all the page keeps.
    let t = ok("tap.tempo", json!([0.0, 500.0, 1000.0]));
    assert_eq!((t["bpm"].as_f64(), t["count"].as_u64()), (Some(120.0), Some(3)));
    let t = ok("tap.tempo", json!([0.0, 500.0, 5000.0]));
    assert_eq!((t["bpm"].as_f64(), t["count"].as_u64()), (None, Some(1)));
    ok("stamps.free", json!({"h": j}));
    ok("stamps.free", json!({"h": none}));
    ok("filter.free", json!({"h": f}));
}

#[test]
fn a_chart_is_rendered_for_one_reader_through_the_page_call() {
    let text = "{title: Blue Bossa}\n{key: Cm}\n{soc}\n[Cm7]Sunny [Fm7]side\n{eoc}\n";
    let r = ok("chart.render", json!([text, {"transpose": 1, "capo": 1, "notation": "letters"}]));
    assert_eq!((r["music_lines"].as_u64(), r["rendered"]["key"].as_str()), (Some(1), Some("C#m")));
    let line = &r["rendered"]["chart"]["lines"][2];
    assert_eq!(line["kind"], "lyrics");
    assert_eq!(line["pairs"][0], json!({"chord": "C#m7", "shape": "Cm7", "text": "Sunny "}));
    // Without a view, as written.
    let plain = ok("chart.render", json!([text, null]));
    assert_eq!(plain["rendered"]["chart"]["lines"][2]["pairs"][1]["chord"], "Fm7");
    assert!(err("chart.render", json!([{}])).contains("bad arguments"));
}

#[test]
fn a_textareas_edit_is_the_cores_diff_in_utf16_units() {
    // "a" typed between the a's of "aa": the caret places it.
    assert_eq!(ok("text.diff", json!(["aa", "aaa", 2])), json!({"index": 1, "remove": 0, "insert": 1}));
    assert_eq!(ok("text.diff", json!(["x😀y", "x😁y", null])), json!({"index": 1, "remove": 2, "insert": 2}));
    assert_eq!(ok("text.diff", json!(["same", "same", null])), Value::Null);
    assert!(err("text.diff", json!(["a"])).contains("bad arguments"));
    // A lone surrogate (0xD800) travels as a unit.
    assert_eq!(
        ok("text.diff16", json!([[97, 0xD800], [97, 98, 0xD800], 2])),
        json!({"index": 1, "remove": 0, "insert": 1})
    );
}

#[test]
fn the_pages_clock_is_made_wrong_as_the_native_clients() {
    let d = ok("clock.distortion", json!([-5000.0, 150.0]));
    assert_eq!(d["base_us"], json!(1e12 - 5e6));
    assert!((d["rate"].as_f64().unwrap() - 1.000_15).abs() < 1e-12, "{d}");
    // NaN, as JSON writes it.
    assert_eq!(ok("clock.distortion", json!([null, 0])), json!({"base_us": 1e12, "rate": 1.0}));
}

#[test]
fn a_bar_finds_its_part_of_the_flow_and_its_chart_section() {
    let text = "{sov: Verse 1}\na\n{soc}\nb\n";
    let mut tr = transport_120();
    tr["segments"][0]["flow"] = json!({"bar": 0});
    // Bar 3 (2 s a bar at 120 BPM): the verse's second bar.
    let p = ok("flow.place", json!(["Intro 2, V1 4, C 4", tr, 6_500_000.0, text]));
    assert_eq!(
        (p["name"].as_str(), p["bar"].as_u64(), p["section"].as_u64(), p["next"].as_str()),
        (Some("V1"), Some(1), Some(0), Some("C"))
    );
    assert_eq!(ok("flow.place", json!(["Intro 2", tr, 4_500_000.0, null])), Value::Null, "past the end");
    assert!(err("flow.place", json!(["Intro", tr, 0.0, null])).contains("Intro"));
    assert_eq!(ok("flow.start", json!(["Intro 2, V1 4, C 4", 2])), json!(6));
}

#[test]
fn a_chordpro_file_is_split_read_and_a_song_written_back_through_the_page_calls() {
    let file = "{title: One}\n{key: D}\n{tempo: 96}\n{time: 3/4}\n[D]a\n{new_song}\n[G]b\n";
    let songs = ok("library.songs", json!({"text": file}));
    assert_eq!(songs, json!(["{title: One}\n{key: D}\n{tempo: 96}\n{time: 3/4}\n[D]a\n", "[G]b\n"]));
    let one = ok("library.imported", json!({"text": songs[0]}));
    assert_eq!(one, json!({"title": "One", "key": "D", "tempo": 96_000, "meter": "3/4"}));
    assert_eq!(
        ok("library.imported", json!({"text": songs[1]})),
        json!({"title": null, "key": null, "tempo": null, "meter": null})
    );
    // What the setlist knows (`[chart, title, key, tempo, meter]`, all text, the tempo in
    // milli-BPM) goes in front of a chart that lacks it, in BPM, and reads back the same.
    let out = ok("library.exported", json!(["[G]b\n", "Two", "G", "120500", "6/8"]));
    assert_eq!(out, "{title: Two}\n{key: G}\n{tempo: 120.5}\n{time: 6/8}\n[G]b\n");
    assert_eq!(
        ok("library.imported", json!({"text": out})),
        json!({"title": "Two", "key": "G", "tempo": 120_500, "meter": "6/8"})
    );
    assert_eq!(ok("protocol.info", json!(null))["extensions"], json!(["cho", "chordpro", "pro", "crd"]));
    // A whole tempo is written without `.0`; an unset tempo (empty text) and empty fields not at all.
    assert_eq!(ok("library.exported", json!(["x", "T", "", "96000", ""])), "{title: T}\n{tempo: 96}\nx\n");
    assert_eq!(ok("library.exported", json!(["x", "", " ", "", ""])), "x\n");
    assert!(err("library.exported", json!({"chart": "x"})).contains("bad arguments"));
    assert!(err("library.exported", json!(["x", "T"])).contains("bad arguments"));
}

#[test]
fn the_page_reads_the_setlist_s_tempos_by_the_core_s_rule() {
    // As the page passes them: this version's milli-BPM, an older document's BPM, a number no
    // tempo is, and a song without one (or with a value that is not a number).
    let tempos = ok("setlist.tempos", json!([96_500, 96.5, 120, 0, -3, null]));
    assert_eq!(tempos, json!([96_500, 96_500, 120_000, null, null, null]));
    assert!(err("setlist.tempos", json!(["96"])).contains("invalid type"), "numbers only");
    assert!(err("setlist.tempos", json!({"tempo": 96_500})).contains("sequence"), "a list");
}

#[test]
fn the_page_takes_the_concerns_words_from_the_core() {
    let info = ok("protocol.info", json!(null));
    let words = info["concerns"].as_array().unwrap();
    assert_eq!(words.len(), bandsync_core::protocol::SyncConcern::ALL.len());
    assert_eq!(words[4], json!(["uncalibrated", "latency not calibrated"]));
}

#[test]
fn web_midi_gets_the_cores_clock_on_the_browsers_clock_each_event_once() {
    // The browser's clock reads host time + 5 s; the user sends 2 ms early; 100 ms ahead.
    let h = ok("midi.new", json!({"horizon_us": 100_000}));
    ok("midi.set", json!([h, transport_120(), {"epoch": 3, "continues": null}]));
    assert_eq!(ok("midi.running", json!({"h": h})), json!(false));
    let first = ok("midi.tick", json!([h, 0.0, 3, 5e6, 2000.0]));
    let later = ok("midi.tick", json!([h, 50_000.0, 3, 5.05e6, 2000.0]));
    let sends: Vec<(f64, Vec<u64>)> = [first, later]
        .iter()
        .flat_map(|v| v.as_array().unwrap().clone())
        .map(|s| {
            (s["at_ms"].as_f64().unwrap(), s["data"].as_array().unwrap().iter().map(|b| b.as_u64().unwrap()).collect())
        })
        .collect();
    assert_eq!(sends[0], (4998.0, vec![0xFA]), "Start, just before the first pulse");
    let pulses: Vec<f64> = sends.iter().filter(|(_, d)| d == &[0xF8]).map(|(at, _)| *at).collect();
    // 120 BPM: a pulse every 20.833 ms, from 0 to 150 ms (the second tick's horizon), once each.
    assert_eq!(pulses.len(), 8, "{sends:?}");
    for (k, at) in pulses.iter().enumerate() {
        assert!((at - (4998.0 + k as f64 * 500.0 / 24.0)).abs() < 0.002, "pulse {k} at {at}");
    }
    assert_eq!(ok("midi.running", json!({"h": h})), json!(true));
    // Another host clock's estimate before its schedule: nothing handed out.
    let other = ok("midi.tick", json!([h, 60_000.0, 4, 5.06e6, 2000.0]));
    assert_eq!(other, json!([]));
    ok("midi.free", json!({"h": h}));
    assert_eq!(err("midi.tick", json!([h, 0.0, 3, 0.0, 0.0])), "no such feeder");
}

#[test]
fn a_pedal_press_becomes_the_leaders_message_through_the_cores_map() {
    let map = ok("pedal.default", json!(null));
    assert!(map.as_str().unwrap().contains("note 62=next"), "{map}");
    assert!(err("pedal.new", json!({"map": "note 62=dance"})).contains("not an action"));
    let h = ok("pedal.new", json!({"map": ""}));
    let press = |data: Value, current: Value, transport: Value| {
        ok("pedal.press", json!([h, 0.0, data, ["a", "b"], current, transport]))
    };
    let next = press(json!([0x90, 62, 100]), json!("a"), Value::Null);
    assert_eq!((&next["action"], &next["msg"]), (&json!("next"), &json!({"type": "song", "id": "b"})));
    let none = press(json!([0x90, 62, 100]), json!("b"), Value::Null);
    assert_eq!(none["refused"], "no next song in the setlist");
    // The sustain pedal stops a band that plays.
    let stop = press(json!([0xB0, 64, 127]), Value::Null, transport_120());
    assert_eq!(stop["msg"], json!({"type": "stop"}));
    assert_eq!(press(json!([0x80, 62, 0]), Value::Null, Value::Null), Value::Null, "a release does nothing");
    // An id with a quote in it (an editor may write one) reads as any other.
    let odd = ok("pedal.press", json!([h, 0.0, [0x90, 62, 100], ["a\"b", "c"], "a\"b", null]));
    assert_eq!(odd["msg"], json!({"type": "song", "id": "c"}));
    ok("pedal.free", json!({"h": h}));
}
