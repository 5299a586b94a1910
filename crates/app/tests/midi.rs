//! MIDI in the app's settings, through a real JACK server (`jackd -d dummy`): the leader's app
//! sends clock and transport to the band's gear (a JACK recorder of the test's), and a foot
//! controller (a JACK client of the test's) chooses the song, plays and cues for the leader. The
//! setlist is edited as the UI edits it (`send_doc`), which the pedals' replica must see although
//! the server does not echo it. Settings that can never work are refused; a port that will not
//! open is said in the session's `midi` event.

use bandsync_app::events::{AppEvent, AudioSettings, MidiSettings, MidiStatus};
use bandsync_app::{App, AppError, AppOptions, Sink};
use bandsync_core::ServerMsg;
use bandsync_core::midi::input::DEFAULT_MAP;
use bandsync_docs::{SessionDoc, Song};
use bandsync_e2e::jack::{Jackd, MidiRecorder, Pedal};
use bandsync_e2e::stream::until;
use std::sync::Arc;
use tokio::sync::mpsc;

fn midi(ev: &AppEvent) -> Option<MidiStatus> {
    if let AppEvent::Midi { midi } = ev { Some(midi.clone()) } else { None }
}

fn server(ev: &AppEvent) -> Option<&ServerMsg> {
    if let AppEvent::Server { msg } = ev { Some(msg) } else { None }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apps_midi_drives_the_gear_and_its_pedals_act_for_the_leader() {
    let _jackd = Jackd::start();
    let rec = MidiRecorder::start();
    let pedal = Pedal::start();
    let app = App::new(AppOptions {
        bind: "127.0.0.1:0".parse().unwrap(),
        mdns: false,
        latency_store: Some(bandsync_e2e::scratch_latency_store()),
        ..AppOptions::default()
    });
    app.set_audio(AudioSettings { enabled: false, ..AudioSettings::default() }).await.unwrap();

    // Settings that can never work are refused at once, and change nothing.
    let bad = MidiSettings { input: Some("jack".into()), map: "note 60".into(), ..MidiSettings::default() };
    let e = app.set_midi(bad).await.unwrap_err();
    assert!(matches!(&e, AppError::Settings(m) if m.contains("TRIGGER=ACTION")), "{e}");
    let e = app.set_midi(MidiSettings { input: Some("rtp".into()), ..MidiSettings::default() }).await.unwrap_err();
    assert!(e.to_string().contains("set MIDI out to rtp"), "{e}");
    assert_eq!(app.midi_settings(), MidiSettings::default());

    // Set before the session: the session opens both ports as it starts.
    let settings = MidiSettings {
        out: Some(format!("jack:{}", MidiRecorder::PORT)),
        input: Some(format!("jack:{}", Pedal::PORT)),
        map: format!("{DEFAULT_MAP}; note 65=cue Last chorus"),
        offset_ms: 0.0,
    };
    app.set_midi(settings.clone()).await.unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let sink: Arc<dyn Sink<AppEvent>> = Arc::new(move |e: AppEvent| tx.send(e).is_ok());
    app.host_session("MIDI gig", "Lena", None, sink).await.unwrap();
    let status = until(&mut rx, "MIDI open", midi).await;
    assert!(status.error.is_none() && status.out.is_some() && status.input.is_some(), "{status:?}");
    // MIDI out follows the clock estimate: a band that starts before this device has synced is
    // joined mid-song (Song Position and Continue), so the test plays once it has.
    until(&mut rx, "the clock synced", |e| match e {
        AppEvent::Clock { clock } => clock.clock.synced.then_some(()),
        _ => None,
    })
    .await;

    // The UI's edit of the setlist; the pedals' replica takes it from the UI's own message.
    let doc = SessionDoc::new();
    let songs = [Song::new("one", "One"), Song::new("two", "Two")];
    app.send_doc(doc.set_setlist(&songs).unwrap()).await.unwrap();

    // D4: the next song (the first, as none is current), then the next.
    pedal.press(&[0x90, 62, 100]);
    until(&mut rx, "song one", |e| match server(e) {
        Some(ServerMsg::SongChanged { song: Some(s), .. }) if s == "one" => Some(()),
        _ => None,
    })
    .await;
    pedal.press(&[0x90, 62, 100]);
    until(&mut rx, "song two", |e| match server(e) {
        Some(ServerMsg::SongChanged { song: Some(s), .. }) if s == "two" => Some(()),
        _ => None,
    })
    .await;
    // Past the end: nothing is sent, and the app says why.
    pedal.press(&[0x90, 62, 100]);
    let why = until(&mut rx, "a refused press", |e| match e {
        AppEvent::Pedal { refused: Some(r), .. } => Some(r.clone()),
        _ => None,
    })
    .await;
    assert!(why.contains("no next song"), "{why}");

    // The sustain pedal plays: the gear gets Start and the clock.
    pedal.press(&[0xB0, 64, 127]);
    pedal.press(&[0xB0, 64, 0]);
    let action = until(&mut rx, "the play", |e| match e {
        AppEvent::Pedal { action: Some(a), .. } => Some(a.clone()),
        _ => None,
    })
    .await;
    assert_eq!(action, "play");
    until(&mut rx, "playing", |e| match server(e) {
        Some(ServerMsg::Transport { transport, .. }) => transport.latest().playing.then_some(()),
        _ => None,
    })
    .await;
    rec.wait_for("Start and 24 clocks", 10, |seen| {
        seen.iter().any(|(_, b)| b == &[0xFA]) && seen.iter().filter(|(_, b)| b == &[0xF8]).count() >= 24
    });
    // F4 cues the band.
    pedal.press(&[0x90, 65, 100]);
    let bar = until(&mut rx, "the cue", |e| match server(e) {
        Some(ServerMsg::Cue { text, bar, .. }) if text == "Last chorus" => Some(*bar),
        _ => None,
    })
    .await;
    assert!(bar.is_some(), "a cue while playing lands on a bar");

    // A new pedal map mid-song is taken in place: the gear is not stopped, and the new key cues.
    let remapped = MidiSettings { map: format!("{DEFAULT_MAP}; note 67=cue Outro"), ..settings.clone() };
    app.set_midi(remapped).await.unwrap();
    let status = until(&mut rx, "MIDI after the new map", midi).await;
    assert!(status.error.is_none() && status.out.is_some() && status.input.is_some(), "{status:?}");
    pedal.press(&[0x90, 67, 100]);
    until(&mut rx, "the new key's cue", |e| match server(e) {
        Some(ServerMsg::Cue { text, .. }) if text == "Outro" => Some(()),
        _ => None,
    })
    .await;
    assert!(!rec.seen().iter().any(|(_, b)| b == &[0xFC]), "a new map does not stop the gear");

    // A new offset is taken in place too: the same port, the gear not stopped, and the clock 5 ms
    // earlier against its own grid from then on. (A change of 2 ms or less is slewed in at 0.2 ms
    // a second, as the feeder slews a new clock estimate: 0.5 ms had moved 0.14 ms by the clocks
    // measured here, 2 ms had moved 1.97 ms.)
    let clocks =
        |seen: &[(f64, Vec<u8>)]| seen.iter().filter(|(_, b)| b == &[0xF8]).map(|(t, _)| *t).collect::<Vec<_>>();
    let before = clocks(&rec.seen());
    let earlier = MidiSettings { offset_ms: 5.0, ..app.midi_settings() };
    app.set_midi(earlier).await.unwrap();
    let after_status = until(&mut rx, "MIDI after the new offset", midi).await;
    assert_eq!(after_status.out, status.out, "the same port, not reopened");
    let n = before.len();
    let seen = rec.wait_for("24 more clocks", 10, |seen| clocks(seen).len() >= n + 48);
    let all = clocks(&seen);
    let mut gaps: Vec<f64> = before.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort_by(f64::total_cmp);
    let interval = gaps[gaps.len() / 2];
    let last = before[n - 1];
    // Where the last 24 clocks fall against the grid the ones before the change were on (µs).
    let mut shift: Vec<f64> = all[n + 24..]
        .iter()
        .map(|t| {
            let k = (t - last) / interval;
            (k - k.round()) * interval
        })
        .collect();
    shift.sort_by(f64::total_cmp);
    let median = shift[shift.len() / 2];
    eprintln!("MIDI offset 5 ms: the clock moved {median:.0} µs against its grid (interval {interval:.0} µs)");
    assert!((median + 5_000.0).abs() < 1_000.0, "the clock moved {median:.0} µs, not -5 000: {shift:?}");
    assert!(!rec.seen().iter().any(|(_, b)| b == &[0xFC]), "a new offset does not stop the gear");

    // MIDI off while the band plays: the port closes, and the gear is told Stop first.
    app.set_midi(MidiSettings::default()).await.unwrap();
    assert_eq!(until(&mut rx, "MIDI closed", midi).await, MidiStatus::default());
    rec.wait_for("Stop", 10, |seen| seen.iter().any(|(_, b)| b == &[0xFC]));

    // A port that will not open is the session's news, not a refusal of the setting.
    let nowhere = MidiSettings { out: Some("jack:nosuch:port".into()), ..MidiSettings::default() };
    app.set_midi(nowhere).await.unwrap();
    let status = until(&mut rx, "the port's error", midi).await;
    assert!(status.error.as_deref().is_some_and(|e| e.contains("nosuch:port")), "{status:?}");
    assert!(status.out.is_none(), "{status:?}");

    app.set_midi(MidiSettings::default()).await.unwrap();
    until(&mut rx, "MIDI closed", midi).await;
    app.leave_session().await.unwrap();
}
