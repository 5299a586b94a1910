//! Each member's sync figures in the participant list: broadcast at once when what the leader
//! sees of them changes, else at most once per `sync_report_interval`.

use super::*;
use crate::protocol::{LatencySource, OutputReport};

/// A synced member's report: its output's latency and where it comes from, its clicks and those
/// missed.
fn report(latency_us: i64, source: LatencySource, clicks: u32, missed: u32) -> ClientMsg {
    synced_report(Some(OutputReport {
        latency_us: Micros(latency_us),
        buffer_us: Micros::from_millis(10),
        source,
        clicks,
        missed,
        late: 0,
        engine: "cpal".into(),
        unreported: false,
    }))
}

/// Ben's participant updates that the leader's connection was sent, after Ben sends `msg` a
/// second on.
fn after_a_second(h: &mut Harness, msg: ClientMsg) -> usize {
    h.advance(Micros::from_secs(1));
    h.send(2, msg);
    h.inbox[&1]
        .iter()
        .filter(|m| matches!(m, ServerMsg::ParticipantUpdated { participant } if participant.name == "Ben"))
        .count()
}

#[test]
fn a_members_new_figures_reach_the_list_at_once_and_its_counts_every_few_seconds() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    h.join(2, "Ben", false, None);
    let n = after_a_second(&mut h, report(60_000, LatencySource::Reported, 10, 0));
    // A second later only the counts and the round trip moved: not sent yet.
    assert_eq!(after_a_second(&mut h, report(60_400, LatencySource::Reported, 12, 0)), n);
    // Ben calibrated: the leader sees it at once, not up to an interval later.
    assert_eq!(after_a_second(&mut h, report(95_000, LatencySource::Calibrated, 14, 0)), n + 1);
    // A figure moved by less than a millisecond, and the counts: not yet.
    assert_eq!(after_a_second(&mut h, report(95_900, LatencySource::Calibrated, 16, 0)), n + 1);
    // A click missed: a new flag, at once.
    let missed = report(95_900, LatencySource::Calibrated, 18, 1);
    assert_eq!(after_a_second(&mut h, missed.clone()), n + 2);
    // Nothing new to show: the counts again once the interval since the last has passed.
    assert_eq!(after_a_second(&mut h, missed.clone()), n + 2);
    h.advance(SessionConfig::default().sync_report_interval);
    assert_eq!(after_a_second(&mut h, missed), n + 3);
    // The figure moved by a millisecond, where it comes from unchanged: at once.
    assert_eq!(after_a_second(&mut h, report(96_900, LatencySource::Calibrated, 20, 1)), n + 4);
    // The output reopened, its missed clicks counted anew: the flag cleared, at once.
    assert_eq!(after_a_second(&mut h, report(96_900, LatencySource::Calibrated, 0, 0)), n + 5);
    // Sound turned off: the output gone from the list, at once.
    assert_eq!(after_a_second(&mut h, synced_report(None)), n + 6);
}
