//! The metronome for `bandsync join --audio`: a control thread that owns the cpal output, feeds
//! it the transport schedule and the frame-to-host-time map, restarts it on the default device if
//! the device goes away, and reports what happens.

use bandsync_audio::device::{AudioInfo, AudioOptions, AudioOutput};
use bandsync_audio::engine::BeatEvent;
use bandsync_client::ClockView;
use bandsync_core::Transport;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What the audio thread reports.
#[derive(Debug)]
pub enum AudioReport {
    /// The device opened (or reopened), or its figures changed.
    Info(AudioInfo),
    /// A click was scheduled.
    Beat(BeatEvent),
    /// The device could not be opened or failed.
    Error(String),
}

/// Handle to the audio thread; dropping it stops the metronome.
pub struct Metronome {
    schedule: std_mpsc::Sender<Transport>,
}

impl Metronome {
    /// Starts the audio thread.
    pub fn start(opts: AudioOptions, clock: ClockView, reports: mpsc::UnboundedSender<AudioReport>) -> Self {
        let (schedule, rx) = std_mpsc::channel::<Transport>();
        std::thread::Builder::new()
            .name("bandsync-audio".into())
            .spawn(move || control(opts, clock, rx, reports))
            .expect("spawn the audio thread");
        Metronome { schedule }
    }

    /// Sends a new transport schedule.
    pub fn set_transport(&self, t: &Transport) {
        let _ = self.schedule.send(t.clone());
    }
}

fn control(
    opts: AudioOptions,
    clock: ClockView,
    rx: std_mpsc::Receiver<Transport>,
    reports: mpsc::UnboundedSender<AudioReport>,
) {
    let mut out = match AudioOutput::start(opts.clone()) {
        Ok(o) => o,
        Err(e) => {
            let _ = reports.send(AudioReport::Error(e.to_string()));
            return;
        }
    };
    let mut last_transport: Option<Transport> = None;
    let mut last_info = Instant::now() - Duration::from_secs(10);
    let mut reported = None;
    loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(t) => {
                out.set_schedule(&t);
                last_transport = Some(t);
            }
            Err(std_mpsc::RecvTimeoutError::Timeout) => {}
            Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
        }
        out.update(|i| clock.local_of(i), |l| clock.to_host(l));
        out.drain_beats(|b| {
            let _ = reports.send(AudioReport::Beat(b));
        });
        if out.is_gone() {
            // The device went away: follow the default device and keep time.
            let _ = reports.send(AudioReport::Error("the audio device went away; switching to the default".into()));
            let opts = AudioOptions { device: None, ..out.options().clone() };
            match AudioOutput::start(opts) {
                Ok(o) => {
                    out = o;
                    if let Some(t) = &last_transport {
                        out.set_schedule(t);
                    }
                }
                Err(e) => {
                    let _ = reports.send(AudioReport::Error(e.to_string()));
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            }
        }
        let info = out.info();
        let changed = reported.as_ref().is_none_or(|r: &AudioInfo| {
            r.underruns != info.underruns || r.buffer_frames != info.buffer_frames || r.device != info.device
        });
        if info.buffer_frames > 0 && (changed || last_info.elapsed() >= Duration::from_secs(5)) {
            last_info = Instant::now();
            reported = Some(info.clone());
            let _ = reports.send(AudioReport::Info(info));
        }
    }
}
