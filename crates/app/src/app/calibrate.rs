//! [`App::calibrate`]: the output's latency, measured by the microphone. The session's own click
//! is closed while the probe plays (it would be heard too), and reopens after; the figure is
//! stored for the output device (as `bandsync calibrate` stores it) and returned, for the UI to
//! put into the latency offset.

use super::App;
use crate::error::AppError;
use crate::session::SessionCmd;
use bandsync_audio::calibrate::Calibration;
use bandsync_audio::loopback::{self, LoopbackDevices};
use bandsync_audio::offsets::LatencyStore;
use std::sync::atomic::Ordering;

impl App {
    /// Plays the core's click train through the output the audio settings name and records it
    /// through the default input (about 12 s), and stores the lag it hears, past what the output
    /// reports, for that device. A running session's click is closed meanwhile.
    ///
    /// # Errors
    /// [`AppError::Calibration`] when another calibration runs, a device cannot be opened, or
    /// the recording gives no figure (the message says why), or it cannot be stored.
    pub async fn calibrate(&self) -> Result<Calibration, AppError> {
        if self.calibrating.swap(true, Ordering::AcqRel) {
            return Err(AppError::Calibration("a calibration is already running".into()));
        }
        // The session's output closed before the probe opens its own (a word once it is).
        let (closed, is_closed) = tokio::sync::oneshot::channel();
        if self.command(SessionCmd::Audio(self.session_audio(), Some(closed))).await.is_ok() {
            let _ = is_closed.await;
        }
        let s = self.audio_settings();
        let devices = LoopbackDevices { output: s.device, buffer_frames: s.buffer_frames, input: None };
        let run = tokio::task::spawn_blocking(move || loopback::measure(&devices, |_, _| {})).await;
        self.calibrating.store(false, Ordering::Release);
        let _ = self.command(SessionCmd::Audio(self.session_audio(), None)).await;

        let run = run
            .map_err(|e| AppError::Calibration(format!("the calibration stopped: {e}")))?
            .map_err(|e| AppError::Calibration(e.to_string()))?;
        run.store(&LatencyStore::user())
            .map_err(|e| AppError::Calibration(format!("the figure could not be stored: {e}")))?;
        match run.outcome {
            Ok(c) => {
                tracing::info!(output = %run.output, latency_ms = c.latency_ms, "calibrated");
                Ok(c)
            }
            Err(e) => Err(AppError::Calibration(format!("no figure for {}: {e}", run.output))),
        }
    }
}
