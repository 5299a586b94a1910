//! The engine without a device: exact frames for given timelines.

use bandsync_audio::engine::{Command, Ear, Engine, FrameMap, PlayedClick};
use bandsync_audio::schedule::FixedSchedule;
use bandsync_core::timeline::{Accent, Meter, Segment, Tempo, Timeline, Transport};
use bandsync_core::{Beats, Micros};

const RATE: u32 = 48_000;

fn playing(bpm: f64, meter: Meter, at: i64) -> Transport {
    let mut t = Transport::new(Micros(0));
    let start = Segment {
        at: Micros(at),
        playing: true,
        timeline: Timeline { tempo: Tempo::from_bpm(bpm).unwrap(), beat_origin: Beats::ZERO, time_origin: Micros(at) },
        meter,
        bar_origin: Beats::ZERO,
        song_start: Beats::ZERO,
        song: None,
        flow: None,
    };
    t.schedule(start);
    t
}

/// Runs the engine over `seconds` in buffers of `buf` frames; returns the beat events and the
/// frames where a click's first sample is (the onsets in the rendered audio, left channel).
fn run(engine: &mut Engine, seconds: f64, buf: usize, channels: usize) -> (Vec<PlayedClick>, Vec<u64>, Vec<f32>) {
    let total = (seconds * f64::from(RATE)) as u64;
    let mut out = vec![0.0f32; buf * channels];
    let mut beats = Vec::new();
    let mut audio = Vec::with_capacity(total as usize * channels);
    let mut frame = 0u64;
    while frame < total {
        engine.process(&mut out, channels, frame, |b| beats.push(b));
        audio.extend_from_slice(&out);
        frame += buf as u64;
    }
    let onsets = beats.iter().map(|b| b.frame).collect();
    (beats, onsets, audio)
}

fn exact_map(us_per_frame: f64) -> FrameMap {
    FrameMap { frame_ref: 0, host_at_ref: 0.0, us_per_frame, epoch: 0 }
}

#[test]
fn clicks_fall_at_the_exact_frames() {
    for buf in [64, 441, 512, 2048] {
        let mut e = Engine::new(RATE);
        e.apply(Command::Map(exact_map(1e6 / f64::from(RATE))));
        e.apply(Command::Schedule(FixedSchedule::from(&playing(120.0, Meter::default(), 100_000))));
        let (beats, onsets, audio) = run(&mut e, 5.0, buf, 2);
        // First click at 0.1 s = frame 4800, then every 0.5 s = 24 000 frames.
        let want: Vec<u64> = (0..10).map(|k| 4_800 + k * 24_000).collect();
        assert_eq!(onsets, want, "buffer {buf}");
        // The audio agrees with the events: silence right before, full click on the frame.
        for &f in &want {
            let i = f as usize * 2;
            assert_eq!(audio[i - 2], 0.0, "silence before the click at {f}");
            assert!(audio[i] > 0.3, "the click starts on frame {f}");
        }
        assert_eq!(beats[0].click.accent, Accent::Downbeat);
        assert_eq!(beats[1].click.accent, Accent::Beat);
        assert_eq!(beats[4].click.accent, Accent::Downbeat);
        assert_eq!(beats[4].click.bar, 1);
    }
}

#[test]
fn tempo_change_lands_on_the_bar_line() {
    let mut t = playing(120.0, Meter::default(), 0);
    // A change to 60 BPM scheduled on the bar line at 2 s (beat 4).
    let mut seg = t.latest().clone();
    seg.at = Micros(2_000_000);
    seg.timeline = Timeline {
        tempo: Tempo::from_bpm(60.0).unwrap(),
        beat_origin: Beats::whole(4),
        time_origin: Micros(2_000_000),
    };
    t.schedule(seg);
    let mut e = Engine::new(RATE);
    e.apply(Command::Map(exact_map(1e6 / f64::from(RATE))));
    e.apply(Command::Schedule(FixedSchedule::from(&t)));
    let (beats, onsets, _) = run(&mut e, 6.0, 256, 2);
    let intervals: Vec<u64> = onsets.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(&intervals[..4], &[24_000; 4], "120 BPM up to the bar line");
    assert_eq!(onsets[4], 96_000, "the bar line at 2 s");
    assert_eq!(beats[4].click.accent, Accent::Downbeat);
    assert!(intervals[4..].iter().all(|&i| i == 48_000), "60 BPM after it: {intervals:?}");
}

#[test]
fn meters_accents_and_subdivisions() {
    let mut e = Engine::new(RATE);
    e.apply(Command::Map(exact_map(1e6 / f64::from(RATE))));
    e.apply(Command::Schedule(FixedSchedule::from(&playing(120.0, Meter::new(7, 8).unwrap(), 0))));
    e.apply(Command::Subdivision(2));
    let (beats, onsets, _) = run(&mut e, 3.5, 512, 1);
    let main: Vec<_> = beats.iter().filter(|b| !b.click.subdivision).take(8).map(|b| b.click.accent).collect();
    use Accent::*;
    assert_eq!(main, vec![Downbeat, Beat, Group, Beat, Group, Beat, Beat, Downbeat]);
    // Subdivisions halve the grid: every 12 000 frames.
    assert!(onsets.windows(2).all(|w| w[1] - w[0] == 12_000));
    assert!(beats[1].click.subdivision && !beats[2].click.subdivision);
}

#[test]
fn clicks_stay_sample_accurate_with_device_clock_drift() {
    for ppm in [-100.0, 100.0] {
        // The card runs `ppm` fast: each frame lasts a little less host time.
        let us_per_frame = 1e6 / f64::from(RATE) / (1.0 + ppm * 1e-6);
        let mut e = Engine::new(RATE);
        e.apply(Command::Map(exact_map(us_per_frame)));
        e.apply(Command::Schedule(FixedSchedule::from(&playing(120.0, Meter::default(), 0))));
        let (_, onsets, _) = run(&mut e, 60.0, 480, 2);
        for (k, &f) in onsets.iter().enumerate() {
            let want = (k as f64 * 500_000.0 / us_per_frame).round() as u64;
            assert_eq!(f, want, "click {k} at {ppm} ppm");
        }
        // Over a minute the drift adds up to 288 frames, and the clicks follow it.
        assert!(onsets.last().unwrap().abs_diff(119 * 24_000) > 200);
    }
}

#[test]
fn one_ear_only_and_count_in() {
    let mut t = playing(120.0, Meter::default(), 0);
    let mut seg = t.latest().clone();
    seg.song_start = Beats::whole(4); // the first bar is count-in
    t.schedule(seg);
    let mut e = Engine::new(RATE);
    e.apply(Command::Map(exact_map(1e6 / f64::from(RATE))));
    e.apply(Command::Schedule(FixedSchedule::from(&t)));
    e.apply(Command::Ear(Ear::Right));
    let (beats, _, audio) = run(&mut e, 3.0, 512, 2);
    assert!(audio.chunks(2).all(|f| f[0] == 0.0), "nothing on the left");
    assert!(audio.chunks(2).any(|f| f[1] != 0.0), "clicks on the right");
    assert!(beats[..4].iter().all(|b| b.click.count_in));
    assert!(!beats[4].click.count_in);
}

#[test]
fn stopped_schedule_is_silent() {
    let mut e = Engine::new(RATE);
    e.apply(Command::Map(exact_map(1e6 / f64::from(RATE))));
    e.apply(Command::Schedule(FixedSchedule::from(&Transport::new(Micros(0)))));
    let (beats, _, audio) = run(&mut e, 1.0, 512, 2);
    assert!(beats.is_empty());
    assert!(audio.iter().all(|&x| x == 0.0));
}

/// Clicks of 120 BPM from host 0 over 100 buffers of 500 frames, with `how` applied just before
/// the click due at frame 24 000 (the first frame of the 49th buffer). Each click played: its
/// frame, and whether it counts as late.
fn refit_across_a_click(how: impl FnOnce(&mut Engine)) -> Vec<(u64, bool)> {
    let mut e = Engine::new(RATE);
    e.apply(Command::Map(exact_map(US)));
    e.apply(Command::Schedule(FixedSchedule::from(&playing(120.0, Meter::default(), 0))));
    let mut out = vec![0.0f32; 500 * 2];
    let mut beats = Vec::new();
    for k in 0..48u64 {
        e.process(&mut out, 2, k * 500, |b| beats.push(b));
    }
    how(&mut e);
    for k in 48..100u64 {
        e.process(&mut out, 2, k * 500, |b| beats.push(b));
    }
    beats.iter().map(|b| (b.frame, b.late)).collect()
}

/// One frame at [`RATE`], µs.
const US: f64 = 1e6 / RATE as f64;

/// A new map: host time moved `frames` forward (the output's readings moved).
fn map_moved(frames: f64) -> Command {
    Command::Map(FrameMap { frame_ref: 0, host_at_ref: frames * US, us_per_frame: US, epoch: 0 })
}

#[test]
fn a_click_a_map_correction_jumps_over_is_played_late_and_one_a_stall_jumps_over_is_dropped() {
    // The click due at frame 24 000 is the first frame of the next buffer. A refit moving host
    // time 10 frames forward leaves it 10 frames in the past: played at once, once, and the grid
    // goes on. 10 frames (0.2 ms) late is still on time.
    assert_eq!(refit_across_a_click(|e| e.apply(map_moved(10.0))), [(0, false), (24_000, false), (47_990, false)]);
    // The output's latency figure settles 20.8 ms higher: the click that fell in those 20.8 ms
    // is played at once, not lost (a lost beat is what a musician hears), and counts as late.
    assert_eq!(refit_across_a_click(|e| e.apply(map_moved(1e3))), [(0, false), (24_000, true), (47_000, false)]);
    // A 208 ms jump is a stall: its clicks are gone, not played as a burst.
    assert_eq!(refit_across_a_click(|e| e.apply(map_moved(1e4))), [(0, false), (38_000, false)]);
    // After a suspension the first map is a new start: nothing from before it is played.
    let suspended = |e: &mut Engine| {
        e.apply(Command::Unmap);
        e.apply(map_moved(1e3));
    };
    assert_eq!(refit_across_a_click(suspended), [(0, false), (47_000, false)]);
}

#[test]
fn a_click_the_players_own_offset_jumps_over_is_played_at_once_and_not_late() {
    // The player sets the offset 20.8 ms higher: the same click as the map's move above, played
    // at once, but the output did nothing wrong.
    let offset = |us: f64| move |e: &mut Engine| e.apply(Command::Offset(us));
    assert_eq!(refit_across_a_click(offset(1e3 * US)), [(0, false), (24_000, false), (47_000, false)]);
    // Further than the catch-up, as a map's jump: skipped, not played as a burst.
    assert_eq!(refit_across_a_click(offset(1e4 * US)), [(0, false), (38_000, false)]);
    // Lower: the clicks come later, and none is played twice.
    assert_eq!(refit_across_a_click(offset(-1e3 * US)), [(0, false), (25_000, false), (49_000, false)]);
    // Moved with the map in one buffer: only the player's part is excused. The map's 10.4 ms
    // more makes the click late past it.
    let both = |e: &mut Engine| {
        e.apply(Command::Offset(1e3 * US));
        e.apply(map_moved(500.0));
    };
    assert_eq!(refit_across_a_click(both), [(0, false), (24_000, true), (46_500, false)]);
    // Moved while the output was suspended: the first map after is a fresh start all the same.
    let suspended = |e: &mut Engine| {
        e.apply(Command::Offset(1e3 * US));
        e.apply(Command::Unmap);
        e.apply(map_moved(0.0));
    };
    assert_eq!(refit_across_a_click(suspended), [(0, false), (47_000, false)]);
}

#[test]
fn the_offset_is_added_to_the_map_as_clicks_are_placed() {
    // Heard 10 ms later than the map says: every click is rendered 480 frames earlier, and a map
    // sent after the offset keeps it.
    let mut e = Engine::new(RATE);
    e.apply(Command::Offset(10_000.0));
    e.apply(Command::Map(exact_map(1e6 / f64::from(RATE))));
    e.apply(Command::Schedule(FixedSchedule::from(&playing(120.0, Meter::default(), 100_000))));
    let (beats, _, _) = run(&mut e, 1.2, 512, 2);
    let frames: Vec<u64> = beats.iter().map(|b| b.frame).collect();
    assert_eq!(frames, [4_320, 28_320, 52_320]);
    assert!(beats.iter().all(|b| !b.late));
}

#[test]
fn a_custom_sample_replaces_the_built_in_click() {
    use bandsync_audio::sounds::{Sound, Sounds};
    // A 24 kHz mono 16-bit WAV: a 10 ms ramp. Decoded with rodio and resampled to 48 kHz.
    let dir = std::env::temp_dir().join(format!("bandsync-sample-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("click.wav");
    let n = 240u32;
    let data: Vec<i16> = (0..n).map(|i| (i as i32 * 32767 / n as i32) as i16).rev().collect();
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + n * 2).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&24_000u32.to_le_bytes());
    wav.extend_from_slice(&48_000u32.to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(n * 2).to_le_bytes());
    for s in &data {
        wav.extend_from_slice(&s.to_le_bytes());
    }
    std::fs::write(&path, wav).unwrap();
    let mut sounds = Sounds::synthesized(RATE);
    sounds.load(Sound::Beat, &path, RATE).unwrap();
    assert_eq!(sounds.get(Sound::Beat).len(), 480, "resampled from 24 to 48 kHz");
    assert!((sounds.get(Sound::Beat)[0] - 1.0).abs() < 0.01, "starts at full scale");
    let err = sounds.load(Sound::Beat, &dir.join("missing.wav"), RATE).unwrap_err();
    assert!(err.to_string().contains("cannot open"), "{err}");
    std::fs::write(dir.join("junk.wav"), b"not audio").unwrap();
    assert!(sounds.load(Sound::Beat, &dir.join("junk.wav"), RATE).is_err());
    let _ = std::fs::remove_dir_all(&dir);

    let mut e = Engine::new(RATE);
    let _old = e.replace_sounds(sounds);
    e.apply(Command::Map(exact_map(1e6 / f64::from(RATE))));
    e.apply(Command::Schedule(FixedSchedule::from(&playing(120.0, Meter::default(), 0))));
    let (_, onsets, audio) = run(&mut e, 1.0, 512, 1);
    // The second click is a beat: the ramp, at the beat level times the master volume.
    let f = onsets[1] as usize;
    assert!((audio[f] - 0.6 * 0.8).abs() < 0.01, "{}", audio[f]);
    assert!(audio[f + 479] < audio[f + 240] && audio[f + 480] == 0.0, "the ramp, then silence");
}

#[test]
fn a_seek_back_and_a_count_in_after_a_stop_still_click() {
    // Play from 0; at 4 s (beat 8) seek back to beat 0; the clicks go on, from the new position.
    let mut t = playing(120.0, Meter::default(), 0);
    let mut back = t.latest().clone();
    back.at = Micros(4_000_000);
    back.timeline =
        Timeline { tempo: Tempo::from_bpm(120.0).unwrap(), beat_origin: Beats::ZERO, time_origin: Micros(4_000_000) };
    back.song_start = Beats::whole(0);
    t.schedule(back);
    // Then stop at 6 s and start again at 7 s with one bar of count-in before beat 0.
    let mut stop = t.latest().clone();
    stop.at = Micros(6_000_000);
    stop.playing = false;
    t.schedule(stop);
    let mut again = t.latest().clone();
    again.at = Micros(7_000_000);
    again.playing = true;
    again.song_start = Beats::ZERO;
    again.timeline = Timeline {
        tempo: Tempo::from_bpm(120.0).unwrap(),
        beat_origin: Beats::whole(-4),
        time_origin: Micros(7_000_000),
    };
    t.schedule(again);
    let mut e = Engine::new(RATE);
    e.apply(Command::Map(exact_map(1e6 / f64::from(RATE))));
    e.apply(Command::Schedule(FixedSchedule::from(&t)));
    let (beats, onsets, _) = run(&mut e, 10.0, 512, 2);
    let want: Vec<u64> = (0..8).chain(8..12).chain(14..21).map(|k| k * 24_000).collect();
    assert_eq!(onsets, want, "every beat sounds, before and after the seek, and the count-in");
    let count_in: Vec<bool> = beats[12..].iter().map(|b| b.click.count_in).collect();
    assert_eq!(count_in, [true, true, true, true, false, false, false]);
}

#[test]
fn triplet_subdivisions_stay_on_the_grid_and_keep_their_accents() {
    let mut e = Engine::new(RATE);
    e.apply(Command::Map(exact_map(1e6 / f64::from(RATE))));
    e.apply(Command::Schedule(FixedSchedule::from(&playing(120.0, Meter::default(), 0))));
    e.apply(Command::Subdivision(3));
    let (beats, onsets, _) = run(&mut e, 4.1, 512, 1);
    // Three clicks per 24 000-frame beat: 8 000 frames apart, every one.
    assert!(onsets.windows(2).all(|w| w[1] - w[0] == 8_000), "{:?}", &onsets[..8]);
    let main: Vec<_> = beats.iter().filter(|b| !b.click.subdivision).map(|b| b.click.accent).collect();
    use Accent::*;
    assert_eq!(main, [Downbeat, Beat, Beat, Beat, Downbeat, Beat, Beat, Beat, Downbeat]);
}
