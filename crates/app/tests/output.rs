//! The app's own click output in the band's participant list, through a real JACK server
//! (`jackd -d dummy`): the click plays through JACK (the `jack` device), the member reports its
//! output's figures, and the host shows them to everyone; audio turned off takes them back.

use bandsync_app::events::{AppEvent, AudioSettings};
use bandsync_app::{App, AppOptions, Sink};
use bandsync_core::ServerMsg;
use bandsync_core::protocol::{OutputReport, SyncQuality};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apps_output_is_in_the_list_and_leaves_it_when_audio_stops() {
    let _jackd = Jackd::start();
    let app = App::new(AppOptions { bind: "127.0.0.1:0".parse().unwrap(), mdns: false, ..AppOptions::default() });
    let audio = AudioSettings { enabled: true, device: Some("jack".into()), ..AudioSettings::default() };
    app.set_audio(audio.clone()).await.unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let sink: Arc<dyn Sink<AppEvent>> = Arc::new(move |e: AppEvent| tx.send(e).is_ok());
    app.host_session("Output", "Lena", None, sink).await.unwrap();

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
