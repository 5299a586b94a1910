//! The bridge against a model of a Link session: a timeline that commits re-anchor and a peer
//! moves (beat-continuous, as Link's `setTempo` does).

use super::*;
use crate::timeline::Timeline;

mod test_plan;

/// A Link session as its peers see it.
struct LinkModel {
    tempo: f64,
    beat0: f64,
    t0: i64,
    playing: bool,
    peers: u64,
}

impl LinkModel {
    fn beat(&self, t: Micros) -> f64 {
        self.beat0 + (t.0 - self.t0) as f64 * self.tempo / 60e6
    }
    fn view(&self, at: Micros) -> LinkView {
        LinkView { at, tempo: self.tempo, beat: self.beat(at), playing: self.playing, peers: self.peers }
    }
    /// A peer turns the tempo knob at `now`.
    fn peer_tempo(&mut self, now: Micros, bpm: f64) {
        self.beat0 = self.beat(now);
        self.t0 = now.0;
        self.tempo = bpm;
    }
    fn apply(&mut self, actions: &[LinkAction]) -> Vec<ClientMsg> {
        let mut asked = Vec::new();
        for a in actions {
            match a {
                LinkAction::Commit { at, tempo, beat, playing, .. } => {
                    // Without a beat, the tempo changes beat-continuously at `at`.
                    let beat = beat.unwrap_or_else(|| self.beat(*at));
                    (self.tempo, self.beat0, self.t0) = (*tempo, beat, at.0);
                    if let Some(p) = playing {
                        self.playing = *p;
                    }
                }
                LinkAction::Request(m) => asked.push(m.clone()),
            }
        }
        asked
    }
}

const S: i64 = 1_000_000;

/// A session playing at `bpm` in 4/4 since host time 0.
fn playing(bpm: f64) -> Transport {
    let mut tr = Transport::new(Micros(0));
    let s = &mut tr.segments[0];
    s.playing = true;
    s.timeline = Timeline { tempo: Tempo::from_bpm(bpm).unwrap(), beat_origin: Beats::ZERO, time_origin: Micros(0) };
    tr
}

/// The session lands `bpm` on its next bar line after `now` (as the session does for the leader's
/// tempo change); returns the bar line.
fn change_tempo(tr: &mut Transport, now: Micros, bpm: f64) -> Micros {
    let at = tr.next_boundary(now);
    let mut seg = tr.latest().clone();
    seg.timeline = Timeline { tempo: Tempo::from_bpm(bpm).unwrap(), beat_origin: seg.position(at), time_origin: at };
    seg.at = at;
    tr.schedule(seg);
    at
}

/// Link and the session agree, phase within `tol_us` (the session rounds to the micro-beat), at `t`.
fn agree(link: &LinkModel, tr: &Transport, t: Micros, tol_us: f64) {
    let seg = tr.segment_at(t);
    assert!(
        (link.tempo - seg.timeline.tempo.bpm()).abs() < 1e-9,
        "tempo {} vs {}",
        link.tempo,
        seg.timeline.tempo.bpm()
    );
    let q = LinkBridge::quantum(tr, t);
    let d = (link.beat(t) - LinkBridge::session_beat(tr, t)).rem_euclid(q);
    let d = d.min(q - d) * 60e6 / link.tempo;
    assert!(d <= tol_us, "phase {d} µs apart at {t:?}");
}

/// The stopped session starts at `start` on beat 0: the first reading after it starts Link with
/// it, anchored there, its bar on the session's.
fn starts_with_the_session(b: &mut LinkBridge, link: &mut LinkModel, tr: &mut Transport, start: Micros) {
    let mut seg = tr.latest().clone();
    (seg.at, seg.playing) = (start, true);
    seg.timeline = Timeline { tempo: seg.timeline.tempo, beat_origin: Beats::ZERO, time_origin: start };
    tr.schedule(seg);
    let acts = b.handle(link.view(start + Micros(3_000)), tr, true);
    assert!(matches!(acts[..], [LinkAction::Commit { at, playing: Some(true), .. }] if at == start), "{acts:?}");
    link.apply(&acts);
    assert!(link.playing);
    agree(link, tr, start + Micros(S), 1.0);
}

fn synced(tr: &Transport, at: Micros) -> (LinkBridge, LinkModel) {
    let mut b = LinkBridge::new(LinkConfig::default());
    let mut link = LinkModel { tempo: 99.0, beat0: 7.3, t0: 0, playing: false, peers: 0 };
    link.apply(&b.handle(link.view(at), tr, true));
    agree(&link, tr, at, 1.0);
    assert!(link.playing);
    (b, link)
}

/// A stopped session at 120 BPM, and a Link session of one other app stopped at 120: in step, the
/// bridge says nothing.
fn stopped_with_a_peer() -> (Transport, LinkBridge, LinkModel) {
    let tr = Transport::new(Micros(0));
    let mut b = LinkBridge::new(LinkConfig::default());
    let mut link = LinkModel { tempo: 120.0, beat0: 0.0, t0: 0, playing: false, peers: 1 };
    assert!(link.apply(&b.handle(link.view(Micros(S)), &tr, true)).is_empty());
    (tr, b, link)
}

#[test]
fn alone_link_takes_the_sessions_timeline_and_bars_are_quanta() {
    let tr = playing(120.0);
    let (mut b, link) = synced(&tr, Micros(3 * S + 250_000));
    // A Link bar starts on every session bar line: beat 8.0 (two bars of 4) at 4 s.
    assert!((link.beat(Micros(4 * S)) - 8.0).abs() < 1e-9, "{}", link.beat(Micros(4 * S)));
    // In step: nothing more to say.
    assert!(b.handle(link.view(Micros(5 * S)), &tr, true).is_empty());
}

#[test]
fn the_sessions_tempo_change_reaches_link_on_its_bar_line() {
    let mut tr = playing(120.0);
    let (mut b, mut link) = synced(&tr, Micros(S));
    let bar = change_tempo(&mut tr, Micros(S + 100_000), 100.0);
    assert_eq!(bar, Micros(2 * S));
    // Until the bar line, Link keeps the old tempo: the change is only scheduled.
    assert!(b.handle(link.view(Micros(S + 900_000)), &tr, true).is_empty());
    // The first reading after it anchors Link on the bar line itself.
    let acts = b.handle(link.view(Micros(2 * S + 4_000)), &tr, true);
    assert!(matches!(acts[..], [LinkAction::Commit { at, tempo, .. }] if at == bar && tempo == 100.0), "{acts:?}");
    link.apply(&acts);
    for t in [2 * S, 3 * S, 10 * S] {
        agree(&link, &tr, Micros(t), 1.0);
    }
}

#[test]
fn a_peers_tempo_is_asked_of_the_session_and_link_takes_it_on_the_bar() {
    let mut tr = playing(120.0);
    let (mut b, mut link) = synced(&tr, Micros(S));
    // Live's tempo knob: 130.
    link.peer_tempo(Micros(S + 300_000), 130.0);
    let acts = b.handle(link.view(Micros(S + 305_000)), &tr, true);
    let asked = link.apply(&acts);
    assert_eq!(asked, [ClientMsg::Tempo { tempo: Tempo::from_bpm(130.0).unwrap() }]);
    // Link is back on the session's timeline until the session lands it: no phase jump.
    agree(&link, &tr, Micros(S + 305_000), 1.0);
    // Asked once, though the session has not scheduled it yet.
    assert!(b.handle(link.view(Micros(S + 310_000)), &tr, true).is_empty());
    // The session schedules it for its next bar; Link (still at 120) is not a peer asking for 120.
    let bar = change_tempo(&mut tr, Micros(S + 320_000), 130.0);
    assert!(b.handle(link.view(Micros(S + 330_000)), &tr, true).is_empty());
    let acts = b.handle(link.view(bar + Micros(2_000)), &tr, true);
    assert!(matches!(acts[..], [LinkAction::Commit { at, tempo, .. }] if at == bar && tempo == 130.0), "{acts:?}");
    link.apply(&acts);
    agree(&link, &tr, bar + Micros(5 * S), 1.0);
}

#[test]
fn a_follower_keeps_link_on_the_session_and_asks_nothing() {
    let tr = playing(120.0);
    let mut b = LinkBridge::new(LinkConfig::default());
    let mut link = LinkModel { tempo: 120.0, beat0: 0.0, t0: 0, playing: true, peers: 1 };
    link.apply(&b.handle(link.view(Micros(S)), &tr, false));
    link.peer_tempo(Micros(2 * S), 90.0);
    link.playing = false;
    let acts = b.handle(link.view(Micros(2 * S + 1_000)), &tr, false);
    assert!(acts.iter().all(|a| matches!(a, LinkAction::Commit { .. })), "{acts:?}");
    link.apply(&acts);
    agree(&link, &tr, Micros(3 * S), 1.0);
    assert!(link.playing);
}

#[test]
fn a_peers_start_and_stop_are_asked_and_link_starts_with_the_session() {
    let (mut tr, mut b, mut link) = stopped_with_a_peer();
    // Live's play button.
    link.playing = true;
    let acts = b.handle(link.view(Micros(2 * S)), &tr, true);
    // Asked to start on Live's bar grid: Link's beat 0 was at host time 0, so bars at 0, 2 s, 4 s...
    let asked = link.apply(&acts);
    assert!(matches!(asked[..], [ClientMsg::Play { count_in: 0, on_bar: Some(g) }] if g.0 % (2 * S) == 0), "{asked:?}");
    assert!(!link.playing, "Link waits for the session to start");
    // The session starts at 2.1 s on beat 0; Link starts with it.
    starts_with_the_session(&mut b, &mut link, &mut tr, Micros(2 * S + 100_000));
    // And Live's stop.
    link.playing = false;
    let acts = b.handle(link.view(Micros(4 * S)), &tr, true);
    assert_eq!(link.apply(&acts), [ClientMsg::Stop {}]);
}

#[test]
fn joining_a_running_link_session_takes_up_its_tempo_without_changing_it() {
    let mut tr = playing(120.0);
    let mut b = LinkBridge::new(LinkConfig::default());
    let mut link = LinkModel { tempo: 128.0, beat0: 0.0, t0: 0, playing: true, peers: 2 };
    let acts = b.handle(link.view(Micros(S)), &tr, true);
    assert_eq!(acts, [LinkAction::Request(ClientMsg::Tempo { tempo: Tempo::from_bpm(128.0).unwrap() })]);
    // A follower's bridge joining asks nothing.
    let mut f = LinkBridge::new(LinkConfig::default());
    assert!(f.handle(link.view(Micros(S)), &tr, false).iter().all(|a| matches!(a, LinkAction::Commit { .. })));
    // Link keeps its tempo while the session takes it up (Link's TEMPO-2)...
    assert!(b.handle(link.view(Micros(S + 50_000)), &tr, true).is_empty());
    // ...and goes onto the session's timeline when it lands.
    let bar = change_tempo(&mut tr, Micros(S + 60_000), 128.0);
    assert!(b.handle(link.view(bar - Micros(1_000)), &tr, true).is_empty());
    let acts = b.handle(link.view(bar + Micros(1_000)), &tr, true);
    assert!(matches!(acts[..], [LinkAction::Commit { at, tempo, .. }] if at == bar && tempo == 128.0), "{acts:?}");
    link.apply(&acts);
    agree(&link, &tr, bar + Micros(S), 1.0);
}

#[test]
fn peers_found_later_are_a_join_too() {
    let mut tr = Transport::new(Micros(0));
    let mut b = LinkBridge::new(LinkConfig::default());
    let mut link = LinkModel { tempo: 120.0, beat0: 0.0, t0: 0, playing: false, peers: 0 };
    link.apply(&b.handle(link.view(Micros(S)), &tr, true));
    // Link finds Live and the sessions merge on Live's 95 BPM.
    (link.peers, link.tempo) = (1, 95.0);
    let acts = b.handle(link.view(Micros(2 * S)), &tr, true);
    assert_eq!(acts, [LinkAction::Request(ClientMsg::Tempo { tempo: Tempo::from_bpm(95.0).unwrap() })]);
    // A stopped session takes it at once, and Link already shows it: nothing to commit.
    let at = change_tempo(&mut tr, Micros(2 * S + 5_000), 95.0);
    let acts = b.handle(link.view(at + Micros(1_000)), &tr, true);
    assert!(acts.is_empty(), "{acts:?}");
}

#[test]
fn joining_a_playing_link_session_leaves_its_start_stop_until_either_side_moves() {
    let mut tr = Transport::new(Micros(0));
    let mut b = LinkBridge::new(LinkConfig::default());
    let mut link = LinkModel { tempo: 120.0, beat0: 0.0, t0: 0, playing: true, peers: 1 };
    let acts = b.handle(link.view(Micros(S)), &tr, true);
    assert!(acts.iter().all(|a| matches!(a, LinkAction::Commit { playing: None, .. })), "{acts:?}");
    link.apply(&acts);
    assert!(link.playing, "Live plays on");
    assert!(b.handle(link.view(Micros(2 * S)), &tr, true).is_empty());
    // The leader's play goes on Live's bar grid (Live's bar started at 2 s: beat 4)...
    let view = link.view(Micros(2 * S + 500_000));
    let grid = LinkBridge::on_bar(&view, LinkBridge::quantum(&tr, view.at));
    assert_eq!(grid, Some(Micros(2 * S)));
    // ...so the band starts on one of Live's bar lines (4 s), Link starts with it, and Live's
    // phase does not move.
    let before = link.beat(Micros(5 * S));
    starts_with_the_session(&mut b, &mut link, &mut tr, Micros(4 * S));
    let after = link.beat(Micros(5 * S));
    let moved = (after - before).rem_euclid(4.0);
    assert!(moved.min(4.0 - moved) < 1e-9, "Live's phase moved: beat {before} became {after}");
    assert!(link.apply(&b.handle(link.view(Micros(5 * S)), &tr, true)).is_empty());
    // No other Link app: no grid.
    assert_eq!(LinkBridge::on_bar(&LinkView { peers: 0, ..view }, 4.0), None);
}

#[test]
fn phase_drift_beyond_the_tolerance_reanchors_link_and_within_it_does_not() {
    let tr = playing(120.0);
    let (mut b, mut link) = synced(&tr, Micros(S));
    // The clocks drift apart: 0.1 ms is left alone, 0.4 ms is re-anchored.
    link.beat0 += 0.0001 * 2.0; // 0.1 ms at 120 BPM
    assert!(b.handle(link.view(Micros(2 * S)), &tr, true).is_empty());
    link.beat0 += 0.0003 * 2.0;
    let acts = b.handle(link.view(Micros(3 * S)), &tr, true);
    assert!(matches!(acts[..], [LinkAction::Commit { at, .. }] if at == Micros(3 * S)), "{acts:?}");
    link.apply(&acts);
    agree(&link, &tr, Micros(4 * S), 1.0);
}
