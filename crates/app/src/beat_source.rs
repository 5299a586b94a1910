//! [`BeatSource`]: where a session's beats come from. The audio engine ([`Metronome`]) while it
//! plays, the visual timer ([`VisualBeats`]) otherwise, and the switch between them when the
//! output is turned off, reopened or fails. The session task that owns it is in
//! [`crate::session`]; nothing here knows about the client beyond its clock.

use crate::Sink;
use crate::beats::VisualBeats;
use crate::events::{AppEvent, AudioSettings, AudioStatus, BeatEvent};
use crate::metronome::{AudioReport, Metronome};
use bandsync_audio::device::{AudioOptions, output_available};
use bandsync_audio::engine::Levels;
use bandsync_client::ClockView;
use bandsync_core::host_axis::HostAxis;
use bandsync_core::{Micros, Transport};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How far ahead of a click the visual beat is sent.
const VISUAL_LOOKAHEAD: Micros = Micros(150_000);

/// Where beats come from: the audio engine while it plays, the visual timer otherwise.
pub(crate) struct BeatSource {
    settings: AudioSettings,
    metronome: Option<Metronome>,
    visual: VisualBeats,
    transport: Option<(Transport, HostAxis)>,
    reports_tx: mpsc::UnboundedSender<AudioReport>,
    pub(crate) reports: mpsc::UnboundedReceiver<AudioReport>,
    pub(crate) status: AudioStatus,
    /// When a playing output failed; it gets [`AUDIO_RECOVERY`] to come back on another device
    /// before the beat turns visual.
    pub(crate) failing_since: Option<Instant>,
}

/// How long a failed output may take to reopen on the default device.
const AUDIO_RECOVERY: Duration = Duration::from_secs(3);

impl BeatSource {
    pub(crate) fn new(settings: AudioSettings, clock: &ClockView) -> Self {
        let (reports_tx, reports) = mpsc::unbounded_channel();
        let mut s = BeatSource {
            settings: settings.clone(),
            metronome: None,
            visual: VisualBeats::new(),
            transport: None,
            reports_tx,
            reports,
            status: AudioStatus::default(),
            failing_since: None,
        };
        s.visual.set_subdivision(settings.subdivision);
        s.restart(clock);
        s
    }

    fn options(s: &AudioSettings) -> AudioOptions {
        AudioOptions {
            device: s.device.clone(),
            buffer_frames: s.buffer_frames,
            ear: s.channel,
            sound: s.sound,
            latency_offset_ms: s.latency_offset_ms.unwrap_or(0.0),
            latency_measured: s.latency_measured,
            // The settings carry the device's own figure already (`App::set_audio` takes it from
            // the store: `app/audio.rs`); the output does not read the store again.
            latency_from_store: false,
            levels: Self::levels(s),
            subdivision: s.subdivision,
            beat_sample: None,
            accent_sample: None,
        }
    }

    fn levels(s: &AudioSettings) -> Levels {
        Levels { master: s.volume.clamp(0.0, 1.0), ..Levels::default() }
    }

    /// Stops the output; whatever its thread still reports is dropped with its channel.
    fn stop_audio(&mut self) {
        self.metronome = None;
        self.failing_since = None;
        (self.reports_tx, self.reports) = mpsc::unbounded_channel();
    }

    /// (Re)opens the output as the settings say, or falls back to the visual beat.
    fn restart(&mut self, clock: &ClockView) {
        self.stop_audio();
        self.status = AudioStatus::default();
        if !self.settings.enabled {
            return;
        }
        if !output_available() {
            self.status.error = Some("no audio output device; the beat is visual only".into());
            return;
        }
        let m = Metronome::start(Self::options(&self.settings), clock.clone(), self.reports_tx.clone());
        if let Some((t, axis)) = &self.transport {
            m.set_transport(t, *axis);
        }
        self.metronome = Some(m);
    }

    pub(crate) fn apply(&mut self, s: AudioSettings, clock: &ClockView, sink: &dyn Sink<AppEvent>) {
        // Only what needs another stream reopens it: a volume or latency slider must not, and
        // neither does resending the settings after the output failed (turning audio off and on
        // again, or choosing another device, retries).
        let reopen = s.enabled != self.settings.enabled
            || s.device != self.settings.device
            || s.buffer_frames != self.settings.buffer_frames;
        let old = std::mem::replace(&mut self.settings, s);
        self.visual.set_subdivision(self.settings.subdivision);
        if reopen {
            self.restart(clock);
            sink.send(AppEvent::Audio { audio: self.status.clone() });
        } else if let Some(m) = &self.metronome {
            if old.volume != self.settings.volume {
                m.set_levels(Self::levels(&self.settings));
            }
            if old.channel != self.settings.channel {
                m.set_ear(self.settings.channel);
            }
            if old.subdivision != self.settings.subdivision {
                m.set_subdivision(self.settings.subdivision);
            }
            let latency = |s: &AudioSettings| (s.latency_offset_ms.unwrap_or(0.0), s.latency_measured);
            if latency(&old) != latency(&self.settings) {
                let (ms, measured) = latency(&self.settings);
                m.set_latency(ms, measured);
            }
        }
    }

    /// Whether an audio output is open (or reopening after a failure).
    pub(crate) fn has_audio(&self) -> bool {
        self.metronome.is_some()
    }

    pub(crate) fn set_transport(&mut self, t: Transport, axis: HostAxis) {
        if let Some(m) = &self.metronome {
            m.set_transport(&t, axis);
        }
        self.visual.set_transport(&t, axis);
        self.transport = Some((t, axis));
    }

    /// The output failed. One that never played is given up at once; one that played gets
    /// [`AUDIO_RECOVERY`] to reopen on the default device. Either way the UI hears of it once,
    /// and the beat turns visual when the audio is given up.
    pub(crate) fn audio_failed(&mut self, error: String, sink: &dyn Sink<AppEvent>) {
        let never_played = !self.status.active && self.failing_since.is_none();
        self.status.active = false;
        self.status.error = Some(error);
        if never_played {
            self.stop_audio();
        } else {
            self.failing_since.get_or_insert_with(Instant::now);
        }
        sink.send(AppEvent::Audio { audio: self.status.clone() });
    }

    /// The visual beat, when no audio plays; and noticing an output that is gone for good.
    pub(crate) fn tick(&mut self, clock: &ClockView, sink: &dyn Sink<AppEvent>) {
        let stopped = self.metronome.as_ref().is_some_and(|m| !m.is_running());
        let unrecovered = self.failing_since.is_some_and(|t| t.elapsed() >= AUDIO_RECOVERY);
        if self.metronome.is_some() && (stopped || unrecovered) {
            self.stop_audio();
            self.status.active = false;
            if self.status.error.is_none() {
                self.status.error = Some("the audio output stopped".into());
            }
            sink.send(AppEvent::Audio { audio: self.status.clone() });
        }
        if self.metronome.is_some() || self.transport.is_none() {
            return;
        }
        let Some((now, epoch)) = clock.host_micros_now_on() else { return };
        if !self.visual.is_on(epoch) {
            return;
        }
        self.visual.advance(now, VISUAL_LOOKAHEAD, |b| {
            sink.send(AppEvent::Beat { beat: BeatEvent::from_click(&b, Some(now), false) });
        });
    }

    pub(crate) fn stop(&mut self) {
        self.stop_audio();
    }
}
