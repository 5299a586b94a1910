//! The metronome's control thread: owns the cpal output, feeds it the transport schedule and the
//! frame-to-host-time map, restarts it on the default device if the device goes away, and reports
//! what happens. Used by the app and by `bandsync join --audio`.
//!
//! Thread-safety: [`Metronome`] is `Send` and its methods may be called from any thread; the cpal
//! stream itself never leaves the control thread. Nothing here runs on the audio callback.

use crate::output_report::Tally;
use bandsync_audio::device::{AudioInfo, AudioOptions, AudioOutput};
use bandsync_audio::engine::{Command, Ear, Levels, PlayedClick};
use bandsync_client::ClockView;
use bandsync_core::Transport;
use bandsync_core::host_axis::HostAxis;
use bandsync_core::protocol::OutputReport;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What the audio thread reports.
#[derive(Debug)]
pub enum AudioReport {
    /// The device opened (or reopened), or its figures changed.
    Info(AudioInfo),
    /// A click was scheduled.
    Beat(PlayedClick),
    /// What the band should see of this output (send it on with `Client::set_output`): with
    /// every new figure, and at least every 5 s while it plays.
    Output(OutputReport),
    /// The device could not be opened or failed.
    Error(String),
}

/// What reaches the control thread.
enum Ctl {
    Transport(Transport, HostAxis),
    Levels(Levels),
    Ear(Ear),
    Subdivision(u8),
    Latency(f64, bool),
}

/// Handle to the audio thread; dropping it stops the metronome and waits until the device is
/// closed (tens of milliseconds), so that a process that ends right after leaves its audio server
/// cleanly: a synchronous JACK server otherwise waits seconds on a client that vanished.
pub struct Metronome {
    ctl: std_mpsc::Sender<Ctl>,
    running: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Metronome {
    fn drop(&mut self) {
        // The thread ends when its channel closes (it looks every 20 ms), closing the device.
        let (closed, _) = std_mpsc::channel();
        drop(std::mem::replace(&mut self.ctl, closed));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for Metronome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metronome").field("running", &self.is_running()).finish_non_exhaustive()
    }
}

impl Metronome {
    /// Starts the audio thread. When the device cannot be opened it reports
    /// [`AudioReport::Error`] and ends; [`Metronome::is_running`] then turns false.
    ///
    /// # Panics
    /// If the OS cannot spawn a thread.
    #[must_use]
    pub fn start(opts: AudioOptions, clock: ClockView, reports: mpsc::UnboundedSender<AudioReport>) -> Self {
        let (ctl, rx) = std_mpsc::channel::<Ctl>();
        let running = Arc::new(AtomicBool::new(true));
        let flag = running.clone();
        let thread = std::thread::Builder::new()
            .name("bandsync-audio".into())
            .spawn(move || {
                control(opts, &clock, &rx, &reports);
                flag.store(false, Ordering::Release);
            })
            .expect("spawn the audio thread");
        Metronome { ctl, running, thread: Some(thread) }
    }

    /// Sends a new transport schedule, whose times are on host clock `axis`.
    pub fn set_transport(&self, t: &Transport, axis: HostAxis) {
        let _ = self.ctl.send(Ctl::Transport(t.clone(), axis));
    }

    /// Changes the click levels (volume, mute) without reopening the device.
    pub fn set_levels(&self, l: Levels) {
        let _ = self.ctl.send(Ctl::Levels(l));
    }

    /// Changes which ear gets the click without reopening the device.
    pub fn set_ear(&self, e: Ear) {
        let _ = self.ctl.send(Ctl::Ear(e));
    }

    /// Changes the clicks per beat (1 to 8) without reopening the device.
    pub fn set_subdivision(&self, n: u8) {
        let _ = self.ctl.send(Ctl::Subdivision(n));
    }

    /// Plays by another latency offset (ms; `measured` by a calibration) without reopening the
    /// device ([`AudioOutput::set_latency_offset`]).
    pub fn set_latency(&self, offset_ms: f64, measured: bool) {
        let _ = self.ctl.send(Ctl::Latency(offset_ms, measured));
    }

    /// Whether the audio thread still runs (false once the device could not be opened at all).
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }
}

fn control(
    opts: AudioOptions,
    clock: &ClockView,
    rx: &std_mpsc::Receiver<Ctl>,
    reports: &mpsc::UnboundedSender<AudioReport>,
) {
    let mut out = match AudioOutput::start(opts.clone()) {
        Ok(o) => o,
        Err(e) => {
            let _ = reports.send(AudioReport::Error(e.to_string()));
            return;
        }
    };
    // What a restart on another device must carry over: the options as changed since.
    let mut opts = opts;
    // A device that stays unavailable fails every retry the same way: say so once.
    let mut last_error: Option<String> = None;
    let mut last_transport: Option<(Transport, HostAxis)> = None;
    let mut last_info = long_ago();
    let mut reported: Option<AudioInfo> = None;
    // When the default device may be tried again, after it failed to open.
    let mut retry_at = Instant::now();
    let mut tally = Tally::default();
    let host_now = || clock.host_micros_now_on();
    loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(Ctl::Transport(t, axis)) => {
                out.set_schedule(&t, axis);
                last_transport = Some((t, axis));
            }
            Ok(Ctl::Levels(l)) => {
                opts.levels = l;
                out.send(Command::Levels(l));
            }
            Ok(Ctl::Ear(e)) => {
                opts.ear = e;
                out.send(Command::Ear(e));
            }
            Ok(Ctl::Subdivision(n)) => {
                opts.subdivision = n;
                out.send(Command::Subdivision(n));
            }
            Ok(Ctl::Latency(ms, measured)) => {
                (opts.latency_offset_ms, opts.latency_measured) = (ms, measured);
                out.set_latency_offset(ms, measured);
                // The band sees the new figure at once, from the figures last reported too while
                // no device plays.
                if let Some(r) = &mut reported {
                    let now = out.info();
                    (r.latency_offset_ms, r.latency_source) = (now.latency_offset_ms, now.latency_source);
                }
                last_info = long_ago();
            }
            Err(std_mpsc::RecvTimeoutError::Timeout) => {}
            Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
        }
        out.update(|i| clock.local_of(i), |l| clock.to_host_on(l));
        out.drain_beats(|b| {
            tally.played(&b);
            let _ = reports.send(AudioReport::Beat(b));
        });
        if out.is_gone() {
            // The device went away: follow the default device and keep time. Retries wait in the
            // loop's own wait for commands, so that dropping the handle ends the thread at once.
            if Instant::now() < retry_at {
                continue;
            }
            tally.gone(host_now());
            report_once(reports, &mut last_error, "the audio device went away; switching to the default".into());
            let next = AudioOptions { device: None, ..opts.clone() };
            match AudioOutput::start(next) {
                Ok(o) => {
                    out = o;
                    last_error = None;
                    tally.back(host_now(), last_transport.as_ref(), opts.subdivision);
                    if let Some((t, axis)) = &last_transport {
                        out.set_schedule(t, *axis);
                    }
                }
                Err(e) => {
                    report_once(reports, &mut last_error, e.to_string());
                    retry_at = Instant::now() + Duration::from_secs(1);
                    // The band sees the clicks missed mount while no device plays.
                    if let Some(last) = reported.as_ref().filter(|_| last_info.elapsed() >= Duration::from_secs(5)) {
                        last_info = Instant::now();
                        let o = tally.report(last, host_now(), last_transport.as_ref(), opts.subdivision);
                        let _ = reports.send(AudioReport::Output(o));
                    }
                    continue;
                }
            }
        }
        let info = out.info();
        let changed = reported.as_ref().is_none_or(|r: &AudioInfo| {
            r.underruns != info.underruns
                || r.playout_steps != info.playout_steps
                || r.buffer_frames != info.buffer_frames
                || r.device != info.device
                // The latency is a median over the last callbacks: a new stream's first report
                // has few, so it is sent again once the median has moved.
                || (r.output_latency_ms - info.output_latency_ms).abs() > 1.0
        });
        if info.buffer_frames > 0 && (changed || last_info.elapsed() >= Duration::from_secs(5)) {
            last_info = Instant::now();
            let o = tally.report(&info, host_now(), last_transport.as_ref(), opts.subdivision);
            let _ = reports.send(AudioReport::Output(o));
            reported = Some(info.clone());
            let _ = reports.send(AudioReport::Info(info));
        }
    }
}

/// A time long enough ago that a report is due.
fn long_ago() -> Instant {
    Instant::now().checked_sub(Duration::from_secs(10)).unwrap_or_else(Instant::now)
}

/// Reports an error unless it is the one reported last.
fn report_once(reports: &mpsc::UnboundedSender<AudioReport>, last: &mut Option<String>, e: String) {
    if last.as_ref() != Some(&e) {
        let _ = reports.send(AudioReport::Error(e.clone()));
        *last = Some(e);
    }
}
