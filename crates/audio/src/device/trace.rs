//! A trace of the output's timing, to see what a device reported when its clicks moved: with
//! `BANDSYNC_AUDIO_TRACE` naming a file, the control side writes a line for each callback, each
//! line its filter fitted, each map it sent the engine, each gap and reset, and the underruns the
//! host reported, as `AudioOutput::update` reads them, and each click the engine placed, as
//! `AudioOutput::drain_beats` hands them on; flushed at the next update, so that a process killed
//! keeps all but the last update's. Nothing is written from the audio callback. One file a
//! process: a stream opened again (a device that went away) appends to it.
//! [`TraceLine`] writes and reads each line (`examples/replay_trace.rs` and the speaker tests
//! read them).

use crate::engine::FrameMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// One line of a trace, space-separated (µs on the member's local clock, host µs on the
/// session's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TraceLine {
    /// `o RATE`: a stream starts, at `RATE` frames a second (its frames count from 0).
    Stream { rate: u32 },
    /// `s FRAME FRAMES CALLBACK_US PLAYBACK_US`: a callback's first frame, its length, when it
    /// ran and when the device says its first frame is heard.
    Callback { frame: u64, frames: u32, callback_us: f64, playback_us: f64 },
    /// `u FRAME`: a gap between buffers: an underrun, or while the stream starts its reports
    /// coming alive (no underrun then: `device/start.rs`); the filter keeps its slope only
    /// (`DeviceClockFilter::gap`).
    Gap { frame: u64 },
    /// `x COUNT`: underruns the host reported (cpal's error callback) since the last update.
    Xrun { count: u64 },
    /// `r`: the filter starts again (the stream's first seconds are over).
    Reset,
    /// `f FRAME LOCAL_US US_PER_FRAME STEPS OUTLIERS`: the filter's line, at `FRAME`.
    Fit { frame: f64, local_us: f64, us_per_frame: f64, steps: u64, outliers: u64 },
    /// `m FRAME_REF HOST_AT_REF US_PER_FRAME EPOCH`: the map the engine places clicks by: the one
    /// sent to it, moved by the latency offset (`Command::Offset`).
    Map(FrameMap),
    /// `c FRAME HOST_US`: a click the engine placed: the device frame it starts on, and the host
    /// time it is for. With a recording, says where each click's sound came from. Written when
    /// the click is drained, after the update that followed its callback: the map that placed it
    /// is the latest `m` line before it that puts `HOST_US` on `FRAME` (rounded), not always the
    /// last one.
    Click { frame: u64, host_us: i64 },
}

impl std::fmt::Display for TraceLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            TraceLine::Stream { rate } => write!(f, "o {rate}"),
            TraceLine::Callback { frame, frames, callback_us, playback_us } => {
                write!(f, "s {frame} {frames} {callback_us:.1} {playback_us:.1}")
            }
            TraceLine::Gap { frame } => write!(f, "u {frame}"),
            TraceLine::Xrun { count } => write!(f, "x {count}"),
            TraceLine::Reset => write!(f, "r"),
            TraceLine::Fit { frame, local_us, us_per_frame, steps, outliers } => {
                write!(f, "f {frame:.1} {local_us:.1} {us_per_frame:.9} {steps} {outliers}")
            }
            TraceLine::Map(m) => write!(f, "m {} {:.1} {:.9} {}", m.frame_ref, m.host_at_ref, m.us_per_frame, m.epoch),
            TraceLine::Click { frame, host_us } => write!(f, "c {frame} {host_us}"),
        }
    }
}

impl TraceLine {
    /// A line as written, or `None` (one cut short by a kill, or not a trace's).
    #[must_use]
    pub fn parse(line: &str) -> Option<Self> {
        let f: Vec<&str> = line.split(' ').collect();
        fn at<T: std::str::FromStr>(f: &[&str], i: usize) -> Option<T> {
            f.get(i)?.parse().ok()
        }
        Some(match *f.first()? {
            "o" => TraceLine::Stream { rate: at(&f, 1)? },
            "s" => TraceLine::Callback {
                frame: at(&f, 1)?,
                frames: at(&f, 2)?,
                callback_us: at(&f, 3)?,
                playback_us: at(&f, 4)?,
            },
            "u" => TraceLine::Gap { frame: at(&f, 1)? },
            "x" => TraceLine::Xrun { count: at(&f, 1)? },
            "r" => TraceLine::Reset,
            "f" => TraceLine::Fit {
                frame: at(&f, 1)?,
                local_us: at(&f, 2)?,
                us_per_frame: at(&f, 3)?,
                steps: at(&f, 4)?,
                outliers: at(&f, 5)?,
            },
            "m" => TraceLine::Map(FrameMap {
                frame_ref: at(&f, 1)?,
                host_at_ref: at(&f, 2)?,
                us_per_frame: at(&f, 3)?,
                epoch: at(&f, 4)?,
            }),
            "c" => TraceLine::Click { frame: at(&f, 1)?, host_us: at(&f, 2)? },
            _ => return None,
        })
    }
}

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
                t.line(TraceLine::Stream { rate });
                t
            }
            Err(e) => {
                tracing::warn!("BANDSYNC_AUDIO_TRACE {path}: {e}");
                Trace(None)
            }
        }
    }

    /// Writes `l`, if the trace is on.
    pub(super) fn line(&mut self, l: TraceLine) {
        if let Some(w) = &mut self.0
            && let Err(e) = writeln!(w, "{l}")
        {
            tracing::warn!("BANDSYNC_AUDIO_TRACE: {e}; the trace stops");
            self.0 = None;
        }
    }

    /// Whether it is written (what only it needs is worked out only then).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_line_reads_back_as_written() {
        let map = FrameMap { frame_ref: 96_000, host_at_ref: 1_234_567.5, us_per_frame: 20.833_333_333, epoch: 7 };
        let lines = [
            TraceLine::Stream { rate: 48_000 },
            TraceLine::Callback { frame: 512, frames: 512, callback_us: 10_000.5, playback_us: 36_000.25 },
            TraceLine::Gap { frame: 1_024 },
            TraceLine::Xrun { count: 2 },
            TraceLine::Reset,
            TraceLine::Fit { frame: 2_048.5, local_us: 52_000.5, us_per_frame: 20.833_333_333, steps: 1, outliers: 2 },
            TraceLine::Map(map),
            TraceLine::Click { frame: 120_000, host_us: -2_500_000 },
        ];
        for l in lines {
            let read = TraceLine::parse(&l.to_string());
            // The file keeps 0.1 µs and 1e-9 µs per frame: what it keeps, it reads back.
            assert_eq!(read.map(|r| r.to_string()), Some(l.to_string()), "{l}");
        }
        assert_eq!(TraceLine::parse("s 512 512 10000.5"), None, "a line cut short");
        assert_eq!(TraceLine::parse("z 1"), None);
    }
}
