//! Who gets into a session (the secret, a PIN, a resume token) and who goes away.

use super::names::{clean_instrument, clean_name};
use super::{ConnId, JoinRequest, Member, Output, PALETTE, Refusal, Session};
use crate::protocol::{
    Access, ActivityKind, Connection, ErrorCode, LeaveReason, Participant, ParticipantId, Role, Secret, ServerMsg,
};
use crate::time::Micros;

impl Session {
    /// A new connection's `join`, already checked for protocol version and session id.
    ///
    /// A join that does not resume a participant makes a new one, whose resume token is the one
    /// the join proposed (see [`crate::protocol::ClientMsg::Join`]) or else `fresh_token`.
    /// On success the welcome, `participant_joined` (or `participant_updated`) and `room_stats`
    /// are queued. On refusal an error is queued for `conn` and the state does not change.
    pub fn handle_join(&mut self, now: Micros, conn: ConnId, req: JoinRequest, fresh_token: Secret) {
        self.transport.prune(now);
        let v = req.v;
        let result = self.join(now, conn, req, fresh_token);
        if let Err((code, message)) = result {
            let code = code.spoken_in(v);
            self.out.push_back(Output::Send(conn, ServerMsg::error(code, message, Some("join"))));
        }
    }

    pub(super) fn join(
        &mut self,
        now: Micros,
        conn: ConnId,
        req: JoinRequest,
        fresh_token: Secret,
    ) -> Result<(), Refusal> {
        if self.participant_of(conn).is_some() {
            return Err((ErrorCode::AlreadyJoined, "this connection has already joined".into()));
        }
        let name = clean_name(&req.name, "name")?;
        let instrument = clean_instrument(req.instrument.as_deref())?;
        if let Some(tok) = req.resume.as_ref() {
            if let Some(idx) = self.members.iter().position(|m| m.token.matches(tok.expose())) {
                // The resume token is itself a secret: a member already in stays in, even after
                // the join link was rotated.
                return self.resume(now, conn, idx, name, instrument, req.leader);
            }
        }
        let leader_link =
            req.secret.as_ref().is_some_and(|s| self.leader_secret.as_ref().is_some_and(|l| l.matches(s.expose())));
        let view_link = !leader_link
            && req.secret.as_ref().is_some_and(|s| self.viewer_secret.as_ref().is_some_and(|v| v.matches(s.expose())));
        if !leader_link && !view_link {
            self.authorize(now, req.secret.as_ref(), req.pin.as_ref(), req.source.as_deref())?;
        }
        // A token the member proposed for its first join (and resent with every join until a
        // welcome reaches it) becomes its token: a join the session handled but whose welcome
        // never arrived (the connection stalled, the phone locked) is resumed by the next join,
        // not doubled by it.
        let token = match req.resume {
            Some(t) if proposable(t.expose()) => t,
            _ => fresh_token,
        };
        let forgotten = if self.members.len() >= self.cfg.max_members {
            let Some(id) = self.forget_longest_away() else {
                return Err((
                    ErrorCode::Full,
                    format!("the session is full ({} members online)", self.cfg.max_members),
                ));
            };
            Some(id)
        } else {
            None
        };
        let id = self.next_id;
        self.next_id += 1;
        let role = if (req.leader || leader_link) && !view_link && self.leader.is_none() {
            self.leader = Some(id);
            self.former_leader = None;
            Role::Leader
        } else {
            Role::Follower
        };
        let p = Participant {
            id,
            name,
            instrument,
            role,
            access: if view_link { Access::Viewer } else { Access::Editor },
            connection: Connection::Online,
            color: PALETTE[(id as usize - 1) % PALETTE.len()].into(),
            sync: None,
            joined_at: now,
        };
        self.members.push(Member {
            p: p.clone(),
            token: token.clone(),
            conn: Some(conn),
            away_since: None,
            sync_broadcast_at: None,
            delivery: Micros::ZERO,
            once: req.once,
        });
        self.welcome(now, conn, id, token, false);
        if req.leader && !leader_link {
            self.tell_why_not_leading(conn, id);
        }
        // After the welcome, which is always a member's first message.
        if let Some(gone) = forgotten {
            self.out
                .push_back(Output::Broadcast(ServerMsg::ParticipantLeft { id: gone, reason: LeaveReason::Timeout }));
            self.activity(ActivityKind::Leave, Some(gone), "dropped out (its place was needed)".into());
        }
        let summary = (!req.once).then(|| {
            format!(
                "{}{} joined{}",
                p.name,
                p.instrument.as_ref().map(|i| format!(" ({i})")).unwrap_or_default(),
                if p.role == Role::Leader { " and leads" } else { "" }
            )
        });
        // PROTOCOL §2.3's order: the participant, the room's counts, then the activity entry.
        self.out.push_back(Output::Broadcast(ServerMsg::ParticipantJoined { participant: p }));
        self.broadcast_stats();
        if let Some(summary) = summary {
            self.activity(ActivityKind::Join, Some(id), summary);
        }
        if leader_link && self.leader != Some(id) {
            // The organizer's chosen leader takes over.
            self.set_leader(Some(id));
        }
        Ok(())
    }

    pub(super) fn resume(
        &mut self,
        now: Micros,
        conn: ConnId,
        idx: usize,
        name: String,
        instrument: Option<String>,
        claim: bool,
    ) -> Result<(), Refusal> {
        let m = &mut self.members[idx];
        if let Some(old) = m.conn.replace(conn) {
            self.out.push_back(Output::Close(old, crate::protocol::CLOSE_REPLACED));
        }
        m.away_since = None;
        m.p.connection = Connection::Online;
        m.p.name = name;
        m.p.instrument = instrument;
        let id = m.p.id;
        let token = m.token.clone();
        let grace = self.former_leader.is_some_and(|(f, until)| f == id && now < until);
        let viewer = self.members[idx].p.access == Access::Viewer;
        if self.leader.is_none() && (grace || (claim && !viewer)) {
            self.leader = Some(id);
            self.former_leader = None;
            self.members[idx].p.role = Role::Leader;
        }
        self.welcome(now, conn, id, token, true);
        if claim {
            self.tell_why_not_leading(conn, id);
        }
        self.broadcast_participant(id);
        self.broadcast_stats();
        Ok(())
    }

    pub(super) fn welcome(&mut self, now: Micros, conn: ConnId, you: ParticipantId, resume: Secret, resumed: bool) {
        let snapshot = self.snapshot(now);
        self.out.push_back(Output::Send(
            conn,
            ServerMsg::Welcome {
                v: crate::protocol::PROTOCOL_VERSION,
                you,
                resume,
                resumed,
                epoch: self.epoch,
                rebase: self.rebase,
                ping_ms: self.cfg.ping_ms,
                snapshot,
                personal: self.personal_of(you).map(Box::new),
            },
        ));
        if self.leader == Some(you) {
            self.send_credentials();
        }
    }

    /// What a link's secret lets a plain document connection (`/doc/{session}?k=…`) do: edit with
    /// the members' or the leader's link, read with the view-only link, nothing with any other.
    #[must_use]
    pub fn link_access(&self, secret: &str) -> Option<Access> {
        let is = |s: Option<&Secret>| s.is_some_and(|s| s.matches(secret));
        if is(Some(&self.secret)) || is(self.leader_secret.as_ref()) {
            Some(Access::Editor)
        } else if is(self.viewer_secret.as_ref()) {
            Some(Access::Viewer)
        } else {
            None
        }
    }

    /// Checks a join's secret or PIN.
    pub(super) fn authorize(
        &mut self,
        now: Micros,
        secret: Option<&Secret>,
        pin: Option<&Secret>,
        source: Option<&str>,
    ) -> Result<(), Refusal> {
        if secret.is_some_and(|s| self.secret.matches(s.expose())) {
            return Ok(());
        }
        if let Some(p) = pin {
            let source = source.unwrap_or("unknown");
            self.pin_guard.check(now, source)?;
            if self.pin.as_ref().is_some_and(|mine| mine.matches(p.expose())) {
                self.pin_guard.succeeded(source);
                return Ok(());
            }
            self.pin_guard.failed(now, source);
            return Err((ErrorCode::WrongPin, "wrong PIN".into()));
        }
        if secret.is_some() {
            return Err((ErrorCode::BadSecret, "this join link is not (or no longer) valid; ask for a new one".into()));
        }
        Err((ErrorCode::AuthRequired, "this session needs its join link or PIN".into()))
    }

    /// Makes room in a full session by forgetting the participant away the longest (it could only
    /// have resumed within the resume window): joins that drop must not lock honest members out.
    /// Returns whom it forgot, or `None` when everyone is online.
    fn forget_longest_away(&mut self) -> Option<ParticipantId> {
        let idx = (0..self.members.len())
            .filter(|&i| self.members[i].away_since.is_some())
            .min_by_key(|&i| self.members[i].away_since)?;
        let id = self.members.remove(idx).p.id;
        if self.former_leader.is_some_and(|(f, _)| f == id) {
            self.former_leader = None;
        }
        Some(id)
    }

    /// Sends the join credentials to the leader.
    pub(super) fn send_credentials(&mut self) {
        let Some(l) = self.leader else { return };
        let Some(conn) = self.members.iter().find(|m| m.p.id == l).and_then(|m| m.conn) else { return };
        self.out.push_back(Output::Send(
            conn,
            ServerMsg::Credentials {
                secret: self.secret.clone(),
                pin: self.pin.clone(),
                viewer: self.viewer_secret.clone(),
            },
        ));
    }

    /// The store could not save the secret a rotation made: the rotation is undone. The
    /// credentials it queued are withdrawn (the host holds those it sent until the store answers,
    /// and drops them), `old` is the secret again (so every link out there keeps working, and a
    /// restart keeps agreeing with it), and the leader is told, then given the credentials in
    /// force.
    pub fn rotation_not_saved(&mut self, old: Secret) {
        let unsaved = std::mem::replace(&mut self.secret, old);
        self.out.retain(|o| !matches!(o, Output::Send(_, ServerMsg::Credentials { secret, .. }) if *secret == unsaved));
        self.tell_leader_unsaved(
            "the new link could not be saved, so the link was not changed; the old one still works",
            "rotate_secret",
        );
        self.send_credentials();
    }

    /// The store could not save a new PIN: it is undone before anyone hears of it, as a rotation
    /// is ([`Session::rotation_not_saved`]): `old` is the PIN again, and the leader is told.
    pub fn pin_not_saved(&mut self, old: Option<Secret>) {
        let unsaved = std::mem::replace(&mut self.pin, old);
        self.out.retain(|o| !matches!(o, Output::Send(_, ServerMsg::Credentials { pin, .. }) if *pin == unsaved));
        self.tell_leader_unsaved(
            "the PIN could not be saved, so it was not changed; the old one still works",
            "set_pin",
        );
        self.send_credentials();
    }

    /// Why `id` may not lead now, if it may not (the refusal of a claim): a viewer never may,
    /// because leading hands over the join secret; an editor not while someone else leads.
    pub(super) fn cannot_lead(&self, id: ParticipantId) -> Option<Refusal> {
        if self.members.iter().any(|m| m.p.id == id && m.p.access == Access::Viewer) {
            return Some((ErrorCode::ReadOnly, "a viewer cannot lead; ask the leader for edit rights".into()));
        }
        let l = self.leader.filter(|&l| l != id)?;
        let name = self.members.iter().find(|m| m.p.id == l).map_or("someone", |m| m.p.name.as_str());
        Some((ErrorCode::LeaderTaken, format!("{name} leads; ask them to hand over")))
    }

    /// A join that asked to lead and was let in as a follower is told why, after its welcome
    /// (it is in the session either way): asking is not silently ignored.
    fn tell_why_not_leading(&mut self, conn: ConnId, id: ParticipantId) {
        if let Some((code, message)) = self.cannot_lead(id) {
            let message = format!("you joined as a follower: {message}");
            self.out.push_back(Output::Send(conn, ServerMsg::error(code, message, Some("join"))));
        }
    }

    /// Tells the leader (if connected) that its change to the credentials was not saved.
    fn tell_leader_unsaved(&mut self, message: &str, about: &str) {
        let Some(l) = self.leader else { return };
        let Some(conn) = self.members.iter().find(|m| m.p.id == l).and_then(|m| m.conn) else { return };
        self.out.push_back(Output::Send(conn, ServerMsg::error(ErrorCode::Internal, message, Some(about))));
    }

    /// A connection closed or was found dead. Its participant becomes away, and leadership is
    /// freed with a grace period for the leader to come back. Unknown connections are ignored.
    pub fn handle_disconnect(&mut self, now: Micros, conn: ConnId) {
        let Some(idx) = self.members.iter().position(|m| m.conn == Some(conn)) else { return };
        let m = &mut self.members[idx];
        m.conn = None;
        m.away_since = Some(now);
        m.p.connection = Connection::Away;
        let id = m.p.id;
        if self.leader == Some(id) {
            self.leader = None;
            self.members[idx].p.role = Role::Follower;
            self.former_leader = Some((id, now.saturating_add(self.cfg.leader_grace)));
        }
        self.broadcast_participant(id);
        self.broadcast_stats();
    }
}

/// Whether a token a member proposed may become its resume token: as long and as plain as the
/// server's own (at least 128 bits written in hex or base64url), so that it is as hard to guess.
fn proposable(t: &str) -> bool {
    (32..=64).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
