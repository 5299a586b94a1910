//! A LAN browse for sessions: mDNS answers become [`DiscoveryEvent`]s on a thread of its own, until
//! the browse is dropped or its sink stops listening.

use crate::Sink;
use crate::error::AppError;
use crate::events::{DiscoveredSession, DiscoveryEvent};
use bandsync_discovery::Found;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A running browse; dropping it stops the thread within a quarter second.
pub(crate) struct Browse {
    stop: Arc<AtomicBool>,
}

impl Browse {
    /// Starts browsing on `interfaces` (all when empty).
    pub(crate) fn start(interfaces: &[String], sink: Arc<dyn Sink<DiscoveryEvent>>) -> Result<Self, AppError> {
        let mut browser = bandsync_discovery::browse(interfaces).map_err(|e| AppError::Mdns(e.to_string()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("bandsync-discover".into())
            .spawn(move || {
                while !flag.load(Ordering::Acquire) {
                    let Some(found) = browser.next(Duration::from_millis(250)) else { continue };
                    let ev = match found {
                        Found::Added(s) => DiscoveryEvent::Found { session: DiscoveredSession::from(&s) },
                        Found::Updated(s) => DiscoveryEvent::Updated { session: DiscoveredSession::from(&s) },
                        Found::Removed { name, session } => DiscoveryEvent::Removed { name, id: session },
                    };
                    if !sink.send(ev) {
                        break;
                    }
                }
                browser.stop();
            })
            .map_err(|e| AppError::Mdns(format!("cannot start browsing: {e}")))?;
        Ok(Browse { stop })
    }
}

impl Drop for Browse {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}
