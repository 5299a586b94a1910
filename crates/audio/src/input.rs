//! The cpal input layer, for latency calibration: records the first channel of an input device
//! (the microphone, or a monitor of the output) with the local time each frame was captured, fitted
//! by the same device-clock filter as the output's frames. The callback only copies samples and
//! stamps into preallocated lock-free rings.

use crate::device::AudioError;
use crate::filter::DeviceClockFilter;
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{InputCallbackInfo, SizedSample, StreamInstant};
use std::time::{Duration, Instant};

/// One callback: its first frame and when that frame was captured (as the host says), and the
/// frame after its last and when the callback ran (when those frames were in hand).
#[derive(Debug, Clone, Copy)]
struct Stamp {
    frame: u64,
    capture: StreamInstant,
    end: u64,
    callback: StreamInstant,
}

/// A running input stream and what it has recorded.
pub struct AudioInput {
    stream: cpal::Stream,
    samples_rx: rtrb::Consumer<f32>,
    stamps: rtrb::Consumer<Stamp>,
    filter: DeviceClockFilter,
    /// (frame after the callback's last, local µs of the callback), for [`AudioInput::in_hand_at`].
    in_hand: Vec<(f64, f64)>,
    recorded: Vec<f32>,
    rate: u32,
    device: String,
}

impl std::fmt::Debug for AudioInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioInput").field("device", &self.device).field("rate", &self.rate).finish_non_exhaustive()
    }
}

/// The names of the input devices (microphones), the default first: what
/// [`AudioInput::start`] takes (any part of one). Empty when there is no input at all.
#[must_use]
pub fn input_devices() -> Vec<String> {
    let host = cpal::default_host();
    crate::device::default_first(host.default_input_device(), host.input_devices().into_iter().flatten())
}

impl AudioInput {
    /// Opens the input device named like `device` (the default one otherwise) and records.
    ///
    /// # Errors
    /// No such device, or it cannot record.
    pub fn start(device: Option<&str>) -> Result<Self, AudioError> {
        let host = cpal::default_host();
        let device = match device {
            None => host.default_input_device().ok_or_else(|| AudioError::NoInput(String::new()))?,
            Some(want) => host
                .input_devices()
                .map_err(|e| AudioError::Device(e.to_string()))?
                .find(|d| d.to_string().contains(want))
                .ok_or_else(|| AudioError::NoInput(format!(" named like {want:?}")))?,
        };
        let supported =
            device.default_input_config().map_err(|e| AudioError::Device(format!("the microphone: {e}")))?;
        let config: cpal::StreamConfig = supported.into();
        let rate = config.sample_rate;
        let (samples_tx, samples_rx) = rtrb::RingBuffer::<f32>::new(rate as usize * 4);
        let (stamps_tx, stamps) = rtrb::RingBuffer::<Stamp>::new(4096);
        let channels = usize::from(config.channels);
        let stream = match supported.sample_format() {
            cpal::SampleFormat::F32 => build::<f32>(&device, config, channels, samples_tx, stamps_tx),
            cpal::SampleFormat::I16 => build::<i16>(&device, config, channels, samples_tx, stamps_tx),
            cpal::SampleFormat::I32 => build::<i32>(&device, config, channels, samples_tx, stamps_tx),
            cpal::SampleFormat::U16 => build::<u16>(&device, config, channels, samples_tx, stamps_tx),
            other => return Err(AudioError::Device(format!("unsupported input sample format {other:?}"))),
        }?;
        stream.play().map_err(|e| AudioError::Device(format!("the microphone: {e}")))?;
        Ok(AudioInput {
            stream,
            samples_rx,
            stamps,
            filter: DeviceClockFilter::new(8192),
            in_hand: Vec::new(),
            recorded: Vec::new(),
            rate,
            device: device.to_string(),
        })
    }

    /// The input device's name.
    #[must_use]
    pub fn device(&self) -> &str {
        &self.device
    }

    /// The recording's sample rate.
    #[must_use]
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Takes in what the callbacks recorded since the last call. `local_of` converts an `Instant`
    /// to the caller's local clock (µs).
    pub fn update(&mut self, local_of: impl Fn(Instant) -> f64) {
        let clock = crate::stream_clock::StreamClock::read(|| self.stream.now());
        let base_local = local_of(clock.base);
        let local = |i: StreamInstant| clock.local(i, base_local);
        while let Ok(s) = self.stamps.pop() {
            self.filter.push(s.frame, local(s.capture));
            self.in_hand.push((s.end as f64, local(s.callback)));
        }
        let n = self.samples_rx.slots();
        if let Ok(chunk) = self.samples_rx.read_chunk(n) {
            let (a, b) = chunk.as_slices();
            self.recorded.extend_from_slice(a);
            self.recorded.extend_from_slice(b);
            chunk.commit_all();
        }
    }

    /// Everything recorded so far (the first channel), from the stream's first frame.
    #[must_use]
    pub fn recorded(&self) -> &[f32] {
        &self.recorded
    }

    /// The local times (µs) `frames` of the recording were captured, as the host reports them,
    /// through one device-clock fit.
    pub fn captured_at(&mut self, frames: &[f64]) -> Vec<f64> {
        let us_per_frame = 1e6 / f64::from(self.rate);
        let Some((fm, lm, slope)) = self.filter.fit(us_per_frame) else { return Vec::new() };
        frames.iter().map(|f| lm + (f - fm) * slope).collect()
    }

    /// The earliest local times (µs) `frames` were in the program's hands: the line at the
    /// device's rate under every callback ([`crate::calibrate::in_hand`]).
    /// Unlike the host's capture times (which PulseAudio's ALSA plugin reports to within a
    /// fragment, a different few milliseconds each run), it does not depend on when the host
    /// updates its figures; it lies a constant input latency after the capture.
    #[must_use]
    pub fn in_hand_at(&self, frames: &[f64]) -> Vec<f64> {
        crate::calibrate::in_hand(&self.in_hand, self.rate, frames)
    }
}

fn build<T: SizedSample>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    channels: usize,
    mut samples: rtrb::Producer<f32>,
    mut stamps: rtrb::Producer<Stamp>,
) -> Result<cpal::Stream, AudioError>
where
    f32: cpal::FromSample<T>,
{
    let mut frame = 0u64;
    device
        .build_input_stream::<T, _, _>(
            config,
            move |data: &[T], info: &InputCallbackInfo| {
                let ts = info.timestamp();
                let end = frame + (data.len() / channels.max(1)) as u64;
                let _ = stamps.push(Stamp { frame, capture: ts.capture, end, callback: ts.callback });
                for s in data.chunks(channels.max(1)) {
                    // A full ring drops the newest frames; the caller drains it every few ms.
                    let _ = samples.push(<f32 as cpal::FromSample<T>>::from_sample_(s[0]));
                }
                frame = end;
            },
            |_e: cpal::Error| {},
            Some(Duration::from_secs(2)),
        )
        .map_err(|e| AudioError::Device(format!("the microphone: {e}")))
}
