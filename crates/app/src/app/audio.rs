//! The app's audio settings: how every session's metronome plays. Each output device keeps its
//! own latency figure (the offset, and whether the microphone measured it), in the store that
//! `bandsync calibrate` and `App::calibrate` write ([`LatencyStore`]): a figure set for a device is
//! remembered for it, and a device chosen without one (`latency_offset_ms: null`) plays by its
//! own, or by none (what the device reports). [`figure`] is the rule; [`App::set_audio`] does the
//! IO, and answers with the figure in force.

use super::App;
use crate::error::AppError;
use crate::events::AudioSettings;
use crate::session::SessionCmd;
use bandsync_audio::offsets::{LatencyStore, Source, StoredLatency};
use bandsync_core::protocol::LATENCY_OFFSET_MS as OFFSET_RANGE_MS;
use std::sync::atomic::Ordering;

/// A figure within this of the stored one is the stored one: the UI rounds a measurement to
/// 0.1 ms for its field (`offsetFromCalibration`), half of which is 0.05 ms, and a little for
/// the float's own rounding. Kept as it was measured, with its spread.
const SAME_FIGURE_MS: f64 = 0.051;

/// A figure: the offset (ms), and whether the microphone measured it.
type Fig = (f64, bool);

/// No figure: what the device reports.
const NONE: Fig = (0.0, false);

/// What a change of the audio settings does to the output device's figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Figure {
    /// The same device, asked for with no figure (a volume change): the one in force stays.
    Keep,
    /// The same device, with the same figure: nothing.
    Same,
    /// The same device, with another figure: it is the device's from now on.
    Remember,
    /// The same device, its figure taken back to none: it is forgotten.
    Forget,
    /// Another device (or the app's first settings) with no figure: it plays by its own, or by
    /// none.
    Load,
    /// Another device (or the first settings) with a figure (the UI's, kept from before): the
    /// device's own wins where it has one (it may be newer: `bandsync calibrate`'s), else this
    /// one is remembered for it.
    Adopt,
}

/// The rule: what `asked` does to the figures, after `was` (`None` before the first settings).
fn figure(was: Option<&AudioSettings>, asked: &AudioSettings) -> Figure {
    let same_device = was.is_some_and(|w| w.device == asked.device);
    // A figure of 0, not measured, is none: what the device reports.
    let has = |x: f64| x != 0.0 || asked.latency_measured;
    match (asked.latency_offset_ms, was) {
        (None, _) if same_device => Figure::Keep,
        (Some(x), _) if !same_device && has(x) => Figure::Adopt,
        (_, _) if !same_device => Figure::Load,
        (Some(x), Some(w)) if w.latency_offset_ms == Some(x) && w.latency_measured == asked.latency_measured => {
            Figure::Same
        }
        (Some(x), _) if has(x) => Figure::Remember,
        (Some(_), _) => Figure::Forget,
        (None, _) => Figure::Load,
    }
}

/// Carries out `rule` (one that needs the store) for the device `want` names (probing the
/// devices: blocking), with `asked`'s figure; the figure in force after it.
fn apply(rule: Figure, store: &LatencyStore, want: Option<&str>, asked: Fig) -> Result<Fig, String> {
    let name = bandsync_audio::device::output_name(want).map_err(|e| e.to_string())?;
    let stored = store.get(&name).map_err(|e| e.to_string())?.map(|l| (l.latency_ms, l.source == Source::Measured));
    let remember = |(latency_ms, measured): Fig| {
        let source = if measured { Source::Measured } else { Source::Calibrated };
        // A measurement the UI rounded for its field is the measurement, kept with its spread.
        if stored.is_some_and(|s| s.1 == measured && (s.0 - latency_ms).abs() <= SAME_FIGURE_MS) {
            return Ok(());
        }
        store.set(&name, StoredLatency { latency_ms, source, spread_ms: 0.0 }).map_err(|e| e.to_string())
    };
    match rule {
        Figure::Keep | Figure::Same => Ok(asked),
        Figure::Load => Ok(stored.unwrap_or(NONE)),
        Figure::Adopt => match stored {
            Some(own) => Ok(own),
            None => remember(asked).map(|()| asked),
        },
        Figure::Remember => remember(asked).map(|()| asked),
        Figure::Forget => store.forget(&name).map(|()| NONE).map_err(|e| e.to_string()),
    }
}

impl App {
    /// The names of the audio output devices, the default first.
    pub async fn audio_devices(&self) -> Vec<String> {
        // Enumerating probes every device (slow with ALSA): off the runtime's threads.
        tokio::task::spawn_blocking(bandsync_audio::device::output_devices).await.unwrap_or_default()
    }

    /// The names of the input devices (microphones, for a calibration), the default first.
    pub async fn audio_inputs(&self) -> Vec<String> {
        tokio::task::spawn_blocking(bandsync_audio::input::input_devices).await.unwrap_or_default()
    }

    /// Changes how the metronome plays, now and for later sessions, and returns the settings in
    /// force, with the latency figure the output device plays by: a figure set for it is
    /// remembered for it, and with none (`null`) it plays by its own (see [`figure`]).
    ///
    /// # Errors
    /// [`AppError::Settings`] for a value out of range; nothing changes then.
    pub async fn set_audio(&self, s: AudioSettings) -> Result<AudioSettings, AppError> {
        if !(0.0..=1.0).contains(&s.volume) {
            return Err(AppError::Settings(format!("volume {} is not between 0 and 1", s.volume)));
        }
        if !(1..=8).contains(&s.subdivision) {
            return Err(AppError::Settings(format!("{} clicks per beat is not between 1 and 8", s.subdivision)));
        }
        if let Some(x) = s.latency_offset_ms.filter(|x| !OFFSET_RANGE_MS.contains(x)) {
            let (lo, hi) = (OFFSET_RANGE_MS.start(), OFFSET_RANGE_MS.end());
            return Err(AppError::Settings(format!("a latency offset of {x} ms is not between {lo} and {hi}")));
        }
        if s.buffer_frames.is_some_and(|b| !(16..=16_384).contains(&b)) {
            return Err(AppError::Settings("the buffer must be 16 to 16384 frames".into()));
        }
        let mut set = self.audio_set.lock().await;
        let was = set.then(|| self.audio_settings());
        let mut s = s;
        let rule = figure(was.as_ref(), &s);
        let asked = (s.latency_offset_ms.unwrap_or(0.0), s.latency_measured);
        let (offset, measured) = match (rule, &was) {
            (Figure::Keep, Some(w)) => (w.latency_offset_ms.unwrap_or(0.0), w.latency_measured),
            (Figure::Keep | Figure::Same, _) => asked,
            _ => {
                let (want, store) = (s.device.clone(), self.latency_store());
                let done = tokio::task::spawn_blocking(move || apply(rule, &store, want.as_deref(), asked)).await;
                match done.map_err(|e| e.to_string()).and_then(|r| r) {
                    Ok(f) => f,
                    // Played by as asked, or by none for a device whose own is not known: the
                    // output's own error (no such device) comes when it opens.
                    Err(e) => {
                        tracing::warn!("the output's stored latency: {e}");
                        if rule == Figure::Load { NONE } else { asked }
                    }
                }
            }
        };
        (s.latency_offset_ms, s.latency_measured) = (Some(offset), measured);
        *self.audio.lock().expect("audio settings lock") = s.clone();
        *set = true;
        drop(set);
        // Applies to the running session too, if any.
        self.send_audio(None).await;
        Ok(s)
    }

    /// Where each output device's figure is kept.
    pub(super) fn latency_store(&self) -> LatencyStore {
        self.opts.latency_store.clone().map_or_else(LatencyStore::user, LatencyStore::at)
    }

    /// The audio settings in force.
    #[must_use]
    pub fn audio_settings(&self) -> AudioSettings {
        self.audio.lock().expect("audio settings lock").clone()
    }

    /// The audio settings a session plays by: the output off while a calibration holds it.
    pub(super) fn session_audio(&self) -> AudioSettings {
        let enabled = !self.calibrating.load(Ordering::Acquire);
        let s = self.audio_settings();
        AudioSettings { enabled: s.enabled && enabled, ..s }
    }

    /// Sends a running session the audio settings it plays by, read while its lock is held (so
    /// that `set_audio` and a calibration's start and end reach it in the order they read them),
    /// and `applied` to answer once they are in force. Whether a session took them.
    pub(super) async fn send_audio(&self, applied: Option<tokio::sync::oneshot::Sender<()>>) -> bool {
        let slot = self.session.lock().await;
        let running = slot.as_ref().filter(|h| h.is_running());
        running.is_some_and(|h| h.cmd.send(SessionCmd::Audio(self.session_audio(), applied)).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(device: Option<&str>, offset: Option<f64>, measured: bool) -> AudioSettings {
        AudioSettings {
            device: device.map(str::to_owned),
            latency_offset_ms: offset,
            latency_measured: measured,
            ..AudioSettings::default()
        }
    }

    #[test]
    fn each_device_keeps_its_own_figure() {
        let buds = on(Some("Buds"), Some(182.5), true);
        // The first settings: with a figure, the device's own wins, else that one is its own;
        // with none, its own.
        assert_eq!(figure(None, &buds), Figure::Adopt);
        assert_eq!(figure(None, &on(None, None, false)), Figure::Load);
        assert_eq!(figure(None, &on(None, Some(0.0), false)), Figure::Load, "0 is none: nothing stored");
        // The same device with no figure (a volume change sent before the answer to a change of
        // device arrived): the figure in force stays, never forgotten.
        assert_eq!(figure(Some(&buds), &AudioSettings { volume: 0.3, ..on(Some("Buds"), None, false) }), Figure::Keep);
        // The same figure does nothing; another is remembered; none (0, not measured) forgets.
        assert_eq!(figure(Some(&buds), &AudioSettings { volume: 0.3, ..buds.clone() }), Figure::Same);
        assert_eq!(figure(Some(&buds), &on(Some("Buds"), Some(180.0), false)), Figure::Remember);
        assert_eq!(figure(Some(&buds), &on(Some("Buds"), Some(182.5), false)), Figure::Remember, "now typed");
        assert_eq!(figure(Some(&buds), &on(Some("Buds"), Some(0.0), false)), Figure::Forget);
        assert_eq!(figure(Some(&buds), &on(Some("Buds"), Some(0.0), true)), Figure::Remember, "a measured 0");
        // Another device: its own with none, or adopted with one.
        assert_eq!(figure(Some(&buds), &on(None, None, false)), Figure::Load);
        assert_eq!(figure(Some(&buds), &on(Some("Speaker"), Some(12.0), false)), Figure::Adopt);
    }
}
