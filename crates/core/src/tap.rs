//! Tap tempo: the tempo of the last few taps, starting over after a pause. One rule for the
//! leader's TAP button (through wasm) and a foot switch (MIDI in).

use crate::time::Micros;
use crate::timeline::Tempo;

/// A tap more than this after the previous one starts a new series.
pub const TAP_RESET: Micros = Micros::from_millis(2_000);
/// How many intervals are averaged.
pub const TAP_WINDOW: usize = 8;

/// The taps of the current series, at most [`TAP_WINDOW`] + 1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TapTempo {
    taps: Vec<Micros>,
}

impl TapTempo {
    /// No taps yet.
    #[must_use]
    pub fn new() -> Self {
        TapTempo::default()
    }

    /// A tap at `now`. Returns the tempo of the series so far (the mean interval, rounded to
    /// 0.1 BPM and clamped to the playable range), or `None` after the first tap of a series.
    pub fn tap(&mut self, now: Micros) -> Option<Tempo> {
        if self.taps.last().is_none_or(|&l| now - l > TAP_RESET || now <= l) {
            self.taps.clear();
        }
        self.taps.push(now);
        if self.taps.len() > TAP_WINDOW + 1 {
            self.taps.remove(0);
        }
        let (first, last) = (*self.taps.first()?, *self.taps.last()?);
        if self.taps.len() < 2 {
            return None;
        }
        let bpm = 60e6 * (self.taps.len() - 1) as f64 / (last - first).0 as f64;
        Tempo::from_bpm(((bpm * 10.0).round() / 10.0).clamp(crate::timeline::MIN_BPM, crate::timeline::MAX_BPM)).ok()
    }

    /// Taps in the current series.
    #[must_use]
    pub fn count(&self) -> usize {
        self.taps.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t: i64) -> Micros {
        Micros::from_millis(t)
    }

    #[test]
    fn averages_the_taps_of_a_series() {
        let mut t = TapTempo::new();
        assert_eq!(t.tap(ms(1000)), None);
        assert_eq!(t.tap(ms(1500)), Some(Tempo(120_000)));
        assert_eq!(t.tap(ms(2000)), Some(Tempo(120_000)));
        // A late tap pulls the average, as the mean of all intervals.
        assert_eq!(t.tap(ms(2600)), Some(Tempo(112_500)));
    }

    #[test]
    fn starts_over_after_a_two_second_gap() {
        let mut t = TapTempo::new();
        t.tap(ms(0));
        t.tap(ms(400));
        assert_eq!(t.tap(ms(2401)), None);
        assert_eq!(t.count(), 1);
        assert_eq!(t.tap(ms(3001)), Some(Tempo(100_000)));
    }

    #[test]
    fn keeps_only_the_last_taps_so_a_tempo_change_is_followed() {
        let mut t = TapTempo::new();
        let mut now = 0;
        for _ in 0..10 {
            now += 1000;
            t.tap(ms(now));
        }
        let mut bpm = None;
        for _ in 0..9 {
            now += 500;
            bpm = t.tap(ms(now));
        }
        assert_eq!(bpm, Some(Tempo(120_000)));
        assert_eq!(t.count(), TAP_WINDOW + 1);
    }
}
