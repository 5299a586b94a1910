//! A member's mirror of the session state, kept identical to the server's by applying every
//! server message in order. Used by the client library, the CLI and the page (the core in wasm).

use crate::protocol::{Connection, CueBy, Participant, ParticipantId, Role, RoomStats, ServerMsg, Snapshot};
use crate::time::Micros;
use crate::timeline::Transport;

/// What a server message changed in the mirror, so that a caller can emit matching events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Changed {
    /// The participant list or someone's details.
    pub participants: bool,
    /// The transport schedule.
    pub transport: bool,
    /// The whole state was replaced (welcome or snapshot).
    pub snapshot: bool,
    /// The current song.
    pub song: bool,
    /// Where the participant list changed, when one participant came, changed or went: so that
    /// a view keeping its own copy of the list (the page's) takes the one participant, not all.
    pub splice: Option<Splice>,
}

impl Changed {
    /// Everything: the whole state was replaced.
    pub const WHOLE: Changed =
        Changed { participants: true, transport: true, snapshot: true, song: true, splice: None };
}

/// A change to the participant list: at `at`, `remove` participants out (0 or 1), then the
/// mirror's participant at `at` in if `insert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ParticipantSplice"))]
pub struct Splice {
    /// Where, in the list as it was.
    pub at: u32,
    /// How many go (0 or 1).
    pub remove: u32,
    /// Whether the mirror's participant now at `at` comes in.
    pub insert: bool,
}

/// The session as one member sees it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Mirror {
    /// Who this member is.
    pub you: ParticipantId,
    /// The host clock epoch of the last welcome.
    pub epoch: u64,
    /// The session id.
    pub session: String,
    /// The session name.
    pub name: String,
    /// Participants in join order.
    pub participants: Vec<Participant>,
    /// The transport schedule.
    pub transport: Transport,
    /// Member counts and leader.
    pub stats: RoomStats,
    /// The current setlist song.
    pub song: Option<String>,
    /// Who besides the leader may send cues.
    pub cue_by: CueBy,
    /// The member the leader lets cue too, by name.
    pub cue_member: Option<String>,
    /// Whether this member may send cues now: it leads, or the leader allows it
    /// ([`CueBy::allows`]).
    pub may_cue: bool,
}

impl Mirror {
    /// A mirror seeded from a welcome.
    #[must_use]
    pub fn from_welcome(you: ParticipantId, epoch: u64, snap: Snapshot) -> Self {
        let mut m = Mirror {
            you,
            epoch,
            session: snap.session,
            name: snap.name,
            participants: snap.participants,
            transport: snap.transport,
            stats: snap.stats,
            song: snap.song,
            cue_by: snap.cue_by,
            cue_member: snap.cue_member,
            may_cue: false,
        };
        m.may_cue = m.judge_may_cue();
        m
    }

    /// Whether this member may cue, from the list and the leader's permission.
    fn judge_may_cue(&self) -> bool {
        self.is_leader() || self.me().is_some_and(|p| self.cue_by.allows(self.cue_member.as_deref(), p))
    }

    /// Applies one server message. A schedule no session could make (from a broken or hostile
    /// host) is ignored, with the message that carries it, before anything divides by its tempo.
    pub fn apply(&mut self, msg: &ServerMsg) -> Changed {
        let mut c = Changed::default();
        if !Self::plausible(msg) {
            return c;
        }
        match msg {
            ServerMsg::Welcome { you, epoch, snapshot, .. } => {
                *self = Mirror::from_welcome(*you, *epoch, snapshot.clone());
                c = Changed::WHOLE;
            }
            ServerMsg::Snapshot(snap) => {
                *self = Mirror::from_welcome(self.you, self.epoch, snap.clone());
                c = Changed::WHOLE;
            }
            ServerMsg::ParticipantJoined { participant } | ServerMsg::ParticipantUpdated { participant } => {
                let at = match self.participants.iter().position(|p| p.id == participant.id) {
                    Some(i) => {
                        self.participants[i] = participant.clone();
                        Splice { at: index(i), remove: 1, insert: true }
                    }
                    None => {
                        self.participants.push(participant.clone());
                        Splice { at: index(self.participants.len() - 1), remove: 0, insert: true }
                    }
                };
                self.recount();
                c.participants = true;
                c.splice = Some(at);
            }
            ServerMsg::ParticipantLeft { id, .. } => {
                if let Some(i) = self.participants.iter().position(|p| p.id == *id) {
                    self.participants.remove(i);
                    c.splice = Some(Splice { at: index(i), remove: 1, insert: false });
                }
                self.recount();
                c.participants = true;
            }
            // The counts follow from the participant list, which is already up to date; the
            // message matters to members that keep no list.
            ServerMsg::RoomStats(_) => {}
            ServerMsg::Transport { transport, .. } => {
                self.transport = transport.clone();
                c.transport = true;
            }
            ServerMsg::CueBy { who, member } => {
                self.cue_by = *who;
                self.cue_member.clone_from(member);
                c.snapshot = true;
            }
            ServerMsg::SongChanged { song, .. } => {
                self.song.clone_from(song);
                c.song = true;
            }
            ServerMsg::Pong { .. }
            | ServerMsg::Chat { .. }
            | ServerMsg::ChatHistory { .. }
            | ServerMsg::ChatExport { .. }
            | ServerMsg::Activity { .. }
            | ServerMsg::ActivityHistory { .. }
            | ServerMsg::Versions { .. }
            | ServerMsg::Heartbeat { .. }
            | ServerMsg::Error { .. }
            | ServerMsg::Cue { .. }
            | ServerMsg::Personal { .. }
            | ServerMsg::Credentials { .. } => {}
        }
        // Whether this member may cue follows from the list too: where it turned (made leader or
        // viewer, renamed), the whole mirror goes to a view that keeps its own copy.
        if c.participants || c.snapshot {
            let may = self.judge_may_cue();
            c.snapshot |= may != self.may_cue;
            self.may_cue = may;
        }
        c
    }

    /// Whether a message's schedule (if it carries one) is one a session could make.
    #[must_use]
    pub fn plausible(msg: &ServerMsg) -> bool {
        match msg {
            ServerMsg::Transport { transport, .. } => transport.is_valid(),
            ServerMsg::Welcome { snapshot, .. } | ServerMsg::Snapshot(snapshot) => snapshot.transport.is_valid(),
            _ => true,
        }
    }

    /// Recomputes the counts and leader from the participant list, so that they never disagree
    /// with it between a participant message and the `room_stats` that follows.
    fn recount(&mut self) {
        self.stats = RoomStats {
            members: self.participants.len() as u32,
            online: self.participants.iter().filter(|p| p.connection == Connection::Online).count() as u32,
            leader: self.participants.iter().find(|p| p.role == Role::Leader).map(|p| p.id),
        };
    }

    /// This member as the server sees it.
    #[must_use]
    pub fn me(&self) -> Option<&Participant> {
        self.participants.iter().find(|p| p.id == self.you)
    }

    /// Whether this member leads.
    #[must_use]
    pub fn is_leader(&self) -> bool {
        self.stats.leader == Some(self.you)
    }

    /// The mirror as a snapshot taken at `now`, to compare with the server's.
    #[must_use]
    pub fn to_snapshot(&self, now: Micros) -> Snapshot {
        Snapshot {
            session: self.session.clone(),
            name: self.name.clone(),
            song: self.song.clone(),
            participants: self.participants.clone(),
            leader: self.stats.leader,
            transport: {
                let mut t = self.transport.clone();
                t.prune(now);
                t
            },
            stats: self.stats,
            cue_by: self.cue_by,
            cue_member: self.cue_member.clone(),
            now,
        }
    }
}

/// A list index as the splice carries it.
fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests;
