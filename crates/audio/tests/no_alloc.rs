//! The real-time path never allocates: a counting global allocator watches the engine's
//! `apply` and `process` and the lock-free queues around them, as the audio callback runs them.

#![allow(unsafe_code)] // a GlobalAlloc implementation is unsafe by definition

use bandsync_audio::engine::{Command, Engine, FrameMap, PlayedClick};
use bandsync_audio::schedule::FixedSchedule;
use bandsync_core::timeline::{Meter, Segment, Transport};
use bandsync_core::{Beats, Micros};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if ARMED.with(Cell::get) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if ARMED.with(Cell::get) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if ARMED.with(Cell::get) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn the_callback_path_does_not_allocate() {
    let mut t = Transport::new(Micros(0));
    t.schedule(Segment {
        song_start: Beats::whole(7),
        ..Segment::playing_from_zero(180_000, Meter::new(7, 8).unwrap())
    });
    let schedule = FixedSchedule::from(&t);
    let mut engine = Engine::new(48_000);
    let (mut cmd_tx, mut cmd_rx) = rtrb::RingBuffer::<Command>::new(64);
    let (mut beat_tx, mut beat_rx) = rtrb::RingBuffer::<PlayedClick>::new(1024);
    let mut out = vec![0.0f32; 512 * 2];
    let map = FrameMap { frame_ref: 0, host_at_ref: 0.0, us_per_frame: 1e6 / 48_000.0, epoch: 0 };

    ARMED.with(|a| a.set(true));
    let mut clicks = 0;
    for k in 0..2_000u64 {
        // What the control thread sends...
        if k % 10 == 0 {
            let _ = cmd_tx.push(Command::Map(map));
            let _ = cmd_tx.push(Command::Schedule(schedule));
            let _ = cmd_tx.push(Command::Subdivision(1 + (k % 3) as u8));
        }
        // ...and what the callback does with it.
        while let Ok(c) = cmd_rx.pop() {
            engine.apply(c);
        }
        engine.process(&mut out, 2, k * 512, |b| {
            let _ = beat_tx.push(b);
        });
        while beat_rx.pop().is_ok() {
            clicks += 1;
        }
    }
    ARMED.with(|a| a.set(false));
    assert_eq!(ALLOCS.load(Ordering::Relaxed), 0, "allocations on the audio path");
    assert!(clicks > 100, "the engine did click ({clicks})");
}
