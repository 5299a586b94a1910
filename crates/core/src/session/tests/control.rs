//! Tempo, meter, transport, songs and sync reports.

use super::*;

#[test]
fn follower_tempo_is_refused_and_changes_nothing() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    h.join(2, "Ben", false, None);
    let before = h.s.transport().clone();
    h.send(2, ClientMsg::Tempo { tempo: bpm(90.0) });
    assert_eq!(h.last_error(2), Some(ErrorCode::NotLeader));
    assert_eq!(h.s.transport(), &before);
    h.send(1, ClientMsg::Tempo { tempo: bpm(5.0) });
    assert_eq!(h.last_error(1), Some(ErrorCode::InvalidTempo));
    assert_eq!(h.s.transport(), &before);
    h.send(1, ClientMsg::Meter { beats: 7, unit: 3, groups: None });
    assert_eq!(h.last_error(1), Some(ErrorCode::InvalidMeter));
    h.send(1, ClientMsg::Tempo { tempo: bpm(90.0) });
    assert_eq!(h.s.transport().latest().timeline.tempo, Tempo(90_000));
    h.assert_mirrors_agree();
}

#[test]
fn tempo_change_while_playing_lands_on_next_bar() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    h.send(1, ClientMsg::Play { count_in: 1, on_bar: None });
    let start = h.s.transport().latest().clone();
    assert_eq!(start.at, h.now + Micros::from_millis(250), "starts one lead time ahead");
    assert_eq!(start.timeline.beat_origin, Beats::whole(-4), "one bar of count-in");
    h.advance(Micros::from_millis(2_900));
    h.send(1, ClientMsg::Tempo { tempo: bpm(60.0) });
    let seg = h.s.transport().latest().clone();
    let bar_pos = seg.timeline.beat_origin;
    assert_eq!(bar_pos.0 % Beats::whole(4).0, 0, "lands on a bar line: {bar_pos:?}");
    assert!(seg.at >= h.now + Micros::from_millis(250));
    assert!(seg.at - h.now <= Micros::from_millis(250) + Micros::from_secs(2));
    // Just before the boundary the old tempo holds; after it, the new one.
    assert_eq!(h.s.transport().segment_at(seg.at - Micros(1)).timeline.tempo, Tempo(120_000));
    assert_eq!(h.s.transport().segment_at(seg.at).timeline.tempo, Tempo(60_000));
    // Position is continuous across the change.
    let before = h.s.transport().position(seg.at - Micros(1));
    let after = h.s.transport().position(seg.at);
    assert!((after - before).0.abs() <= 3, "{before:?} {after:?}");
}

#[test]
fn a_play_on_a_bar_grid_starts_on_its_first_bar_line_a_lead_time_ahead() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    // A grid whose bars (2 s at 120 BPM in 4/4) started 1.9 s ago: the next bar line is 0.1 s
    // away, inside the 250 ms lead, so the start takes the one after, 2.1 s away.
    let grid = h.now - Micros::from_millis(1_900);
    h.send(1, ClientMsg::Play { count_in: 1, on_bar: Some(grid) });
    let start = h.s.transport().latest().clone();
    assert!(start.playing);
    assert_eq!(start.at, h.now + Micros::from_millis(2_100), "the grid's first bar line a lead time ahead");
    assert_eq!(start.timeline.beat_origin, Beats::whole(-4), "the count-in starts on it");
    // The song's first beat is on the grid too: a whole number of bars after `grid`.
    let song = h.s.transport().latest().timeline.from_beats(Beats(0));
    assert_eq!((song - grid).0 % 2_000_000, 0, "{song:?} against {grid:?}");
    h.assert_mirrors_agree();

    // A grid far from now is refused, and changes nothing.
    h.send(1, ClientMsg::Stop {});
    let before = h.s.transport().clone();
    for far in [h.now + Micros::from_secs(7200), Micros(i64::MIN), Micros(i64::MAX)] {
        h.send(1, ClientMsg::Play { count_in: 0, on_bar: Some(far) });
        assert_eq!(h.last_error(1), Some(ErrorCode::InvalidPosition), "{far:?}");
        assert_eq!(h.s.transport(), &before);
    }
}

#[test]
fn choosing_a_song_while_playing_starts_it_on_the_next_bar_with_its_tempo_and_meter() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    h.join(2, "Ben", false, None);
    let choice = |id: &str| SongChoice {
        id: Some(id.into()),
        title: Some("Take Five".into()),
        tempo: Some(Tempo(172_000)),
        meter: Some(Meter::with_groups(5, 4, vec![3, 2]).unwrap()),
        midi: String::new(),
    };
    assert_eq!(h.s.select_song(h.now, 2, choice("s1")).unwrap_err().0, ErrorCode::NotLeader);
    h.send(1, ClientMsg::Play { count_in: 0, on_bar: None });
    h.advance(Micros::from_millis(3_300));
    h.s.select_song(h.now, 1, choice("s1")).unwrap();
    h.pump();
    let seg = h.s.transport().latest().clone();
    assert!(seg.at >= h.now + Micros::from_millis(250), "one lead time ahead at least");
    assert_eq!(seg.timeline.beat_origin.0 % Beats::whole(4).0, 0, "on a 4/4 bar line of the old song");
    assert_eq!(seg.song_start, seg.timeline.beat_origin, "the song starts where it lands");
    assert_eq!(seg.bar_origin, seg.song_start);
    assert_eq!((seg.timeline.tempo, seg.meter.groups.clone()), (Tempo(172_000), vec![3, 2]));
    assert_eq!(h.s.transport().segment_at(seg.at - Micros(1)).timeline.tempo, Tempo(120_000));
    for c in [1, 2] {
        assert_eq!(h.mirrors[&c].song.as_deref(), Some("s1"), "every member's view follows");
        assert_eq!(h.mirrors[&c].transport, *h.s.transport());
    }
    assert!(h.activity.iter().any(|(k, by, s)| *k == ActivityKind::Song && *by == Some(1) && s == "song: Take Five"));
    assert_eq!(h.s.snapshot(h.now).song.as_deref(), Some("s1"));
}

#[test]
fn choosing_a_song_while_stopped_goes_back_to_its_beginning() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    h.send(1, ClientMsg::Seek { position: Beats::whole(64) });
    let song = |id: Option<&str>| SongChoice { id: id.map(str::to_owned), ..SongChoice::default() };
    h.s.select_song(h.now, 1, song(Some("s2"))).unwrap();
    h.pump();
    let seg = h.s.transport().latest();
    assert_eq!((seg.timeline.beat_origin, seg.song_start, seg.playing), (Beats(0), Beats(0), false));
    assert_eq!(seg.timeline.tempo, Tempo(120_000), "a song without a tempo keeps the current one");
    h.s.select_song(h.now, 1, song(None)).unwrap();
    h.pump();
    assert_eq!(h.mirrors[&1].song, None);
}

#[test]
fn the_activity_stream_names_who_did_what() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    h.join(2, "Ben", false, None);
    h.send(1, ClientMsg::Tempo { tempo: bpm(96.5) });
    h.send(1, ClientMsg::Meter { beats: 7, unit: 8, groups: Some(vec![2, 2, 3]) });
    h.send(1, ClientMsg::Handover { to: 2 });
    h.send(2, ClientMsg::Leave {});
    let got: Vec<(ActivityKind, Option<ParticipantId>, &str)> =
        h.activity.iter().map(|(k, b, s)| (*k, *b, s.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (ActivityKind::Join, Some(1), "Ana joined and leads"),
            (ActivityKind::Join, Some(2), "Ben joined"),
            (ActivityKind::Tempo, Some(1), "tempo 96.5 BPM"),
            (ActivityKind::Meter, Some(1), "meter 7/8"),
            (ActivityKind::Role, Some(2), "Ben leads now"),
            (ActivityKind::Leave, Some(2), "Ben left"),
        ]
    );
}

#[test]
fn changes_while_stopped_apply_at_once_and_do_not_pile_up() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    for b in 100..160 {
        h.send(1, ClientMsg::Tempo { tempo: bpm(f64::from(b)) });
        h.advance(Micros::from_millis(2));
    }
    assert_eq!(h.s.transport().segments.len(), 1, "a slider drag leaves one segment");
    assert_eq!(h.s.transport().latest().timeline.tempo, Tempo(159_000));
    assert!(h.s.transport().latest().at <= h.now);
}

#[test]
fn sync_reports_are_bounded_and_shape_the_lead_time() {
    use crate::protocol::{LatencySource, OutputReport};
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    h.send(
        1,
        ClientMsg::SyncReport {
            rtt_us: Micros(i64::MAX),
            error_us: Micros(0),
            synced: true,
            output: None,
            delivery_us: None,
        },
    );
    assert_eq!(h.last_error(1), Some(ErrorCode::Malformed));
    assert_eq!(h.s.lead_time(), Micros::from_millis(250));
    h.send(
        1,
        ClientMsg::SyncReport {
            rtt_us: Micros(40_000),
            error_us: Micros(5_000),
            synced: true,
            output: None,
            delivery_us: None,
        },
    );
    assert_eq!(h.s.lead_time(), Micros::from_millis(250 + 2 * 50));
    // A device that handles messages late (a busy phone) needs more than its best round trip.
    let slow = |d: i64| ClientMsg::SyncReport {
        rtt_us: Micros(40_000),
        error_us: Micros(5_000),
        synced: true,
        output: None,
        delivery_us: Some(Micros(d)),
    };
    h.send(1, slow(80_000));
    assert_eq!(h.s.lead_time(), Micros::from_millis(250 + 2 * 80));
    h.send(1, slow(20_000));
    assert_eq!(h.s.lead_time(), Micros::from_millis(250 + 2 * 50), "the round trip, when it is the more");
    h.send(1, slow(-1));
    assert_eq!(h.last_error(1), Some(ErrorCode::Malformed));
    // Earbuds compensated at 300 ms render each click that much sooner: the change must reach
    // them that much earlier too.
    let buds = OutputReport {
        latency_us: Micros::from_millis(300),
        buffer_us: Micros::from_millis(10),
        source: LatencySource::Calibrated,
        clicks: 10,
        missed: 0,
        late: 0,
        engine: "web-audio Chromium".into(),
        unreported: false,
    };
    h.send(
        1,
        ClientMsg::SyncReport {
            rtt_us: Micros(40_000),
            error_us: Micros(5_000),
            synced: true,
            output: Some(buds),
            delivery_us: None,
        },
    );
    assert_eq!(h.s.lead_time(), Micros::from_millis(250 + 2 * 50 + 300));
    h.send(
        1,
        ClientMsg::SyncReport {
            rtt_us: Micros(60_000_000),
            error_us: Micros(60_000_000),
            synced: false,
            output: None,
            delivery_us: None,
        },
    );
    assert_eq!(h.s.lead_time(), Micros::from_millis(1_500), "capped at max_lead");
}

#[test]
fn a_members_figures_off_are_flagged_in_the_participant_list() {
    use crate::protocol::{LatencySource, OutputReport, SyncConcern};
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    h.join(2, "Ben", false, None);
    let output = OutputReport {
        latency_us: Micros::from_millis(150),
        buffer_us: Micros::from_millis(10),
        source: LatencySource::Reported,
        clicks: 40,
        missed: 3,
        late: 0,
        engine: "web-audio WebKit".into(),
        unreported: false,
    };
    h.send(2, synced_report(Some(output)));
    let ben = h.s.participants().find(|p| p.name == "Ben").unwrap();
    let sync = ben.sync.as_ref().unwrap();
    assert_eq!(sync.concerns, [SyncConcern::MissedClicks, SyncConcern::Uncalibrated]);
    let ana = h.s.participants().find(|p| p.name == "Ana").unwrap();
    assert!(ana.sync.is_none());
}

#[test]
fn an_output_report_out_of_bounds_is_refused_and_an_older_one_reads() {
    use crate::protocol::OutputReport;
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    // From a member that does not say what its buffer is: none.
    let old: OutputReport = serde_json::from_value(serde_json::json!({
        "latency_us": 20_000, "source": "reported", "clicks": 4, "missed": 0, "late": 0, "engine": "cpal"
    }))
    .unwrap();
    assert_eq!(old.buffer_us, Micros::ZERO);
    let report = |o: &OutputReport| synced_report(Some(o.clone()));
    let errors = |h: &Harness| h.inbox[&1].iter().filter(|m| matches!(m, ServerMsg::Error { .. })).count();
    h.send(1, report(&old));
    assert_eq!(errors(&h), 0);
    for (n, bad) in [
        OutputReport { buffer_us: Micros(20_001), ..old.clone() },
        OutputReport { buffer_us: Micros(-1), ..old.clone() },
        OutputReport { latency_us: Micros(2_000_001), ..old.clone() },
        OutputReport { engine: "x".repeat(41), ..old.clone() },
    ]
    .iter()
    .enumerate()
    {
        h.send(1, report(bad));
        assert_eq!((errors(&h), h.last_error(1)), (n + 1, Some(ErrorCode::Malformed)), "{bad:?}");
    }
}

#[test]
fn a_rotation_the_store_could_not_save_is_undone_before_anyone_hears_of_it() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    let old = h.s.secret().clone();
    let before = h.inbox[&1].len();
    // The host's IO shell handles the rotation, fails to save the new secret, and says so.
    h.s.handle_input(h.now, 1, ClientMsg::RotateSecret {});
    assert_ne!(*h.s.secret(), old);
    h.s.rotation_not_saved(old.clone());
    h.pump();
    assert_eq!(*h.s.secret(), old, "the old link still works");
    let heard = &h.inbox[&1][before..];
    assert!(
        !heard.iter().any(|m| matches!(m, ServerMsg::Credentials { secret, .. } if *secret != old)),
        "the unsaved secret never left: {heard:?}"
    );
    assert_eq!(h.last_error(1), Some(ErrorCode::Internal));
    // After the error, the leader has the link in force again (the host may have sent it the
    // unsaved one, held for the store and dropped).
    assert!(matches!(heard.last(), Some(ServerMsg::Credentials { secret, .. }) if *secret == old), "{heard:?}");
    // A Ben with the old link still gets in.
    assert!(h.join(2, "Ben", false, None).is_some());
}

#[test]
fn a_pin_the_store_could_not_save_is_undone_before_anyone_hears_of_it() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    let before = h.inbox[&1].len();
    h.s.handle_input(h.now, 1, ClientMsg::SetPin { pin: Some(Secret("246813".into())) });
    assert_eq!(h.s.pin().map(Secret::expose), Some("246813"));
    h.s.pin_not_saved(None);
    h.pump();
    assert_eq!(h.s.pin(), None, "no PIN, as before");
    let heard = &h.inbox[&1][before..];
    assert!(
        !heard.iter().any(|m| matches!(m, ServerMsg::Credentials { pin: Some(_), .. })),
        "the unsaved PIN never left: {heard:?}"
    );
    assert_eq!(h.last_error(1), Some(ErrorCode::Internal));
    assert!(matches!(heard.last(), Some(ServerMsg::Credentials { pin: None, .. })), "{heard:?}");
}

#[test]
fn seek_starts_a_bar_at_the_target() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    h.send(1, ClientMsg::Seek { position: Beats::whole(18) });
    h.send(1, ClientMsg::Play { count_in: 1, on_bar: None });
    let seg = h.s.transport().latest().clone();
    assert_eq!(seg.bar_origin, Beats::whole(18));
    assert_eq!(seg.timeline.beat_origin, Beats::whole(14), "one 4/4 bar of count-in before 18");
    assert_eq!(seg.next_bar(Beats::whole(19)), Beats::whole(22));
}

#[test]
fn stop_lands_on_bar_and_play_resumes_there() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    h.send(1, ClientMsg::Play { count_in: 0, on_bar: None });
    h.advance(Micros::from_millis(3_000));
    h.send(1, ClientMsg::Stop {});
    let stop = h.s.transport().latest().clone();
    assert!(!stop.playing);
    assert_eq!(stop.timeline.beat_origin, Beats::whole(8));
    h.advance(Micros::from_secs(5));
    h.send(1, ClientMsg::Play { count_in: 0, on_bar: None });
    assert_eq!(h.s.transport().latest().timeline.beat_origin, Beats::whole(8));
}

#[test]
fn a_tempo_drag_is_one_activity_entry_once_it_settles() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    h.send(1, ClientMsg::Play { count_in: 0, on_bar: None });
    let joined = h.activity.len();
    // A slider drag: 30 changes, 20 ms apart.
    for b in 100..130 {
        h.send(1, ClientMsg::Tempo { tempo: bpm(f64::from(b)) });
        h.advance(Micros::from_millis(20));
    }
    assert_eq!(h.activity.len(), joined, "nothing while the tempo moves");
    let due = h.s.poll_timeout().expect("a timer for the settled tempo");
    assert_eq!(due, h.now + TEMPO_SETTLE - Micros::from_millis(20), "settled 1.5 s after the last change");
    h.advance(TEMPO_SETTLE);
    let got: Vec<(ActivityKind, Option<ParticipantId>, &str)> =
        h.activity[joined..].iter().map(|(k, b, s)| (*k, *b, s.as_str())).collect();
    assert_eq!(got, vec![(ActivityKind::Tempo, Some(1), "tempo 120 → 129 BPM")]);
    // Every change still reached the members as a transport.
    assert_eq!(h.s.transport().latest().timeline.tempo, Tempo::checked(129_000).unwrap());
}
