//! What the driver reads of a session (its id and name, its secrets and PIN, the participants,
//! counts, the schedule, a snapshot, and who is on which connection), and the link secrets and
//! PIN it hands in.

use super::{ConnId, Session};
use crate::protocol::{Access, Participant, ParticipantId, RoomStats, Secret, Snapshot};
use crate::time::Micros;
use crate::timeline::Transport;

impl Session {
    /// The session id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The session name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The current join secret.
    #[must_use]
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// Gives the session a leader's link: whoever joins with `secret` is admitted and leads,
    /// taking over from anyone leading then. The members' link and rotations are unaffected.
    pub fn set_leader_secret(&mut self, secret: Option<Secret>) {
        self.leader_secret = secret;
    }

    /// The leader's link's secret, if the session has one.
    #[must_use]
    pub fn leader_secret(&self) -> Option<&Secret> {
        self.leader_secret.as_ref()
    }

    /// Gives the session a view-only link: whoever joins with `secret` can only view, and is
    /// still a viewer when joining again with it. The leader gets it with the credentials.
    pub fn set_viewer_secret(&mut self, secret: Option<Secret>) {
        self.viewer_secret = secret;
    }

    /// The view-only link's secret, if the session has one.
    #[must_use]
    pub fn viewer_secret(&self) -> Option<&Secret> {
        self.viewer_secret.as_ref()
    }

    /// The PIN for typed joins, if the leader set one.
    #[must_use]
    pub fn pin(&self) -> Option<&Secret> {
        self.pin.as_ref()
    }

    /// The PIN a restored session had (from the store, when the host starts again).
    pub fn restore_pin(&mut self, pin: Option<Secret>) {
        self.pin = pin;
    }

    /// The participants, in join order.
    pub fn participants(&self) -> impl Iterator<Item = &Participant> {
        self.members.iter().map(|m| &m.p)
    }

    /// Member counts and leader.
    #[must_use]
    pub fn stats(&self) -> RoomStats {
        RoomStats {
            members: self.members.len() as u32,
            online: self.members.iter().filter(|m| m.conn.is_some()).count() as u32,
            leader: self.leader,
        }
    }

    /// The transport schedule.
    #[must_use]
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The document access of the participant on a connection.
    #[must_use]
    pub fn access_of(&self, conn: ConnId) -> Option<Access> {
        self.members.iter().find(|m| m.conn == Some(conn)).map(|m| m.p.access)
    }

    /// The participant bound to a connection.
    #[must_use]
    pub fn participant_of(&self, conn: ConnId) -> Option<ParticipantId> {
        self.members.iter().find(|m| m.conn == Some(conn)).map(|m| m.p.id)
    }

    /// The whole state as a member sees it.
    #[must_use]
    pub fn snapshot(&self, now: Micros) -> Snapshot {
        Snapshot {
            session: self.id.clone(),
            name: self.name.clone(),
            song: self.song.clone(),
            participants: self.members.iter().map(|m| m.p.clone()).collect(),
            leader: self.leader,
            transport: {
                let mut t = self.transport.clone();
                t.prune(now);
                t
            },
            stats: self.stats(),
            cue_by: self.cue_by,
            cue_member: self.cue_member.clone(),
            now,
        }
    }

    /// The connections of online members, for the driver's broadcasts.
    pub fn connections(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.members.iter().filter_map(|m| m.conn)
    }
}
