//! The desktop app's calibration at the speaker ([`App::calibrate`]): the app hosts a session
//! whose click plays (cpal into a private PulseAudio), and calibrates its output while the band
//! plays, through a sink that delays the output by an exact, injected amount (`ladspa-sdk`'s
//! `delay_5s` through `module-ladspa-sink`), recording the speaker (the sink's monitor) as its
//! microphone. The set (0 and 37 ms injected) is judged as `bandsync calibrate`'s is
//! (`bandsync_e2e::calibration`); the session's click must be closed while the probe plays (the
//! beat goes on visually) and come back after; the figure is stored for the device, as measured,
//! and once it is the offset, the band sees the output's latency as measured.
//!
//! Each calibration is the app in a process of its own (this binary again, told so by
//! [`CHILD`]): a sound server is chosen by the environment, which a process sets before it starts
//! and never changes under its threads. A timing test (`scripts/test.sh` runs it beside the MIDI
//! tests and the speaker test's light ones), with no test harness: its `main` is the test.

use bandsync_app::events::{AppEvent, AudioSettings};
use bandsync_app::{App, AppOptions, Sink};
use bandsync_core::protocol::{LatencySource, OutputReport};
use bandsync_core::{ClientMsg, ServerMsg};
use bandsync_e2e::calibration::{self, Figure};
use bandsync_e2e::process::Proc;
use bandsync_e2e::pulse::Pulse;
use bandsync_e2e::stream::until;
use serde_json::{Value, json};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Set in the environment of the process that runs the app.
const CHILD: &str = "BANDSYNC_TEST_APP_CALIBRATE";
/// The session's audible clicks the probe may overlap: those already on their way as the
/// output closes.
const AUDIBLE_DURING_MAX: usize = 2;

fn main() {
    // As a test binary is asked: `--list`, or a filter that leaves this test out.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        println!("app_calibration: test");
        return;
    }
    let filters: Vec<&str> = (0..args.len())
        .filter(|&i| !args[i].starts_with('-') && (i == 0 || args[i - 1] != "--skip"))
        .map(|i| args[i].as_str())
        .collect();
    if !filters.is_empty() && !filters.iter().any(|f| "app_calibration".contains(f)) {
        return;
    }
    if std::env::var_os(CHILD).is_some() {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let ev = rt.block_on(calibrating_app());
        println!("{ev}");
        return;
    }
    let pulse = Pulse::start(1);
    let speaker = pulse.channel_sink("speaker", 0);
    // A low-latency client on the speaker throughout (as in the CLI's test: until one connects,
    // the null sink renders in large blocks).
    let rec = pulse.record_source("speaker.monitor", 1, &pulse.dir.join("speaker.wav"));
    let mut sinks = 0;
    let mut set = |attempt: u32| {
        let mut figures = Vec::new();
        for delay_ms in [0.0, 37.0] {
            sinks += 1;
            let sink = pulse.delay_sink(&format!("delayed{}_{sinks}", delay_ms as u32), &speaker, delay_ms);
            let mut cmd = Command::new(std::env::current_exe().unwrap());
            pulse.apply(&mut cmd, Some(&sink));
            // A store of its own: the app starts from a figure stored for its device (the last
            // app's, which played through the same default device), and this one is to start
            // from the device's report.
            let config = pulse.dir.join(format!("config-{sinks}"));
            cmd.env(CHILD, "1").env("PULSE_SOURCE", "speaker.monitor").env("BANDSYNC_CONFIG_DIR", &config);
            let mut app = Proc::start(cmd, true);
            app.timeout = Duration::from_secs(60);
            let ev = app.wait_for("a figure", |v| v["event"] == "calibrated" || v["event"] == "calibration_failed");
            assert_eq!(app.exit_code(), 0, "{}", app.stderr());
            eprintln!("APP-CALIBRATE (set {attempt}) injected {delay_ms} ms: {ev}");
            let (measured_ms, spread_ms) = if ev["event"] == "calibrated" {
                (ev["latency_ms"].as_f64().unwrap(), ev["spread_ms"].as_f64().unwrap())
            } else {
                (f64::NAN, f64::NAN)
            };
            let took = Duration::from_secs_f64(ev["took_s"].as_f64().unwrap());
            figures.push(Figure { injected_ms: delay_ms, measured_ms, spread_ms, took });
        }
        figures
    };
    // A set that misses its bounds is measured once more, as the CLI's is.
    if let Err(why) = calibration::judge(&set(1)) {
        eprintln!("APP-CALIBRATE-VOID measuring the set again: {why}");
        if let Err(why) = calibration::judge(&set(2)) {
            panic!("{why}");
        }
    }
    drop(rec);
    println!("the app's calibration: passed");
}

/// The output's figures in a participant update, when their latency comes from `source`.
fn output(e: &AppEvent, source: LatencySource) -> Option<OutputReport> {
    match e {
        AppEvent::Server { msg: ServerMsg::ParticipantUpdated { participant } } => {
            participant.sync.as_ref()?.output.clone().filter(|o| o.source == source)
        }
        _ => None,
    }
}

/// The app hosting a session whose click plays, calibrating while it does: the outcome as one
/// JSON line (`calibrated` or `calibration_failed`). Panics when the click is not closed for the
/// probe, does not come back, or the figure is not stored.
async fn calibrating_app() -> Value {
    let app = App::new(AppOptions { bind: "127.0.0.1:0".parse().unwrap(), mdns: false, ..AppOptions::default() });
    app.set_audio(AudioSettings { enabled: true, ..AudioSettings::default() }).await.unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let sink: Arc<dyn Sink<AppEvent>> = Arc::new(move |e: AppEvent| tx.send(e).is_ok());
    app.host_session("Calibrate", "Lena", None, sink).await.unwrap();
    until(&mut rx, "a synced clock", |e| matches!(e, AppEvent::Clock { clock } if clock.clock.synced).then_some(()))
        .await;
    app.send_msg(ClientMsg::Play { count_in: 0, on_bar: None }).await.unwrap();
    let audible = |e: &AppEvent| matches!(e, AppEvent::Beat { beat } if beat.audible);
    until(&mut rx, "an audible click", |e| audible(e).then_some(())).await;
    until(&mut rx, "the output's report", |e| output(e, LatencySource::Reported)).await;
    while rx.try_recv().is_ok() {}

    let started = Instant::now();
    let outcome = app.calibrate().await;
    let took_s = started.elapsed().as_secs_f64();
    // What the session did meanwhile: its beat went on, visually once its output closed.
    let mut beats = 0;
    let mut audible_during = 0;
    while let Ok(e) = rx.try_recv() {
        beats += usize::from(matches!(e, AppEvent::Beat { .. }));
        audible_during += usize::from(audible(&e));
    }
    assert!(beats >= 10, "the beat stopped while calibrating: {beats} beats in {took_s:.1} s");
    assert!(audible_during <= AUDIBLE_DURING_MAX, "the click played over the probe: {audible_during} of {beats} beats");
    until(&mut rx, "the click back after the calibration", |e| audible(e).then_some(())).await;
    if let Ok(c) = &outcome {
        // Put into the offset, as the UI does: the band sees the output's latency as measured.
        let offset = (c.latency_ms * 10.0).round() / 10.0;
        let measured =
            AudioSettings { latency_offset_ms: Some(offset), latency_measured: true, ..app.audio_settings() };
        app.set_audio(measured).await.unwrap();
        // The latency it reports is the device's own delay (as the app's `audio` event gives it
        // for the same report, sent just before) with the offset added. (The delay itself moves
        // between streams, 28.2 then 21.7 ms here: compared across streams it says nothing.)
        let mut delays: Vec<f64> = Vec::new();
        let out = until(&mut rx, "the output reported as measured, with the offset added", |e| {
            if let AppEvent::Audio { audio } = e {
                delays.push(audio.output_latency_ms);
            }
            let o = output(e, LatencySource::Measured)?;
            let with_offset = |d: &f64| ((d + offset) * 1000.0).round() as i64 == o.latency_us.0;
            delays.iter().any(with_offset).then_some(o)
        })
        .await;
        eprintln!("the band's figure with the offset: {out:?}");
    }
    app.leave_session().await.unwrap();

    match outcome {
        Ok(c) => {
            // Stored for the output device, as measured.
            let path = std::path::PathBuf::from(std::env::var_os("BANDSYNC_CONFIG_DIR").unwrap()).join("latency.json");
            let stored: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            let entries = stored.as_object().unwrap();
            assert_eq!(entries.len(), 1, "one output device: {stored}");
            let e = entries.values().next().unwrap();
            assert!((e["latency_ms"].as_f64().unwrap() - c.latency_ms).abs() < 1e-9, "{stored}");
            assert_eq!(e["source"], "measured", "{stored}");
            json!({
                "event": "calibrated", "latency_ms": c.latency_ms, "spread_ms": c.spread_ms, "used": c.used,
                "of": c.of, "took_s": took_s, "beats": beats, "audible_during": audible_during,
            })
        }
        Err(e) => json!({"event": "calibration_failed", "message": e.to_string(), "took_s": took_s}),
    }
}
