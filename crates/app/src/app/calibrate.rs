//! [`App::calibrate`]: the output's latency, measured by the microphone. The session's own click
//! is closed while the probe plays (it would be heard too), and reopens after; the figure is
//! stored for the output device (as `bandsync calibrate` stores it) and returned, for the UI to
//! put into the latency offset.

use super::App;
use crate::error::AppError;
use crate::session::SessionCmd;
use bandsync_audio::calibrate::Calibration;
use bandsync_audio::loopback::{self, LoopbackDevices};
use std::sync::atomic::Ordering;

impl App {
    /// Plays the core's click train through the output the audio settings name and records it
    /// through the input they name (about 12 s), and stores the lag it hears, past what the output
    /// reports, for that device. A running session's click is closed meanwhile.
    ///
    /// # Errors
    /// [`AppError::Calibration`] when another calibration runs, a device cannot be opened, or
    /// the recording gives no figure (the message says why), or it cannot be stored.
    pub async fn calibrate(&self) -> Result<Calibration, AppError> {
        let hold = Hold::take(self)?;
        // The session's output closed before the probe opens its own (a word once it is).
        let (closed, is_closed) = tokio::sync::oneshot::channel();
        if self.send_audio(Some(closed)).await {
            let _ = is_closed.await;
        }
        let s = self.audio_settings();
        let devices = LoopbackDevices { output: s.device, buffer_frames: s.buffer_frames, input: s.input_device };
        let run = tokio::task::spawn_blocking(move || loopback::measure(&devices, |_, _| {})).await;
        hold.release().await;

        let run = run
            .map_err(|e| AppError::Calibration(format!("the calibration stopped: {e}")))?
            .map_err(|e| AppError::Calibration(e.to_string()))?;
        // (Not one beyond the offsets a player may set: the UI says to set such a one by hand.)
        run.store(&self.latency_store())
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

/// A calibration's hold on the output: sessions keep their click closed while it lasts. Let go
/// by [`Hold::release`], which reopens a running session's click; or, should the calibration
/// end otherwise (a panic, its future dropped), on drop, as far as a drop can without waiting.
struct Hold<'a> {
    app: &'a App,
    held: bool,
}

impl<'a> Hold<'a> {
    fn take(app: &'a App) -> Result<Self, AppError> {
        if app.calibrating.swap(true, Ordering::AcqRel) {
            return Err(AppError::Calibration("a calibration is already running".into()));
        }
        Ok(Hold { app, held: true })
    }

    async fn release(mut self) {
        self.held = false;
        self.app.calibrating.store(false, Ordering::Release);
        self.app.send_audio(None).await;
    }
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        if !self.held {
            return;
        }
        self.app.calibrating.store(false, Ordering::Release);
        // Without waiting (a drop cannot): when the session's lock is busy, its click reopens
        // with the next `set_audio`.
        if let Ok(slot) = self.app.session.try_lock()
            && let Some(h) = slot.as_ref()
        {
            let _ = h.cmd.send(SessionCmd::Audio(self.app.session_audio(), None));
        }
    }
}
