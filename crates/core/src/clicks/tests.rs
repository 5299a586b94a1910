//! The grid against hand-computed cases, tempo changes at awkward tempos, and cursors over
//! arbitrary windows.

use super::*;
use crate::timeline::{Meter, Tempo, Transport};

fn all(segs: &[Segment], lo: i64, hi: i64, sub: u8) -> Vec<Click> {
    let mut v = Vec::new();
    clicks_between(segs, Micros(lo), Micros(hi), sub, &mut |c| v.push(c));
    v
}

/// What the session does for `tempo` while playing: land on the next bar line at or after
/// `not_before`.
fn change_tempo(segs: &mut Vec<Segment>, not_before: i64, tempo: u32) {
    let last = segs.last().unwrap().clone();
    let t = Micros(not_before).max(last.at);
    let bar = last.next_bar(last.timeline.to_beats(t));
    let mut at = last.timeline.from_beats(bar);
    if at < t {
        at = last.timeline.from_beats(bar + last.meter.bar_len());
    }
    let pos = last.timeline.to_beats(at);
    segs.retain(|s| s.at < at);
    segs.push(Segment { at, timeline: Timeline { tempo: Tempo(tempo), beat_origin: pos, time_origin: at }, ..last });
}

#[test]
fn seven_eight_grouped_two_two_three_is_accented_on_its_groups() {
    let segs = [Segment::playing_from_zero(200_000, Meter::with_groups(7, 8, vec![2, 2, 3]).unwrap())];
    let c = all(&segs, 0, 7 * 300_000, 1);
    let acc: Vec<Accent> = c.iter().map(|c| c.accent).collect();
    use Accent::{Beat as B, Downbeat as D, Group as G};
    assert_eq!(acc, [D, B, G, B, G, B, B]);
    assert_eq!(c.iter().map(|c| c.beat_in_bar).collect::<Vec<_>>(), [0, 1, 2, 3, 4, 5, 6]);
    assert_eq!(
        c.iter().map(|c| c.host.0).collect::<Vec<_>>(),
        [0, 300_000, 600_000, 900_000, 1_200_000, 1_500_000, 1_800_000]
    );
}

#[test]
fn a_tempo_change_puts_its_downbeat_on_the_bar_line_exactly_once() {
    // Awkward tempos, so that the bar line's host time is rounded and the new origin is off-grid.
    // 900.013 -> 20 BPM lands 7 micro-beats past the bar line: the downbeat maps 21 µs before the
    // segment starts, and only the segment slack keeps it.
    for (from, to) in [(133_333, 97_001), (120_000, 90_000), (61_700, 188_888), (999_000, 20_000), (900_013, 20_000)] {
        let mut segs = vec![Segment::playing_from_zero(from, Meter::default())];
        change_tempo(&mut segs, 2_100_000, to);
        let change = segs[1].at;
        let c = all(&segs, 0, change.0 + 4 * 60_000_000_000 / i64::from(to), 1);
        let down: Vec<&Click> = c.iter().filter(|c| (c.host - change).abs() <= Micros(1_000)).collect();
        assert_eq!(down.len(), 1, "{from} -> {to}");
        assert_eq!(down[0].accent, Accent::Downbeat);
        assert!((down[0].host - change).abs() <= Micros(30), "{from} -> {to}");
        for w in c.windows(2) {
            assert_eq!(w[1].position.0 - w[0].position.0, Beats::ONE, "{from} -> {to}");
            assert!(w[1].host > w[0].host);
        }
        let i = c.iter().position(|x| x == down[0]).unwrap();
        let beat = 60_000_000_000 / i64::from(to);
        assert!((c[i + 1].host.0 - c[i].host.0 - beat).abs() <= 30);
        assert!((c[i + 2].host.0 - c[i + 1].host.0 - beat).abs() <= 1);
    }
}

#[test]
fn a_count_in_then_120_to_90_at_the_bar_line() {
    let mut a = Segment::playing_from_zero(120_000, Meter::default());
    a.at = Micros(5_150_000);
    a.timeline = Timeline { tempo: Tempo(120_000), beat_origin: Beats(-4_000_000), time_origin: Micros(5_150_000) };
    let mut b = a.clone();
    b.at = Micros(9_150_000);
    b.timeline = Timeline { tempo: Tempo(90_000), beat_origin: Beats(4_000_000), time_origin: Micros(9_150_000) };
    let c = all(&[a, b], 0, 10_500_000, 1);
    let hosts: Vec<i64> = c.iter().map(|c| c.host.0).collect();
    assert_eq!(
        hosts,
        [
            5_150_000, 5_650_000, 6_150_000, 6_650_000, 7_150_000, 7_650_000, 8_150_000, 8_650_000, 9_150_000,
            9_816_667, 10_483_333
        ]
    );
    assert!(c[..4].iter().all(|c| c.count_in && c.bar == -1));
    assert!(!c[4].count_in && c[4].bar == 0 && c[4].accent == Accent::Downbeat);
    assert!(c[8].bar == 1 && c[8].beat_in_bar == 0 && c[8].accent == Accent::Downbeat);
}

#[test]
fn subdivisions_sit_on_the_exact_grid_unaccented() {
    let c = all(&[Segment::playing_from_zero(60_000, Meter::default())], 0, 1_000_000, 3);
    assert_eq!(c.iter().map(|c| c.position.0).collect::<Vec<_>>(), [0, 333_333, 666_666]);
    assert_eq!(c.iter().map(|c| c.subdivision).collect::<Vec<_>>(), [false, true, true]);
    assert_eq!(c.iter().map(|c| c.accent).collect::<Vec<_>>(), [Accent::Downbeat, Accent::Beat, Accent::Beat]);
}

#[test]
fn clicking_stops_where_a_stop_lands() {
    let mut stop = Segment::playing_from_zero(120_000, Meter::default());
    stop.at = Micros(4_000_000);
    stop.playing = false;
    stop.timeline = Timeline { tempo: Tempo(120_000), beat_origin: Beats(8_000_000), time_origin: Micros(4_000_000) };
    let c = all(&[Segment::playing_from_zero(120_000, Meter::default()), stop], 0, 10_000_000, 1);
    assert_eq!(c.len(), 8);
    assert_eq!(c.last().unwrap().host, Micros(3_500_000));
}

#[test]
fn a_cursor_hands_every_click_out_once_however_the_windows_are_cut() {
    let mut segs = vec![Segment::playing_from_zero(133_333, Meter::with_groups(7, 8, vec![2, 2, 3]).unwrap())];
    change_tempo(&mut segs, 3_000_000, 171_717);
    let whole = all(&segs, 0, 12_000_000, 2);
    let mut cursor = ClickCursor::new();
    let mut pieces = Vec::new();
    let (mut t, mut seed) = (0i64, 7u64);
    while t < 12_000_000 {
        seed = (seed.wrapping_mul(1_103_515_245).wrapping_add(12_345)) % (1 << 31);
        let end = (t + 1 + (seed % 60_000) as i64).min(12_000_000);
        // Windows overlap the past, as a scheduler that re-reads "now" does.
        let lo = Micros(t - (seed % 3_000) as i64);
        cursor.take(&segs, lo, Micros(end), 2, &mut |c| pieces.push(c));
        t = end;
    }
    assert_eq!(pieces.iter().map(|c| c.host).collect::<Vec<_>>(), whole.iter().map(|c| c.host).collect::<Vec<_>>());
}

#[test]
fn a_cursor_moved_onto_a_continuing_clock_doubles_and_loses_nothing_and_one_on_a_new_clock_starts_over() {
    use crate::host_axis::HostAxis;
    use crate::protocol::Rebase;
    let a = vec![Segment::playing_from_zero(120_000, Meter::default())];
    let mut cursor = ClickCursor::new();
    assert_eq!(cursor.move_to(HostAxis::new(7)), Some(Micros::ZERO));
    let mut got = Vec::new();
    cursor.take(&a, Micros(0), Micros(1_200_000), 1, &mut |c| got.push(c.host.0));
    assert_eq!(got, [0, 500_000, 1_000_000]);
    // The session goes on on a server whose clock reads 2 s less: the same schedule, moved.
    let shift = Micros(-2_000_000);
    let mut b = a.clone();
    b[0].at += shift;
    b[0].timeline.time_origin += shift;
    let carried = HostAxis { epoch: 9, continues: Some(Rebase { from: 7, shift }) };
    assert_eq!(cursor.move_to(carried), Some(shift));
    let mut again = Vec::new();
    // A window reaching back over the click at old 1.0 s (new -1.0 s): it is not handed out twice.
    cursor.take(&b, Micros(-1_050_000), Micros(100_000), 1, &mut |c| again.push(c.host.0));
    assert_eq!(again, [-500_000, 0]);
    // A restarted host: its clock continues nothing, and its clicks come from its own start.
    assert_eq!(cursor.move_to(HostAxis::new(12)), None);
    let mut fresh = Vec::new();
    cursor.take(&a, Micros(0), Micros(600_000), 1, &mut |c| fresh.push(c.host.0));
    assert_eq!(fresh, [0, 500_000]);
}

#[test]
fn a_stopped_transport_has_no_clicks_and_a_transport_is_walked_as_segments() {
    let t = Transport::new(Micros(0));
    assert!(all(&t.segments, 0, 10_000_000, 1).is_empty());
}

#[test]
fn the_clicks_missed_while_away_are_those_of_the_gap_on_one_clock() {
    let a = vec![Segment::playing_from_zero(120_000, Meter::default())];
    // Away from 1.2 s to 3.2 s on clock 7: the clicks at 1.5, 2, 2.5 and 3 s (eighths: 8).
    assert_eq!(missed_between(&a, 7, (Micros(1_200_000), 7), (Micros(3_200_000), 7), 1), 4);
    assert_eq!(missed_between(&a, 7, (Micros(1_200_000), 7), (Micros(3_200_000), 7), 2), 8);
    // Back on a restarted host's clock, or a schedule on another: not comparable, none counted.
    assert_eq!(missed_between(&a, 7, (Micros(1_200_000), 7), (Micros(3_200_000), 8), 1), 0);
    assert_eq!(missed_between(&a, 8, (Micros(1_200_000), 8), (Micros(3_200_000), 8), 1), 4);
    assert_eq!(missed_between(&a, 7, (Micros(1_200_000), 8), (Micros(3_200_000), 8), 1), 0);
    // Nothing when no time passed.
    assert_eq!(missed_between(&a, 7, (Micros(3_200_000), 7), (Micros(3_200_000), 7), 1), 0);
}
