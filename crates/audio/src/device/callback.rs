//! The real-time side of the output: what the audio callback owns ([`CallbackState`]), the
//! timing it publishes ([`Stamp`]), and the building of the cpal stream around it. The control
//! side is in `device.rs` and `device/readings.rs`.

use super::options::AudioError;
use crate::engine::{Command, Engine, PlayedClick};
use cpal::traits::DeviceTrait;
use cpal::{FromSample, OutputCallbackInfo, SizedSample, StreamInstant};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// A callback's timing, published to the control thread through a lock-free queue.
#[derive(Debug, Clone, Copy)]
pub(super) struct Stamp {
    /// Device frame of the buffer's first sample.
    pub(super) frame: u64,
    /// Frames in the buffer.
    pub(super) frames: u32,
    /// When the buffer's first sample is heard, on the stream's clock.
    pub(super) playback: StreamInstant,
    /// When the callback ran, on the stream's clock.
    pub(super) callback: StreamInstant,
}

pub(super) struct CallbackState {
    pub(super) engine: Engine,
    pub(super) commands: rtrb::Consumer<Command>,
    pub(super) beats: rtrb::Producer<PlayedClick>,
    pub(super) stamps: rtrb::Producer<Stamp>,
    pub(super) frame: u64,
    /// Preallocated mixing buffer for integer formats and oversized callbacks.
    pub(super) scratch: Vec<f32>,
}

impl CallbackState {
    /// One callback's work. Real-time safe: no allocation, lock, log, IO or clock read.
    fn render<T: SizedSample + FromSample<f32>>(&mut self, data: &mut [T], channels: usize, info: &OutputCallbackInfo) {
        while let Ok(c) = self.commands.pop() {
            self.engine.apply(c);
        }
        let frames = data.len() / channels;
        let ts = info.timestamp();
        let _ = self.stamps.push(Stamp {
            frame: self.frame,
            frames: frames as u32,
            playback: ts.playback,
            callback: ts.callback,
        });
        let chunk = (self.scratch.len() / channels) * channels;
        let mut frame = self.frame;
        let beats = &mut self.beats;
        for out in data.chunks_mut(chunk) {
            let n = out.len();
            let buf = &mut self.scratch[..n];
            self.engine.process(buf, channels, frame, |b| {
                let _ = beats.push(b);
            });
            for (o, s) in out.iter_mut().zip(buf.iter()) {
                *o = T::from_sample(*s);
            }
            frame += (n / channels) as u64;
        }
        self.frame += frames as u64;
    }
}

pub(super) fn build<T: SizedSample + FromSample<f32>>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut state: CallbackState,
    underruns: &Arc<AtomicU64>,
    gone: &Arc<AtomicBool>,
) -> Result<cpal::Stream, AudioError> {
    let channels = usize::from(config.channels);
    let (u, g) = (underruns.clone(), gone.clone());
    device
        .build_output_stream::<T, _, _>(
            config,
            move |data: &mut [T], info: &OutputCallbackInfo| state.render(data, channels, info),
            move |e: cpal::Error| match e.kind() {
                cpal::ErrorKind::Xrun => {
                    u.fetch_add(1, Ordering::Relaxed);
                }
                cpal::ErrorKind::DeviceNotAvailable => g.store(true, Ordering::Relaxed),
                _ => {}
            },
            Some(Duration::from_secs(2)),
        )
        .map_err(|e| AudioError::Device(e.to_string()))
}
