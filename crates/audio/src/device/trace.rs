//! A trace of the output's timing, to see what a device reported when its clicks moved: with
//! `BANDSYNC_AUDIO_TRACE` naming a file, the control side (`AudioOutput::update`) writes a line
//! for each callback, each line its filter fitted, each map it sent the engine, and each gap and
//! reset, as it reads them; flushed at the next update, so that a process killed keeps all but
//! the last update's. Nothing is written from the audio callback. One file a process: a stream
//! opened again (a device that went away) appends to it.
//!
//! Lines, space-separated (µs on the member's local clock, host µs on the session's):
//! - `o RATE`: a stream starts, at `RATE` frames a second (its frames count from 0);
//! - `s FRAME FRAMES CALLBACK_US PLAYBACK_US`: a callback's first frame, its length, when it ran
//!   and when the device says its first frame is heard;
//! - `u FRAME`: a gap between buffers taken for an underrun (the filter keeps its slope only:
//!   `DeviceClockFilter::gap`);
//! - `r`: the filter starts again (the stream's first seconds are over);
//! - `f FRAME LOCAL_US US_PER_FRAME STEPS OUTLIERS`: the filter's line, at `FRAME`;
//! - `m FRAME_REF HOST_AT_REF US_PER_FRAME EPOCH`: the map sent to the engine (latency offset
//!   included).

use crate::engine::FrameMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether this process made its trace file already (later streams append to it).
static MADE: AtomicBool = AtomicBool::new(false);

/// The trace, or nothing when `BANDSYNC_AUDIO_TRACE` is not set.
pub(super) struct Trace(Option<BufWriter<File>>);

impl Trace {
    /// The file `BANDSYNC_AUDIO_TRACE` names (`%p` in it: this process's id, for several players
    /// started alike), made anew by a process's first stream and appended to by the next, which
    /// starts with an `o` line; nothing when unset or when it cannot be opened (said in the log).
    pub(super) fn from_env(rate: u32) -> Self {
        let Some(path) = std::env::var("BANDSYNC_AUDIO_TRACE").ok().filter(|p| !p.is_empty()) else {
            return Trace(None);
        };
        let path = path.replace("%p", &std::process::id().to_string());
        let opened = if MADE.swap(true, Ordering::AcqRel) { Ok(()) } else { File::create(&path).map(drop) }
            .and_then(|()| OpenOptions::new().create(true).append(true).open(&path));
        match opened {
            Ok(f) => {
                let mut t = Trace(Some(BufWriter::new(f)));
                t.line(format_args!("o {rate}"));
                t
            }
            Err(e) => {
                tracing::warn!("BANDSYNC_AUDIO_TRACE {path}: {e}");
                Trace(None)
            }
        }
    }

    fn line(&mut self, args: std::fmt::Arguments<'_>) {
        if let Some(w) = &mut self.0
            && let Err(e) = w.write_fmt(args).and_then(|()| w.write_all(b"\n"))
        {
            tracing::warn!("BANDSYNC_AUDIO_TRACE: {e}; the trace stops");
            self.0 = None;
        }
    }

    pub(super) fn stamp(&mut self, frame: u64, frames: u32, callback_us: f64, playback_us: f64) {
        self.line(format_args!("s {frame} {frames} {callback_us:.1} {playback_us:.1}"));
    }

    pub(super) fn underrun(&mut self, frame: u64) {
        self.line(format_args!("u {frame}"));
    }

    pub(super) fn reset(&mut self) {
        self.line(format_args!("r"));
    }

    pub(super) fn fit(&mut self, frame: f64, local_us: f64, us_per_frame: f64, steps: u64, outliers: u64) {
        self.line(format_args!("f {frame:.1} {local_us:.1} {us_per_frame:.9} {steps} {outliers}"));
    }

    pub(super) fn map(&mut self, m: &FrameMap) {
        self.line(format_args!("m {} {:.1} {:.9} {}", m.frame_ref, m.host_at_ref, m.us_per_frame, m.epoch));
    }

    /// Whether it is written (the callback's own time is read for it only then).
    pub(super) fn on(&self) -> bool {
        self.0.is_some()
    }

    /// What was written so far, to the file.
    pub(super) fn flush(&mut self) {
        if let Some(w) = &mut self.0
            && let Err(e) = w.flush()
        {
            tracing::warn!("BANDSYNC_AUDIO_TRACE: {e}; the trace stops");
            self.0 = None;
        }
    }
}
