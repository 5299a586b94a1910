//! A named thread that runs until its owner is dropped: the stop flag, and the join on drop.

use crate::MidiError;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A running thread; dropping this asks it to stop and waits for it.
pub(crate) struct Worker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    /// Runs `f` on a thread named `name`; `f` returns once the flag it is given is set.
    pub(crate) fn spawn(name: &str, f: impl FnOnce(&AtomicBool) + Send + 'static) -> Result<Self, MidiError> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || f(&flag))
            .map_err(|e| MidiError::Backend(e.to_string()))?;
        Ok(Worker { stop, thread: Some(thread) })
    }
}

/// Asks for real-time scheduling for the calling thread, as MIDI and audio threads run in audio
/// software: a thread that sends an event at its moment must wake at that moment, however busy the
/// machine is (on a loaded two-core machine a normal thread woke up to 2 ms late, and MIDI clock
/// pulses wandered by as much). `SCHED_FIFO` at a low real-time priority, below JACK's and the
/// audio server's own threads. Where the system does not allow it (no `CAP_SYS_NICE`, no
/// `RLIMIT_RTPRIO`; other systems), the thread runs on as it was. Returns whether it was granted.
pub(crate) fn realtime() -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let param = libc::sched_param { sched_priority: 8 };
        // One system call, with no safe wrapper in std.
        #[allow(unsafe_code)]
        // SAFETY: `param` is a valid `sched_param` that outlives the call; pid 0 is this thread.
        let granted = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &raw const param) } == 0;
        if !granted {
            tracing::debug!(error = %std::io::Error::last_os_error(), "no real-time scheduling for the MIDI thread");
        }
        granted
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    false
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
