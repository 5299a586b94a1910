//! Whether a member's update depends only on what the documents hold. yrs keeps an update whose
//! dependencies are missing as "pending" until they arrive; in BandSync every edit reaches the
//! host through one ordered connection per member, after the member synced, so an honest member
//! never sends one. A crafted one made yrs panic whenever the document was encoded afterwards
//! (found by fuzz/fuzz_targets/stored_rows.rs), which would break every later sync; so the host
//! refuses such updates before applying them.

use crate::DocError;
use crate::lib0::malformed;
use yrs::{ClientID, StateVector, Update};

/// Checks that `update`'s structs continue each client's clock without a gap, and that every id
/// it refers to (`refs`: origins and parents) and every range it deletes is known, in `sv` or in
/// the update itself.
///
/// # Errors
/// [`DocError::Malformed`], telling the member to sync first.
pub fn check(update: &Update, refs: &[(u64, u64)], sv: &StateVector) -> Result<(), DocError> {
    let inserted = update.insertions(true);
    // How far each client's clock is known once the update is in.
    let mut known = std::collections::HashMap::new();
    for (client, ranges) in inserted.iter() {
        let mut end = sv.get(client);
        let mut ranges: Vec<_> = ranges.into_iter().cloned().collect();
        ranges.sort_by_key(|r| r.start);
        for r in ranges {
            if r.start > end {
                return Err(gap(format!("client {client} continues at clock {} after {end}", r.start)));
            }
            end = end.max(r.end);
        }
        known.insert(*client, end);
    }
    let known_end = |c: &ClientID| known.get(c).copied().unwrap_or_else(|| sv.get(c));
    for &(client, clock) in refs {
        let c = ClientID::new(client);
        if clock >= u64::from(known_end(&c)) {
            return Err(gap(format!("a struct refers to client {client} clock {clock}")));
        }
    }
    for (client, ranges) in update.delete_set().iter() {
        let end = known_end(client);
        if ranges.into_iter().any(|r| r.end > end) {
            return Err(gap(format!("a deletion reaches past client {client} clock {end}")));
        }
    }
    Ok(())
}

fn gap(what: String) -> DocError {
    malformed(format!("the update depends on edits the host does not have ({what}); sync first"))
}
