//! SQLite's checkpoints, off the writers' path. In WAL mode each commit appends to the log, and by
//! default the commit that takes the log past a thousand pages also copies it into the database
//! and syncs it: on the session's own append, holding the store, 10–25 ms for a log of a few
//! megabytes (a big document's snapshot). The hostile bench's edits on a full document waited
//! behind it (docs/BENCHMARKS.md, issue #12). So the store's connection leaves checkpoints to a
//! thread of their own, on a second connection: a passive checkpoint copies what it can while
//! writers go on appending, and never waits for them.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

/// How often the thread checkpoints the log (a checkpoint of an empty log does nothing).
pub const EVERY: Duration = Duration::from_millis(500);

/// Pages in the log past which the store's own connection checkpoints after all: only if this
/// thread could not (it failed to open, or cannot keep up), so that the log stays bounded.
pub const SAFETY_NET_PAGES: i64 = 16_384;

/// Bytes written (the statements' blobs and texts) after which the thread checkpoints at once,
/// not at its next [`EVERY`]: a big write (a snapshot's slices) is copied into the database a
/// slice at a time, not megabytes in one sync that the next append's sync queues behind.
pub const NUDGE_BYTES: usize = 256 * 1024;

/// The checkpoint thread of one database; it ends when this is dropped.
#[derive(Debug)]
pub(super) struct Checkpoints {
    nudge: Option<mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    written: usize,
}

impl Checkpoints {
    /// Starts checkpointing the database at `path` every [`EVERY`].
    pub(super) fn start(path: PathBuf) -> Self {
        let (nudge, nudged) = mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                let conn = match rusqlite::Connection::open(&path) {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "no checkpoint thread: the store's writes checkpoint");
                        return;
                    }
                };
                while !matches!(nudged.recv_timeout(EVERY), Err(mpsc::RecvTimeoutError::Disconnected)) {
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::debug!(error = %e, "checkpoint");
                    }
                }
            })
            .map_err(|e| tracing::warn!(error = %e, "no checkpoint thread: the store's writes checkpoint"))
            .ok();
        Checkpoints { nudge: Some(nudge), thread, written: 0 }
    }

    /// Counts `bytes` written.
    pub(super) fn wrote(&mut self, bytes: usize) {
        self.written += bytes;
    }

    /// A transaction committed: past [`NUDGE_BYTES`] written, wakes the thread (before the
    /// commit, it could not have copied them).
    pub(super) fn committed(&mut self) {
        if self.written >= NUDGE_BYTES {
            self.written = 0;
            if let Some(n) = &self.nudge {
                let _ = n.try_send(());
            }
        }
    }
}

impl Drop for Checkpoints {
    fn drop(&mut self) {
        drop(self.nudge.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
