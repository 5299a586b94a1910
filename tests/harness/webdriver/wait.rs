//! Polling until a condition holds, for drivers, pages and elements that change under a test.

use super::error::{Error, Result};
use std::time::{Duration, Instant};

/// Polls `check` every 50 ms until it returns `Some`, for at most `timeout`. An error from
/// `check` counts as "not yet" (a stale or missing element while the page changes) and is
/// reported if time runs out.
///
/// # Errors
/// [`Error::Timeout`] when the condition does not hold in time.
pub fn wait_until<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Result<Option<T>>) -> Result<T> {
    let end = Instant::now() + timeout;
    let mut last = None;
    loop {
        match check() {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last = Some(Box::new(e)),
        }
        if Instant::now() >= end {
            return Err(Error::Timeout { what: what.to_owned(), last });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_until_reports_the_last_error_on_timeout() {
        let mut n = 0;
        assert_eq!(
            wait_until("three", Duration::from_secs(5), || {
                n += 1;
                Ok((n == 3).then_some(n))
            })
            .unwrap(),
            3
        );
        let e =
            wait_until::<()>("never", Duration::from_millis(120), || Err(Error::Protocol("boom".into()))).unwrap_err();
        assert_eq!(e.to_string(), "timed out waiting for never (last error: webdriver protocol: boom)");
    }
}
