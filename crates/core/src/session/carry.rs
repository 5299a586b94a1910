//! What a session carries from one server to the next: when a node dies or drains, the node that
//! takes the session over resumes its members as the same participants (their resume tokens,
//! ids, names, roles and access) and keeps the band playing on the same beat grid.
//!
//! Host times are each server's own clock: the carried state says what host time it was taken
//! at and what wall-clock time that was, and the next server shifts every host time by the
//! difference between the two clocks' readings of the same wall-clock instant. Members see a new
//! clock epoch, and the welcome tells them that shift (a [`Rebase`] from the old epoch): they
//! move their clock estimate by it and keep time through the move, on the grid where the wall
//! clock says it was, then refine the estimate against the new clock as usual.

use super::{Member, Session};
use crate::protocol::{Connection, Participant, ParticipantId, Rebase, Role, Secret};
use crate::time::Micros;
use crate::timeline::Transport;
use serde::{Deserialize, Serialize};

/// One participant, carried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CarriedMember {
    /// As everyone saw it.
    pub participant: Participant,
    /// Its resume token.
    pub token: Secret,
}

/// A session's members and schedule, as the next server needs them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Carried {
    /// Every participant, in join order.
    pub members: Vec<CarriedMember>,
    /// The leader, online or within its grace period.
    pub leader: Option<ParticipantId>,
    /// The next participant id.
    pub next_id: ParticipantId,
    /// The schedule.
    pub transport: Transport,
    /// The current setlist song.
    pub song: Option<String>,
    /// The host time this was taken at, on the server that took it.
    pub host_at: Micros,
    /// The wall-clock time (µs since the Unix epoch) of that same instant.
    pub wall_at: i64,
    /// That server's clock epoch (0 in a state saved before it was carried).
    #[serde(default)]
    pub epoch: u64,
    /// Who besides the leader may send cues.
    #[serde(default)]
    pub cue_by: crate::protocol::CueBy,
}

/// What must change for the carried state to be saved again.
pub type CarryKey =
    (u64, ParticipantId, Option<ParticipantId>, Option<Micros>, usize, Option<String>, crate::protocol::CueBy, bool);

impl Carried {
    /// What must change for the carried state to be saved again: the roster (who, their names
    /// and access), the leader, the schedule, and whether anyone is connected. A sync report, or a
    /// second connection coming and going, changes none of these.
    ///
    /// The last one moves the carried state onto this server's clock once a member is on it: a
    /// session taken over is saved again when its first member joins here (its clock now this
    /// one's), and not before. A server that took it over and saw none of its members leaves it
    /// on the clock the members are still on, for the next to continue (saved at once, a
    /// hand-over through such a server told the members their clock continued one none of them
    /// had seen: they re-synced from nothing, and a click was lost in CI).
    #[must_use]
    pub fn key(s: &Session) -> CarryKey {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for m in &s.members {
            (m.p.id, &m.p.name, &m.p.instrument, m.p.access == crate::protocol::Access::Viewer).hash(&mut h);
        }
        let leader = s.leader.or(s.former_leader.map(|f| f.0));
        let last = s.transport.segments.last().map(|x| x.at);
        let someone = s.members.iter().any(|m| m.conn.is_some());
        (h.finish(), s.next_id, leader, last, s.transport.segments.len(), s.song.clone(), s.cue_by, someone)
    }
}

impl Session {
    /// The carried state at host time `now`, which is wall-clock time `wall_now` (µs).
    #[must_use]
    pub fn carry(&self, now: Micros, wall_now: i64) -> Carried {
        Carried {
            members: self
                .members
                .iter()
                .map(|m| CarriedMember { participant: m.p.clone(), token: m.token.clone() })
                .collect(),
            leader: self.leader.or(self.former_leader.map(|f| f.0)),
            next_id: self.next_id,
            transport: self.transport.clone(),
            song: self.song.clone(),
            host_at: now,
            wall_at: wall_now,
            epoch: self.epoch,
            cue_by: self.cue_by,
        }
    }

    /// Takes over a session carried from another server, at this server's host time `now`, which
    /// is wall-clock time `wall_now`: every member is away (resumable with its token for the
    /// resume window), the leader may take leadership back on resuming, and the schedule is moved
    /// onto this server's clock. Call it on a new session, before anyone joins.
    pub fn take_over(&mut self, c: Carried, now: Micros, wall_now: i64) {
        // The same wall-clock instant on the two clocks.
        let shift = Micros((now.0 - wall_now) - (c.host_at.0 - c.wall_at));
        self.rebase = (c.epoch != 0 && c.epoch != self.epoch).then_some(Rebase { from: c.epoch, shift });
        self.members = c
            .members
            .into_iter()
            .map(|cm| {
                let mut p = cm.participant;
                p.connection = Connection::Away;
                p.role = Role::Follower;
                p.sync = None;
                p.joined_at = p.joined_at.saturating_add(shift);
                Member {
                    p,
                    token: cm.token,
                    conn: None,
                    away_since: Some(now),
                    sync_broadcast_at: None,
                    delivery: Micros::ZERO,
                    once: false,
                }
            })
            .collect();
        self.leader = None;
        self.former_leader = c.leader.map(|l| (l, now.saturating_add(self.cfg.leader_grace)));
        self.next_id = c.next_id.max(self.members.iter().map(|m| m.p.id + 1).max().unwrap_or(1));
        let mut t = c.transport;
        for seg in &mut t.segments {
            seg.at = seg.at.saturating_add(shift);
            seg.timeline.time_origin = seg.timeline.time_origin.saturating_add(shift);
        }
        self.transport = t;
        self.song = c.song;
        self.cue_by = c.cue_by;
    }
}
