//! Two `App`s on loopback sockets: one hosts (mDNS off, embedded server on 127.0.0.1), the other
//! joins as a follower, and each sees what the other does as UI events.

use bandsync_app::events::{AppEvent, AudioSettings, ConnectionState};
use bandsync_app::{App, AppError, AppOptions, Sink};
use bandsync_core::protocol::{Role, Secret};
use bandsync_core::{ClientMsg, ServerMsg};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// An app bound to loopback, with mDNS and audio off (no sound card or multicast in tests).
async fn app(bind: &str) -> App {
    let opts = AppOptions {
        bind: bind.parse().unwrap(),
        mdns: false,
        latency_store: Some(bandsync_e2e::scratch_latency_store()),
        ..AppOptions::default()
    };
    let app = App::new(opts);
    app.set_audio(AudioSettings { enabled: false, ..AudioSettings::default() }).await.unwrap();
    app
}

struct Events {
    rx: mpsc::UnboundedReceiver<AppEvent>,
}

fn sink() -> (Arc<dyn Sink<AppEvent>>, Events) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Arc::new(move |e: AppEvent| tx.send(e).is_ok()), Events { rx })
}

impl Events {
    /// The first event `pick` accepts, within 10 s; panics with `what` otherwise.
    async fn until<T>(&mut self, what: &str, pick: impl FnMut(&AppEvent) -> Option<T>) -> T {
        bandsync_e2e::stream::until(&mut self.rx, what, pick).await
    }
}

fn connection(ev: &AppEvent, want: ConnectionState) -> Option<String> {
    match ev {
        AppEvent::Connection { state, detail, .. } if *state == want => Some(detail.clone()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_and_follower_see_each_other_and_the_tempo_change() {
    let host = app("127.0.0.1:0").await;
    let (hs, mut he) = sink();
    let info = host.host_session("Rehearsal", "Ana", Some("drums".into()), hs).await.unwrap();
    assert!(info.link.starts_with(&format!("http://127.0.0.1:{}/s/{}#k=", info.port, info.session)));
    assert_eq!(info.links, std::slice::from_ref(&info.link));
    assert!(info.qr_svg.contains("<svg"));
    assert!(!info.mdns);
    // The raw welcome comes first, then the state it causes.
    let me = he
        .until("the host's welcome", |e| match e {
            AppEvent::Server { msg: ServerMsg::Welcome { you, snapshot, .. } } => Some((*you, snapshot.leader)),
            _ => None,
        })
        .await;
    assert_eq!(me.1, Some(me.0), "the host joins its own session as leader");
    he.until("the host online", |e| connection(e, ConnectionState::Online)).await;

    let member = app("127.0.0.1:0").await;
    let (ms, mut me_ev) = sink();
    member.join_session(&info.link, "Ben", None, None, ms).await.unwrap();
    me_ev.until("the member online", |e| connection(e, ConnectionState::Online)).await;

    // The host sees Ben arrive, as a follower.
    let ben = he
        .until("Ben joining", |e| match e {
            AppEvent::Server { msg: ServerMsg::ParticipantJoined { participant } } if participant.name == "Ben" => {
                Some(participant.clone())
            }
            _ => None,
        })
        .await;
    assert_eq!(ben.role, Role::Follower);

    // The leader changes the tempo; the member's UI gets the new schedule.
    host.send_msg(ClientMsg::Tempo { tempo: bandsync_core::Tempo(132_000) }).await.unwrap();
    let tempo = me_ev
        .until("the tempo change", |e| match e {
            AppEvent::Server { msg: ServerMsg::Transport { transport, .. } } => {
                Some(transport.latest().timeline.tempo.bpm())
            }
            _ => None,
        })
        .await;
    assert!((tempo - 132.0).abs() < 1e-9, "tempo {tempo}");

    // The member's clock syncs to the host's and is reported with host time.
    me_ev
        .until("a synced clock", |e| match e {
            AppEvent::Clock { clock } if clock.clock.synced && clock.host_now_us.is_some() => Some(()),
            _ => None,
        })
        .await;

    // Playing: with audio off, the member still gets the beat, ahead of time, on the 132 BPM grid.
    host.send_msg(ClientMsg::Play { count_in: 0, on_bar: None }).await.unwrap();
    let mut beats = Vec::new();
    while beats.len() < 4 {
        let b = me_ev
            .until("a beat", |e| match e {
                AppEvent::Beat { beat } => Some(*beat),
                _ => None,
            })
            .await;
        beats.push(b);
    }
    for b in &beats {
        assert!(!b.audible);
        assert!(b.lead_us > 50_000, "a beat sent only {} µs ahead", b.lead_us);
    }
    let beat_us = 60_000_000.0 / 132.0;
    for w in beats.windows(2) {
        let gap = (w[1].at_host_us.0 - w[0].at_host_us.0) as f64;
        assert!((gap - beat_us).abs() <= 1.0, "beats {gap} µs apart");
        assert!(w[1].position > w[0].position);
    }

    // The member leaves; the host sees it, and the member's stream says so last.
    member.leave_session().await.unwrap();
    me_ev.until("the member's left state", |e| connection(e, ConnectionState::Left)).await;
    he.until("Ben leaving", |e| match e {
        AppEvent::Server { msg: ServerMsg::ParticipantLeft { id, .. } } if *id == ben.id => Some(()),
        _ => None,
    })
    .await;
    assert!(matches!(member.send_msg(ClientMsg::Sync {}).await, Err(AppError::NotInSession)));

    // The host leaves: its server stops.
    host.leave_session().await.unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", info.port).parse().unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "the server still listens after leaving");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_is_refused_and_the_pin_joins_by_address() {
    let host = app("127.0.0.1:0").await;
    let (hs, mut he) = sink();
    let info = host.host_session("Gig", "Ana", None, hs).await.unwrap();
    he.until("the host online", |e| connection(e, ConnectionState::Online)).await;

    let member = app("127.0.0.1:0").await;
    let bad = info.link.replace("#k=", "#k=00");
    let (ms, mut me_ev) = sink();
    let err = member.join_session(&bad, "Ben", None, None, ms).await.unwrap_err();
    assert!(matches!(err, AppError::Refused(_)), "{err:?}");
    // The refusal's code comes typed, for the page to explain it.
    let code = me_ev
        .until("the refused state", |e| match e {
            AppEvent::Connection { state: ConnectionState::Refused, code, .. } => Some(*code),
            _ => None,
        })
        .await;
    assert_eq!(code, Some(bandsync_core::protocol::ErrorCode::BadSecret));

    // The leader sets a PIN; the host's join details follow, and HOST:PORT plus PIN gets in.
    host.send_msg(ClientMsg::SetPin { pin: Some(Secret("246813".into())) }).await.unwrap();
    let pin = he
        .until("new join details", |e| match e {
            AppEvent::Host { host } => host.pin.clone(),
            _ => None,
        })
        .await;
    assert_eq!(pin, "246813");
    let addr = format!("127.0.0.1:{}", info.port);
    let (ms, _e) = sink();
    let err = member.join_session(&addr, "Ben", None, Some("1111".into()), ms).await.unwrap_err();
    assert!(matches!(err, AppError::Refused(_)), "{err:?}");
    let (ms, mut me_ev) = sink();
    member.join_session(&addr, "Ben", None, Some("246813".into()), ms).await.unwrap();
    me_ev.until("the member online", |e| connection(e, ConnectionState::Online)).await;

    // A second session while one runs is refused, not silently replaced.
    let (ms, _e) = sink();
    assert!(matches!(member.join_session(&info.link, "Ben", None, None, ms).await, Err(AppError::Busy)));
    member.leave_session().await.unwrap();
    host.leave_session().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_secret_gives_the_host_a_new_link_and_revokes_the_old() {
    let host = app("127.0.0.1:0").await;
    let (hs, mut he) = sink();
    let info = host.host_session("Gig", "Ana", None, hs).await.unwrap();
    he.until("the host online", |e| connection(e, ConnectionState::Online)).await;
    host.send_msg(ClientMsg::RotateSecret {}).await.unwrap();
    let fresh = he
        .until("new join details", |e| match e {
            AppEvent::Host { host } => Some(host.clone()),
            _ => None,
        })
        .await;
    assert_ne!(fresh.link, info.link);
    assert_ne!(fresh.qr_svg, info.qr_svg);
    let member = app("127.0.0.1:0").await;
    let (ms, _e) = sink();
    assert!(matches!(member.join_session(&info.link, "Ben", None, None, ms).await, Err(AppError::Refused(_))));
    let (ms, _e) = sink();
    member.join_session(&fresh.link, "Ben", None, None, ms).await.unwrap();
    member.leave_session().await.unwrap();
    host.leave_session().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_port_falls_back_to_an_ephemeral_one() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let host = app(&format!("127.0.0.1:{port}")).await;
    let (hs, _he) = sink();
    let info = host.host_session("Gig", "Ana", None, hs).await.unwrap();
    assert_ne!(info.port, port);
    assert!(info.link.contains(&format!(":{}/s/", info.port)));
    host.leave_session().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_listening_is_reported_as_unreachable_in_time() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let opts = AppOptions {
        bind: "127.0.0.1:0".parse().unwrap(),
        mdns: false,
        join_timeout: Duration::from_secs(2),
        latency_store: Some(bandsync_e2e::scratch_latency_store()),
        ..AppOptions::default()
    };
    let member = App::new(opts);
    member.set_audio(AudioSettings { enabled: false, ..AudioSettings::default() }).await.unwrap();
    let (ms, _e) = sink();
    let started = std::time::Instant::now();
    let err = member.join_session(&format!("http://{free}/s/abc#k=00"), "Ben", None, None, ms).await.unwrap_err();
    assert!(matches!(err, AppError::Unreachable { .. }), "{err:?}");
    assert!(!err.to_string().contains("k=00"), "the secret leaked into {err}");
    assert!(started.elapsed() < Duration::from_secs(8));
    // Bad input is explained, not retried.
    let (ms, _e) = sink();
    assert!(matches!(member.join_session("ftp://x/s/a", "Ben", None, None, ms).await, Err(AppError::Target(_))));
}

#[tokio::test]
async fn out_of_range_audio_settings_are_refused_and_change_nothing() {
    let a = App::new(AppOptions {
        mdns: false,
        latency_store: Some(bandsync_e2e::scratch_latency_store()),
        ..AppOptions::default()
    });
    let before = a.audio_settings();
    for bad in [
        AudioSettings { volume: 1.5, ..AudioSettings::default() },
        AudioSettings { subdivision: 0, ..AudioSettings::default() },
        AudioSettings { latency_offset_ms: Some(900.0), ..AudioSettings::default() },
        // Below the offsets a player may set (the page's field stops at -200 ms, as the core says).
        AudioSettings { latency_offset_ms: Some(-250.0), ..AudioSettings::default() },
    ] {
        assert!(matches!(a.set_audio(bad).await, Err(AppError::Settings(_))));
    }
    assert_eq!(a.audio_settings(), before);
    assert!(matches!(a.discover(Arc::new(|_| true)), Err(AppError::MdnsOff)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_that_cannot_open_is_reported_once_and_the_beat_turns_visual() {
    let host = app("127.0.0.1:0").await;
    let missing =
        AudioSettings { enabled: true, device: Some("no such device 7f3a".into()), ..AudioSettings::default() };
    host.set_audio(missing).await.unwrap();
    let (hs, mut he) = sink();
    host.host_session("Gig", "Ana", None, hs).await.unwrap();
    let audio = he
        .until("the audio failure", |e| match e {
            AppEvent::Audio { audio } => Some(audio.clone()),
            _ => None,
        })
        .await;
    assert!(!audio.active);
    assert!(audio.error.is_some());
    he.until("a synced clock", |e| match e {
        AppEvent::Clock { clock } if clock.clock.synced => Some(()),
        _ => None,
    })
    .await;
    host.send_msg(ClientMsg::Play { count_in: 0, on_bar: None }).await.unwrap();
    let mut beats = 0;
    let mut more_audio = 0;
    while beats < 4 {
        he.until("a beat", |e| match e {
            AppEvent::Beat { beat } => {
                assert!(!beat.audible, "a click from an output that never opened");
                Some(())
            }
            AppEvent::Audio { .. } => {
                more_audio += 1;
                None
            }
            _ => None,
        })
        .await;
        beats += 1;
    }
    assert_eq!(more_audio, 0, "the same failure was reported again");
    host.leave_session().await.unwrap();
}
