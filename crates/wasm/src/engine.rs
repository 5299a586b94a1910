//! The click engine for the phone page's AudioWorklet: the same [`Engine`] cpal drives natively,
//! rendering the clicks of the shared timeline at the exact frame of the AudioContext's own
//! counter. The page's main thread fits the map from context frames to host time and sends it, and
//! the schedule, as commands; the worklet asks for each render quantum without any JSON.
//!
//! Rendering one continuous stream (silence included) also keeps WebKitGTK's audio sink from
//! dropping the silent buffers between clicks, which cut clicks short or lost them.

use bandsync_audio::engine::{Command, Ear, Engine, FrameMap, Levels};
use bandsync_audio::schedule::FixedSchedule;
use bandsync_audio::sounds::{ClickSound, Sounds};
use bandsync_core::Transport;
use bandsync_core::host_axis::HostAxis;
use serde::{Deserialize, Serialize};

/// A change for the page's engine, as the main thread sends it: `kind` first
/// ([`bandsync_core::tagged`]).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(tag = "kind"))]
#[serde(remote = "Self", rename_all = "snake_case")]
pub enum EngineCommand {
    /// A new map from context frames to host time, as the output's readings fit it.
    Map {
        /// The map.
        map: FrameMap,
    },
    /// A new transport schedule.
    Schedule {
        /// The schedule.
        transport: Transport,
        /// The host clock its times are on.
        #[serde(default)]
        axis: HostAxis,
    },
    /// The latency calibration's probe train from `start_us` on
    /// ([`bandsync_audio::calibrate::probe_plan`]), in place of the schedule until the next.
    Probe {
        /// Host µs of its first click.
        start_us: f64,
        /// The host clock that is on.
        #[serde(default)]
        axis: HostAxis,
    },
    /// Forget the map: silence until the next one (the context was suspended).
    Unmap,
    /// The player's settings, sent together whenever one changes.
    Settings {
        /// The levels.
        levels: Levels,
        /// Which ear gets the click.
        ear: Ear,
        /// Clicks per beat, 1 to 8.
        n: u8,
        /// The latency offset, µs: a move of it is the player's, and the clicks it makes late
        /// are not counted late ([`Command::Offset`]).
        offset_us: f64,
        /// The built-in click set (made anew only when it changes).
        sound: ClickSound,
    },
}
bandsync_core::tagged!(@de EngineCommand, "kind");

/// How many of the last clicks started the engine keeps for [`EngineStats::recent`]: the page
/// reads them every 50 ms, so a main thread stalled for up to this many beats loses none of a
/// calibration's probe (80 BPM: 6 s). One click kept, as before, lost one to every stall of over
/// a beat.
pub const RECENT_CLICKS: usize = 8;

/// What the engine has played, for the sync report the band sees.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EngineStats {
    /// Clicks started since the engine was made.
    pub clicks: u32,
    /// Clicks that started more than a millisecond after their frame (they fell in a gap), but
    /// for those the player's own move of the latency offset made late ([`Command::Offset`]).
    pub late: u32,
    /// The last clicks started, oldest first, flat: each one's host time (µs), then the context
    /// frame it started on (a calibration times its probe's clicks by the output's readings
    /// around it: `calibrate::played_by_device`); zeros before the first. Flat, as the page keeps
    /// them.
    pub recent: [i64; 2 * RECENT_CLICKS],
    /// The last frame rendered.
    pub frames: u64,
}

/// The engine, its output buffer and its counters.
#[derive(Debug)]
pub struct PageEngine {
    engine: Engine,
    rate: u32,
    /// The click set the engine has.
    sound: ClickSound,
    /// Interleaved stereo, grown once to the largest quantum asked for.
    buf: Vec<f32>,
    stats: EngineStats,
}

/// Two channels: the worklet copies them to its outputs (left, right).
pub const CHANNELS: usize = 2;

impl PageEngine {
    /// An engine at the context's sample rate, with `sound` as its clicks.
    #[must_use]
    pub fn new(rate: u32, sound: ClickSound) -> Self {
        let mut engine = Engine::new(rate);
        engine.replace_sounds(Sounds::set(sound, rate));
        PageEngine { engine, rate, sound, buf: Vec::new(), stats: EngineStats::default() }
    }

    /// Applies a command from the main thread.
    pub fn command(&mut self, c: EngineCommand) {
        match c {
            EngineCommand::Map { map } => self.engine.apply(Command::Map(map)),
            EngineCommand::Unmap => self.engine.apply(Command::Unmap),
            EngineCommand::Schedule { transport, axis } => {
                self.engine.apply(Command::Schedule(FixedSchedule::on(&transport, axis)))
            }
            EngineCommand::Probe { start_us, axis } => {
                let plan = bandsync_audio::calibrate::probe_plan(start_us);
                self.engine.apply(Command::Schedule(FixedSchedule::on(&plan.transport, axis)))
            }
            EngineCommand::Settings { levels, ear, n, offset_us, sound } => {
                self.engine.apply(Command::Levels(levels));
                self.engine.apply(Command::Ear(ear));
                self.engine.apply(Command::Subdivision(n));
                self.engine.apply(Command::Offset(offset_us));
                if sound != self.sound {
                    self.sound = sound;
                    let _ = self.engine.replace_sounds(Sounds::set(sound, self.rate));
                }
            }
        }
    }

    /// Renders `frames` frames starting at context frame `first` into the interleaved stereo
    /// buffer and returns it.
    pub fn render(&mut self, frames: usize, first: u64) -> &[f32] {
        let n = frames * CHANNELS;
        if self.buf.len() < n {
            self.buf.resize(n, 0.0);
        }
        let stats = &mut self.stats;
        self.engine.process(&mut self.buf[..n], CHANNELS, first, |p| {
            // One click a beat or so: the oldest goes, and the list stays in order.
            stats.recent.copy_within(2.., 0);
            stats.recent[2 * RECENT_CLICKS - 2..].copy_from_slice(&[p.click.host.0, p.frame as i64]);
            stats.clicks += 1;
            stats.late += u32::from(p.late);
        });
        stats.frames = first + frames as u64;
        &self.buf[..n]
    }

    /// What it has played.
    #[must_use]
    pub fn stats(&self) -> EngineStats {
        self.stats
    }
}
