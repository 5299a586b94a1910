//! Ableton Link on a member's device, both ways (the `link` feature). What is decided is
//! `bandsync_core::link`'s: Link shows the session's timeline, and a Link peer's tempo or
//! start/stop becomes the leader's request. Here: a thread that reads Link's session state
//! against the shared clock every few milliseconds (and on every bar line a change lands on), and
//! carries out the bridge's answer. The CLI (`bandsync join --link`) and the desktop app use it.
//!
//! The Link library (`rusty_link`, which builds Ableton's Link) is GPL-2.0-or-later, so a build
//! with this feature is GPL too; the default build leaves it out.

use crate::{Client, ClockView, Event, Sender};
use bandsync_core::Micros;
use bandsync_core::Transport;
use bandsync_core::link::{LinkAction, LinkBridge, LinkConfig, LinkView};
use rusty_link::{AblLink, SessionState};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often Link is read between the session's changes.
const READ_EVERY: Duration = Duration::from_millis(5);
/// How often a [`LinkNote::Report`] puts the two timelines side by side.
const REPORT_EVERY: Duration = Duration::from_millis(100);

/// What the Link thread tells its owner.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkNote {
    /// The number of other Link apps changed.
    Peers(u64),
    /// Link was put on the session's timeline (see [`LinkAction::Commit`]), at Link time
    /// `link_us`, host time `host_us`.
    Commit {
        /// Link's clock, µs.
        link_us: i64,
        /// The host's clock, µs.
        host_us: i64,
        /// BPM.
        tempo: f64,
        /// The beat forced at that time, if any.
        beat: Option<f64>,
        /// Beats per bar.
        quantum: f64,
        /// The start/stop committed, if any.
        playing: Option<bool>,
    },
    /// A Link peer's change was asked of the session: the message's kind.
    Request(String),
    /// Both timelines at one moment (ten times a second, when reports were asked for).
    Report {
        /// Link's clock, µs.
        link_us: i64,
        /// The host's clock, µs.
        host_us: i64,
        /// Beats per bar.
        quantum: f64,
        /// The session's beat on Link's scale.
        session_beat: f64,
        /// Link's beat.
        link_beat: f64,
        /// Link's tempo.
        tempo: f64,
        /// Link's start/stop.
        playing: bool,
    },
}

/// The schedule the bridge follows, with the host clock (epoch) its times are on: shared, so
/// that the thread's reading every 5 ms takes a reference rather than a copy.
type Schedule = Option<Arc<(Transport, u64)>>;

#[derive(Default)]
struct LinkState {
    schedule: Schedule,
    leading: bool,
    /// Link's last reading and the quantum it was read for.
    view: Option<(LinkView, f64)>,
}

/// This device in the Link session of its network, bridged to the BandSync session `client` is
/// in. Link leaves the session when this is dropped.
pub struct LinkThread {
    shared: Arc<Mutex<LinkState>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LinkThread {
    /// Joins Link and starts bridging; `note` hears what happens (on the Link thread), with
    /// [`LinkNote::Report`]s only if `reports`.
    ///
    /// # Panics
    /// If the system has no thread to give.
    pub fn start(client: &Client, reports: bool, note: impl Fn(LinkNote) + Send + 'static) -> Self {
        let shared = Arc::new(Mutex::new(LinkState::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st, clock, sender) = (shared.clone(), stop.clone(), client.clock_view(), client.sender());
        let thread = std::thread::Builder::new()
            .name("link".into())
            .spawn(move || run(&s, &st, &clock, &sender, reports, &note))
            .expect("a thread for Link");
        LinkThread { shared, stop, thread: Some(thread) }
    }

    /// Follows the session: its schedule, and whether this member leads it.
    pub fn on_event(&self, client: &Client, ev: &Event) {
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

    /// Link's bar grid while there are other Link apps: see [`LinkBridge::on_bar`].
    #[must_use]
    pub fn on_bar(&self) -> Option<Micros> {
        let s = self.shared.lock().expect("link lock poisoned");
        s.view.and_then(|(v, quantum)| LinkBridge::on_bar(&v, quantum))
    }
}

impl Drop for LinkThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    shared: &Mutex<LinkState>,
    stop: &AtomicBool,
    clock: &ClockView,
    sender: &Sender,
    reports: bool,
    note: &dyn Fn(LinkNote),
) {
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
                        note(LinkNote::Commit { link_us: t, host_us: at.0, tempo, beat, quantum, playing });
                    }
                    LinkAction::Request(m) => {
                        note(LinkNote::Request(m.kind()));
                        sender.send(m);
                    }
                }
            }
            if n != peers {
                peers = n;
                note(LinkNote::Peers(n));
            }
            // For tests and diagnostics: the two timelines side by side, on Link's clock.
            if reports && at.duration_since(reported) >= REPORT_EVERY {
                reported = at;
                link.capture_app_session_state(&mut state);
                note(LinkNote::Report {
                    link_us: link_now,
                    host_us: now.0,
                    quantum,
                    session_beat: LinkBridge::session_beat(tr, now),
                    link_beat: state.beat_at_time(link_now, quantum),
                    tempo: state.tempo(),
                    playing: state.is_playing(),
                });
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
