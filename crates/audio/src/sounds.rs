//! Click sounds: synthesized in code (no file needed), or decoded from sample files with rodio,
//! off the audio thread.

#[cfg(feature = "device")]
use std::path::Path;

/// Which sound a click uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sound {
    /// The bar's first beat.
    Downbeat,
    /// The first beat of an accent group.
    Group,
    /// Other beats.
    Beat,
    /// Subdivisions.
    Subdivision,
}

/// The four click sounds, as mono samples at the device rate.
#[derive(Debug, Clone)]
pub struct Sounds {
    downbeat: Box<[f32]>,
    group: Box<[f32]>,
    beat: Box<[f32]>,
    subdivision: Box<[f32]>,
}

/// Why a sample file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SoundError {
    /// The file could not be opened.
    #[error("cannot open {0}: {1}")]
    Open(String, std::io::Error),
    /// The file is not audio rodio can decode.
    #[error("cannot decode {0}: {1}")]
    Decode(String, String),
    /// The file holds no audio.
    #[error("{0} holds no audio")]
    Empty(String),
}

/// The built-in click sets, as the settings name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ClickSound {
    /// Sine clicks, each with full amplitude on its first frame.
    #[default]
    Classic,
    /// Two inharmonic partials with a fast decay: a hollow knock.
    Wood,
    /// A steady tone with a short release.
    Beep,
    /// High-passed noise: a hi-hat-like tick.
    Tick,
}

impl ClickSound {
    /// Pitch (Hz) per sound (downbeat, group, beat, subdivision); for `Tick`, the brightness.
    fn pitches(self) -> [f32; 4] {
        match self {
            ClickSound::Classic => [2000.0, 1500.0, 1000.0, 700.0],
            ClickSound::Wood => [1400.0, 1150.0, 950.0, 800.0],
            ClickSound::Beep => [1760.0, 1320.0, 880.0, 660.0],
            ClickSound::Tick => [1.0, 0.8, 0.6, 0.4],
        }
    }

    /// One click at `rate`, peak 1, with a sharp onset on its first frame (so that it lands, and
    /// is measured, exactly where it was scheduled).
    fn render(self, which: usize, rate: u32) -> Box<[f32]> {
        const LENGTH_MS: [f32; 4] = [30.0, 25.0, 25.0, 15.0];
        let ms = LENGTH_MS[which] + if self == ClickSound::Beep { 20.0 } else { 0.0 };
        let n = ((rate as f32 * ms / 1000.0).round() as usize).max(1);
        let tau = n as f32 / 5.0;
        let f = self.pitches()[which];
        let w = 2.0 * std::f32::consts::PI / rate as f32;
        let mut out: Vec<f32> = match self {
            ClickSound::Classic => (0..n).map(|i| (w * f * i as f32).cos() * (-(i as f32) / tau).exp()).collect(),
            ClickSound::Wood => (0..n)
                .map(|i| {
                    let t = i as f32;
                    (0.7 * (w * f * t).cos() + 0.3 * (w * f * 2.76 * t).cos()) * (-t / (tau * 0.6)).exp()
                })
                .collect(),
            ClickSound::Beep => (0..n)
                .map(|i| {
                    let t = i as f32;
                    let release = ((n - i) as f32 / (rate as f32 * 0.008)).min(1.0);
                    (0.8 * (w * f * t).cos() + 0.2 * (3.0 * w * f * t).cos()) * release
                })
                .collect(),
            ClickSound::Tick => {
                // A seeded noise source, so the same sound is rendered every time.
                let mut x: u32 = (which as u32 + 1) * 7919 + 17;
                let mut prev = 0.0f32;
                let mut v: Vec<f32> = (0..n)
                    .map(|i| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        let r = x as f32 / 2_147_483_648.0 - 1.0;
                        let hp = r - prev * f * 0.95;
                        prev = r;
                        hp * (-(i as f32) / (tau * 0.5)).exp()
                    })
                    .collect();
                v[0] = 1.0;
                v
            }
        };
        let peak = out.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        if peak > 0.0 {
            out.iter_mut().for_each(|x| *x /= peak);
        }
        out.into_boxed_slice()
    }
}

impl Sounds {
    /// The built-in classic clicks at `rate`: high for the downbeat, lower for group accents and
    /// beats, short and soft for subdivisions.
    #[must_use]
    pub fn synthesized(rate: u32) -> Self {
        Self::set(ClickSound::Classic, rate)
    }

    /// One of the built-in click sets at `rate`.
    #[must_use]
    pub fn set(kind: ClickSound, rate: u32) -> Self {
        Sounds {
            downbeat: kind.render(0, rate),
            group: kind.render(1, rate),
            beat: kind.render(2, rate),
            subdivision: kind.render(3, rate),
        }
    }

    /// The samples of a sound.
    #[must_use]
    pub fn get(&self, s: Sound) -> &[f32] {
        match s {
            Sound::Downbeat => &self.downbeat,
            Sound::Group => &self.group,
            Sound::Beat => &self.beat,
            Sound::Subdivision => &self.subdivision,
        }
    }

    /// Replaces one sound with a sample file (wav, ogg, flac or mp3), mixed to mono and resampled
    /// to `rate`. Runs off the audio thread.
    ///
    /// # Errors
    /// When the file cannot be read or decoded, or is empty.
    #[cfg(feature = "device")]
    pub fn load(&mut self, which: Sound, path: &Path, rate: u32) -> Result<(), SoundError> {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| SoundError::Open(name.clone(), e))?;
        let dec = rodio::Decoder::try_from(file).map_err(|e| SoundError::Decode(name.clone(), e.to_string()))?;
        use rodio::Source;
        let ch = usize::from(dec.channels().max(1));
        let src_rate = dec.sample_rate();
        let interleaved: Vec<f32> = dec.collect();
        let mono: Vec<f32> = interleaved.chunks(ch).map(|c| c.iter().sum::<f32>() / ch as f32).collect();
        if mono.is_empty() {
            return Err(SoundError::Empty(name));
        }
        let out = resample_linear(&mono, src_rate, rate);
        let slot = match which {
            Sound::Downbeat => &mut self.downbeat,
            Sound::Group => &mut self.group,
            Sound::Beat => &mut self.beat,
            Sound::Subdivision => &mut self.subdivision,
        };
        *slot = out.into_boxed_slice();
        Ok(())
    }
}

#[cfg(feature = "device")]
fn resample_linear(x: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to {
        return x.to_vec();
    }
    let n = (x.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    (0..n)
        .map(|i| {
            let p = i as f64 * f64::from(from) / f64::from(to);
            let k = p.floor() as usize;
            let f = (p - k as f64) as f32;
            let a = x[k.min(x.len() - 1)];
            let b = x[(k + 1).min(x.len() - 1)];
            a + (b - a) * f
        })
        .collect()
}
