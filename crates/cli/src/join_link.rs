//! `bandsync join --link`: this device joins the Ableton Link session on its network (Ableton
//! Live and every other Link app) both ways. What is decided is `bandsync_core::link`'s: Link
//! shows the session's timeline, and a Link peer's tempo or start/stop becomes the leader's
//! request. Here: a thread that reads Link's session state against the shared clock every few
//! milliseconds (and on every bar line a change lands on), and carries out the bridge's answer.
//!
//! Behind the `link` cargo feature: the Link library (`rusty_link`, which builds Ableton's Link)
//! is GPL-2.0-or-later, so a `bandsync` built with it is GPL too. The default build leaves it out,
//! and `--link` then says how to get it.

use bandsync_client::{Client, Event};
use bandsync_core::{ClientMsg, Transport};

/// The Link bridge `join` was asked for (none without `--link`).
pub struct JoinLink {
    #[cfg(feature = "link")]
    on: Option<imp::Bridge>,
}

impl JoinLink {
    /// Joins the Link session if `on`, and says so (a `link` event).
    ///
    /// # Errors
    /// `--link` in a build without the `link` feature.
    pub fn start(on: bool, client: &Client, j: bool) -> anyhow::Result<Self> {
        #[cfg(feature = "link")]
        {
            Ok(JoinLink { on: on.then(|| imp::Bridge::start(client, j)) })
        }
        #[cfg(not(feature = "link"))]
        {
            let _ = (client, j);
            anyhow::ensure!(
                !on,
                "this bandsync was built without Ableton Link: the Link library is GPL-2.0-or-later, so it is \
                 an opt-in feature; build with `cargo build -p bandsync-cli --features link`"
            );
            Ok(JoinLink {})
        }
    }

    /// A message this member sends, as the bridge would have it: while other Link apps play, a
    /// `play` starts on their bar (`on_bar`), so the band comes in on Live's bar.
    #[must_use]
    pub fn outgoing(&self, m: ClientMsg) -> ClientMsg {
        #[cfg(feature = "link")]
        if let (Some(b), ClientMsg::Play { count_in, on_bar: None }) = (&self.on, &m) {
            return ClientMsg::Play { count_in: *count_in, on_bar: b.on_bar() };
        }
        m
    }

    /// Follows the session: its schedule, and whether this member leads it.
    pub fn on_event(&self, client: &Client, ev: &Event) {
        #[cfg(feature = "link")]
        if let Some(b) = &self.on {
            b.on_event(client, ev);
        }
        #[cfg(not(feature = "link"))]
        let _ = (client, ev);
    }
}

/// The schedule the bridge follows, with the host clock (epoch) its times are on: shared, so
/// that the thread's reading every 5 ms takes a reference rather than a copy.
#[cfg_attr(not(feature = "link"), allow(dead_code))]
type Schedule = Option<std::sync::Arc<(Transport, u64)>>;

#[cfg(feature = "link")]
mod imp {
    use super::Schedule;
    use crate::output::emit;
    use bandsync_client::{Client, ClockView, Event, Sender};
    use bandsync_core::Micros;
    use bandsync_core::link::{LinkAction, LinkBridge, LinkConfig, LinkView};
    use rusty_link::{AblLink, SessionState};
    use serde_json::json;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    /// How often Link is read between the session's changes.
    const READ_EVERY: Duration = Duration::from_millis(5);
    /// How often a `link` event reports the two timelines' phases.
    const REPORT_EVERY: Duration = Duration::from_millis(100);

    #[derive(Default)]
    struct Shared {
        schedule: Schedule,
        leading: bool,
        /// Link's last reading and the quantum it was read for.
        view: Option<(LinkView, f64)>,
    }

    pub(super) struct Bridge {
        shared: Arc<Mutex<Shared>>,
        stop: Arc<AtomicBool>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl Bridge {
        pub(super) fn start(client: &Client, j: bool) -> Self {
            let shared = Arc::new(Mutex::new(Shared::default()));
            let stop = Arc::new(AtomicBool::new(false));
            let (s, st, clock, sender) = (shared.clone(), stop.clone(), client.clock_view(), client.sender());
            let thread = std::thread::Builder::new()
                .name("link".into())
                .spawn(move || run(&s, &st, &clock, &sender, j))
                .expect("a thread for Link");
            emit(j, &json!({"event": "link_enabled"}), || "Ableton Link on".to_owned());
            Bridge { shared, stop, thread: Some(thread) }
        }

        /// Link's bar grid while other Link apps play: see [`LinkBridge::on_bar`].
        pub(super) fn on_bar(&self) -> Option<Micros> {
            let s = self.shared.lock().expect("link lock poisoned");
            s.view.and_then(|(v, quantum)| LinkBridge::on_bar(&v, quantum))
        }

        pub(super) fn on_event(&self, client: &Client, ev: &Event) {
            let mut s = self.shared.lock().expect("link lock poisoned");
            match ev {
                Event::Transport { transport, axis, .. } => {
                    s.schedule = Some(Arc::new((transport.clone(), axis.epoch)));
                }
                // Leadership changes with the participants (and a join or a resume).
                Event::Joined { .. } | Event::Participants { .. } => {
                    s.leading = client.mirror().is_some_and(|m| m.is_leader());
                }
                _ => {}
            }
        }
    }

    impl Drop for Bridge {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }

    fn run(shared: &Mutex<Shared>, stop: &AtomicBool, clock: &ClockView, sender: &Sender, j: bool) {
        let link = AblLink::new(120.0);
        link.enable_start_stop_sync(true);
        link.enable(true);
        let mut state = SessionState::new();
        let mut bridge = LinkBridge::new(LinkConfig::default());
        let mut reported = Instant::now() - REPORT_EVERY;
        let mut peers = u64::MAX;
        while !stop.load(Ordering::Relaxed) {
            let (schedule, leading) = {
                let s = shared.lock().expect("link lock poisoned");
                (s.schedule.clone(), s.leading)
            };
            // Link's clock and the local one, read together.
            let l0 = link.clock_micros();
            let at = Instant::now();
            let link_now = (l0 + link.clock_micros()) / 2;
            let host = clock.to_host_on(clock.local_of(at));
            let mut wake = at + READ_EVERY;
            if let (Some(sched), Some((host, on))) = (schedule, host)
                && on == sched.1
            {
                let tr = &sched.0;
                let now = Micros(host.round() as i64);
                let link_at = |t: Micros| link_now + (t - now).0;
                link.capture_app_session_state(&mut state);
                let quantum = LinkBridge::quantum(tr, now);
                let n = link.num_peers();
                let view = LinkView {
                    at: now,
                    tempo: state.tempo(),
                    beat: state.beat_at_time(link_now, quantum),
                    playing: state.is_playing(),
                    peers: n,
                };
                shared.lock().expect("link lock poisoned").view = Some((view, quantum));
                for a in bridge.handle(view, tr, leading) {
                    match a {
                        LinkAction::Commit { at, tempo, beat, quantum, playing } => {
                            let t = link_at(at);
                            state.set_tempo(tempo, t);
                            if let Some(b) = beat {
                                state.force_beat_at_time(b, t, quantum);
                            }
                            if let Some(p) = playing {
                                state.set_is_playing(p, t);
                            }
                            link.commit_app_session_state(&state);
                            emit(
                                j,
                                &json!({"event": "link_commit", "link_us": t, "host_us": at.0, "tempo": tempo, "beat": beat, "quantum": quantum, "playing": playing}),
                                || {
                                    format!(
                                        "Link: {tempo:.3} BPM{}",
                                        match playing {
                                            Some(true) => ", playing",
                                            Some(false) => ", stopped",
                                            None => "",
                                        }
                                    )
                                },
                            );
                        }
                        LinkAction::Request(m) => {
                            emit(j, &json!({"event": "link_request", "request": m.kind()}), || {
                                format!("Link asks the session: {}", m.kind())
                            });
                            sender.send(m);
                        }
                    }
                }
                if n != peers {
                    peers = n;
                    emit(j, &json!({"event": "link_peers", "peers": n}), || format!("Link: {n} peers"));
                }
                // For tests and diagnostics: the two timelines side by side, on Link's clock.
                if j && at.duration_since(reported) >= REPORT_EVERY {
                    reported = at;
                    link.capture_app_session_state(&mut state);
                    emit(
                        j,
                        &json!({
                            "event": "link",
                            "link_us": link_now,
                            "host_us": now.0,
                            "quantum": quantum,
                            "session_beat": LinkBridge::session_beat(tr, now),
                            "link_beat": state.beat_at_time(link_now, quantum),
                            "tempo": state.tempo(),
                            "playing": state.is_playing(),
                        }),
                        String::new,
                    );
                }
                // A change the session has scheduled is anchored as it lands.
                if let Some(next) = LinkBridge::poll_timeout(tr, now) {
                    let until = Duration::from_micros((next - now).0.max(0) as u64);
                    wake = wake.min(at + until);
                }
            }
            std::thread::sleep(wake.saturating_duration_since(Instant::now()));
        }
    }
}
