//! A band of members in the simulated world: joining and syncing, the leader's tempo reaching
//! every mirror, and a busy device's longer lead.

use super::world::{SECRET, World, count};
use crate::member::MemberEvent;
use crate::protocol::{ClientMsg, LatencySource, OutputReport};
use crate::time::Micros;
use crate::timeline::Tempo;

#[test]
fn a_member_on_a_wrong_clock_joins_syncs_and_its_quality_reaches_the_band() {
    let mut w = World::new(1, 5, 3);
    let a = w.add("Ana", true, 1500.0, 150.0, SECRET);
    w.run_for(Micros::from_secs(30));
    let joined = count(w.events(a), |e| matches!(e, MemberEvent::Joined { resumed: false, .. }));
    assert_eq!(joined, 1, "{:?}", w.events(a));
    let status = w.peers[a].m.clock().status(w.peers[a].local(w.now));
    assert!(status.synced, "{status:?}");
    // Host time read through the estimate, against the true host time.
    let read = w.peers[a].m.clock().to_host_f64(w.peers[a].local(w.now)).unwrap();
    assert!((read - w.now.0 as f64).abs() < 1_500.0, "off by {} µs", read - w.now.0 as f64);
    let p = w.session.participants().next().unwrap().clone();
    let q = p.sync.expect("the member reported its sync quality");
    assert!(q.synced && q.rtt_us >= Micros::from_millis(10), "{q:?}");
    assert_eq!(p.role, crate::protocol::Role::Leader);
}

#[test]
fn a_leaders_tempo_reaches_every_mirror_and_lands_on_the_same_bar() {
    let mut w = World::new(3, 8, 6);
    let a = w.add("Ana", true, 0.0, 0.0, SECRET);
    let b = w.add("Ben", false, 900.0, 120.0, SECRET);
    let c = w.add("Cy", false, -4_000.0, -200.0, SECRET);
    w.run_for(Micros::from_secs(10));
    w.peers[a].m.send(&ClientMsg::Play { count_in: 0, on_bar: None });
    w.pump_member(a);
    w.run_for(Micros::from_secs(2));
    w.peers[a].m.send(&ClientMsg::Tempo { tempo: Tempo(96_000) });
    w.pump_member(a);
    w.run_for(Micros::from_secs(2));
    let t = w.session.transport().clone();
    for i in [a, b, c] {
        let m = w.peers[i].m.mirror().expect("joined");
        // The session drops segments that no longer apply whenever its timers run (the tempo's
        // activity entry runs one): compare what applies from now on.
        let mut mine = m.transport.clone();
        mine.prune(w.now);
        assert_eq!(mine, t, "member {i} agrees with the session");
    }
    assert_eq!(t.latest().timeline.tempo, Tempo(96_000));
    let bar = t.latest().meter.bar_len();
    assert_eq!((t.latest().timeline.beat_origin.0 - t.latest().bar_origin.0).rem_euclid(bar.0), 0, "on a bar line");
}

#[test]
fn a_busy_device_that_handles_messages_late_gets_a_longer_lead() {
    let mut w = World::new(4, 5, 2);
    let a = w.add("Ana", true, 0.0, 0.0, SECRET);
    let b = w.add("Ben", false, 700.0, 60.0, SECRET);
    w.peers[b].stall = Micros::from_millis(90);
    w.run_for(Micros::from_secs(40));
    // Its best round trip is the network's (10-14 ms); the stalls are what the lead must cover.
    let q = w.session.participants().find(|p| p.name == "Ben").unwrap().sync.clone().unwrap();
    assert!(q.rtt_us < Micros::from_millis(20), "{q:?}");
    let lead = w.session.lead_time();
    assert!(lead >= Micros::from_millis(250 + 2 * 90), "lead {lead:?}");
    // A start sent now reaches even the stalled member before it sounds.
    w.peers[a].m.send(&ClientMsg::Play { count_in: 0, on_bar: None });
    w.pump_member(a);
    let start = loop {
        w.run_for(Micros::from_millis(1));
        if w.session.transport().latest().playing {
            break w.session.transport().latest().at;
        }
    };
    let heard = loop {
        if w.peers[b].m.mirror().is_some_and(|m| m.transport.latest().playing) {
            break w.now;
        }
        w.run_for(Micros::from_millis(1));
    };
    assert!(heard + Micros::from_millis(50) < start, "heard at {heard:?}, starts at {start:?}");
}

#[test]
fn a_new_output_figure_reaches_the_band_at_the_next_report_not_the_servers_interval() {
    // The server's interval made far longer than the test: only a change the leader's list shows
    // sends a report, at most once in 5 (reports run every second).
    let mut w = World::new(5, 5, 2);
    let a = w.add_with("Ana", true, 0.0, 0.0, SECRET, |c| c.server_report_every = 1_000);
    w.run_for(Micros::from_secs(20));
    let output = |source, latency_ms| OutputReport {
        latency_us: Micros::from_millis(latency_ms),
        buffer_us: Micros::from_millis(5),
        source,
        clicks: 10,
        missed: 0,
        late: 0,
        engine: "test".into(),
        unreported: false,
    };
    let sync = |w: &World| w.session.participants().next().unwrap().sync.clone().expect("a report came");
    let first = sync(&w);
    assert!(first.synced && first.output.is_none(), "{first:?}");
    w.peers[a].m.set_output(Some(output(LatencySource::Reported, 20)));
    w.run_for(Micros::from_millis(1_500));
    assert_eq!(sync(&w).output.map(|o| o.source), Some(LatencySource::Reported), "the output appeared");
    // A calibration, past the 5 reports since: the figure's source and 37 ms more.
    w.run_for(Micros::from_secs(5));
    w.peers[a].m.set_output(Some(output(LatencySource::Calibrated, 57)));
    w.run_for(Micros::from_millis(1_500));
    let o = sync(&w).output.unwrap();
    assert_eq!((o.source, o.latency_us), (LatencySource::Calibrated, Micros::from_millis(57)));
    // A figure that moves again at once waits out the 5 reports: one that wanders across the
    // 1 ms line is not sent every second.
    w.peers[a].m.set_output(Some(output(LatencySource::Calibrated, 60)));
    w.run_for(Micros::from_millis(1_500));
    assert_eq!(sync(&w).output.unwrap().latency_us, Micros::from_millis(57), "held for the gap");
    w.run_for(Micros::from_secs(4));
    assert_eq!(sync(&w).output.unwrap().latency_us, Micros::from_millis(60), "sent after it");
    // More clicks and a sub-millisecond move change nothing the list shows: they wait for the
    // server's interval, however long since the last report sent early.
    let mut same = output(LatencySource::Calibrated, 60);
    same.clicks = 40;
    same.latency_us = Micros(60_400);
    w.peers[a].m.set_output(Some(same));
    w.run_for(Micros::from_secs(8));
    let last = sync(&w);
    assert!(last.synced, "{last:?}");
    assert_eq!(last.output.unwrap().clicks, 10, "held to the server's interval");
}
