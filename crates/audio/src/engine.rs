//! The click engine: renders the clicks a transport schedule puts inside a buffer, at the exact
//! frame. Pure: no device, no clock, no allocation in [`Engine::process`]. The cpal layer feeds it
//! the frame-to-host-time map and the schedule through [`Command`]s.
//!
//! Thread-safety: an `Engine` lives on the audio thread. Real-time safe: [`Engine::process`] and
//! [`Engine::apply`] (they never allocate, lock, log or read a clock).

use crate::schedule::FixedSchedule;
use crate::sounds::{Sound, Sounds};
use bandsync_core::timeline::Accent;
use bandsync_core::{Beats, Micros};

/// How late (in frames) a click that fell between two buffers may still be played.
const SEAM_FRAMES: u64 = 48;

/// Which output channels carry the click.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Channel {
    /// The first channel only.
    Left,
    /// The second channel only.
    Right,
    /// Every channel.
    #[default]
    Both,
}

impl std::str::FromStr for Channel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "left" | "l" => Ok(Channel::Left),
            "right" | "r" => Ok(Channel::Right),
            "both" | "b" => Ok(Channel::Both),
            _ => Err(format!("{s:?} is not a channel; use left, right or both")),
        }
    }
}

/// Maps device frames to host time: `host(f) = host_at_ref + (f - frame_ref) * us_per_frame`.
/// The cpal layer fits it from the callbacks' playback timestamps and the clock estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameMap {
    /// A frame the map is anchored at.
    pub frame_ref: u64,
    /// Host time (µs) at which `frame_ref` is heard.
    pub host_at_ref: f64,
    /// Host microseconds per device frame (1e6 / sample rate, corrected for clock drift).
    pub us_per_frame: f64,
}

impl FrameMap {
    /// Host time at which frame `f` is heard.
    #[must_use]
    pub fn host(&self, f: u64) -> f64 {
        self.host_at_ref + (f as f64 - self.frame_ref as f64) * self.us_per_frame
    }

    /// The (fractional) frame heard at host time `t`.
    #[must_use]
    pub fn frame(&self, t: f64) -> f64 {
        self.frame_ref as f64 + (t - self.host_at_ref) / self.us_per_frame
    }
}

/// Loudness of each kind of click, and mute.
#[derive(Debug, Clone, Copy, PartialEq)]
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
    /// A new frame-to-host-time map.
    Map(FrameMap),
    /// A new transport schedule.
    Schedule(FixedSchedule),
    /// New levels.
    Levels(Levels),
    /// Output channel choice.
    Channel(Channel),
    /// Clicks per beat (1 = beats only, 2 = eighths in x/4, ...), 1 to 8.
    Subdivision(u8),
}

/// A click the engine scheduled, for the visual beat stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BeatEvent {
    /// Position, in micro-beats.
    pub position: Beats,
    /// Bar number counted from the schedule's bar origin (negative during count-in).
    pub bar: i64,
    /// Beat within the bar, from 0.
    pub beat_in_bar: u8,
    /// Whether this is a subdivision rather than a beat.
    pub subdivision: bool,
    /// How it is accented.
    pub accent: Accent,
    /// Whether it is part of the count-in.
    pub count_in: bool,
    /// The host time it is heard.
    pub host_time: Micros,
    /// The device frame it starts on.
    pub frame: u64,
}

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
    channel: Channel,
    subdivision: u8,
    voices: [Option<Voice>; 8],
    /// The last grid position that got a click, so that no click is played twice when the map
    /// moves a little between buffers.
    last_click: Option<Micros>,
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
            channel: Channel::Both,
            subdivision: 1,
            voices: [None; 8],
            last_click: None,
        }
    }

    /// Applies a command. Real-time safe.
    pub fn apply(&mut self, c: Command) {
        match c {
            Command::Map(m) => self.map = Some(m),
            Command::Schedule(s) => self.schedule = s,
            Command::Levels(l) => self.levels = l,
            Command::Channel(ch) => self.channel = ch,
            Command::Subdivision(n) => self.subdivision = n.clamp(1, 8),
        }
    }

    /// Replaces the click sounds (for custom samples). Not real-time safe: the old sounds are
    /// returned so that the caller drops them off the audio thread.
    pub fn replace_sounds(&mut self, sounds: Sounds) -> Sounds {
        std::mem::replace(&mut self.sounds, sounds)
    }

    /// Renders `out` (interleaved, `channels` per frame) whose first frame is device frame
    /// `first_frame`, and calls `on_beat` for every click scheduled in it. Overwrites `out`.
    /// Real-time safe.
    pub fn process(&mut self, out: &mut [f32], channels: usize, first_frame: u64, mut on_beat: impl FnMut(BeatEvent)) {
        out.fill(0.0);
        let channels = channels.max(1);
        let frames = out.len() / channels;
        if let Some(map) = self.map {
            self.schedule_clicks(map, first_frame, frames as u64, &mut on_beat);
        }
        let (lo, hi) = match self.channel {
            Channel::Left => (0, 1),
            Channel::Right => (1.min(channels - 1), 2.min(channels)),
            Channel::Both => (0, channels),
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

    fn schedule_clicks(&mut self, map: FrameMap, f0: u64, n: u64, on_beat: &mut impl FnMut(BeatEvent)) {
        let h0 = map.host(f0);
        let h1 = map.host(f0 + n);
        let schedule = self.schedule; // a copy: no allocation, and no borrow of self
        let segs = schedule.segments();
        for (i, seg) in segs.iter().enumerate() {
            let seg_end = segs.get(i + 1).map_or(f64::INFINITY, |s| s.at.0 as f64);
            let lo = h0.max(seg.at.0 as f64);
            let hi = h1.min(seg_end);
            if lo >= hi || !seg.playing {
                continue;
            }
            let tl = seg.timeline;
            let sub = i64::from(self.subdivision);
            let b_lo = tl.to_beats(Micros(lo.ceil() as i64));
            let b_hi = tl.to_beats(Micros(hi.ceil() as i64));
            // The click grid: index g is beat g / sub, subdivision g % sub, at an exact position
            // (a third of a beat is not a whole number of micro-beats, so no step is added up).
            let at = |g: i64| Beats(seg.bar_origin.0 + (g * Beats::ONE).div_euclid(sub));
            // Start one grid step early: when a refit of the map moves host time forward a little
            // between two buffers, a click that fell in the seam is played at once (late by at
            // most `SEAM_FRAMES`) instead of being lost.
            let mut g = ((b_lo.0 - seg.bar_origin.0) * sub).div_euclid(Beats::ONE) - 1;
            while at(g) < b_hi {
                let b = at(g);
                let t = tl.from_beats(b);
                // Clicks are told apart by when they sound, not by position: after a seek back,
                // or a count-in after a stop, positions repeat but host times never do.
                if b >= b_lo - Beats(Beats::ONE / sub) && self.last_click.is_none_or(|l| t > l) {
                    let exact = map.frame(t.0 as f64).round();
                    let (lo, hi) = (f0 as f64, (f0 + n) as f64);
                    let seam = exact < lo && exact + SEAM_FRAMES as f64 >= lo && self.last_click.is_some();
                    if (exact >= lo || seam) && exact < hi {
                        self.last_click = Some(t);
                        let frame = (exact as u64).max(f0);
                        let ev = self.classify(seg, b, g.rem_euclid(sub) != 0, g.div_euclid(sub), t, frame);
                        self.start_voice(&ev, (frame - f0) as usize);
                        on_beat(ev);
                    }
                }
                g += 1;
            }
        }
    }

    /// Describes the click at grid position `b` (beat `beat` counted from the bar origin).
    fn classify(
        &self,
        seg: &crate::schedule::FixedSegment,
        b: Beats,
        subdivision: bool,
        beat: i64,
        t: Micros,
        frame: u64,
    ) -> BeatEvent {
        let beats = i64::from(seg.beats.max(1));
        let bar = beat.div_euclid(beats);
        let beat_in_bar = beat.rem_euclid(beats) as u8;
        let accent = if subdivision { Accent::Beat } else { seg.accent(beat_in_bar) };
        BeatEvent {
            position: b,
            bar,
            beat_in_bar,
            subdivision,
            accent,
            count_in: b < seg.song_start,
            host_time: t,
            frame,
        }
    }

    fn start_voice(&mut self, ev: &BeatEvent, offset: usize) {
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
