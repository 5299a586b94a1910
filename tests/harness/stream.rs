//! Waiting on a stream of events (the app's, in its tests) by condition, with a deadline.

use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

/// The first event for which `pick` says something, within 10 s.
///
/// # Panics
/// When the stream ends, or nothing comes in time: the message names `what` was awaited.
pub async fn until<E, T>(rx: &mut UnboundedReceiver<E>, what: &str, mut pick: impl FnMut(&E) -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ev)) => {
                if let Some(t) = pick(&ev) {
                    return t;
                }
            }
            Ok(None) => panic!("the event stream ended while waiting for {what}"),
            Err(_) => panic!("no {what} within 10 s"),
        }
    }
}
