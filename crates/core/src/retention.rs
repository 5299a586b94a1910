//! How much of a session's history is kept: its saved versions, chat and activity.
//!
//! Sans-IO: the server's journal asks which versions to drop (wall-clock `now` is an input) and
//! deletes them from storage; chat and activity keep their newest entries by count.
//!
//! Versions are thinned as a backup tool thins snapshots:
//! - a version a member saved with a label (`named`) is kept, up to [`MAX_NAMED`] of them;
//! - the automatic ones (one per burst of edits) are all kept for a day, at most
//!   [`MAX_RECENT`] of them;
//! - then the newest of each hour for 30 days, then the newest of each day for a year;
//! - the newest version is always kept.
//!
//! So a session holds at most `MAX_NAMED + MAX_RECENT + 29 × 24 + 335` versions, however long it
//! lives and however fast its members edit.

/// The newest chat messages a session keeps.
pub const CHAT_KEPT: u64 = 10_000;
/// The newest activity events a session keeps.
pub const ACTIVITY_KEPT: u64 = 10_000;
/// Labelled versions kept (the oldest go first beyond this).
pub const MAX_NAMED: usize = 200;
/// Automatic versions kept from the last day before they are thinned to one an hour.
pub const MAX_RECENT: usize = 100;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Every automatic version is kept this long (up to [`MAX_RECENT`]).
pub const EVERY_FOR_MS: i64 = DAY_MS;
/// Then one an hour, to this age.
pub const HOURLY_FOR_MS: i64 = 30 * DAY_MS;
/// Then one a day, to this age; older ones go.
pub const DAILY_FOR_MS: i64 = 365 * DAY_MS;

/// A version as the thinning rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kept {
    /// Its id (increasing with time).
    pub id: u64,
    /// When it was saved, Unix milliseconds.
    pub at: i64,
    /// Whether a member saved it with a label.
    pub named: bool,
}

/// The versions to drop from `versions` (any order) at wall-clock time `now_ms`, by id.
#[must_use]
pub fn versions_to_drop(versions: &[Kept], now_ms: i64) -> Vec<u64> {
    let mut sorted: Vec<Kept> = versions.to_vec();
    // Newest first: the first one seen in a bucket is the one kept.
    sorted.sort_by_key(|v| std::cmp::Reverse(v.id));
    let newest = sorted.first().map(|v| v.id);
    let mut drop = Vec::new();
    let (mut named, mut recent) = (0, 0);
    let mut bucket_seen: Option<(i64, i64)> = None;
    for v in sorted {
        if Some(v.id) == newest {
            if v.named {
                named += 1;
            } else {
                recent += 1;
            }
            bucket_seen = Some(bucket(v.at, now_ms));
            continue;
        }
        if v.named {
            named += 1;
            if named > MAX_NAMED {
                drop.push(v.id);
            }
            continue;
        }
        let age = now_ms.saturating_sub(v.at);
        if age < EVERY_FOR_MS && recent < MAX_RECENT {
            recent += 1;
            bucket_seen = Some(bucket(v.at, now_ms));
            continue;
        }
        let b = bucket(v.at, now_ms);
        if age >= DAILY_FOR_MS || bucket_seen == Some(b) {
            drop.push(v.id);
        } else {
            bucket_seen = Some(b);
        }
    }
    drop.sort_unstable();
    drop
}

/// The bucket a version of time `at` falls in: its hour within 30 days, its day after that.
/// The second field tells the two sizes apart.
fn bucket(at: i64, now_ms: i64) -> (i64, i64) {
    if now_ms.saturating_sub(at) < HOURLY_FOR_MS { (at.div_euclid(HOUR_MS), 0) } else { (at.div_euclid(DAY_MS), 1) }
}

/// The highest id of a log whose newest id is `newest` that falls out when `kept` are kept
/// (ids are consecutive from 1), or `None` when everything fits.
#[must_use]
pub fn dropped_through(newest: u64, kept: u64) -> Option<u64> {
    newest.checked_sub(kept).filter(|&n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn auto(id: u64, at: i64) -> Kept {
        Kept { id, at, named: false }
    }

    #[test]
    fn a_day_of_versions_is_kept_whole() {
        let v: Vec<Kept> = (1..=50).map(|i| auto(i, NOW - DAY_MS + 1000 + i as i64 * 60_000)).collect();
        assert!(versions_to_drop(&v, NOW).is_empty());
    }

    #[test]
    fn a_busy_day_keeps_its_newest_hundred_then_one_an_hour() {
        // 300 versions a minute apart over the last five hours.
        let v: Vec<Kept> = (1..=300).map(|i| auto(i, NOW - (300 - i as i64) * 60_000)).collect();
        let drop = versions_to_drop(&v, NOW);
        let kept: Vec<u64> = (1..=300).filter(|i| !drop.contains(i)).collect();
        assert!(kept.ends_with(&(201..=300).collect::<Vec<_>>()), "the newest hundred");
        // Before those, one per hour that still has versions.
        let older: Vec<i64> = kept.iter().filter(|&&i| i <= 200).map(|&i| v[i as usize - 1].at / HOUR_MS).collect();
        let mut hours = older.clone();
        hours.dedup();
        assert_eq!(older, hours, "one an hour: {kept:?}");
        assert!(!older.is_empty() && older.len() <= 5, "{kept:?}");
    }

    #[test]
    fn old_versions_thin_to_one_an_hour_then_one_a_day_then_go() {
        let mut v = Vec::new();
        let mut id = 0;
        // Every 10 minutes from 400 days ago until 2 days ago.
        let mut at = NOW - 400 * DAY_MS;
        while at < NOW - 2 * DAY_MS {
            id += 1;
            v.push(auto(id, at));
            at += 600_000;
        }
        let drop = versions_to_drop(&v, NOW);
        let kept: Vec<&Kept> = v.iter().filter(|k| !drop.contains(&k.id)).collect();
        let (hourly, daily): (Vec<&&Kept>, Vec<&&Kept>) = kept.iter().partition(|k| NOW - k.at < HOURLY_FOR_MS);
        // 28 days whole in the hourly window (from 30 days ago to 2 days ago), 24 an hour.
        assert!((28 * 24..=28 * 24 + 1).contains(&hourly.len()), "{}", hourly.len());
        assert!((334..=336).contains(&daily.len()), "{}", daily.len());
        assert!(kept.iter().all(|k| NOW - k.at < DAILY_FOR_MS), "nothing a year old");
        // Thinning again changes nothing.
        let again: Vec<Kept> = kept.iter().map(|k| **k).collect();
        assert_eq!(versions_to_drop(&again, NOW), Vec::<u64>::new());
    }

    #[test]
    fn named_versions_stay_up_to_their_limit_and_the_newest_always_stays() {
        let mut v: Vec<Kept> = (1..=250).map(|i| Kept { id: i, at: NOW - 500 * DAY_MS, named: true }).collect();
        v.push(auto(251, NOW - 600 * DAY_MS));
        let drop = versions_to_drop(&v, NOW);
        assert_eq!(drop, (1..=50).collect::<Vec<_>>(), "the oldest 50 named go; the newest stays however old");
    }

    #[test]
    fn logs_drop_what_falls_past_their_count() {
        assert_eq!(dropped_through(10, 10), None);
        assert_eq!(dropped_through(3, 10), None);
        assert_eq!(dropped_through(10_005, CHAT_KEPT), Some(5));
    }
}
