//! The callbacks' stamps, read on the control side: each one checked for a gap against the one
//! before (an underrun the host did not report, or a young stream's reports coming alive:
//! `start.rs`), traced, and fed to the device-clock filter ([`AudioOutput::update`] fits it next).

use super::{AudioOutput, TraceLine};
use crate::stream_clock::StreamClock;
use std::sync::atomic::Ordering;

impl AudioOutput {
    /// Reads every stamp the callback left since the last update, `clock` and `base_local` placing
    /// them on the local clock.
    pub(super) fn read_stamps(&mut self, clock: &StreamClock, base_local: f64, us_per_frame: f64) {
        let opened_s = self.started.elapsed().as_secs_f64();
        while let Ok(st) = self.stamps.pop() {
            self.start.stamp(opened_s, st.playback != st.callback);
            if let Some(prev) = self.last_stamp {
                // A gap between where the previous buffer ended and where this one is heard is
                // an underrun the host did not report as one; or, while the stream starts, its
                // reports coming alive (a gap for the filter, no underrun).
                let expected = prev.playback.as_nanos() as f64 / 1000.0 + f64::from(prev.frames) * us_per_frame;
                let got = st.playback.as_nanos() as f64 / 1000.0;
                if st.frame == prev.frame + u64::from(prev.frames) && (got - expected) > 5_000.0 {
                    if self.start.steady() {
                        self.underruns.fetch_add(1, Ordering::Relaxed);
                        self.underruns_seen += 1;
                    }
                    self.filter.gap();
                    self.trace.line(TraceLine::Gap { frame: st.frame });
                }
            }
            self.info.buffer_frames = st.frames;
            self.delay.push(st.playback.saturating_duration_since(st.callback).as_secs_f64() * 1000.0);
            let local = clock.local(st.playback, base_local);
            if self.trace.on() {
                let callback_us = clock.local(st.callback, base_local);
                self.trace.line(TraceLine::Callback {
                    frame: st.frame,
                    frames: st.frames,
                    callback_us,
                    playback_us: local,
                });
            }
            self.filter.push(st.frame, local);
            if let Some(r) = &mut self.readings {
                r.push((st.frame as f64, local));
            }
            self.last_stamp = Some(st);
        }
    }
}
