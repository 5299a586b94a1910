//! The process's limit on open files, against the connections the server is to hold.
//!
//! Each connection is a file descriptor. Below `max_connections`, a further accept waits its turn
//! (the accept loop's semaphore); past the process's limit, `accept` fails (`EMFILE`) and the
//! server can only retry. Linux starts a service with a soft limit of 1 024 open files and a much
//! higher hard one, which an unprivileged process may raise its soft limit to. So the server
//! raises its soft limit as far as its connections need, and holds no more connections than the
//! limit leaves room for, with room kept for everything else it opens.

/// The soft limit macOS allows at most when the hard one is unlimited (`kern.maxfilesperproc`,
/// 10 240 unless raised): asked for more, `setrlimit` refuses outright.
const CAPPED: u64 = 10_240;

/// Descriptors kept for everything but members' connections: the listener, the store's files
/// and database connections, the journal's, the logs, the proxy's health checks.
pub const RESERVED: u64 = 128;

/// What a process should ask of its open-file limit to hold its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fit {
    /// The soft limit to set: never lower than it was, never above the hard limit.
    pub soft: u64,
    /// The connections that limit leaves room for: those asked for, or fewer.
    pub connections: usize,
}

/// How a process whose open-file limits are `soft` and `hard` holds `connections`.
#[must_use]
pub fn fit(connections: usize, soft: u64, hard: u64) -> Fit {
    let wanted = (connections as u64).saturating_add(RESERVED);
    let soft = soft.max(wanted.min(hard));
    let room = usize::try_from(soft.saturating_sub(RESERVED)).unwrap_or(usize::MAX);
    Fit { soft, connections: connections.min(room).max(1) }
}

/// Raises this process's soft limit on open files to hold `connections`, as far as its hard
/// limit allows, and returns how many connections the limit leaves room for (`connections`, or
/// fewer when the hard limit is too low: the server then says so and holds that many).
#[must_use]
pub fn raise_for(connections: usize) -> usize {
    #[cfg(unix)]
    {
        let Some((soft, hard)) = limits() else { return connections };
        let f = fit(connections, soft, hard);
        if f.soft == soft || set_soft(f.soft) {
            return f.connections;
        }
        // Refused (macOS caps the soft limit below an unlimited hard one): as far as that cap.
        let capped = fit(connections, soft, hard.min(CAPPED));
        if capped.soft > soft && set_soft(capped.soft) {
            return capped.connections;
        }
        fit(connections, soft, soft).connections
    }
    #[cfg(not(unix))]
    connections
}

/// This process's soft and hard limits on open files.
#[cfg(unix)]
fn limits() -> Option<(u64, u64)> {
    let mut now = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    #[allow(unsafe_code)]
    // SAFETY: getrlimit writes the one struct it is given, which lives on this stack.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut now) } == 0;
    read.then(|| (wide(now.rlim_cur), wide(now.rlim_max)))
}

/// Sets this process's soft limit on open files, its hard one kept; says whether it was taken.
#[cfg(unix)]
fn set_soft(soft: u64) -> bool {
    let Some((_, hard)) = limits() else { return false };
    let set = libc::rlimit { rlim_cur: narrow(soft), rlim_max: narrow(hard) };
    #[allow(unsafe_code)]
    // SAFETY: setrlimit only reads the struct it is given.
    let done = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &set) } == 0;
    done
}

/// A limit as `u64` (`rlim_t` is `u64` on most targets, `u32` on some 32-bit ones, `i64` on the
/// BSDs, whose unlimited is `i64::MAX`).
#[cfg(unix)]
#[allow(clippy::useless_conversion, clippy::unnecessary_fallible_conversions)]
fn wide(v: libc::rlim_t) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A limit as `rlim_t`, at most its largest value (no larger than the hard limit it came from).
#[cfg(unix)]
#[allow(clippy::unnecessary_fallible_conversions)]
fn narrow(v: u64) -> libc::rlim_t {
    libc::rlim_t::try_from(v).unwrap_or(libc::rlim_t::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_raised_as_far_as_the_connections_need() {
        // A service's usual limits: 1 024 soft, 524 288 hard.
        assert_eq!(fit(4096, 1024, 524_288), Fit { soft: 4096 + RESERVED, connections: 4096 });
        // Already enough: left as it is.
        assert_eq!(fit(100, 65_536, 524_288), Fit { soft: 65_536, connections: 100 });
        // No hard limit.
        assert_eq!(fit(20_000, 1024, u64::MAX), Fit { soft: 20_000 + RESERVED, connections: 20_000 });
    }

    #[test]
    fn a_hard_limit_too_low_holds_fewer_connections() {
        assert_eq!(fit(4096, 1024, 2048), Fit { soft: 2048, connections: 2048 - RESERVED as usize });
        assert_eq!(fit(4096, 1024, 1024), Fit { soft: 1024, connections: 1024 - RESERVED as usize });
        // A limit smaller than the reserve still holds one.
        assert_eq!(fit(4096, 64, 64).connections, 1);
    }

    #[cfg(unix)]
    #[test]
    fn this_process_raises_its_soft_limit_to_hold_what_it_asks_for() {
        // Lowered first (to half, which leaves the other tests of this process room), so that
        // what the test sees is the raise.
        let (soft, hard) = limits().unwrap();
        let half = soft / 2;
        assert!(set_soft(half));
        let asked = usize::try_from(half + 100).unwrap();
        let held = raise_for(asked);
        let (now, _) = limits().unwrap();
        assert!(set_soft(soft));
        assert_eq!(held, fit(asked, hard, hard).connections);
        assert!(now >= held as u64 + RESERVED && now > half, "soft {now} for {held} (was lowered to {half})");
    }
}
