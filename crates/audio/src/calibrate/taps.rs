//! Tapping along with the click, for earbuds no microphone hears: each tap goes with one click
//! ([`tap_offset_ms`]), and the median offset, the stray taps rejected ([`taps`]), is the figure.
//! The page (through the wasm core's `calibrate.taps`) and `bandsync calibrate --taps` hand in
//! the taps' times with the clicks around them ([`along`]); the CLI plays [`tap_plan`].

use super::{Calibration, CalibrationError, ProbePlan, deviations, median, summary};

/// Taps that scatter more than this (median absolute deviation, ms) give no figure.
pub const MAX_TAP_SPREAD_MS: f64 = 20.0;

/// Taps asked for.
pub const TAPS: usize = 16;

/// The CLI's tap train: slow enough that an earbud's latency (150 to 300 ms, uncalibrated) is
/// well within the three quarters of a beat a tap may follow its click by (500 ms here).
pub const TAP_BPM: f64 = 90.0;

/// Clicks in the CLI's tap train: the taps asked for, and room for the clicks a player listens
/// to before tapping, and for taps missed (27 s).
const TAP_TRAIN_CLICKS: usize = 40;

/// Clicks a tap may go with (µs either side): more than three quarters of a beat at the slowest
/// tempo a session takes.
pub const TAP_NEAR_US: f64 = 3_000_000.0;

/// The CLI's tap train from `start_us` on (local µs): [`TAP_BPM`], every click counted.
#[must_use]
pub fn tap_plan(start_us: f64) -> ProbePlan {
    super::train(start_us, TAP_BPM, TAP_TRAIN_CLICKS, 0)
}

/// A tap's offset (ms) from the click it goes with, as if the click had been played without the
/// `latency_ms` in effect: the output's latency as the tap tells it. `clicks_us` are when the
/// clicks around it were to be heard (the grid the player played them on), one beat apart with
/// none left out, in any order, on the tap's clock. A tap half a beat off could go with either
/// click; a click is heard late far more often than early (a Bluetooth earbud's 150 to 300 ms,
/// uncalibrated), so the tap goes with the click before it up to three quarters of the beat
/// after it, else with the next (at 120 BPM, from 125 ms early to 375 ms late; with the nearest
/// click, 250 ms late would read as 250 early). The beat is the one the tap falls in. `None`
/// without a click within [`TAP_NEAR_US`].
#[must_use]
pub fn tap_offset_ms(tap_us: f64, clicks_us: &[f64], latency_ms: f64) -> Option<f64> {
    let (mut before, mut after) = (f64::NEG_INFINITY, f64::INFINITY);
    for &c in clicks_us {
        if c <= tap_us {
            before = before.max(c);
        } else {
            after = after.min(c);
        }
    }
    let before = (tap_us - before <= TAP_NEAR_US).then_some(before);
    let after = (after - tap_us <= TAP_NEAR_US).then_some(after);
    let click = match (before, after) {
        (Some(b), Some(a)) if tap_us - b <= (a - b) * 0.75 => b,
        (_, Some(a)) => a,
        (b, None) => b?,
    };
    Some((tap_us - click) / 1000.0 + latency_ms)
}

/// The figure from taps along with the click: [`taps`] of their offsets ([`tap_offset_ms`]).
/// `at_us` are the taps' times, `latency_ms` the offset in effect at each, and `clicks_us` each
/// tap's own clicks around it (as the transport stood at the tap: a click the leader's later
/// change took back is no other tap's). A tap without a click around it, or without its offset,
/// is one that did not agree.
pub fn along(at_us: &[f64], latency_ms: &[f64], clicks_us: &[Vec<f64>]) -> Result<Calibration, CalibrationError> {
    let mut offsets = Vec::with_capacity(at_us.len());
    for (i, &t) in at_us.iter().enumerate() {
        let l = latency_ms.get(i).copied().unwrap_or(f64::NAN);
        let clicks = clicks_us.get(i).map_or(&[][..], Vec::as_slice);
        offsets.push(tap_offset_ms(t, clicks, l).unwrap_or(f64::NAN));
    }
    self::taps(&offsets)
}

/// The figure from taps' offsets (ms) from their clicks, to the whole ms (a hand's scatter is
/// ms). Taps more than three median deviations (15 to 60 ms) off the median are rejected; at
/// least two thirds of the taps (and 8) must remain, within [`MAX_TAP_SPREAD_MS`] of their median.
pub fn taps(offsets_ms: &[f64]) -> Result<Calibration, CalibrationError> {
    let mut all: Vec<f64> = Vec::new();
    for &x in offsets_ms {
        if x.is_finite() {
            all.push(x);
        }
    }
    let needed = (offsets_ms.len() * 2).div_ceil(3).max(8);
    if all.len() < needed {
        return Err(CalibrationError::TooFew { got: all.len(), of: offsets_ms.len(), needed });
    }
    let m = median(&all);
    let limit = (3.0 * median(&deviations(&all, m))).clamp(15.0, 60.0);
    let mut kept: Vec<f64> = Vec::new();
    for &x in &all {
        if (x - m).abs() <= limit {
            kept.push(x);
        }
    }
    if kept.len() < needed {
        return Err(CalibrationError::TooFew { got: kept.len(), of: offsets_ms.len(), needed });
    }
    let c = summary(&kept, offsets_ms.len());
    if c.spread_ms > MAX_TAP_SPREAD_MS {
        return Err(CalibrationError::Scattered { spread_ms: c.spread_ms.round() as i64 });
    }
    Ok(Calibration { latency_ms: c.latency_ms.round(), ..c })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Beats every 500 ms (120 BPM) from 10 s on.
    fn beats() -> Vec<f64> {
        (0..8).map(|i| 10_000_000.0 + f64::from(i) * 500_000.0).collect()
    }

    #[test]
    fn a_tap_measures_from_the_click_it_goes_with_late_or_early() {
        let b = beats();
        assert_eq!(tap_offset_ms(10_530_000.0, &b, 0.0), Some(30.0));
        assert_eq!(tap_offset_ms(10_980_000.0, &b, 0.0), Some(-20.0));
        // The calibration in effect is added: the click was played that much early. Heard 30 ms
        // after the grid with 100 ms compensated: the output is 130 ms late.
        assert_eq!(tap_offset_ms(10_530_000.0, &b, 100.0), Some(130.0));
        assert_eq!(tap_offset_ms(10_480_000.0, &b, -50.0), Some(-70.0));
        assert_eq!(tap_offset_ms(10_000_000.0, &[], 0.0), None);
        // Only clicks within TAP_NEAR_US count: the metronome stopped a while ago.
        assert_eq!(tap_offset_ms(20_000_000.0, &b, 0.0), None);
        assert_eq!(tap_offset_ms(15_000_000.0, &b, 0.0), Some(1500.0));
    }

    #[test]
    fn a_tap_half_a_beat_off_goes_with_the_click_that_makes_it_late() {
        // 250 ms after a beat at 120 BPM is 250 before the next: an earbud's latency, not an
        // early output. Up to three quarters of a beat late, and from a quarter early.
        let b = beats();
        assert_eq!(tap_offset_ms(10_750_000.0, &b, 0.0), Some(250.0));
        assert_eq!(tap_offset_ms(10_870_000.0, &b, 0.0), Some(370.0));
        assert_eq!(tap_offset_ms(10_880_000.0, &b, 0.0), Some(-120.0));
        assert_eq!(tap_offset_ms(10_600_000.0, &b, 200.0), Some(300.0));
        // By when the click was heard, not by the figure in effect, whatever its size.
        assert_eq!(tap_offset_ms(10_500_000.0, &b, 400.0), Some(400.0));
        assert_eq!(tap_offset_ms(10_500_000.0, &b, -150.0), Some(-150.0));
        assert_eq!(tap_offset_ms(10_600_000.0, &b, 300.0), Some(400.0));
    }

    #[test]
    fn taps_along_give_the_whole_ms_their_clicks_agree_on() {
        // Sixteen taps 263 to 271 ms after their beats (an earbud, a hand's scatter), one with no
        // click around it (the metronome had stopped): the figure, to the whole ms. Each tap
        // comes with its own clicks, in no order.
        let b = beats();
        let at: Vec<f64> =
            (0..16u32).map(|i| b[i as usize % 8] + 263_000.0 + f64::from((i * 5) % 9) * 1000.0).collect();
        let mut clicks: Vec<Vec<f64>> = vec![b.iter().rev().copied().collect(); 16];
        clicks[5].clear();
        let c = along(&at, &[0.0; 16], &clicks).unwrap();
        assert_eq!((c.latency_ms, c.used, c.of), (266.0, 15, 16));
        assert!(c.spread_ms <= 3.0, "{c:?}");
        // Tapped with the figure already in effect: what remains is added to it.
        let earlier: Vec<f64> = at.iter().map(|t| t - 200_000.0).collect();
        assert_eq!(along(&earlier, &[200.0; 16], &clicks).map(|c| c.latency_ms), Ok(266.0));
        // Without the figure in effect for a tap, it does not agree.
        assert_eq!(along(&earlier, &[200.0; 12], &clicks).map(|c| c.used), Ok(11));
        // A tap goes only with its own clicks: the first tap's grid moved 250 ms (the leader
        // changed it), so it reads 13 ms and is rejected; the others keep theirs (the median of
        // the fifteen, 267 ms).
        let mut moved = vec![b.clone(); 16];
        moved[0] = b.iter().map(|c| c + 250_000.0).collect();
        let c = along(&at, &[0.0; 16], &moved).unwrap();
        assert_eq!((c.latency_ms, c.used), (267.0, 15));
    }

    #[test]
    fn taps_give_their_median_without_the_stray_ones() {
        // Sixteen taps about 42 ms late with ±6 ms of human scatter, two of them wild.
        let mut t: Vec<f64> = (0..16).map(|i| 42.0 + f64::from((i * 7) % 13) - 6.0).collect();
        t[3] = 300.0;
        t[9] = -200.0;
        let c = taps(&t).unwrap();
        assert!((c.latency_ms - 42.0).abs() <= 2.0 && c.latency_ms.fract() == 0.0, "{c:?}");
        assert_eq!((c.used, c.of), (14, 16));
        assert!(matches!(taps(&[40.0; 5]), Err(CalibrationError::TooFew { .. })));
        // Taps all over the place: too few agree.
        let wild: Vec<f64> = (0..16).map(|i| f64::from(i) * 37.0).collect();
        assert!(
            matches!(taps(&wild), Err(CalibrationError::TooFew { .. } | CalibrationError::Scattered { .. })),
            "{:?}",
            taps(&wild)
        );
    }
}
