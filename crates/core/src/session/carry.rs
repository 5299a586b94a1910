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
///
/// The store keeps it in two parts ([`CarriedParts`]): the members (most of its bytes) only when
/// they change, the rest with every change it carries. The rest's JSON leaves `members` out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Carried {
    /// Every participant, in join order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
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
    /// The member the leader lets cue too, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cue_member: Option<String>,
}

/// The carried state as the store keeps it, JSON in two parts: the schedule (all but the
/// members), written with every change the session carries, and the roster (the members with
/// their resume tokens), written only when it changed since the last one written.
#[derive(Debug, Clone, PartialEq)]
pub struct CarriedParts {
    /// The carried state without its members.
    pub schedule: String,
    /// The members, if they are to be written.
    pub roster: Option<String>,
}

/// What must change for the carried state (`rest`), or its roster too (`roster`), to be saved
/// again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarryKey {
    /// The members as carried: who, their names, instruments, colours and access.
    pub roster: u64,
    /// The next id, the leader, the schedule, the song, who may cue (and the member named), and
    /// whether anyone is on.
    #[allow(clippy::type_complexity)]
    pub rest: (
        ParticipantId,
        Option<ParticipantId>,
        Option<Micros>,
        usize,
        Option<String>,
        (crate::protocol::CueBy, Option<String>),
        bool,
    ),
}

impl Carried {
    /// The carried state read back from its two parts ([`CarriedParts`]). A schedule that holds
    /// members was saved whole, by a build from before the parts, and after any roster: its
    /// members are the ones.
    ///
    /// # Errors
    /// When either part is not a carried state's JSON.
    // Inline: built where it is called (the server), not in the core, whose page build (wasm)
    // never reads a carried state: its parsers there made the page 0.8 kB bigger.
    #[inline]
    pub fn from_parts(schedule: &str, roster: Option<&str>) -> Result<Carried, serde_json::Error> {
        let mut c: Carried = serde_json::from_str(schedule)?;
        if let (true, Some(r)) = (c.members.is_empty(), roster) {
            c.members = serde_json::from_str(r)?;
        }
        Ok(c)
    }

    /// What must change for the carried state to be saved again: the roster (who, their names,
    /// instruments, colours and access), the leader, the schedule, and whether anyone is connected. A sync
    /// report, or a second connection coming and going, changes none of these.
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
            (m.p.id, &m.p.name, &m.p.instrument, &m.p.color, m.p.access == crate::protocol::Access::Viewer)
                .hash(&mut h);
        }
        let leader = s.leader.or(s.former_leader.map(|f| f.0));
        let last = s.transport.segments.last().map(|x| x.at);
        let someone = s.members.iter().any(|m| m.conn.is_some());
        CarryKey {
            roster: h.finish(),
            rest: (
                s.next_id,
                leader,
                last,
                s.transport.segments.len(),
                s.song.clone(),
                (s.cue_by, s.cue_member.clone()),
                someone,
            ),
        }
    }
}

impl Session {
    /// The carried state at host time `now`, which is wall-clock time `wall_now` (µs).
    #[must_use]
    pub fn carry(&self, now: Micros, wall_now: i64) -> Carried {
        Carried { members: self.carried_members(), ..self.carried_schedule(now, wall_now) }
    }

    /// [`Session::carry`] as the store keeps it: the schedule, and the roster if `roster`.
    #[must_use]
    pub fn carry_parts(&self, now: Micros, wall_now: i64, roster: bool) -> CarriedParts {
        let json = |r: serde_json::Result<String>| r.expect("a carried state serialises");
        CarriedParts {
            schedule: json(serde_json::to_string(&self.carried_schedule(now, wall_now))),
            roster: roster.then(|| json(serde_json::to_string(&self.carried_members()))),
        }
    }

    /// The members as carried. Their sync quality is not: it was judged on this server's clock,
    /// and the next server asks for it again.
    fn carried_members(&self) -> Vec<CarriedMember> {
        let member = |m: &Member| CarriedMember {
            participant: Participant { sync: None, ..m.p.clone() },
            token: m.token.clone(),
        };
        self.members.iter().map(member).collect()
    }

    /// The carried state without its members.
    fn carried_schedule(&self, now: Micros, wall_now: i64) -> Carried {
        Carried {
            members: Vec::new(),
            leader: self.leader.or(self.former_leader.map(|f| f.0)),
            next_id: self.next_id,
            transport: self.transport.clone(),
            song: self.song.clone(),
            host_at: now,
            wall_at: wall_now,
            epoch: self.epoch,
            cue_by: self.cue_by,
            cue_member: self.cue_member.clone(),
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
        self.cue_member = c.cue_member;
    }
}
