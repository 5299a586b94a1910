//! Which host clock a schedule's times are read on.
//!
//! Every time in a transport schedule is host time: the clock of the server running the session.
//! That clock changes in two ways:
//! - a **restarted host** starts a new clock (a new epoch, reading from zero), unrelated to the old
//!   one;
//! - a session **carried to another server** (a failover, a drained node) goes on on that server's
//!   clock, which continues the old one at a known shift ([`Rebase`]).
//!
//! Whatever remembers host times across schedules (the click and MIDI cursors, a frame map) must
//! move them onto the new clock together with the schedule, or it reads the old clock's times on
//! the new one: a follower whose cursor stayed on the old clock lost clicks at a drained node's
//! hand-over (shift −0.4 s: one beat at 150 BPM), and stayed silent after a host restart for as
//! long as the old host had run. One rule, here, for all of them.

use crate::protocol::Rebase;
use crate::time::Micros;
use serde::{Deserialize, Serialize};

/// The host clock a schedule is on: its epoch, and how it continues the clock before it when it
/// does (a session carried to another server).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HostAxis {
    /// The clock's epoch (0: unknown, as in tests that use one clock).
    pub epoch: u64,
    /// The clock this one continues, and at what shift.
    pub continues: Option<Rebase>,
}

impl HostAxis {
    /// The clock of `epoch`, continuing no other.
    #[must_use]
    pub fn new(epoch: u64) -> Self {
        HostAxis { epoch, continues: None }
    }
}

/// Remembers which host clock the times a cursor handed out are on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AxisFollower {
    epoch: Option<u64>,
}

impl AxisFollower {
    /// The epoch followed, once a schedule came.
    #[must_use]
    pub fn epoch(&self) -> Option<u64> {
        self.epoch
    }

    /// The next schedule is on `to`. Returns what to add to the host times remembered so far to
    /// read them on `to`: zero on the same clock (or before any), the shift when `to` continues
    /// the clock followed; `None` when it does not (a restarted host): forget them.
    pub fn follow(&mut self, to: HostAxis) -> Option<Micros> {
        let from = self.epoch.replace(to.epoch);
        match (from, to.continues) {
            (None, _) => Some(Micros::ZERO),
            (Some(e), _) if e == to.epoch => Some(Micros::ZERO),
            (Some(e), Some(r)) if r.from == e => Some(r.shift),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn carried(from: u64, to: u64, shift: i64) -> HostAxis {
        HostAxis { epoch: to, continues: Some(Rebase { from, shift: Micros(shift) }) }
    }

    #[test]
    fn the_same_clock_moves_nothing_a_continued_one_moves_by_its_shift_another_forgets() {
        let mut f = AxisFollower::default();
        assert_eq!(f.follow(HostAxis::new(7)), Some(Micros::ZERO), "the first clock");
        assert_eq!(f.follow(HostAxis::new(7)), Some(Micros::ZERO));
        // The same schedule told again keeps its rebase: on the same clock it moves nothing.
        assert_eq!(f.follow(carried(7, 9, -400_000)), Some(Micros(-400_000)));
        assert_eq!(f.follow(carried(7, 9, -400_000)), Some(Micros::ZERO));
        assert_eq!(f.epoch(), Some(9));
        // A clock continuing one this follower never was on is a clock it cannot relate.
        assert_eq!(f.follow(carried(3, 11, 5)), None);
        assert_eq!(f.follow(HostAxis::new(12)), None, "a restarted host");
        assert_eq!(f.epoch(), Some(12));
    }
}
