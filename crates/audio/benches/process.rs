//! CPU time of the audio callback's work per buffer: `Engine::process` with a busy schedule
//! (7/8 at 240 BPM with four clicks per beat, so several voices overlap).
//!
//! ```text
//! cargo bench -p bandsync-audio --bench process
//! ```

use bandsync_audio::engine::{Command, Engine, FrameMap};
use bandsync_audio::schedule::FixedSchedule;
use bandsync_core::Micros;
use bandsync_core::timeline::{Meter, Segment, Transport};
use std::time::Instant;

fn main() {
    let mut t = Transport::new(Micros(0));
    t.schedule(Segment::playing_from_zero(240_000, Meter::new(7, 8).unwrap()));
    println!("| buffer (frames) | median ns per buffer | p99 ns | buffer duration | CPU share of one core |");
    println!("|---|---|---|---|---|");
    for buf in [64usize, 256, 512, 2048] {
        let mut e = Engine::new(48_000);
        e.apply(Command::Map(FrameMap { frame_ref: 0, host_at_ref: 0.0, us_per_frame: 1e6 / 48_000.0, epoch: 0 }));
        e.apply(Command::Schedule(FixedSchedule::from(&t)));
        e.apply(Command::Subdivision(4));
        let mut out = vec![0.0f32; buf * 2];
        let mut times = Vec::with_capacity(20_000);
        let mut frame = 0u64;
        let mut clicks = 0u64;
        for _ in 0..20_000 {
            let s = Instant::now();
            e.process(&mut out, 2, frame, |_| clicks += 1);
            times.push(s.elapsed().as_nanos() as f64);
            frame += buf as u64;
        }
        times.sort_by(f64::total_cmp);
        let med = times[times.len() / 2];
        let p99 = times[times.len() * 99 / 100];
        let dur_ns = buf as f64 / 48_000.0 * 1e9;
        println!("| {buf} | {med:.0} | {p99:.0} | {:.2} ms | {:.3} % |", dur_ns / 1e6, 100.0 * med / dur_ns);
        assert!(clicks > 0);
    }
}
