//! The engine across a change of host clock: a session carried to another server (its clock
//! continues the old one at a shift) loses no click and plays none twice; a restarted host (a
//! clock that continues nothing) is played from its own schedule at once.

use bandsync_audio::engine::{Command, Engine, FrameMap, PlayedClick};
use bandsync_audio::schedule::FixedSchedule;
use bandsync_core::host_axis::HostAxis;
use bandsync_core::protocol::Rebase;
use bandsync_core::timeline::{Meter, Segment, Tempo, Timeline, Transport};
use bandsync_core::{Beats, Micros};

const RATE: u32 = 48_000;
const US: f64 = 1e6 / RATE as f64;
const BUF: u64 = 480;

/// 150 BPM (a beat every 0.4 s) from host time `at`, position 0 there.
fn playing(at: i64) -> Transport {
    let mut t = Transport::new(Micros(0));
    t.schedule(Segment {
        at: Micros(at),
        playing: true,
        timeline: Timeline {
            tempo: Tempo::from_bpm(150.0).unwrap(),
            beat_origin: Beats::ZERO,
            time_origin: Micros(at),
        },
        meter: Meter::default(),
        bar_origin: Beats::ZERO,
        song_start: Beats::ZERO,
        song: None,
        flow: None,
    });
    t
}

/// The same schedule read on a clock `shift` µs ahead (as a server taking a session over moves it).
fn moved(t: &Transport, shift: i64) -> Transport {
    let mut t = t.clone();
    for s in &mut t.segments {
        s.at += Micros(shift);
        s.timeline.time_origin += Micros(shift);
    }
    t
}

/// Frame `f` is heard at host time `host0 + f * US` on the clock of `epoch`.
fn map(host0: f64, epoch: u64) -> FrameMap {
    FrameMap { frame_ref: 0, host_at_ref: host0, us_per_frame: US, epoch }
}

/// Renders frames `[from, to)` in buffers of [`BUF`], collecting the clicks.
fn render(e: &mut Engine, from: u64, to: u64, clicks: &mut Vec<PlayedClick>) {
    let mut out = vec![0.0f32; BUF as usize * 2];
    let mut f = from;
    while f < to {
        e.process(&mut out, 2, f, |c| clicks.push(c));
        f += BUF;
    }
}

fn positions(clicks: &[PlayedClick]) -> Vec<i64> {
    clicks.iter().map(|c| c.click.position.0 / Beats::ONE).collect()
}

#[test]
fn a_session_carried_to_a_clock_behind_or_ahead_loses_no_click_and_doubles_none() {
    // A drained node hands over to one started 1.3 s later (its clock reads 1.3 s less), or to one
    // started 0.9 s earlier.
    for shift in [-1_300_000i64, 900_000] {
        let mut e = Engine::new(RATE);
        let (old, new) =
            (HostAxis::new(7), HostAxis { epoch: 9, continues: Some(Rebase { from: 7, shift: Micros(shift) }) });
        let t = playing(100_000);
        e.apply(Command::Schedule(FixedSchedule::on(&t, old)));
        e.apply(Command::Map(map(0.0, 7)));
        let mut clicks = Vec::new();
        // 2.1 s on the old clock, then the member's estimate moves onto the new one: a map fitted
        // on it comes before the new server's schedule does.
        render(&mut e, 0, 100_800, &mut clicks);
        e.apply(Command::Map(map(shift as f64, 9)));
        render(&mut e, 100_800, 105_600, &mut clicks);
        e.apply(Command::Schedule(FixedSchedule::on(&moved(&t, shift), new)));
        render(&mut e, 105_600, 110_400, &mut clicks);
        e.apply(Command::Map(map(shift as f64, 9)));
        render(&mut e, 110_400, 240_000, &mut clicks);
        // Every beat once, in order, each on its exact frame: 0.1 s + k * 0.4 s.
        assert_eq!(positions(&clicks), (0..13).collect::<Vec<_>>(), "shift {shift}");
        for (k, c) in clicks.iter().enumerate() {
            assert_eq!(c.frame, 4_800 + k as u64 * 19_200, "shift {shift}: beat {k}");
        }
    }
}

#[test]
fn a_restarted_host_is_played_from_its_own_schedule_at_once() {
    // The old host has run ten minutes, playing since 0.1 s.
    let mut e = Engine::new(RATE);
    e.apply(Command::Schedule(FixedSchedule::on(&playing(100_000), HostAxis::new(7))));
    e.apply(Command::Map(map(600_000_000.0, 7)));
    let mut before = Vec::new();
    render(&mut e, 0, 48_000, &mut before);
    assert!(!before.is_empty());
    // It restarts: the new clock reads zero at frame 48 000, and its schedule plays from 0.2 s.
    // Its clock continues nothing, so the engine does not wait for it to pass ten minutes.
    e.apply(Command::Schedule(FixedSchedule::on(&playing(200_000), HostAxis::new(12))));
    e.apply(Command::Map(map(-1_000_000.0, 12)));
    let mut clicks = Vec::new();
    render(&mut e, 48_000, 96_000, &mut clicks);
    assert_eq!(positions(&clicks), [0, 1], "{clicks:?}");
    assert_eq!(clicks[0].frame, 48_000 + 9_600);
}
