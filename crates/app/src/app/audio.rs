//! The app's audio settings: how every session's metronome plays. Each output device keeps its
//! own latency figure (the offset, and whether the microphone measured it), in the store that
//! `bandsync calibrate` and `App::calibrate` write ([`LatencyStore`]): a figure set for a device is
//! remembered for it, and a device chosen without one starts from its own, or from none (what
//! the device reports). [`figure`] is the rule; [`App::set_audio`] does the IO.

use super::App;
use crate::error::AppError;
use crate::events::AudioSettings;
use crate::session::SessionCmd;
use bandsync_audio::offsets::{LatencyStore, Source, StoredLatency};
use std::sync::atomic::Ordering;

/// The offsets the settings take, ms.
const OFFSET_RANGE_MS: std::ops::RangeInclusive<f64> = -500.0..=500.0;

/// A figure within this of the stored one is the stored one: the UI rounds a measurement to
/// 0.1 ms for its field (`offsetFromCalibration`), half of which is 0.05 ms, and a little for
/// the float's own rounding. Kept as it was measured, with its spread.
const SAME_FIGURE_MS: f64 = 0.051;

/// What a change of the audio settings does to the output device's stored figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Figure {
    /// Nothing: the same device, with the same figure.
    Same,
    /// The figure asked for is the device's from now on.
    Remember,
    /// The device's figure was taken back to none: it is forgotten.
    Forget,
    /// Another device (or the app's first settings), asked for with no figure: it starts from
    /// its own.
    Load,
}

/// The rule: what `asked` does to the figures, after `was` (`None` before the first settings).
fn figure(was: Option<&AudioSettings>, asked: &AudioSettings) -> Figure {
    let of = |s: &AudioSettings| (s.latency_offset_ms, s.latency_measured);
    let has = |s: &AudioSettings| s.latency_offset_ms != 0.0 || s.latency_measured;
    match was {
        Some(w) if w.device == asked.device && of(w) == of(asked) => Figure::Same,
        Some(w) if w.device == asked.device => {
            if has(asked) {
                Figure::Remember
            } else {
                Figure::Forget
            }
        }
        _ if has(asked) => Figure::Remember,
        _ => Figure::Load,
    }
}

/// Carries out `rule` for the device `want` names (probing the devices: blocking), with
/// `asked`'s figure; the figure to play by, when it is not `asked`'s.
fn apply(
    rule: Figure,
    store: &LatencyStore,
    want: Option<&str>,
    asked: (f64, bool),
) -> Result<Option<StoredLatency>, String> {
    let name = bandsync_audio::device::output_name(want).map_err(|e| e.to_string())?;
    let stored = store.get(&name).map_err(|e| e.to_string())?;
    match rule {
        Figure::Same => Ok(None),
        // A figure beyond the field's range is not taken (the UI says to set such a one by hand).
        Figure::Load => Ok(stored.filter(|l| OFFSET_RANGE_MS.contains(&l.latency_ms))),
        Figure::Forget => store.forget(&name).map(|()| None).map_err(|e| e.to_string()),
        Figure::Remember => {
            let (latency_ms, measured) = asked;
            let source = if measured { Source::Measured } else { Source::Calibrated };
            let same =
                stored.is_some_and(|l| l.source == source && (l.latency_ms - latency_ms).abs() <= SAME_FIGURE_MS);
            if !same {
                store.set(&name, StoredLatency { latency_ms, source, spread_ms: 0.0 }).map_err(|e| e.to_string())?;
            }
            Ok(None)
        }
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
    /// force: the output device's own latency figure when another device is chosen with none
    /// (see the module's rule), and a figure set for a device is remembered for it.
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
        if !OFFSET_RANGE_MS.contains(&s.latency_offset_ms) {
            return Err(AppError::Settings(format!(
                "a latency offset of {} ms is not between -500 and 500",
                s.latency_offset_ms
            )));
        }
        if s.buffer_frames.is_some_and(|b| !(16..=16_384).contains(&b)) {
            return Err(AppError::Settings("the buffer must be 16 to 16384 frames".into()));
        }
        let mut set = self.audio_set.lock().await;
        let was = set.then(|| self.audio_settings());
        let mut s = s;
        let rule = figure(was.as_ref(), &s);
        if rule != Figure::Same {
            let (want, asked) = (s.device.clone(), (s.latency_offset_ms, s.latency_measured));
            let store = self.latency_store();
            match tokio::task::spawn_blocking(move || apply(rule, &store, want.as_deref(), asked)).await {
                Ok(Ok(Some(l))) => {
                    s.latency_offset_ms = l.latency_ms;
                    s.latency_measured = l.source == Source::Measured;
                }
                Ok(Ok(None)) => {}
                // The figure stays as asked: the output's own error (no such device) comes when
                // it opens.
                Ok(Err(e)) => tracing::warn!("the output's stored latency: {e}"),
                Err(e) => tracing::warn!("the output's stored latency: {e}"),
            }
        }
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

    fn on(device: Option<&str>, offset: f64, measured: bool) -> AudioSettings {
        AudioSettings {
            device: device.map(str::to_owned),
            latency_offset_ms: offset,
            latency_measured: measured,
            ..AudioSettings::default()
        }
    }

    #[test]
    fn each_device_keeps_its_own_figure() {
        let buds = on(Some("Buds"), 182.5, true);
        // The first settings: a figure is the device's; none asks for the device's own.
        assert_eq!(figure(None, &buds), Figure::Remember);
        assert_eq!(figure(None, &on(None, 0.0, false)), Figure::Load);
        // The same device: a new figure is remembered, none forgets, the same does nothing (a
        // volume change).
        assert_eq!(figure(Some(&buds), &AudioSettings { volume: 0.3, ..buds.clone() }), Figure::Same);
        assert_eq!(figure(Some(&buds), &on(Some("Buds"), 180.0, false)), Figure::Remember);
        assert_eq!(figure(Some(&buds), &on(Some("Buds"), 0.0, false)), Figure::Forget);
        // A measured 0 is a figure, not none.
        assert_eq!(figure(Some(&buds), &on(Some("Buds"), 0.0, true)), Figure::Remember);
        // Another device with none (the UI clears the field as it changes device): its own.
        assert_eq!(figure(Some(&buds), &on(None, 0.0, false)), Figure::Load);
        assert_eq!(figure(Some(&on(None, 0.0, false)), &on(Some("Buds"), 0.0, false)), Figure::Load);
        // Another device with a figure: that device's from now on.
        assert_eq!(figure(Some(&buds), &on(Some("Speaker"), 12.0, false)), Figure::Remember);
    }
}
