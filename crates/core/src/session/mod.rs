//! The session state machine: who is there, who leads, and the transport schedule.
//!
//! Sans-IO in the quinn-proto style. The driver feeds it [`Session::handle_join`],
//! [`Session::handle_input`], [`Session::handle_disconnect`] and [`Session::handle_timeout`], each
//! with `now` on the host clock, and drains [`Session::poll_output`]; [`Session::poll_timeout`]
//! says when to call `handle_timeout` next. There are no sockets, tasks or clocks in here, so the
//! tests run in simulated time. Version checks, frame limits and rate limits happen in the server
//! before a message gets here; resume tokens come from the server's random source.
//!
//! - here: the state, the timers, and the rules every change goes through (the lead time, bar
//!   lines, leadership);
//! - `driver`: what passes between the session and its driver (configuration, join requests, song
//!   choices, secrets, outputs);
//! - `view`: what the driver reads (ids, secrets, participants, the schedule, a snapshot,
//!   connections);
//! - `access`: who gets in (secrets, PINs, resume), and who goes away;
//! - `control`: what members do once in (leadership, tempo, meter, transport, songs, sync reports);
//! - `cues`: cues to the band, and who may send them;
//! - [`carry`]: what a session carries from one server to the next;
//! - `personal`: each member's own settings, kept for the member's devices;
//! - `names`: what a name, an instrument or a colour may be; `pin`: PINs, and guessing them;
//! - `tempo_note`: a tempo being set, written to the activity stream once it settles.

use crate::protocol::{
    ActivityKind, ErrorCode, LeaveReason, Participant, ParticipantId, Refusal, Role, Secret, ServerMsg,
};
use crate::time::{Beats, Micros};
use crate::timeline::{Segment, Timeline, Transport};
use std::collections::VecDeque;

mod access;
pub mod carry;
mod control;
mod cues;
mod driver;
mod names;
mod personal;
mod pin;
mod tempo_note;
#[cfg(test)]
mod tests;
mod view;

pub use driver::{ConnId, JoinRequest, Output, SecretSource, SessionConfig, SongChoice};
pub use names::MAX_NAME_CHARS;
pub use tempo_note::TEMPO_SETTLE;

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
    /// How late it handles the server's messages (its last report), for the lead time.
    delivery: Micros,
    /// A one-shot member (a script), whose join and leave are not activity.
    once: bool,
}

/// One band's session.
#[derive(Debug)]
pub struct Session {
    id: String,
    name: String,
    cfg: SessionConfig,
    epoch: u64,
    /// Where the session was carried from another server: how this clock continues that one's,
    /// for the members who come over ([`Session::take_over`]).
    rebase: Option<crate::protocol::Rebase>,
    /// Every participant, in join order.
    members: Vec<Member>,
    leader: Option<ParticipantId>,
    /// A leader who dropped, and until when it may take leadership back on resume.
    former_leader: Option<(ParticipantId, Micros)>,
    /// Tempo changes not yet in the activity stream (one entry once the tempo settles).
    tempo_note: Option<tempo_note::TempoNote>,
    transport: Transport,
    /// The current setlist song.
    song: Option<String>,
    /// Who besides the leader may send cues.
    cue_by: crate::protocol::CueBy,
    /// The member (by name) the leader lets cue too.
    cue_member: Option<String>,
    /// Each member's own settings, by [`crate::protocol::member_key`].
    personal: std::collections::BTreeMap<String, crate::protocol::Personal>,
    next_id: ParticipantId,
    out: VecDeque<Output>,
    /// The join secret every link carries.
    secret: Secret,
    /// The leader's link's secret, where an organizer made the session: it admits and makes the
    /// one who joins with it the leader (`set_leader_secret`).
    leader_secret: Option<Secret>,
    /// The view-only link's secret: it admits as a viewer (`set_viewer_secret`).
    viewer_secret: Option<Secret>,
    /// The PIN for typed joins, if the leader set one.
    pin: Option<Secret>,
    /// Wrong PINs, per source and in all.
    pin_guard: pin::PinGuard,
    /// Where fresh secrets come from (the OS's random source in the server; a counter in tests).
    secrets: SecretSource,
}

pub use pin::{FREE_PIN_TRIES, MAX_PIN_FAILURES, MAX_PIN_WAIT, PIN_DIGITS, check_pin};

const PALETTE: [&str; 12] = [
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45", "#fabed4", "#469990",
    "#dcbeff", "#9a6324",
];

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
            leader_secret: None,
            viewer_secret: None,
            pin: None,
            pin_guard: pin::PinGuard::default(),
            secrets,
            id: id.into(),
            name: name.into(),
            cfg,
            epoch,
            rebase: None,
            members: Vec::new(),
            leader: None,
            former_leader: None,
            tempo_note: None,
            transport: Transport::new(now),
            song: None,
            cue_by: crate::protocol::CueBy::Leader,
            cue_member: None,
            personal: std::collections::BTreeMap::new(),
            next_id: 1,
            out: VecDeque::new(),
        }
    }

    /// Whether `id` is a one-shot member (a script), whose coming and going is not activity.
    fn is_once(&self, id: ParticipantId) -> bool {
        self.members.iter().any(|m| m.p.id == id && m.once)
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
        let tempo = self.tempo_note.map(|n| n.due());
        away.chain(grace).chain(tempo).min()
    }

    /// Expires away participants and the former leader's grace period, and writes a settled
    /// tempo's activity entry.
    pub fn handle_timeout(&mut self, now: Micros) {
        self.transport.prune(now);
        if self.tempo_note.is_some_and(|n| n.due() <= now) {
            self.flush_tempo_note();
        }
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
            let once = self.is_once(id);
            self.members.retain(|m| m.p.id != id);
            if self.former_leader.is_some_and(|(f, _)| f == id) {
                self.former_leader = None;
            }
            self.out.push_back(Output::Broadcast(ServerMsg::ParticipantLeft { id, reason: LeaveReason::Timeout }));
            if !once {
                self.activity(ActivityKind::Leave, Some(id), "dropped out (no reconnect in time)".into());
            }
        }
        self.broadcast_stats();
    }

    fn activity(&mut self, kind: ActivityKind, by: Option<ParticipantId>, summary: String) {
        // A tempo still settling goes first: the stream stays in the order things happened.
        self.flush_tempo_note();
        self.out.push_back(Output::Activity { kind, by, summary });
    }

    fn name_of(&self, id: ParticipantId) -> String {
        self.members.iter().find(|m| m.p.id == id).map_or_else(|| format!("#{id}"), |m| m.p.name.clone())
    }

    /// The lead time for a change: enough for the slowest online member to hear of it first and
    /// still render it. Each member needs its round trip (plus twice its clock error) or the
    /// delay it reports in handling messages, whichever is more, twice over, plus the output
    /// latency it compensates (it renders a click that much before it is heard: earbuds at
    /// 200 ms must know of a change 200 ms sooner); the lead is the least lead plus the worst
    /// need, capped.
    #[must_use]
    pub fn lead_time(&self) -> Micros {
        let worst = self
            .members
            .iter()
            .filter(|m| m.conn.is_some())
            .filter_map(|m| {
                let s = m.p.sync.as_ref()?;
                let net = s.rtt_us.0.saturating_add(s.error_us.0.saturating_mul(2)).max(m.delivery.0);
                let ahead = s.output.as_ref().map_or(0, |o| o.latency_us.0);
                Some(net.saturating_mul(2).saturating_add(ahead))
            })
            .max()
            .unwrap_or(0);
        Micros(self.cfg.min_lead.0.saturating_add(worst).min(self.cfg.max_lead.0))
    }

    /// Schedules a change and tells everyone. While the metronome plays (or is about to start) the
    /// change lands on the next bar line at least one lead time ahead, so every device switches on
    /// the same beat; while it is stopped nothing sounds, so the change applies at once.
    fn change(&mut self, now: Micros, by: ParticipantId, starting: bool, edit: impl FnOnce(&mut Segment, Micros)) {
        self.change_on(now, by, starting, None, edit);
    }

    /// [`Session::change`], for a start on a bar line of the grid `on_bar` gives (a host time a
    /// bar starts on, at the session's tempo and meter): the first one at least a lead time ahead.
    fn change_on(
        &mut self,
        now: Micros,
        by: ParticipantId,
        starting: bool,
        on_bar: Option<Micros>,
        edit: impl FnOnce(&mut Segment, Micros),
    ) {
        let not_before = if self.transport.latest().playing || starting { now + self.lead_time() } else { now };
        let mut at = self.transport.next_boundary(not_before);
        if let Some(grid) = on_bar {
            let last = self.transport.latest();
            let bars = Timeline { tempo: last.timeline.tempo, beat_origin: Beats(0), time_origin: grid };
            let bar = last.meter.bar_len();
            let next = Beats(bars.to_beats(at).0.div_euclid(bar.0) * bar.0);
            let mut t = bars.from_beats(next);
            // Rounding can put the bar line a microsecond before `at`; then take the next one.
            if t < at {
                t = bars.from_beats(next + bar);
            }
            at = self.transport.next_boundary(t);
        }
        let mut seg = self.transport.latest().clone();
        // Bring the copied segment up to `at` before editing, so edits see the position there.
        // Playing, `at` is a bar line: its position is that bar line exactly (converting the
        // host time back can land a micro-beat either side, which would put a song's first bar,
        // a meter's grid or a flow's count one bar off).
        let pos = if seg.playing { seg.nearest_bar(seg.position(at)) } else { seg.position(at) };
        seg.timeline.beat_origin = pos;
        seg.timeline.time_origin = at;
        seg.at = at;
        let (origin, flow) = (seg.bar_origin, seg.flow);
        let flow_here = seg.flow_bar(pos);
        edit(&mut seg, at);
        // A change that moved the bar grid (a meter, a seek) but left the flow alone carries the
        // flow's bar over to the new grid's origin.
        if seg.flow == flow && seg.bar_origin != origin {
            seg.flow = flow_here.map(|(bar, vamp)| crate::timeline::FlowCursor {
                bar: bar + (seg.bar_origin - pos).0.div_euclid(seg.meter.bar_len().0),
                vamp,
            });
        }
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
}
