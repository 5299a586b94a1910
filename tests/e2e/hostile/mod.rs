//! Hostile input, black-box over real sockets: crafted y-sync, amplification, reconnect floods,
//! socket hoarding, oversized documents, members that stop reading, side doors in the viewer role,
//! invisible names, slot exhaustion. Each case then checks that an honest member, from another
//! address, still joins and is answered by the session task itself (not only by its connection).
//!
//! Attackers connect from other loopback addresses (127.0.0.2 and up) than the honest member
//! (127.0.0.1), as they would from other machines: the limits per source address apply to them.
//!
//! - [`frames`]: crafted y-sync and awareness, amplification, the document size limit, updates
//!   refused partway through, XML types;
//! - [`floods`]: reconnect floods, hoarded sockets, members that stop reading, shutdown;
//! - [`access`]: the viewer role, names, slot exhaustion, PIN guessing.

mod access;
mod floods;
mod frames;

pub(super) use bandsync_e2e::hostile::{binary, honest_member_is_served, ip, member_from, p99, probe, sync_msg, var};
