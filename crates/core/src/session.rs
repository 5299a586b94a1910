//! The session state machine: who is there, who leads, and the transport schedule.
//!
//! Sans-IO in the quinn-proto style. The driver feeds it [`Session::handle_join`],
//! [`Session::handle_input`], [`Session::handle_disconnect`] and [`Session::handle_timeout`], each
//! with `now` on the host clock, and drains [`Session::poll_output`]; [`Session::poll_timeout`]
//! says when to call `handle_timeout` next. There are no sockets, tasks or clocks in here, so the
//! tests run in simulated time. Version checks, frame limits and rate limits happen in the server
//! before a message gets here; resume tokens come from the server's random source.

use crate::chat::ActivityKind;
use crate::protocol::{
    Access, ClientMsg, Connection, ErrorCode, Participant, ParticipantId, Role, RoomStats, Secret, ServerMsg, Snapshot,
    SyncQuality, meter_from_wire,
};
use crate::time::{Beats, Micros};
use crate::timeline::{Meter, Segment, Tempo, Transport};
use std::collections::VecDeque;

/// Identifies one connection to the driver. A participant keeps its id across connections.
pub type ConnId = u64;

/// Limits and timings of a session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Most participants, online or away.
    pub max_members: usize,
    /// How long a leader who dropped may come back and take leadership back automatically.
    pub leader_grace: Micros,
    /// How long a participant who dropped stays in the list, resumable, before it is removed.
    pub resume_window: Micros,
    /// The least time between a change being sent and it landing, so every device hears it.
    pub min_lead: Micros,
    /// The most lead time, however slow a member's link.
    pub max_lead: Micros,
    /// The least time between two broadcasts of one participant's sync quality.
    pub sync_report_interval: Micros,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            max_members: 512,
            leader_grace: Micros::from_secs(30),
            resume_window: Micros::from_secs(120),
            min_lead: Micros::from_millis(150),
            max_lead: Micros::from_millis(1_500),
            sync_report_interval: Micros::from_secs(5),
        }
    }
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send a message to one connection.
    Send(ConnId, ServerMsg),
    /// Send a message to every online member's connection.
    Broadcast(ServerMsg),
    /// Close a connection, with a reason for the close frame.
    Close(ConnId, &'static str),
    /// Something for the activity stream; the driver stamps, stores and broadcasts it.
    Activity {
        /// What kind of thing happened.
        kind: ActivityKind,
        /// Who did it.
        by: Option<ParticipantId>,
        /// A one-line summary.
        summary: String,
    },
}

/// A song the leader chose, as the driver found it in the setlist.
#[derive(Debug, Clone, Default)]
pub struct SongChoice {
    /// The song's id, or `None` to clear the current song.
    pub id: Option<String>,
    /// Its title, for the activity stream.
    pub title: Option<String>,
    /// Its tempo, when the setlist gives one.
    pub tempo: Option<Tempo>,
    /// Its meter, when the setlist gives one.
    pub meter: Option<Meter>,
}

/// The fields of a `join` that the session itself checks.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// Display name.
    pub name: String,
    /// Instrument.
    pub instrument: Option<String>,
    /// A resume token from an earlier welcome.
    pub resume: Option<Secret>,
    /// Claim leadership if it is free.
    pub leader: bool,
    /// The session secret from the join link.
    pub secret: Option<Secret>,
    /// The PIN, for typed joins.
    pub pin: Option<Secret>,
}

#[derive(Debug, Clone)]
struct Member {
    /// What everyone sees.
    p: Participant,
    /// The secret that lets this participant resume (redacted from `Debug`).
    token: Secret,
    /// The connection, while online.
    conn: Option<ConnId>,
    /// When it went away, while away.
    away_since: Option<Micros>,
    /// When its sync quality was last broadcast.
    sync_broadcast_at: Option<Micros>,
}

/// One band's session.
#[derive(Debug)]
pub struct Session {
    id: String,
    name: String,
    cfg: SessionConfig,
    epoch: u64,
    /// Every participant, in join order.
    members: Vec<Member>,
    leader: Option<ParticipantId>,
    /// A leader who dropped, and until when it may take leadership back on resume.
    former_leader: Option<(ParticipantId, Micros)>,
    transport: Transport,
    /// The current setlist song.
    song: Option<String>,
    next_id: ParticipantId,
    out: VecDeque<Output>,
    /// The join secret every link carries.
    secret: Secret,
    /// The PIN for typed joins, if the leader set one.
    pin: Option<Secret>,
    /// Recent wrong PINs, to pause PIN joins when someone is guessing.
    pin_failures: VecDeque<Micros>,
    /// Where fresh secrets come from (the OS's random source in the server; a counter in tests).
    secrets: SecretSource,
}

/// A source of fresh secrets, injected so that the state machine stays free of IO.
pub struct SecretSource(pub Box<dyn FnMut() -> Secret + Send>);

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretSource")
    }
}

/// Wrong PINs tolerated per minute before PIN joins pause.
pub const MAX_PIN_FAILURES: usize = 10;

const PALETTE: [&str; 12] = [
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45", "#fabed4", "#469990",
    "#dcbeff", "#9a6324",
];

type Refusal = (ErrorCode, String);

impl Session {
    /// A new, empty, stopped session, with a first secret drawn from `secrets`.
    #[must_use]
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        epoch: u64,
        cfg: SessionConfig,
        now: Micros,
        mut secrets: SecretSource,
    ) -> Self {
        let secret = (secrets.0)();
        Session {
            secret,
            pin: None,
            pin_failures: VecDeque::new(),
            secrets,
            id: id.into(),
            name: name.into(),
            cfg,
            epoch,
            members: Vec::new(),
            leader: None,
            former_leader: None,
            transport: Transport::new(now),
            song: None,
            next_id: 1,
            out: VecDeque::new(),
        }
    }

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
            now,
        }
    }

    /// The next output for the driver.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`Session::handle_timeout`] must next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Micros> {
        let away = self.members.iter().filter_map(|m| m.away_since).map(|t| t.saturating_add(self.cfg.resume_window));
        let grace = self.former_leader.map(|(_, until)| until);
        away.chain(grace).min()
    }

    /// Expires away participants and the former leader's grace period.
    pub fn handle_timeout(&mut self, now: Micros) {
        self.transport.prune(now);
        if let Some((_, until)) = self.former_leader {
            if until <= now {
                self.former_leader = None;
            }
        }
        let window = self.cfg.resume_window;
        let expired: Vec<ParticipantId> = self
            .members
            .iter()
            .filter(|m| m.away_since.is_some_and(|t| t.saturating_add(window) <= now))
            .map(|m| m.p.id)
            .collect();
        if expired.is_empty() {
            return;
        }
        for id in expired {
            self.members.retain(|m| m.p.id != id);
            if self.former_leader.is_some_and(|(f, _)| f == id) {
                self.former_leader = None;
            }
            self.out.push_back(Output::Broadcast(ServerMsg::ParticipantLeft { id, reason: "timeout".into() }));
            self.activity(ActivityKind::Leave, Some(id), "dropped out (no reconnect in time)".into());
        }
        self.broadcast_stats();
    }

    /// A new connection's `join`, already checked for protocol version and session id.
    ///
    /// `fresh_token` becomes the participant's resume token if this join does not resume one.
    /// On success the welcome, `participant_joined` (or `participant_updated`) and `room_stats`
    /// are queued. On refusal an error is queued for `conn` and the state does not change.
    pub fn handle_join(&mut self, now: Micros, conn: ConnId, req: JoinRequest, fresh_token: Secret) {
        self.transport.prune(now);
        let result = self.join(now, conn, req, fresh_token);
        if let Err((code, message)) = result {
            self.out.push_back(Output::Send(conn, ServerMsg::error(code, message, Some("join"))));
        }
    }

    fn join(&mut self, now: Micros, conn: ConnId, req: JoinRequest, fresh_token: Secret) -> Result<(), Refusal> {
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
        self.authorize(now, req.secret.as_ref(), req.pin.as_ref())?;
        if self.members.len() >= self.cfg.max_members {
            return Err((ErrorCode::Full, format!("the session is full ({} members)", self.cfg.max_members)));
        }
        let id = self.next_id;
        self.next_id += 1;
        let role = if req.leader && self.leader.is_none() {
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
            access: Access::Editor,
            connection: Connection::Online,
            color: PALETTE[(id as usize - 1) % PALETTE.len()].into(),
            sync: None,
            joined_at: now,
        };
        self.members.push(Member {
            p: p.clone(),
            token: fresh_token.clone(),
            conn: Some(conn),
            away_since: None,
            sync_broadcast_at: None,
        });
        self.welcome(now, conn, id, fresh_token, false);
        let summary = format!(
            "{}{} joined{}",
            p.name,
            p.instrument.as_ref().map(|i| format!(" ({i})")).unwrap_or_default(),
            if p.role == Role::Leader { " and leads" } else { "" }
        );
        self.activity(ActivityKind::Join, Some(id), summary);
        self.out.push_back(Output::Broadcast(ServerMsg::ParticipantJoined { participant: p }));
        self.broadcast_stats();
        Ok(())
    }

    fn resume(
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
            self.out.push_back(Output::Close(old, "replaced by a newer connection"));
        }
        m.away_since = None;
        m.p.connection = Connection::Online;
        m.p.name = name;
        m.p.instrument = instrument;
        let id = m.p.id;
        let token = m.token.clone();
        let grace = self.former_leader.is_some_and(|(f, until)| f == id && now < until);
        if self.leader.is_none() && (grace || claim) {
            self.leader = Some(id);
            self.former_leader = None;
            self.members[idx].p.role = Role::Leader;
        }
        self.welcome(now, conn, id, token, true);
        self.broadcast_participant(id);
        self.broadcast_stats();
        Ok(())
    }

    fn welcome(&mut self, now: Micros, conn: ConnId, you: ParticipantId, resume: Secret, resumed: bool) {
        let snapshot = self.snapshot(now);
        self.out.push_back(Output::Send(
            conn,
            ServerMsg::Welcome {
                v: crate::protocol::PROTOCOL_VERSION,
                you,
                resume,
                resumed,
                epoch: self.epoch,
                snapshot,
            },
        ));
        if self.leader == Some(you) {
            self.send_credentials();
        }
    }

    /// Checks a join's secret or PIN.
    fn authorize(&mut self, now: Micros, secret: Option<&Secret>, pin: Option<&Secret>) -> Result<(), Refusal> {
        if secret.is_some_and(|s| self.secret.matches(s.expose())) {
            return Ok(());
        }
        if let Some(p) = pin {
            let minute_ago = now - Micros::from_secs(60);
            while self.pin_failures.front().is_some_and(|&t| t < minute_ago) {
                self.pin_failures.pop_front();
            }
            if self.pin_failures.len() >= MAX_PIN_FAILURES {
                return Err((
                    ErrorCode::TooManyAttempts,
                    "too many wrong PINs; PIN joins are paused for a minute".into(),
                ));
            }
            if self.pin.as_ref().is_some_and(|mine| mine.matches(p.expose())) {
                return Ok(());
            }
            self.pin_failures.push_back(now);
            return Err((ErrorCode::BadSecret, "wrong PIN".into()));
        }
        if secret.is_some() {
            return Err((ErrorCode::BadSecret, "this join link is not (or no longer) valid; ask for a new one".into()));
        }
        Err((ErrorCode::AuthRequired, "this session needs its join link or PIN".into()))
    }

    /// Sends the join credentials to the leader.
    fn send_credentials(&mut self) {
        let Some(l) = self.leader else { return };
        let Some(conn) = self.members.iter().find(|m| m.p.id == l).and_then(|m| m.conn) else { return };
        self.out.push_back(Output::Send(
            conn,
            ServerMsg::Credentials { secret: self.secret.clone(), pin: self.pin.clone() },
        ));
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

    /// A message from a joined connection (anything but `join`).
    pub fn handle_input(&mut self, now: Micros, conn: ConnId, msg: ClientMsg) {
        self.transport.prune(now);
        let kind = msg.kind();
        let Some(me) = self.participant_of(conn) else {
            self.out
                .push_back(Output::Send(conn, ServerMsg::error(ErrorCode::NotJoined, "send a join first", Some(kind))));
            return;
        };
        if let Err((code, message)) = self.apply(now, conn, me, msg) {
            self.out.push_back(Output::Send(conn, ServerMsg::error(code, message, Some(kind))));
        }
    }

    fn apply(&mut self, now: Micros, conn: ConnId, me: ParticipantId, msg: ClientMsg) -> Result<(), Refusal> {
        match msg {
            ClientMsg::Join { .. } => Err((ErrorCode::AlreadyJoined, "this connection has already joined".into())),
            ClientMsg::Leave {} => {
                self.activity(ActivityKind::Leave, Some(me), format!("{} left", self.name_of(me)));
                self.members.retain(|m| m.p.id != me);
                if self.leader == Some(me) {
                    self.leader = None;
                }
                if self.former_leader.is_some_and(|(f, _)| f == me) {
                    self.former_leader = None;
                }
                self.out.push_back(Output::Broadcast(ServerMsg::ParticipantLeft { id: me, reason: "left".into() }));
                self.broadcast_stats();
                self.out.push_back(Output::Close(conn, "left"));
                Ok(())
            }
            ClientMsg::Profile { name, instrument, color } => {
                let name = name.map(|n| clean_name(&n, "name")).transpose()?;
                let instrument = instrument.map(|i| clean_instrument(Some(&i))).transpose()?;
                let color = color.map(|c| clean_color(&c)).transpose()?;
                let m = self.member_mut(me);
                if let Some(n) = name {
                    m.p.name = n;
                }
                if let Some(i) = instrument {
                    m.p.instrument = i;
                }
                if let Some(c) = color {
                    m.p.color = c;
                }
                self.broadcast_participant(me);
                Ok(())
            }
            ClientMsg::Claim {} => match self.leader {
                Some(l) if l == me => Ok(()),
                Some(l) => Err((ErrorCode::LeaderTaken, format!("participant {l} leads; ask them to hand over"))),
                None => {
                    self.set_leader(Some(me));
                    Ok(())
                }
            },
            ClientMsg::Release {} => {
                self.require_leader(me)?;
                self.set_leader(None);
                Ok(())
            }
            ClientMsg::Handover { to } => {
                self.require_leader(me)?;
                self.require_online(to)?;
                if to != me {
                    self.set_leader(Some(to));
                }
                Ok(())
            }
            ClientMsg::SetAccess { participant, access } => {
                self.require_leader(me)?;
                self.require_known(participant)?;
                let m = self.member_mut(participant);
                if m.p.access != access {
                    m.p.access = access;
                    self.broadcast_participant(participant);
                    let what = match access {
                        Access::Editor => "can edit",
                        Access::Viewer => "can only view",
                    };
                    self.activity(ActivityKind::Access, Some(me), format!("{} {what} now", self.name_of(participant)));
                }
                Ok(())
            }
            ClientMsg::Tempo { bpm } => {
                self.require_leader(me)?;
                let tempo = Tempo::from_bpm(bpm).map_err(|e| (ErrorCode::InvalidTempo, e.to_string()))?;
                self.change(now, me, false, |seg, at| {
                    seg.timeline = crate::timeline::Timeline { tempo, beat_origin: seg.position(at), time_origin: at };
                });
                self.activity(ActivityKind::Tempo, Some(me), format!("tempo {} BPM", tempo.bpm()));
                Ok(())
            }
            ClientMsg::Meter { beats, unit, groups } => {
                self.require_leader(me)?;
                let meter =
                    meter_from_wire(beats, unit, groups).map_err(|e| (ErrorCode::InvalidMeter, e.to_string()))?;
                let label = meter_label(&meter);
                self.change(now, me, false, |seg, at| {
                    let pos = seg.position(at);
                    seg.timeline.beat_origin = pos;
                    seg.timeline.time_origin = at;
                    seg.meter = meter;
                    seg.bar_origin = pos;
                });
                self.activity(ActivityKind::Meter, Some(me), format!("meter {label}"));
                Ok(())
            }
            ClientMsg::Play { count_in } => {
                self.require_leader(me)?;
                if count_in > 8 {
                    return Err((ErrorCode::InvalidPosition, format!("count-in of {count_in} bars; at most 8")));
                }
                if self.transport.latest().playing {
                    return Ok(());
                }
                self.change(now, me, true, |seg, at| {
                    let start = seg.timeline.beat_origin;
                    let lead_in = Beats(seg.meter.bar_len().0 * i64::from(count_in));
                    seg.playing = true;
                    seg.song_start = start;
                    seg.timeline.beat_origin = start - lead_in;
                    seg.timeline.time_origin = at;
                });
                let count = if count_in > 0 { format!(" after {count_in} bar(s) of count-in") } else { String::new() };
                self.activity(ActivityKind::Play, Some(me), format!("started the metronome{count}"));
                Ok(())
            }
            ClientMsg::Stop {} => {
                self.require_leader(me)?;
                if !self.transport.latest().playing {
                    return Ok(());
                }
                self.change(now, me, false, |seg, at| {
                    let pos = seg.position(at).max(seg.song_start);
                    seg.playing = false;
                    seg.timeline.beat_origin = pos;
                    seg.timeline.time_origin = at;
                });
                self.activity(ActivityKind::Stop, Some(me), "stopped the metronome".into());
                Ok(())
            }
            ClientMsg::Seek { position } => {
                self.require_leader(me)?;
                if position.0 < 0 || position > Beats::whole(1_000_000) {
                    return Err((ErrorCode::InvalidPosition, "the position must be 0 to 1 000 000 beats".into()));
                }
                self.change(now, me, false, |seg, at| {
                    seg.timeline.beat_origin = position;
                    seg.timeline.time_origin = at;
                    seg.song_start = position;
                    // The seek target starts a bar: that is where the musicians will count "one".
                    seg.bar_origin = position;
                });
                self.activity(ActivityKind::Seek, Some(me), format!("moved to beat {}", position.0 / Beats::ONE));
                Ok(())
            }
            ClientMsg::Sync {} => {
                let snap = self.snapshot(now);
                self.out.push_back(Output::Send(conn, ServerMsg::Snapshot(snap)));
                Ok(())
            }
            ClientMsg::Ping { n, t0 } => {
                let epoch = self.epoch;
                self.out.push_back(Output::Send(conn, ServerMsg::Pong { n, t0, t1: now, t2: now, epoch }));
                Ok(())
            }
            ClientMsg::Heartbeat { n } => {
                self.out.push_back(Output::Send(conn, ServerMsg::Heartbeat { n }));
                Ok(())
            }
            ClientMsg::RotateSecret {} => {
                self.require_leader(me)?;
                self.secret = (self.secrets.0)();
                self.send_credentials();
                Ok(())
            }
            ClientMsg::SetPin { pin } => {
                self.require_leader(me)?;
                if let Some(p) = &pin {
                    let ok = (4..=8).contains(&p.expose().len()) && p.expose().bytes().all(|b| b.is_ascii_digit());
                    if !ok {
                        return Err((ErrorCode::InvalidName, "a PIN is 4 to 8 digits".into()));
                    }
                }
                self.pin = pin;
                self.pin_failures.clear();
                self.send_credentials();
                Ok(())
            }
            ClientMsg::Song { id } => {
                self.select_song(now, conn, SongChoice { id, title: None, tempo: None, meter: None })
            }
            ClientMsg::Chat { .. }
            | ClientMsg::ChatEdit { .. }
            | ClientMsg::ChatDelete { .. }
            | ClientMsg::ChatReact { .. }
            | ClientMsg::ChatHistory { .. }
            | ClientMsg::ActivityHistory { .. }
            | ClientMsg::Versions {}
            | ClientMsg::SaveVersion { .. }
            | ClientMsg::RestoreVersion { .. } => {
                Err((ErrorCode::Unsupported, "chat, activity and versions need a server with storage".into()))
            }
            ClientMsg::SyncReport { rtt_us, error_us, synced } => {
                const LIMIT: i64 = 60_000_000;
                if !(0..=LIMIT).contains(&rtt_us) || !(0..=LIMIT).contains(&error_us) {
                    return Err((ErrorCode::Malformed, "rtt_us and error_us must be 0 to 60 000 000 µs".into()));
                }
                let interval = self.cfg.sync_report_interval;
                let m = self.member_mut(me);
                let flipped = m.p.sync.is_none_or(|s| s.synced != synced);
                m.p.sync = Some(SyncQuality { rtt_us, error_us, synced });
                let due = m.sync_broadcast_at.is_none_or(|t| now - t >= interval);
                if flipped || due {
                    m.sync_broadcast_at = Some(now);
                    self.broadcast_participant(me);
                }
                Ok(())
            }
        }
    }

    /// The current setlist song.
    #[must_use]
    pub fn song(&self) -> Option<&str> {
        self.song.as_deref()
    }

    /// The leader on `conn` makes a setlist song current. Its tempo and meter (when it has them)
    /// land on the next bar line, and the song starts there: the position that auto-scroll and
    /// bar numbers count from. While stopped, the position goes back to the song's beginning.
    /// The driver looks the song up in the documents; the session only checks who may do it.
    ///
    /// # Errors
    /// `not_leader` unless the sender leads.
    pub fn select_song(&mut self, now: Micros, conn: ConnId, choice: SongChoice) -> Result<(), Refusal> {
        self.transport.prune(now);
        let me = self.participant_of(conn).ok_or_else(|| (ErrorCode::NotJoined, "send a join first".to_owned()))?;
        self.require_leader(me)?;
        let SongChoice { id, title, tempo, meter } = choice;
        self.song = id.clone();
        self.change(now, me, false, |seg, at| {
            let pos = if seg.playing { seg.next_bar(seg.position(at)) } else { Beats(0) };
            seg.timeline.beat_origin = pos;
            seg.timeline.time_origin = at;
            if let Some(t) = tempo {
                seg.timeline.tempo = t;
            }
            if let Some(m) = meter {
                seg.meter = m;
            }
            seg.bar_origin = pos;
            seg.song_start = pos;
        });
        self.out.push_back(Output::Broadcast(ServerMsg::SongChanged { song: id.clone(), by: Some(me) }));
        let summary = match (&id, title) {
            (None, _) => "cleared the current song".to_owned(),
            (Some(_), Some(t)) => format!("song: {t}"),
            (Some(i), None) => format!("song: {i}"),
        };
        self.activity(ActivityKind::Song, Some(me), summary);
        Ok(())
    }

    fn activity(&mut self, kind: ActivityKind, by: Option<ParticipantId>, summary: String) {
        self.out.push_back(Output::Activity { kind, by, summary });
    }

    fn name_of(&self, id: ParticipantId) -> String {
        self.members.iter().find(|m| m.p.id == id).map_or_else(|| format!("#{id}"), |m| m.p.name.clone())
    }

    /// The lead time for a change: enough for the slowest online member to hear of it first.
    #[must_use]
    pub fn lead_time(&self) -> Micros {
        let worst_rtt = self
            .members
            .iter()
            .filter(|m| m.conn.is_some())
            .filter_map(|m| m.p.sync.map(|s| s.rtt_us.saturating_add(s.error_us.saturating_mul(2))))
            .max()
            .unwrap_or(0);
        Micros(self.cfg.min_lead.0.saturating_add(worst_rtt.saturating_mul(2)).min(self.cfg.max_lead.0))
    }

    /// Schedules a change and tells everyone. While the metronome plays (or is about to start) the
    /// change lands on the next bar line at least one lead time ahead, so every device switches on
    /// the same beat; while it is stopped nothing sounds, so the change applies at once.
    fn change(&mut self, now: Micros, by: ParticipantId, starting: bool, edit: impl FnOnce(&mut Segment, Micros)) {
        let not_before = if self.transport.latest().playing || starting { now + self.lead_time() } else { now };
        let at = self.transport.next_boundary(not_before);
        let mut seg = self.transport.latest().clone();
        // Bring the copied segment up to `at` before editing, so edits see the position there.
        let pos = seg.position(at);
        seg.timeline.beat_origin = pos;
        seg.timeline.time_origin = at;
        seg.at = at;
        edit(&mut seg, at);
        self.transport.schedule(seg);
        self.transport.prune(now);
        self.out.push_back(Output::Broadcast(ServerMsg::Transport {
            transport: self.transport.clone(),
            by: Some(by),
            now,
        }));
    }

    fn set_leader(&mut self, new: Option<ParticipantId>) {
        let old = self.leader;
        self.leader = new;
        self.former_leader = None;
        if let Some(o) = old {
            self.member_mut(o).p.role = Role::Follower;
            self.broadcast_participant(o);
        }
        if let Some(n) = new {
            self.member_mut(n).p.role = Role::Leader;
            self.broadcast_participant(n);
        }
        if new != old {
            let summary = match new {
                Some(n) => format!("{} leads now", self.name_of(n)),
                None => format!("{} gave up leadership", old.map(|o| self.name_of(o)).unwrap_or_default()),
            };
            self.activity(ActivityKind::Role, new.or(old), summary);
        }
        self.broadcast_stats();
        if new.is_some() && new != old {
            self.send_credentials();
        }
    }

    fn require_leader(&self, me: ParticipantId) -> Result<(), Refusal> {
        if self.leader == Some(me) { Ok(()) } else { Err((ErrorCode::NotLeader, "only the leader may do that".into())) }
    }

    fn require_known(&self, id: ParticipantId) -> Result<(), Refusal> {
        if self.members.iter().any(|m| m.p.id == id) {
            Ok(())
        } else {
            Err((ErrorCode::UnknownParticipant, format!("no participant {id}")))
        }
    }

    fn require_online(&self, id: ParticipantId) -> Result<(), Refusal> {
        if self.members.iter().any(|m| m.p.id == id && m.conn.is_some()) {
            Ok(())
        } else {
            Err((ErrorCode::UnknownParticipant, format!("no online participant {id}")))
        }
    }

    fn member_mut(&mut self, id: ParticipantId) -> &mut Member {
        self.members.iter_mut().find(|m| m.p.id == id).expect("participant ids are checked before use")
    }

    fn broadcast_participant(&mut self, id: ParticipantId) {
        if let Some(m) = self.members.iter().find(|m| m.p.id == id) {
            self.out.push_back(Output::Broadcast(ServerMsg::ParticipantUpdated { participant: m.p.clone() }));
        }
    }

    fn broadcast_stats(&mut self) {
        self.out.push_back(Output::Broadcast(ServerMsg::RoomStats(self.stats())));
    }

    /// The connections of online members, for the driver's broadcasts.
    pub fn connections(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.members.iter().filter_map(|m| m.conn)
    }
}

/// The most characters in a name or instrument.
pub const MAX_NAME_CHARS: usize = 40;

fn clean_name(raw: &str, what: &str) -> Result<String, Refusal> {
    let s = raw.trim();
    if s.is_empty() {
        return Err((ErrorCode::InvalidName, format!("the {what} is empty")));
    }
    if s.chars().count() > MAX_NAME_CHARS {
        return Err((ErrorCode::InvalidName, format!("the {what} is longer than {MAX_NAME_CHARS} characters")));
    }
    if s.chars().any(char::is_control) {
        return Err((ErrorCode::InvalidName, format!("the {what} has control characters")));
    }
    Ok(s.to_owned())
}

fn clean_instrument(raw: Option<&str>) -> Result<Option<String>, Refusal> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => clean_name(s, "instrument").map(Some),
    }
}

fn clean_color(raw: &str) -> Result<String, Refusal> {
    let ok = raw.len() == 7 && raw.starts_with('#') && raw[1..].chars().all(|c| c.is_ascii_hexdigit());
    if ok { Ok(raw.to_ascii_lowercase()) } else { Err((ErrorCode::InvalidName, "a colour is #rrggbb".into())) }
}

fn meter_label(m: &Meter) -> String {
    let groups: Vec<String> = m.groups.iter().map(u8::to_string).collect();
    if m.groups.len() > 1 && m.groups.iter().any(|&g| g != m.groups[0]) {
        format!("{}/{} ({})", m.beats, m.unit, groups.join("+"))
    } else {
        format!("{}/{}", m.beats, m.unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mirror::Mirror;
    use std::collections::BTreeMap;

    /// Drives a session in simulated time and routes its outputs to per-connection mirrors.
    struct Harness {
        s: Session,
        now: Micros,
        mirrors: BTreeMap<ConnId, Mirror>,
        inbox: BTreeMap<ConnId, Vec<ServerMsg>>,
        closed: Vec<ConnId>,
        tokens: u64,
        activity: Vec<(ActivityKind, Option<ParticipantId>, String)>,
    }

    impl Harness {
        fn new() -> Self {
            Harness {
                s: Session::new("s1", "Rehearsal", 7, SessionConfig::default(), Micros(0), counter_secrets()),
                now: Micros::from_secs(1),
                mirrors: BTreeMap::new(),
                inbox: BTreeMap::new(),
                closed: Vec::new(),
                tokens: 0,
                activity: Vec::new(),
            }
        }

        fn pump(&mut self) {
            while let Some(o) = self.s.poll_output() {
                match o {
                    Output::Send(c, m) => self.deliver(c, &m),
                    Output::Broadcast(m) => {
                        let conns: Vec<_> = self.s.connections().collect();
                        for c in conns {
                            self.deliver(c, &m);
                        }
                    }
                    Output::Close(c, _) => {
                        self.closed.push(c);
                        self.mirrors.remove(&c);
                    }
                    Output::Activity { kind, by, summary } => self.activity.push((kind, by, summary)),
                }
            }
        }

        fn deliver(&mut self, c: ConnId, m: &ServerMsg) {
            self.inbox.entry(c).or_default().push(m.clone());
            if let ServerMsg::Welcome { you, epoch, snapshot, .. } = m {
                self.mirrors.insert(c, Mirror::from_welcome(*you, *epoch, snapshot.clone()));
            } else if let Some(mir) = self.mirrors.get_mut(&c) {
                mir.apply(m);
            }
        }

        fn join(&mut self, c: ConnId, name: &str, leader: bool, resume: Option<Secret>) -> Option<Secret> {
            self.tokens += 1;
            let secret = Some(self.s.secret().clone());
            let req = JoinRequest { name: name.into(), instrument: None, resume, leader, secret, pin: None };
            self.s.handle_join(self.now, c, req, Secret(format!("token-{}", self.tokens)));
            self.pump();
            self.inbox.get(&c)?.iter().rev().find_map(|m| match m {
                ServerMsg::Welcome { resume, .. } => Some(resume.clone()),
                _ => None,
            })
        }

        fn drop_conn(&mut self, c: ConnId) {
            self.mirrors.remove(&c);
            self.s.handle_disconnect(self.now, c);
            self.pump();
        }

        fn send(&mut self, c: ConnId, msg: ClientMsg) {
            self.s.handle_input(self.now, c, msg);
            self.pump();
        }

        fn advance(&mut self, d: Micros) {
            self.now += d;
            if self.s.poll_timeout().is_some_and(|t| t <= self.now) {
                self.s.handle_timeout(self.now);
            }
            self.pump();
        }

        fn last_error(&self, c: ConnId) -> Option<ErrorCode> {
            self.inbox.get(&c)?.iter().rev().find_map(|m| match m {
                ServerMsg::Error { code, .. } => Some(*code),
                _ => None,
            })
        }

        fn assert_mirrors_agree(&self) {
            let truth = self.s.snapshot(self.now);
            for (c, m) in &self.mirrors {
                assert_eq!(m.to_snapshot(self.now), truth, "mirror of connection {c} diverged");
            }
        }
    }

    fn counter_secrets() -> SecretSource {
        let mut n = 0;
        SecretSource(Box::new(move || {
            n += 1;
            Secret(format!("secret-{n}"))
        }))
    }

    fn join_with(h: &mut Harness, c: ConnId, secret: Option<&str>, pin: Option<&str>, resume: Option<Secret>) {
        let req = JoinRequest {
            name: "X".into(),
            instrument: None,
            resume,
            leader: false,
            secret: secret.map(|s| Secret(s.into())),
            pin: pin.map(|s| Secret(s.into())),
        };
        h.s.handle_join(h.now, c, req, Secret(format!("tok-{c}")));
        h.pump();
    }

    #[test]
    fn joins_need_the_secret_and_rotation_revokes_old_links() {
        let mut h = Harness::new();
        h.join(1, "Ana", true, None);
        // The leader learns the credentials; nobody else does.
        assert!(
            h.inbox[&1]
                .iter()
                .any(|m| matches!(m, ServerMsg::Credentials { secret, .. } if secret.expose() == "secret-1"))
        );
        join_with(&mut h, 2, None, None, None);
        assert_eq!(h.last_error(2), Some(ErrorCode::AuthRequired));
        join_with(&mut h, 3, Some("nope"), None, None);
        assert_eq!(h.last_error(3), Some(ErrorCode::BadSecret));
        join_with(&mut h, 4, Some("secret-1"), None, None);
        assert_eq!(h.s.stats().members, 2);
        assert!(!h.inbox[&4].iter().any(|m| matches!(m, ServerMsg::Credentials { .. })));
        let tok = h.inbox[&4].iter().find_map(|m| match m {
            ServerMsg::Welcome { resume, .. } => Some(resume.clone()),
            _ => None,
        });
        h.send(4, ClientMsg::RotateSecret {});
        assert_eq!(h.last_error(4), Some(ErrorCode::NotLeader));
        h.send(1, ClientMsg::RotateSecret {});
        assert!(
            h.inbox[&1]
                .iter()
                .any(|m| matches!(m, ServerMsg::Credentials { secret, .. } if secret.expose() == "secret-2"))
        );
        join_with(&mut h, 5, Some("secret-1"), None, None);
        assert_eq!(h.last_error(5), Some(ErrorCode::BadSecret), "the old link is revoked");
        // A member already in resumes with its token, whatever the link.
        h.drop_conn(4);
        join_with(&mut h, 6, None, None, tok);
        assert_eq!(h.s.participant_of(6), Some(2));
    }

    #[test]
    fn pin_joins_work_and_guessing_is_paused() {
        let mut h = Harness::new();
        h.join(1, "Ana", true, None);
        h.send(1, ClientMsg::SetPin { pin: Some(Secret("12a4".into())) });
        assert_eq!(h.last_error(1), Some(ErrorCode::InvalidName));
        h.send(1, ClientMsg::SetPin { pin: Some(Secret("4321".into())) });
        join_with(&mut h, 2, None, Some("4321"), None);
        assert_eq!(h.s.stats().members, 2);
        for c in 10..20 {
            join_with(&mut h, c, None, Some("0000"), None);
            assert_eq!(h.last_error(c), Some(ErrorCode::BadSecret));
        }
        join_with(&mut h, 30, None, Some("4321"), None);
        assert_eq!(h.last_error(30), Some(ErrorCode::TooManyAttempts), "even the right PIN waits");
        h.advance(Micros::from_secs(61));
        join_with(&mut h, 31, None, Some("4321"), None);
        assert_eq!(h.s.stats().members, 3);
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let mut h = Harness::new();
        h.join(1, "Ana", true, None);
        let dump = format!("{:?}", h.s);
        assert!(!dump.contains("secret-1"), "the session secret");
        assert!(!dump.contains("token-1"), "a member's resume token");
        assert!(dump.contains("Ana"), "the dump is of the real state");
        let req = JoinRequest {
            name: "a".into(),
            instrument: None,
            resume: None,
            leader: false,
            secret: Some(Secret("hush".into())),
            pin: None,
        };
        assert!(!format!("{req:?}").contains("hush"));
    }

    #[test]
    fn every_member_sees_the_same_participants_after_each_join_and_leave() {
        let mut h = Harness::new();
        h.join(1, "Ana", true, None);
        h.assert_mirrors_agree();
        h.join(2, "  Ben  ", false, None);
        h.assert_mirrors_agree();
        h.join(3, "Caro", false, None);
        h.assert_mirrors_agree();
        assert_eq!(
            h.mirrors[&2].participants.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["Ana", "Ben", "Caro"]
        );
        // The newcomer itself is told of its own join.
        assert!(
            h.inbox[&3]
                .iter()
                .any(|m| matches!(m, ServerMsg::ParticipantJoined { participant } if participant.name == "Caro"))
        );
        h.send(2, ClientMsg::Leave {});
        assert_eq!(h.closed, vec![2]);
        h.assert_mirrors_agree();
        assert_eq!(h.s.stats().members, 2);
    }

    #[test]
    fn resume_token_keeps_one_participant() {
        let mut h = Harness::new();
        h.join(1, "Ana", false, None);
        let tok = h.join(2, "Ben", false, None);
        h.drop_conn(2);
        assert_eq!(h.mirrors[&1].participants[1].connection, Connection::Away);
        h.advance(Micros::from_secs(5));
        h.join(3, "Ben", false, tok.clone());
        h.assert_mirrors_agree();
        assert_eq!(h.s.stats().members, 2);
        assert!(h.inbox[&3].iter().any(|m| matches!(m, ServerMsg::Welcome { resumed: true, you: 2, .. })));
        // A resume while the old connection is still open replaces it, still one participant.
        h.join(4, "Ben", false, tok);
        assert_eq!(h.closed, vec![3]);
        assert_eq!(h.s.stats().members, 2);
        assert_eq!(h.s.participant_of(4), Some(2));
        h.s.handle_disconnect(h.now, 3); // the replaced connection's late close changes nothing
        h.pump();
        assert_eq!(h.s.stats().online, 2);
    }

    #[test]
    fn follower_tempo_is_refused_and_changes_nothing() {
        let mut h = Harness::new();
        h.join(1, "Ana", true, None);
        h.join(2, "Ben", false, None);
        let before = h.s.transport().clone();
        h.send(2, ClientMsg::Tempo { bpm: 90.0 });
        assert_eq!(h.last_error(2), Some(ErrorCode::NotLeader));
        assert_eq!(h.s.transport(), &before);
        h.send(1, ClientMsg::Tempo { bpm: 5.0 });
        assert_eq!(h.last_error(1), Some(ErrorCode::InvalidTempo));
        assert_eq!(h.s.transport(), &before);
        h.send(1, ClientMsg::Meter { beats: 7, unit: 3, groups: None });
        assert_eq!(h.last_error(1), Some(ErrorCode::InvalidMeter));
        h.send(1, ClientMsg::Tempo { bpm: 90.0 });
        assert_eq!(h.s.transport().latest().timeline.tempo, Tempo(90_000));
        h.assert_mirrors_agree();
    }

    #[test]
    fn leader_drop_keeps_playing_frees_leadership_and_grace_returns_it() {
        let mut h = Harness::new();
        let tok = h.join(1, "Ana", true, None);
        h.join(2, "Ben", false, None);
        h.send(1, ClientMsg::Play { count_in: 0 });
        h.advance(Micros::from_secs(1));
        assert!(h.s.transport().segment_at(h.now).playing);
        h.drop_conn(1);
        assert!(h.s.transport().segment_at(h.now).playing, "the band keeps playing");
        assert_eq!(h.s.stats().leader, None);
        assert_eq!(h.mirrors[&2].stats.leader, None);
        h.advance(Micros::from_secs(10));
        h.join(3, "Ana", false, tok);
        assert_eq!(h.s.stats().leader, Some(1), "the former leader takes leadership back");
        h.assert_mirrors_agree();
    }

    #[test]
    fn leader_grace_expires_and_others_may_claim_meanwhile() {
        let mut h = Harness::new();
        let tok = h.join(1, "Ana", true, None);
        h.join(2, "Ben", false, None);
        h.drop_conn(1);
        h.send(2, ClientMsg::Claim {});
        assert_eq!(h.s.stats().leader, Some(2));
        h.join(3, "Ana", false, tok.clone());
        assert_eq!(h.s.stats().leader, Some(2), "a claimed leadership is not taken back");
        // A fresh case: nobody claims, and the grace period runs out.
        let mut h = Harness::new();
        let tok = h.join(1, "Ana", true, None);
        h.drop_conn(1);
        h.advance(Micros::from_secs(31));
        h.join(3, "Ana", false, tok);
        assert_eq!(h.s.stats().leader, None);
    }

    #[test]
    fn away_participant_is_removed_after_resume_window() {
        let mut h = Harness::new();
        h.join(1, "Ana", false, None);
        h.join(2, "Ben", false, None);
        h.drop_conn(2);
        assert_eq!(h.s.poll_timeout(), Some(h.now + Micros::from_secs(120)));
        h.advance(Micros::from_secs(119));
        assert_eq!(h.s.stats().members, 2);
        h.advance(Micros::from_secs(1));
        assert_eq!(h.s.stats().members, 1);
        assert!(h.inbox[&1].iter().any(|m| matches!(m, ServerMsg::ParticipantLeft { id: 2, .. })));
        h.assert_mirrors_agree();
    }

    #[test]
    fn tempo_change_while_playing_lands_on_next_bar() {
        let mut h = Harness::new();
        h.join(1, "Ana", true, None);
        h.send(1, ClientMsg::Play { count_in: 1 });
        let start = h.s.transport().latest().clone();
        assert_eq!(start.at, h.now + Micros::from_millis(150), "starts one lead time ahead");
        assert_eq!(start.timeline.beat_origin, Beats::whole(-4), "one bar of count-in");
        h.advance(Micros::from_millis(2_900));
        h.send(1, ClientMsg::Tempo { bpm: 60.0 });
        let seg = h.s.transport().latest().clone();
        let bar_pos = seg.timeline.beat_origin;
        assert_eq!(bar_pos.0 % Beats::whole(4).0, 0, "lands on a bar line: {bar_pos:?}");
        assert!(seg.at >= h.now + Micros::from_millis(150));
        assert!(seg.at - h.now <= Micros::from_millis(150) + Micros::from_secs(2));
        // Just before the boundary the old tempo holds; after it, the new one.
        assert_eq!(h.s.transport().segment_at(seg.at - Micros(1)).timeline.tempo, Tempo(120_000));
        assert_eq!(h.s.transport().segment_at(seg.at).timeline.tempo, Tempo(60_000));
        // Position is continuous across the change.
        let before = h.s.transport().position(seg.at - Micros(1));
        let after = h.s.transport().position(seg.at);
        assert!((after - before).0.abs() <= 3, "{before:?} {after:?}");
    }

    #[test]
    fn choosing_a_song_while_playing_starts_it_on_the_next_bar_with_its_tempo_and_meter() {
        let mut h = Harness::new();
        h.join(1, "Ana", true, None);
        h.join(2, "Ben", false, None);
        let choice = |id: &str| SongChoice {
            id: Some(id.into()),
            title: Some("Take Five".into()),
            tempo: Some(Tempo(172_000)),
            meter: Some(Meter::with_groups(5, 4, vec![3, 2]).unwrap()),
        };
        assert_eq!(h.s.select_song(h.now, 2, choice("s1")).unwrap_err().0, ErrorCode::NotLeader);
        h.send(1, ClientMsg::Play { count_in: 0 });
        h.advance(Micros::from_millis(3_300));
        h.s.select_song(h.now, 1, choice("s1")).unwrap();
        h.pump();
        let seg = h.s.transport().latest().clone();
        assert!(seg.at >= h.now + Micros::from_millis(150), "one lead time ahead at least");
        assert_eq!(seg.timeline.beat_origin.0 % Beats::whole(4).0, 0, "on a 4/4 bar line of the old song");
        assert_eq!(seg.song_start, seg.timeline.beat_origin, "the song starts where it lands");
        assert_eq!(seg.bar_origin, seg.song_start);
        assert_eq!((seg.timeline.tempo, seg.meter.groups.clone()), (Tempo(172_000), vec![3, 2]));
        assert_eq!(h.s.transport().segment_at(seg.at - Micros(1)).timeline.tempo, Tempo(120_000));
        for c in [1, 2] {
            assert_eq!(h.mirrors[&c].song.as_deref(), Some("s1"), "every member's view follows");
            assert_eq!(h.mirrors[&c].transport, *h.s.transport());
        }
        assert!(
            h.activity.iter().any(|(k, by, s)| *k == ActivityKind::Song && *by == Some(1) && s == "song: Take Five")
        );
        assert_eq!(h.s.snapshot(h.now).song.as_deref(), Some("s1"));
    }

    #[test]
    fn choosing_a_song_while_stopped_goes_back_to_its_beginning() {
        let mut h = Harness::new();
        h.join(1, "Ana", true, None);
        h.send(1, ClientMsg::Seek { position: Beats::whole(64) });
        h.send(1, ClientMsg::Song { id: Some("s2".into()) });
        let seg = h.s.transport().latest();
        assert_eq!((seg.timeline.beat_origin, seg.song_start, seg.playing), (Beats(0), Beats(0), false));
        assert_eq!(seg.timeline.tempo, Tempo(120_000), "a song without a tempo keeps the current one");
        h.send(1, ClientMsg::Song { id: None });
        assert_eq!(h.mirrors[&1].song, None);
    }

    #[test]
    fn the_activity_stream_names_who_did_what() {
        let mut h = Harness::new();
        h.join(1, "Ana", true, None);
        h.join(2, "Ben", false, None);
        h.send(1, ClientMsg::Tempo { bpm: 96.5 });
        h.send(1, ClientMsg::Meter { beats: 7, unit: 8, groups: Some(vec![2, 2, 3]) });
        h.send(1, ClientMsg::Handover { to: 2 });
        h.send(2, ClientMsg::Leave {});
        let got: Vec<(ActivityKind, Option<ParticipantId>, &str)> =
            h.activity.iter().map(|(k, b, s)| (*k, *b, s.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (ActivityKind::Join, Some(1), "Ana joined and leads"),
                (ActivityKind::Join, Some(2), "Ben joined"),
                (ActivityKind::Tempo, Some(1), "tempo 96.5 BPM"),
                (ActivityKind::Meter, Some(1), "meter 7/8 (2+2+3)"),
                (ActivityKind::Role, Some(2), "Ben leads now"),
                (ActivityKind::Leave, Some(2), "Ben left"),
            ]
        );
    }

    #[test]
    fn changes_while_stopped_apply_at_once_and_do_not_pile_up() {
        let mut h = Harness::new();
        h.join(1, "Ana", true, None);
        for bpm in 100..160 {
            h.send(1, ClientMsg::Tempo { bpm: f64::from(bpm) });
            h.advance(Micros::from_millis(2));
        }
        assert_eq!(h.s.transport().segments.len(), 1, "a slider drag leaves one segment");
        assert_eq!(h.s.transport().latest().timeline.tempo, Tempo(159_000));
        assert!(h.s.transport().latest().at <= h.now);
    }

    #[test]
    fn sync_reports_are_bounded_and_shape_the_lead_time() {
        let mut h = Harness::new();
        h.join(1, "Ana", true, None);
        h.send(1, ClientMsg::SyncReport { rtt_us: i64::MAX, error_us: 0, synced: true });
        assert_eq!(h.last_error(1), Some(ErrorCode::Malformed));
        assert_eq!(h.s.lead_time(), Micros::from_millis(150));
        h.send(1, ClientMsg::SyncReport { rtt_us: 40_000, error_us: 5_000, synced: true });
        assert_eq!(h.s.lead_time(), Micros::from_millis(150 + 2 * 50));
        h.send(1, ClientMsg::SyncReport { rtt_us: 60_000_000, error_us: 60_000_000, synced: false });
        assert_eq!(h.s.lead_time(), Micros::from_millis(1_500), "capped at max_lead");
    }

    #[test]
    fn seek_starts_a_bar_at_the_target() {
        let mut h = Harness::new();
        h.join(1, "Ana", true, None);
        h.send(1, ClientMsg::Seek { position: Beats::whole(18) });
        h.send(1, ClientMsg::Play { count_in: 1 });
        let seg = h.s.transport().latest().clone();
        assert_eq!(seg.bar_origin, Beats::whole(18));
        assert_eq!(seg.timeline.beat_origin, Beats::whole(14), "one 4/4 bar of count-in before 18");
        assert_eq!(seg.next_bar(Beats::whole(19)), Beats::whole(22));
    }

    #[test]
    fn a_resume_with_leader_flag_claims_free_leadership() {
        let mut h = Harness::new();
        let tok = h.join(1, "Ana", false, None);
        h.drop_conn(1);
        h.join(2, "Ana", true, tok);
        assert_eq!(h.s.stats().leader, Some(1));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        let mut h = Harness::new();
        h.join(1, "   ", false, None);
        assert_eq!(h.last_error(1), Some(ErrorCode::InvalidName));
        h.join(2, &"x".repeat(41), false, None);
        assert_eq!(h.last_error(2), Some(ErrorCode::InvalidName));
        h.join(3, "bad\u{7}name", false, None);
        assert_eq!(h.last_error(3), Some(ErrorCode::InvalidName));
        assert_eq!(h.s.stats().members, 0);
        h.join(4, &format!(" {} ", "é".repeat(40)), false, None);
        assert_eq!(h.s.stats().members, 1);
    }

    #[test]
    fn messages_before_join_are_refused() {
        let mut h = Harness::new();
        h.send(9, ClientMsg::Tempo { bpm: 100.0 });
        assert_eq!(h.last_error(9), Some(ErrorCode::NotJoined));
    }

    #[test]
    fn stop_lands_on_bar_and_play_resumes_there() {
        let mut h = Harness::new();
        h.join(1, "Ana", true, None);
        h.send(1, ClientMsg::Play { count_in: 0 });
        h.advance(Micros::from_millis(3_000));
        h.send(1, ClientMsg::Stop {});
        let stop = h.s.transport().latest().clone();
        assert!(!stop.playing);
        assert_eq!(stop.timeline.beat_origin, Beats::whole(8));
        h.advance(Micros::from_secs(5));
        h.send(1, ClientMsg::Play { count_in: 0 });
        assert_eq!(h.s.transport().latest().timeline.beat_origin, Beats::whole(8));
    }

    #[test]
    fn handover_and_access_are_leader_only() {
        let mut h = Harness::new();
        h.join(1, "Ana", true, None);
        h.join(2, "Ben", false, None);
        h.send(2, ClientMsg::SetAccess { participant: 1, access: Access::Viewer });
        assert_eq!(h.last_error(2), Some(ErrorCode::NotLeader));
        h.send(1, ClientMsg::SetAccess { participant: 2, access: Access::Viewer });
        assert_eq!(h.mirrors[&2].me().unwrap().access, Access::Viewer);
        h.send(1, ClientMsg::Handover { to: 9 });
        assert_eq!(h.last_error(1), Some(ErrorCode::UnknownParticipant));
        h.send(1, ClientMsg::Handover { to: 2 });
        assert!(h.mirrors[&2].is_leader());
        assert_eq!(h.mirrors[&1].me().unwrap().role, Role::Follower);
        h.send(1, ClientMsg::Claim {});
        assert_eq!(h.last_error(1), Some(ErrorCode::LeaderTaken));
        h.assert_mirrors_agree();
    }
}
