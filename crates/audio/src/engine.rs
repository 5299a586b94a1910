//! The click engine: renders the clicks a transport schedule puts inside a buffer, at the exact
//! frame. Pure: no device, no clock, no allocation in [`Engine::process`]. The cpal layer (and, in
//! the phone page, the AudioWorklet through wasm) feeds it the frame-to-host-time map and the
//! schedule through [`Command`]s. Where clicks fall is core's one click grid
//! ([`bandsync_core::clicks`]); this file only turns them into samples.
//!
//! Thread-safety: an `Engine` lives on the audio thread. Real-time safe: [`Engine::process`] and
//! [`Engine::apply`] (they never allocate, lock, log or read a clock).

use crate::schedule::FixedSchedule;
use crate::sounds::{Sound, Sounds};
use bandsync_core::Micros;
use bandsync_core::clicks::{Click, ClickCursor};
use bandsync_core::timeline::Accent;

/// Which output channels carry the click.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Ear {
    /// The first channel only.
    Left,
    /// The second channel only.
    Right,
    /// Every channel.
    #[default]
    Both,
}

impl std::str::FromStr for Ear {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "left" | "l" => Ok(Ear::Left),
            "right" | "r" => Ok(Ear::Right),
            "both" | "b" => Ok(Ear::Both),
            _ => Err(format!("{s:?} is not a channel; use left, right or both")),
        }
    }
}

/// Maps device frames to host time: `host(f) = host_at_ref + (f - frame_ref) * us_per_frame`.
/// The cpal layer fits it from the callbacks' playback timestamps and the clock estimate. The
/// engine is sent the device's own map; it places clicks by that map moved by the player's latency
/// offset ([`Command::Offset`]): what the output adds past what it reports.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FrameMap {
    /// A frame the map is anchored at.
    pub frame_ref: u64,
    /// Host time (µs) at which `frame_ref` is heard.
    pub host_at_ref: f64,
    /// Host microseconds per device frame (1e6 / sample rate, corrected for clock drift).
    pub us_per_frame: f64,
    /// The epoch of the host clock its times are on: clicks are placed only with a schedule on
    /// the same clock.
    #[serde(default)]
    pub epoch: u64,
}

impl FrameMap {
    /// Host time at which frame `f` is heard.
    #[must_use]
    pub fn host(&self, f: u64) -> f64 {
        self.host_f(f as f64)
    }

    /// Host time at which (fractional) frame `f` is heard.
    #[must_use]
    pub fn host_f(&self, f: f64) -> f64 {
        self.host_at_ref + (f - self.frame_ref as f64) * self.us_per_frame
    }

    /// The (fractional) frame heard at host time `t`.
    #[must_use]
    pub fn frame(&self, t: f64) -> f64 {
        self.frame_ref as f64 + (t - self.host_at_ref) / self.us_per_frame
    }
}

/// Loudness of each kind of click, and mute.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Levels {
    /// The bar's first beat.
    pub downbeat: f32,
    /// The first beat of an accent group.
    pub group: f32,
    /// Other beats.
    pub beat: f32,
    /// Subdivisions between beats.
    pub subdivision: f32,
    /// Master volume.
    pub master: f32,
    /// Silence without stopping the schedule (the visual beat goes on).
    pub mute: bool,
}

impl Default for Levels {
    fn default() -> Self {
        Levels { downbeat: 1.0, group: 0.8, beat: 0.6, subdivision: 0.35, master: 0.8, mute: false }
    }
}

/// A change for the engine, sent through a preallocated queue.
// A schedule is large, but boxing it would allocate on the audio path; the queue's slots are
// preallocated at this size.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy)]
pub enum Command {
    /// A new frame-to-host-time map: the device's own, as its readings say it plays.
    Map(FrameMap),
    /// The player's latency offset (host µs): each frame is heard this much later than the map
    /// says (what the output adds past what it reports: earbuds, a speaker's DSP), so clicks are
    /// rendered that much earlier. A move of it is the player's, not the output's: the clicks it
    /// jumps over are played at once (as after any correction of the map) but not counted late.
    Offset(f64),
    /// Forget the map: nothing is scheduled until the next one (the output was suspended, and
    /// its frames no longer say when they will be heard).
    Unmap,
    /// A new transport schedule.
    Schedule(FixedSchedule),
    /// New levels.
    Levels(Levels),
    /// Which ear gets the click.
    Ear(Ear),
    /// Clicks per beat (1 = beats only, 2 = eighths in x/4, ...), 1 to 8.
    Subdivision(u8),
}

/// A click the engine played: where it falls, and the device frame it starts on. For the visual
/// beat stream, the tests, and a calibration's timing of its clicks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlayedClick {
    /// The click.
    pub click: Click,
    /// The device frame it starts on.
    pub frame: u64,
    /// It starts more than [`LATE_US`] after its exact frame: it fell in a gap (the map jumped
    /// past it, or its schedule came too late to be rendered in time). Not for the part of a gap
    /// that the player's own move of the latency offset made ([`Command::Offset`]).
    pub late: bool,
}

/// How far after its exact frame a click may start and still count as on time (µs).
pub const LATE_US: f64 = 1_000.0;

#[derive(Debug, Clone, Copy)]
struct Voice {
    sound: Sound,
    /// Frames already played.
    pos: usize,
    /// Frames into the current buffer before it starts (for a voice scheduled in this buffer).
    delay: usize,
    gain: f32,
}

/// The engine state.
#[derive(Debug)]
pub struct Engine {
    sounds: Sounds,
    map: Option<FrameMap>,
    schedule: FixedSchedule,
    levels: Levels,
    ear: Ear,
    subdivision: u8,
    voices: [Option<Voice>; 8],
    /// Hands each click out once, even when the map moves a little between buffers.
    cursor: ClickCursor,
    /// The first frame of the next buffer.
    next_frame: u64,
    /// How far forward the last new map moved the next buffer's window (host µs).
    jump: f64,
    /// The latency offset ([`Command::Offset`], host µs), added to the map as clicks are placed.
    offset_us: f64,
    /// How far forward the player's moves of the offset moved the next buffer's window (host µs,
    /// part of `jump`): a click caught up by that much is not late.
    moved: f64,
}

impl Engine {
    /// An engine at `sample_rate` with synthesized click sounds. Allocates (the sounds): call it
    /// off the audio thread.
    #[must_use]
    pub fn new(sample_rate: u32) -> Self {
        Engine {
            sounds: Sounds::synthesized(sample_rate),
            map: None,
            schedule: FixedSchedule::default(),
            levels: Levels::default(),
            ear: Ear::Both,
            subdivision: 1,
            voices: [None; 8],
            cursor: ClickCursor::new(),
            next_frame: 0,
            jump: 0.0,
            offset_us: 0.0,
            moved: 0.0,
        }
    }

    /// Applies a command. Real-time safe.
    pub fn apply(&mut self, c: Command) {
        match c {
            // A map fitted on another clock than the schedule's (the estimate moved onto another
            // server's clock before that clock's schedule came) is not taken: the map in use goes
            // on, and is moved with the schedule when it comes.
            Command::Map(m) => {
                if m.epoch == self.schedule.axis.epoch {
                    if let Some(old) = self.map {
                        let f = self.next_frame as f64;
                        self.jump += m.host_f(f) - old.host_f(f);
                    }
                    self.map = Some(m);
                }
            }
            // What was moved before is no jump of the next map: a fresh start catches nothing up.
            Command::Unmap => (self.map, self.jump, self.moved) = (None, 0.0, 0.0),
            Command::Offset(us) => {
                if self.map.is_some() {
                    self.jump += us - self.offset_us;
                    self.moved += us - self.offset_us;
                }
                self.offset_us = us;
            }
            Command::Schedule(s) => self.schedule_on(s),
            Command::Levels(l) => self.levels = l,
            Command::Ear(e) => self.ear = e,
            Command::Subdivision(n) => self.subdivision = n.clamp(1, 8),
        }
    }

    /// A new schedule. On another host clock (a session carried to another server, a restarted
    /// host), what the engine remembers in host times moves onto it first
    /// ([`bandsync_core::host_axis`]): the clicks handed out, and the map, until one fitted on the
    /// new clock comes. A map that cannot be moved is dropped (silence until the next).
    fn schedule_on(&mut self, s: FixedSchedule) {
        let shift = self.cursor.move_to(s.axis);
        if let Some(m) = &mut self.map
            && m.epoch != s.axis.epoch
        {
            match shift {
                Some(d) => {
                    m.host_at_ref += d.0 as f64;
                    m.epoch = s.axis.epoch;
                }
                None => self.map = None,
            }
        }
        self.schedule = s;
    }

    /// The frame map in use, as the device's readings fit it (the latency offset not added).
    #[must_use]
    pub fn map(&self) -> Option<FrameMap> {
        self.map
    }

    /// Replaces the click sounds (for custom samples). Not real-time safe: the old sounds are
    /// returned so that the caller drops them off the audio thread.
    pub fn replace_sounds(&mut self, sounds: Sounds) -> Sounds {
        std::mem::replace(&mut self.sounds, sounds)
    }

    /// Renders `out` (interleaved, `channels` per frame) whose first frame is device frame
    /// `first_frame`, and calls `on_beat` for every click scheduled in it. Overwrites `out`.
    /// Real-time safe.
    pub fn process(
        &mut self,
        out: &mut [f32],
        channels: usize,
        first_frame: u64,
        mut on_click: impl FnMut(PlayedClick),
    ) {
        out.fill(0.0);
        let channels = channels.max(1);
        let frames = out.len() / channels;
        if let Some(map) = self.map {
            let heard = FrameMap { host_at_ref: map.host_at_ref + self.offset_us, ..map };
            self.schedule_clicks(heard, first_frame, frames as u64, &mut on_click);
        }
        self.next_frame = first_frame + frames as u64;
        (self.jump, self.moved) = (0.0, 0.0);
        let (lo, hi) = match self.ear {
            Ear::Left => (0, 1),
            Ear::Right => (1.min(channels - 1), 2.min(channels)),
            Ear::Both => (0, channels),
        };
        let master = if self.levels.mute { 0.0 } else { self.levels.master };
        for slot in &mut self.voices {
            let Some(v) = slot else { continue };
            let data = self.sounds.get(v.sound);
            let mut f = std::mem::take(&mut v.delay);
            while f < frames && v.pos < data.len() {
                let s = data[v.pos] * v.gain * master;
                for x in &mut out[f * channels + lo..f * channels + hi] {
                    *x += s;
                }
                f += 1;
                v.pos += 1;
            }
            if v.pos >= data.len() {
                *slot = None;
            }
        }
    }

    /// Starts a voice for every click whose (rounded) frame falls in this buffer; one that fell in
    /// a seam just before it (the map moved between two buffers) starts at once.
    fn schedule_clicks(&mut self, map: FrameMap, f0: u64, n: u64, on_click: &mut impl FnMut(PlayedClick)) {
        // Host times whose frame rounds into [f0, f0 + n).
        let lo = Micros(map.host_f(f0 as f64 - 0.5).ceil() as i64);
        let hi = Micros(map.host_f((f0 + n) as f64 - 0.5).ceil() as i64);
        let schedule = self.schedule; // a copy: no allocation, and no borrow of self
        let mut cursor = self.cursor;
        let sub = self.subdivision;
        let jump = Micros(self.jump.round() as i64);
        let late_after = LATE_US + self.moved.max(0.0);
        cursor.take_after_jump(schedule.segments(), lo, hi, sub, jump, &mut |c| {
            let exact = map.frame(c.host.0 as f64);
            let frame = (exact.round().max(f0 as f64) as u64).min(f0 + n - 1);
            self.start_voice(&c, (frame - f0) as usize);
            let late = (frame as f64 - exact) * map.us_per_frame > late_after;
            on_click(PlayedClick { click: c, frame, late });
        });
        self.cursor = cursor;
    }

    fn start_voice(&mut self, ev: &Click, offset: usize) {
        let (sound, gain) = match (ev.subdivision, ev.accent) {
            (true, _) => (Sound::Subdivision, self.levels.subdivision),
            (false, Accent::Downbeat) => (Sound::Downbeat, self.levels.downbeat),
            (false, Accent::Group) => (Sound::Group, self.levels.group),
            (false, Accent::Beat) => (Sound::Beat, self.levels.beat),
        };
        let voice = Voice { sound, pos: 0, delay: offset, gain };
        // A free slot, or else the voice that has played longest.
        let slot = self.voices.iter().position(Option::is_none).unwrap_or_else(|| {
            (0..self.voices.len()).max_by_key(|&i| self.voices[i].map_or(0, |v| v.pos)).unwrap_or(0)
        });
        self.voices[slot] = Some(voice);
    }
}
