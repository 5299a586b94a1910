//! Click sounds: synthesized in code (no file needed), or decoded from sample files with rodio,
//! off the audio thread.

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

/// A decaying sine burst: full amplitude on its first frame (a sharp, measurable onset), then an
/// exponential decay over about `ms` milliseconds.
fn burst(rate: u32, freq: f32, ms: f32) -> Box<[f32]> {
    let n = (rate as f32 * ms / 1000.0) as usize;
    let tau = n as f32 / 5.0;
    (0..n)
        .map(|i| {
            let t = i as f32;
            (2.0 * std::f32::consts::PI * freq * t / rate as f32).cos() * (-t / tau).exp()
        })
        .collect()
}

impl Sounds {
    /// The built-in clicks at `rate`: high for the downbeat, lower for group accents and beats,
    /// short and soft for subdivisions.
    #[must_use]
    pub fn synthesized(rate: u32) -> Self {
        Sounds {
            downbeat: burst(rate, 2000.0, 30.0),
            group: burst(rate, 1500.0, 25.0),
            beat: burst(rate, 1000.0, 25.0),
            subdivision: burst(rate, 700.0, 15.0),
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
