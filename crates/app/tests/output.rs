//! The app's own click output in the band's participant list, through a real JACK server
//! (`jackd -d dummy`): the click plays through JACK (the `jack` device), the member reports its
//! output's figures, and the host shows them to everyone; audio turned off takes them back; a new
//! latency offset is taken without reopening the output. And each output device keeps its own
//! latency figure, by its full name.

use bandsync_app::events::{AppEvent, AudioSettings};
use bandsync_app::{App, AppOptions, Sink};
use bandsync_audio::offsets::{LatencyStore, Source, StoredLatency};
use bandsync_core::protocol::{LatencySource, OutputReport, SyncQuality};
use bandsync_core::{ClientMsg, ServerMsg, Tempo};
use bandsync_e2e::jack::Jackd;
use bandsync_e2e::stream::until;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Lena's sync figures, from a participant update.
fn lenas_sync(ev: &AppEvent) -> Option<SyncQuality> {
    match ev {
        AppEvent::Server { msg: ServerMsg::ParticipantUpdated { participant } } if participant.name == "Lena" => {
            participant.sync.clone()
        }
        _ => None,
    }
}

/// An app that plays `audio` and hosts session `name` as Lena, and its events.
async fn hosting(name: &str, audio: &AudioSettings) -> (App, mpsc::UnboundedReceiver<AppEvent>) {
    let app = App::new(AppOptions {
        bind: "127.0.0.1:0".parse().unwrap(),
        mdns: false,
        latency_store: Some(bandsync_e2e::scratch_latency_store()),
        ..AppOptions::default()
    });
    app.set_audio(audio.clone()).await.unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let sink: Arc<dyn Sink<AppEvent>> = Arc::new(move |e: AppEvent| tx.send(e).is_ok());
    app.host_session(name, "Lena", None, sink).await.unwrap();
    (app, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apps_output_is_in_the_list_and_leaves_it_when_audio_stops() {
    let _jackd = Jackd::start();
    let audio = AudioSettings { enabled: true, device: Some("jack".into()), ..AudioSettings::default() };
    let (app, mut rx) = hosting("Output", &audio).await;

    let out: OutputReport =
        until(&mut rx, "the app's output in the list", |e| lenas_sync(e).and_then(|s| s.output)).await;
    assert!(out.engine.starts_with("cpal "), "{out:?}");
    assert!(out.is_valid(), "{out:?}");
    // JACK's buffer is known: part of the latency, and nothing to calibrate on a wired output.
    assert!(out.buffer_us.0 > 0 && out.buffer_us <= out.latency_us, "{out:?}");
    assert!(!out.uncalibrated(), "{out:?}");

    app.set_audio(AudioSettings { enabled: false, ..audio }).await.unwrap();
    until(&mut rx, "the output gone from the list", |e| lenas_sync(e).filter(|s| s.output.is_none())).await;
    app.leave_session().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_latency_offset_moves_the_click_without_reopening_the_output() {
    let _jackd = Jackd::start();
    // Eight clicks a beat at 240 BPM, 31 ms apart: a move of the offset by 35 ms jumps over one,
    // within the 40 ms that the engine catches up (played at once, where a map's move would make
    // it late).
    let audio =
        AudioSettings { enabled: true, device: Some("jack".into()), subdivision: 8, ..AudioSettings::default() };
    let (app, mut rx) = hosting("Offset", &audio).await;
    until(&mut rx, "the app's output in the list", |e| lenas_sync(e).and_then(|s| s.output)).await;
    app.send_msg(ClientMsg::Tempo { tempo: Tempo::from_bpm(240.0).unwrap() }).await.unwrap();
    app.send_msg(ClientMsg::Play { count_in: 0, on_bar: None }).await.unwrap();
    let before: OutputReport =
        until(&mut rx, "clicks played", |e| lenas_sync(e).and_then(|s| s.output).filter(|o| o.clicks >= 64)).await;
    assert_eq!(before.source, LatencySource::Reported, "{before:?}");

    // The player drags the offset slider to 35 ms while the band plays: the output takes it as
    // it is. Reopened, it would first say it is off (the status a reopening output starts from).
    app.set_audio(AudioSettings { latency_offset_ms: Some(35.0), ..audio }).await.unwrap();
    let mut reopened = false;
    let moved: OutputReport = until(&mut rx, "the new figure in the list", |e| {
        reopened |= matches!(e, AppEvent::Audio { audio } if !audio.active);
        lenas_sync(e).and_then(|s| s.output).filter(|o| o.source == LatencySource::Calibrated)
    })
    .await;
    assert!(!reopened, "the output was reopened for a new latency offset");
    let moved_ms = (moved.latency_us.0 - before.latency_us.0) as f64 / 1000.0;
    assert!((moved_ms - 35.0).abs() < 2.0, "the figure moved by {moved_ms} ms: {before:?} then {moved:?}");
    // The clicks go on, counted from the same start; the one the move itself made late (played at
    // once, up to 35 ms after its new time) is not the output's: no more late clicks than before.
    let after: OutputReport = until(&mut rx, "the clicks after the move", |e| {
        reopened |= matches!(e, AppEvent::Audio { audio } if !audio.active);
        lenas_sync(e).and_then(|s| s.output).filter(|o| o.clicks >= moved.clicks + 64)
    })
    .await;
    assert!(!reopened, "the output was reopened");
    assert_eq!(after.late, before.late, "clicks counted late after the move: {before:?} then {after:?}");
    app.leave_session().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_output_device_keeps_its_own_latency_figure() {
    // Two real devices by their full names: JACK's output, and the system default.
    let _jackd = Jackd::start();
    let dir = std::env::temp_dir().join(format!("bandsync-app-figures-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("latency.json");
    let store = LatencyStore::at(path.clone());
    let new_app = || {
        App::new(AppOptions {
            bind: "127.0.0.1:0".parse().unwrap(),
            mdns: false,
            latency_store: Some(path.clone()),
            ..AppOptions::default()
        })
    };
    let app = new_app();
    let on = |device: Option<&str>, offset: Option<f64>, measured: bool| AudioSettings {
        enabled: false,
        device: device.map(str::to_owned),
        latency_offset_ms: offset,
        latency_measured: measured,
        ..AudioSettings::default()
    };
    let figure = |s: AudioSettings| (s.latency_offset_ms, s.latency_measured);
    let jack = Some("jack");
    // A device with nothing stored plays by what it reports; a figure set for it is its own.
    assert_eq!(figure(app.set_audio(on(jack, None, false)).await.unwrap()), (Some(0.0), false));
    assert_eq!(figure(app.set_audio(on(jack, Some(12.5), false)).await.unwrap()), (Some(12.5), false));
    let jack_name = bandsync_audio::device::output_name(jack).unwrap();
    assert_ne!(jack_name, "jack", "kept under the device's full name");
    let stored = store.get(&jack_name).unwrap().expect("JACK's figure stored");
    assert_eq!((stored.latency_ms, stored.source), (12.5, Source::Calibrated));
    // Another device, chosen with none: its own, none yet; then one set for it.
    assert_eq!(figure(app.set_audio(on(None, None, false)).await.unwrap()), (Some(0.0), false));
    app.set_audio(on(None, Some(3.0), false)).await.unwrap();
    // Back to JACK with none: its own figure again, in force.
    assert_eq!(figure(app.set_audio(on(jack, None, false)).await.unwrap()), (Some(12.5), false));
    assert_eq!(app.audio_settings().latency_offset_ms, Some(12.5), "in force, not only answered");
    // A change that says nothing of the figure (the volume, sent before the UI had the answer
    // above) keeps it, and forgets nothing.
    let quieter = AudioSettings { volume: 0.2, ..on(jack, None, false) };
    assert_eq!(figure(app.set_audio(quieter).await.unwrap()), (Some(12.5), false));
    assert_eq!(store.get(&jack_name).unwrap().map(|l| l.latency_ms), Some(12.5));
    assert_eq!(figure(app.set_audio(on(None, None, false)).await.unwrap()), (Some(3.0), false));
    // A measurement (as `calibrate` stores it) comes back as measured; the UI's rounding of it
    // leaves it as it was measured, with its spread.
    let measured = StoredLatency { latency_ms: 20.04, source: Source::Measured, spread_ms: 0.3 };
    store.set(&jack_name, measured).unwrap();
    assert_eq!(figure(app.set_audio(on(jack, None, false)).await.unwrap()), (Some(20.04), true));
    app.set_audio(on(jack, Some(20.0), true)).await.unwrap();
    assert_eq!(store.get(&jack_name).unwrap(), Some(measured));
    // Taken back to none on the same device: forgotten; the default's stays.
    assert_eq!(figure(app.set_audio(on(jack, Some(0.0), false)).await.unwrap()), (Some(0.0), false));
    assert_eq!(store.get(&jack_name).unwrap(), None);
    assert_eq!(store.load().unwrap().len(), 1, "the default device's figure");
    // An app's first settings with a figure (the UI's, from before): a device's own wins where
    // it has one (it may be newer, `bandsync calibrate`'s); else that figure becomes its own.
    let later = new_app();
    assert_eq!(figure(later.set_audio(on(None, Some(1.0), false)).await.unwrap()), (Some(3.0), false));
    let later = new_app();
    assert_eq!(figure(later.set_audio(on(jack, Some(7.0), false)).await.unwrap()), (Some(7.0), false));
    assert_eq!(store.get(&jack_name).unwrap().map(|l| l.latency_ms), Some(7.0));
    // The calibration listens through the microphone the settings name: one that is not there
    // is named in its error, after the output (JACK's) opened.
    let mic = AudioSettings { input_device: Some("no such microphone".into()), ..on(jack, None, false) };
    app.set_audio(mic).await.unwrap();
    let err = app.calibrate().await.unwrap_err().to_string();
    assert!(err.contains("microphone") && err.contains("no such microphone"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
