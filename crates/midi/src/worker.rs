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

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
