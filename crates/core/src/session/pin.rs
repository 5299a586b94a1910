//! PINs, and guessing them. A PIN is 6 to 8 digits (a million at least). Each source (a client's
//! address, as the server sees it) gets [`FREE_PIN_TRIES`] wrong PINs, then must wait 1 s, 2 s,
//! 4 s, ... up to [`MAX_PIN_WAIT`] after each further one; a right PIN clears its count. So one
//! guesser is down to one try an hour after about twenty, and nobody else waits for it. Only a
//! guess spread over many addresses reaches [`MAX_PIN_FAILURES`] wrong PINs a minute across all
//! sources, which pauses PIN joins for a minute (join links keep working).

use super::Refusal;
use crate::protocol::ErrorCode;
use crate::time::Micros;
use std::collections::{HashMap, VecDeque};

/// How many digits a PIN has.
pub const PIN_DIGITS: std::ops::RangeInclusive<usize> = 6..=8;

/// Wrong PINs a source may send before it has to wait.
pub const FREE_PIN_TRIES: u32 = 3;

/// The longest a source waits after a wrong PIN.
pub const MAX_PIN_WAIT: Micros = Micros::from_secs(3600);

/// Wrong PINs a minute, from every source together, before PIN joins pause for a minute.
pub const MAX_PIN_FAILURES: usize = 60;

/// Sources remembered before those that may try again are forgotten.
const MAX_SOURCES: usize = 4096;

/// Whether `pin` is a valid PIN.
///
/// # Errors
/// A sentence saying what a PIN is.
pub fn check_pin(pin: &str) -> Result<(), String> {
    if PIN_DIGITS.contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!("a PIN is {} to {} digits", PIN_DIGITS.start(), PIN_DIGITS.end()))
    }
}

/// Wrong PINs by source, and across sources.
#[derive(Debug, Default)]
pub(crate) struct PinGuard {
    /// Per source: wrong PINs in a row, and when it may try again.
    by_source: HashMap<String, (u32, Micros)>,
    /// When the recent wrong PINs (from anyone) came.
    recent: VecDeque<Micros>,
}

impl PinGuard {
    /// Whether `source` may try a PIN now.
    pub(crate) fn check(&mut self, now: Micros, source: &str) -> Result<(), Refusal> {
        let minute_ago = now - Micros::from_secs(60);
        while self.recent.front().is_some_and(|&t| t < minute_ago) {
            self.recent.pop_front();
        }
        if self.recent.len() >= MAX_PIN_FAILURES {
            return Err((
                ErrorCode::TooManyAttempts,
                "too many wrong PINs from many places; PIN joins are paused for a minute (join links still work)"
                    .into(),
            ));
        }
        if let Some(&(_, until)) = self.by_source.get(source) {
            if now < until {
                let secs = ((until - now).0 + 999_999) / 1_000_000;
                return Err((ErrorCode::TooManyAttempts, format!("too many wrong PINs; try again in {secs} s")));
            }
        }
        Ok(())
    }

    /// A wrong PIN from `source`.
    pub(crate) fn failed(&mut self, now: Micros, source: &str) {
        self.recent.push_back(now);
        if self.by_source.len() >= MAX_SOURCES {
            self.by_source.retain(|_, (_, until)| *until > now);
        }
        let e = self.by_source.entry(source.to_owned()).or_insert((0, now));
        e.0 += 1;
        if e.0 > FREE_PIN_TRIES {
            let wait = Micros::from_secs(1).0.saturating_mul(1 << (e.0 - FREE_PIN_TRIES - 1).min(20));
            e.1 = now.saturating_add(Micros(wait.min(MAX_PIN_WAIT.0)));
        }
    }

    /// A right PIN from `source`.
    pub(crate) fn succeeded(&mut self, source: &str) {
        self.by_source.remove(source);
    }

    /// A new PIN: old guesses say nothing about it.
    pub(crate) fn clear(&mut self) {
        self.by_source.clear();
        self.recent.clear();
    }
}
