//! The cases of Link's test plan (github.com/Ableton/link, TEST-PLAN.md) that are the bridge's
//! own, and a stopped band's tempo and transport through Link.

use super::*;

/// TEMPO-5 and BEATTIME-1: Link enabled while the band plays, with no Link session to join, takes
/// the session's tempo and beat; the session is asked nothing (its tempo stays, its beat does not
/// jump).
#[test]
fn enabling_link_alone_asks_the_session_nothing() {
    let tr = playing(100.0);
    let mut b = LinkBridge::new(LinkConfig::default());
    let mut link = LinkModel { tempo: 120.0, beat0: 3.7, t0: 0, playing: false, peers: 0 };
    let acts = b.handle(link.view(Micros(5 * S + 123_000)), &tr, true);
    assert!(link.apply(&acts).is_empty(), "{acts:?}");
    assert!(link.playing);
    agree(&link, &tr, Micros(6 * S), 1.0);
    for t in 6..10 {
        assert!(b.handle(link.view(Micros(t * S)), &tr, true).is_empty());
    }
}

/// BEATTIME-2: another app joining BandSync's Link session takes up its timeline, and the band's
/// beat does not move: the bridge neither asks nor re-anchors anything.
#[test]
fn a_peer_joining_the_bands_link_session_moves_nothing() {
    let tr = playing(100.0);
    let (mut b, mut link) = synced(&tr, Micros(S));
    link.peers = 1;
    for t in 2..6 {
        let acts = b.handle(link.view(Micros(t * S)), &tr, true);
        assert!(acts.is_empty(), "{acts:?}");
    }
    agree(&link, &tr, Micros(6 * S), 1.0);
}

/// A tempo as Link carries it between apps: whole microseconds per beat.
fn via_link(bpm: f64) -> f64 {
    60e6 / (60e6 / bpm).round()
}

/// TEMPO-4: Link's whole range, 20 to 999 BPM, is the session's range too: a peer's tempo at
/// either end is asked as it is, also when whole microseconds put it a hair outside (60 060 µs is
/// 999.000999 BPM; Link itself clamps that one, a bridge must not depend on it).
#[test]
fn a_peers_tempo_at_either_end_of_links_range_is_asked_as_it_is() {
    for bpm in [crate::timeline::MIN_BPM, crate::timeline::MAX_BPM] {
        let tr = playing(120.0);
        let (mut b, mut link) = synced(&tr, Micros(S));
        link.peers = 1;
        link.peer_tempo(Micros(S + 300_000), via_link(bpm));
        let asked = link.apply(&b.handle(link.view(Micros(S + 305_000)), &tr, true));
        assert_eq!(asked, [ClientMsg::Tempo { tempo: Tempo::from_bpm(bpm).unwrap() }], "{bpm} BPM");
    }
}

/// A fast session's tempo, read back from Link through whole microseconds (777 BPM is 77 220 µs
/// per beat, 777.000777 BPM, as a second Link app on this machine reads it), is the tempo Link was
/// told: not a peer's change, and not committed again at every reading.
#[test]
fn a_tempo_link_carries_in_whole_microseconds_is_the_tempo_it_was_told() {
    let tr = playing(777.0);
    let (mut b, mut link) = synced(&tr, Micros(S));
    link.peers = 1;
    link.tempo = via_link(777.0);
    assert!(link.tempo != 777.0);
    for t in 2..6 {
        let acts = b.handle(link.view(Micros(t * S)), &tr, true);
        assert!(acts.is_empty(), "{acts:?}");
    }
}

/// A stopped band, and Live's tempo knob turned twice: each turn is asked of the session, Link is
/// not put back on the old tempo in between, and a landing Link already shows is not committed
/// again (that commit could cross the next turn on the network and undo it).
#[test]
fn a_stopped_sessions_link_keeps_a_peers_tempo_while_the_session_takes_it() {
    let (mut tr, mut b, mut link) = stopped_with_a_peer();
    for (i, bpm) in [20.0, 999.0].into_iter().enumerate() {
        let t = Micros((2 + 2 * i as i64) * S);
        link.peer_tempo(t, bpm);
        let acts = b.handle(link.view(t + Micros(5_000)), &tr, true);
        assert_eq!(acts, [LinkAction::Request(ClientMsg::Tempo { tempo: Tempo::from_bpm(bpm).unwrap() })]);
        let at = change_tempo(&mut tr, t + Micros(10_000), bpm);
        let acts = b.handle(link.view(at + Micros(1_000)), &tr, true);
        assert!(acts.is_empty(), "{acts:?}");
    }
    // The leader's own change, stopped, still reaches Link at once.
    let at = change_tempo(&mut tr, Micros(7 * S), 100.0);
    let acts = b.handle(link.view(at + Micros(1_000)), &tr, true);
    assert!(matches!(acts[..], [LinkAction::Commit { tempo, .. }] if tempo == 100.0), "{acts:?}");
}

/// A stopped band, and Live's knob turned again before the session took the first turn: the
/// first landing does not put Link back on it (the knob has moved on), and the last turn is the
/// one that stays. Turned out and back, the way back is asked for too.
#[test]
fn a_stopped_sessions_link_keeps_the_knobs_last_turn() {
    let (mut tr, mut b, mut link) = stopped_with_a_peer();
    let tempo = |bpm: f64| ClientMsg::Tempo { tempo: Tempo::from_bpm(bpm).unwrap() };
    // 20, then 999 before 20 lands.
    link.peer_tempo(Micros(2 * S), 20.0);
    assert_eq!(link.apply(&b.handle(link.view(Micros(2 * S + 5_000)), &tr, true)), [tempo(20.0)]);
    link.peer_tempo(Micros(2 * S + 6_000), 999.0);
    assert_eq!(link.apply(&b.handle(link.view(Micros(2 * S + 10_000)), &tr, true)), [tempo(999.0)]);
    let at = change_tempo(&mut tr, Micros(2 * S + 12_000), 20.0);
    let acts = b.handle(link.view(at + Micros(1_000)), &tr, true);
    assert!(acts.is_empty(), "20 landed while the knob is at 999: {acts:?}");
    let at = change_tempo(&mut tr, Micros(2 * S + 20_000), 999.0);
    assert!(link.apply(&b.handle(link.view(at + Micros(1_000)), &tr, true)).is_empty());
    assert_eq!(link.tempo, 999.0);
    // Out to 60 and back to 999 before 60 lands: both asked.
    link.peer_tempo(Micros(3 * S), 60.0);
    assert_eq!(link.apply(&b.handle(link.view(Micros(3 * S + 5_000)), &tr, true)), [tempo(60.0)]);
    link.peer_tempo(Micros(3 * S + 6_000), 999.0);
    assert_eq!(link.apply(&b.handle(link.view(Micros(3 * S + 10_000)), &tr, true)), [tempo(999.0)]);
    let at = change_tempo(&mut tr, Micros(3 * S + 12_000), 60.0);
    assert!(link.apply(&b.handle(link.view(at + Micros(1_000)), &tr, true)).is_empty());
    let at = change_tempo(&mut tr, Micros(3 * S + 20_000), 999.0);
    assert!(link.apply(&b.handle(link.view(at + Micros(1_000)), &tr, true)).is_empty());
    assert_eq!((link.tempo, tr.latest().timeline.tempo.bpm()), (999.0, 999.0));
}

/// The band stops: Link stops with it (a peer's transport stops too), and the bridge asks the
/// session nothing back, then or after.
#[test]
fn the_sessions_stop_stops_link_and_asks_nothing_back() {
    let mut tr = playing(120.0);
    let (mut b, mut link) = synced(&tr, Micros(S));
    // A peer joins the playing band's Link session: nothing moves.
    link.peers = 1;
    assert!(link.apply(&b.handle(link.view(Micros(2 * S)), &tr, true)).is_empty());
    let mut seg = tr.latest().clone();
    (seg.at, seg.playing) = (Micros(3 * S), false);
    tr.schedule(seg);
    let acts = b.handle(link.view(Micros(3 * S + 3_000)), &tr, true);
    assert!(matches!(acts[..], [LinkAction::Commit { playing: Some(false), .. }]), "{acts:?}");
    assert!(link.apply(&acts).is_empty(), "nothing asked of the session");
    assert!(!link.playing, "Link stopped");
    for t in [4 * S, 5 * S] {
        assert!(link.apply(&b.handle(link.view(Micros(t)), &tr, true)).is_empty());
        assert!(!link.playing, "and stays stopped");
    }
}
