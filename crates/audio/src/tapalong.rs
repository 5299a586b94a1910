//! The native tap-along, for earbuds no microphone hears: the output plays the core's tap train
//! ([`crate::calibrate::tap_plan`]) and the player presses a key with each click heard. Each press
//! goes with a click where the output's own readings say it was heard, and the figure is the
//! core's ([`crate::calibrate::along`]): how much later than the device says the player hears it.
//! `bandsync calibrate --taps` runs this, and stores the figure as calibrated.

use crate::calibrate::{self, Calibration, CalibrationError, TAP_BPM, TAPS};
use crate::device::AudioError;
use crate::loopback::{LEAD, LoopbackError, micros_since, play, train_output};
use crate::offsets::{LatencyStore, Source};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

/// How long the train plays on after the last tap asked for: its click's readings are in
/// ([`calibrate::READINGS_NEAR_US`]).
const AFTER_LAST: Duration = Duration::from_millis(600);

/// What one tap-along found.
#[derive(Debug, Clone)]
pub struct TapAlong {
    /// The output device's name: the key its figure is stored under.
    pub output: String,
    /// The figure, or why there is none.
    pub outcome: Result<Calibration, LoopbackError>,
    /// Taps made while the train played (at most [`TAPS`]).
    pub taps: usize,
}

impl TapAlong {
    /// Stores the figure for the output device, as calibrated: whether it did (not without one,
    /// nor one beyond the offsets a player may set).
    ///
    /// # Errors
    /// The store cannot be written.
    pub fn store(&self, store: &LatencyStore) -> std::io::Result<bool> {
        let Ok(c) = &self.outcome else { return Ok(false) };
        store.keep(&self.output, c, Source::Calibrated)
    }
}

/// Plays the train on `output` (a part of its name; the default device otherwise) and takes each
/// tap from `taps` (when it was made): [`TAPS`] of them, the first a quarter beat before the
/// first click at the earliest. Ends once they are in, when `taps` closes, or when the train
/// ends (27 s); fewer taps give no figure. `opened(output, lead)` is called once the output is
/// open, `lead` before the first click. Blocks throughout.
///
/// # Errors
/// The output cannot be opened.
pub fn measure(
    output: Option<String>,
    buffer_frames: Option<u32>,
    taps: &Receiver<Instant>,
    opened: impl FnOnce(&str, Duration),
) -> Result<TapAlong, AudioError> {
    let base = Instant::now();
    let mut out = train_output(output, buffer_frames)?;
    let output = out.info().device;
    let open = Instant::now();
    opened(&output, LEAD);
    let plan = calibrate::tap_plan(micros_since(base, open + LEAD));
    let first = open + LEAD - Duration::from_secs_f64(15.0 / TAP_BPM);
    let mut at_us: Vec<f64> = Vec::new();
    let mut done: Option<Instant> = None;
    let played = play(&mut out, &plan, base, open, || {
        loop {
            match taps.try_recv() {
                Ok(t) if t >= first && at_us.len() < TAPS => at_us.push(micros_since(base, t)),
                Ok(_) => {}
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    done.get_or_insert_with(|| Instant::now() + AFTER_LAST);
                    break;
                }
            }
        }
        if at_us.len() >= TAPS {
            done.get_or_insert_with(|| Instant::now() + AFTER_LAST);
        }
        done.is_none_or(|d| Instant::now() < d)
    });
    let gone = out.is_gone();
    drop(out);
    // Every tap goes with the one train, where the output's readings say its clicks were heard
    // (played with no offset; `tap_offset_ms` takes those near the tap). The page collects taps
    // until it has all it asks for; here the train may end first, and fewer give no figure.
    let heard = heard_clicks(&plan.played_us, &played);
    let outcome = if at_us.len() < TAPS {
        Err(CalibrationError::TooFew { got: at_us.len(), of: TAPS, needed: TAPS })
    } else {
        calibrate::along(&at_us, &vec![0.0; at_us.len()], &vec![heard; at_us.len()])
    };
    Ok(TapAlong {
        output,
        outcome: if gone { Err(LoopbackError::Gone) } else { outcome.map_err(Into::into) },
        taps: at_us.len(),
    })
}

/// Where each click of the train up to the last one timed was heard: by the output's readings
/// (`played`, NaN where they could not time it), and one they could not time, inside the train, by
/// the lag the others share past the plan (`plan_us`): so that the clicks around a tap are one beat
/// apart, none left out ([`calibrate::tap_offset_ms`]).
fn heard_clicks(plan_us: &[f64], played: &[f64]) -> Vec<f64> {
    let lags: Vec<f64> = plan_us.iter().zip(played).map(|(p, h)| h - p).filter(|l| !l.is_nan()).collect();
    let Some(last) = played.iter().rposition(|h| !h.is_nan()) else { return Vec::new() };
    let lag = calibrate::median(&lags);
    plan_us.iter().zip(played).take(last + 1).map(|(p, h)| if h.is_nan() { p + lag } else { *h }).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_click_the_readings_missed_is_placed_by_the_others_lag() {
        let plan = [0.0, 1e6, 2e6, 3e6, 4e6];
        let played = [2_000.0, f64::NAN, 2_002_000.0, 3_002_000.0, f64::NAN];
        assert_eq!(super::heard_clicks(&plan, &played), [2_000.0, 1_002_000.0, 2_002_000.0, 3_002_000.0]);
        assert!(super::heard_clicks(&plan, &[f64::NAN; 5]).is_empty());
    }
}
