//! The member: one participant's side of the protocol, sans-IO in the quinn-proto style.
//!
//! It joins (and resumes, with its token, after every reconnect), tells refusals from passing
//! failures, keeps a [`Mirror`] of the session, runs the clock estimator's ping cadence, reports
//! its sync quality (and its audio output's) to the server, sends heartbeats, notices a silent
//! server, and backs off between reconnects. It holds no socket, task or clock:
//!
//! - the driver opens a connection when [`Member::poll_transmit`] says [`Transmit::Connect`], and
//!   reports back with [`Member::handle_connected`] or [`Member::handle_connect_failed`];
//! - frames go in through [`Member::handle_text`] and [`Member::handle_binary`] (with `now` read as
//!   the frame arrives: a pong's receive time), and out through [`Member::poll_transmit`];
//! - [`Member::poll_timeout`] says when to call [`Member::handle_timeout`];
//! - what happened comes out of [`Member::poll_event`].
//!
//! `now` is always this device's local clock in µs. The tokio client (`crates/client`) and the
//! phone page (through `crates/wasm`) are both thin drivers around this one implementation.

pub mod backoff;
pub mod delivery;
pub mod link;

pub use backoff::{Backoff, Jitter};
pub use link::{JoinTarget, LinkError};

use crate::clock::{ClockConfig, ClockStatus, ClockSync};
use crate::host_axis::HostAxis;
use crate::mirror::{Changed, Mirror};
use crate::protocol::{
    ClientMsg, ErrorCode, OutputReport, PROTOCOL_VERSION, Participant, ParticipantId, RoomStats, Secret, ServerMsg,
};
use crate::time::Micros;
use crate::timeline::Transport;
use serde::Serialize;
use std::collections::VecDeque;

/// How a member joins and keeps in touch.
#[derive(Debug, Clone)]
pub struct MemberConfig {
    /// Where.
    pub target: JoinTarget,
    /// Display name.
    pub name: String,
    /// What the member plays.
    pub instrument: Option<String>,
    /// Claim leadership on join if it is free.
    pub leader: bool,
    /// A PIN, for joining by a typed address instead of a link.
    pub pin: Option<Secret>,
    /// How often to send a heartbeat.
    pub heartbeat: Micros,
    /// Silence from the server after which the connection counts as dead.
    pub idle_timeout: Micros,
    /// How long opening a connection may take.
    pub connect_timeout: Micros,
    /// Clock-sync tuning.
    pub clock: ClockConfig,
    /// How often the clock status is reported as an event.
    pub report_interval: Micros,
    /// Every this many reports (and whenever `synced` flips) the status also goes to the server.
    pub server_report_every: u32,
    /// Reconnect policy.
    pub backoff: Backoff,
    /// Also hand every server control message except `pong` and `heartbeat` to the caller, as
    /// [`MemberEvent::Server`], in wire order, before the events it causes. Errors from the server
    /// then come only that way ([`MemberEvent::Error`] is left for the member's own), so that a
    /// caller that mirrors raw messages sees each once.
    pub forward_server_messages: bool,
    /// Seed of the reconnect jitter.
    pub seed: u64,
    /// A resume token kept from an earlier run (a reloaded page), to come back as the same
    /// participant; else a random one the shell made, which the first join proposes: until a
    /// welcome arrives, every join carries it, so a join whose welcome was lost is resumed by
    /// the next instead of leaving a second participant behind.
    pub resume: Option<Secret>,
    /// A one-shot member (a script that joins to do one thing): its join and leave are not
    /// activity.
    pub once: bool,
}

impl MemberConfig {
    /// A configuration with the usual timings.
    #[must_use]
    pub fn new(target: JoinTarget, name: impl Into<String>) -> Self {
        MemberConfig {
            target,
            name: name.into(),
            instrument: None,
            leader: false,
            pin: None,
            heartbeat: Micros::from_secs(5),
            idle_timeout: Micros::from_secs(15),
            connect_timeout: Micros::from_secs(5),
            clock: ClockConfig::default(),
            report_interval: Micros::from_secs(1),
            server_report_every: 5,
            backoff: Backoff::default(),
            forward_server_messages: false,
            seed: 1,
            resume: None,
            once: false,
        }
    }
}

/// What the driver must do with the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transmit {
    /// Open a new connection to the target (racing its alternates); report the outcome.
    Connect,
    /// Send a text frame.
    Text(String),
    /// Send a binary (y-sync) frame.
    Binary(Vec<u8>),
    /// Close the connection (or abandon the one being opened).
    Close,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum MemberEvent {
    /// Joined (or re-joined) the session.
    Joined {
        /// Our participant id.
        you: ParticipantId,
        /// The session id.
        session: String,
        /// The session name.
        name: String,
        /// Whether the server resumed our earlier participant.
        resumed: bool,
    },
    /// The participant list or room stats changed.
    Participants {
        /// Everyone, in join order.
        participants: Vec<Participant>,
        /// Counts and leader.
        stats: RoomStats,
    },
    /// The transport schedule changed.
    Transport {
        /// The schedule.
        transport: Transport,
        /// Host time when the server sent it.
        now: Micros,
        /// The host clock its times are on: whatever remembers host times of the schedules
        /// before moves onto it ([`crate::host_axis`]).
        axis: HostAxis,
    },
    /// The server refused something we sent; nothing changed.
    Error {
        /// The stable code.
        code: ErrorCode,
        /// The explanation.
        message: String,
        /// The refused message's type.
        about: Option<String>,
    },
    /// The connection dropped; a reconnect follows.
    Disconnected {
        /// Why.
        reason: String,
    },
    /// Waiting `delay` before reconnect attempt `attempt` (1-based).
    Reconnecting {
        /// Which attempt.
        attempt: u32,
        /// The wait.
        delay: Micros,
    },
    /// The server refused the join for good. The member has ended.
    Refused {
        /// The stable code.
        code: ErrorCode,
        /// The explanation.
        message: String,
    },
    /// The connection could not be re-established in time. The member has ended.
    Lost {
        /// The last failure.
        reason: String,
    },
    /// We left the session. The member has ended.
    Left,
    /// Our participant was resumed on a newer connection (the same session opened in another
    /// tab or window). The member has ended rather than take it back.
    Replaced,
    /// The clock estimate, every `report_interval`.
    Clock {
        /// The estimate.
        status: ClockStatus,
    },
    /// The leader's cue: show `text` at host time `at` (a bar line while playing).
    Cue {
        /// What to show.
        text: String,
        /// When it lands (host time).
        at: Micros,
        /// The bar it lands on, while playing.
        bar: Option<i64>,
        /// Who sent it.
        by: ParticipantId,
    },
    /// A y-sync message for the documents (a binary frame from the server).
    Doc {
        /// The frame.
        bytes: Vec<u8>,
    },
    /// A server control message as received (with `forward_server_messages`).
    Server {
        /// The message.
        msg: ServerMsg,
    },
    /// To the leader: the join credentials as they are now (after a rotation the old link is
    /// revoked). [`JoinTarget::link`] makes the link.
    Credentials {
        /// The session secret.
        secret: Secret,
        /// The PIN, if set.
        pin: Option<Secret>,
        /// The view-only link's secret, if the host made one.
        viewer: Option<Secret>,
    },
}

/// Where the connection stands.
#[derive(Debug, Clone)]
enum Conn {
    /// A connection is being opened; abandoned at `deadline`.
    Connecting { deadline: Micros },
    /// Connected.
    Open(Open),
    /// Waiting to reconnect.
    Waiting { until: Micros },
    /// Left, refused or lost for good.
    Ended,
}

#[derive(Debug, Clone)]
struct Open {
    joined: bool,
    last_heard: Micros,
    next_heartbeat: Micros,
    next_report: Micros,
    heartbeats: u32,
    reports: u32,
    reported_synced: Option<bool>,
}

/// One participant's side of a session.
#[derive(Debug)]
pub struct Member {
    cfg: MemberConfig,
    conn: Conn,
    /// The resume token of the last welcome.
    token: Option<Secret>,
    clock: ClockSync,
    mirror: Option<Mirror>,
    /// The host clock of the last welcome, and how it continues the one before.
    axis: HostAxis,
    /// Reconnect attempts since the last join.
    attempt: u32,
    /// When the connection was last lost, while not joined again.
    down_since: Option<Micros>,
    jitter: Jitter,
    /// The audio output's figures, for the sync reports.
    output: Option<OutputReport>,
    /// How late the server's messages are handled here, for the sync reports.
    delivery: delivery::Delivery,
    out: VecDeque<Transmit>,
    events: VecDeque<MemberEvent>,
}

impl Member {
    /// A member that starts connecting at once.
    #[must_use]
    pub fn new(cfg: MemberConfig, now: Micros) -> Self {
        let clock = ClockSync::new(cfg.clock.clone(), now);
        let jitter = Jitter::new(cfg.seed);
        let token = cfg.resume.clone();
        let mut m = Member {
            cfg,
            conn: Conn::Ended,
            token,
            clock,
            mirror: None,
            axis: HostAxis::default(),
            attempt: 0,
            down_since: None,
            jitter,
            output: None,
            delivery: delivery::Delivery::default(),
            out: VecDeque::new(),
            events: VecDeque::new(),
        };
        m.connect(now);
        m
    }

    fn connect(&mut self, now: Micros) {
        self.conn = Conn::Connecting { deadline: now.saturating_add(self.cfg.connect_timeout) };
        self.out.push_back(Transmit::Connect);
    }

    /// The connection asked for with [`Transmit::Connect`] is open: the join goes out.
    pub fn handle_connected(&mut self, now: Micros) {
        if !matches!(self.conn, Conn::Connecting { .. }) {
            return;
        }
        let join = ClientMsg::Join {
            v: PROTOCOL_VERSION,
            session: self.cfg.target.session.clone(),
            name: self.cfg.name.clone(),
            instrument: self.cfg.instrument.clone(),
            resume: self.token.clone(),
            leader: self.cfg.leader,
            secret: self.cfg.target.secret.clone(),
            pin: self.cfg.pin.clone(),
            once: self.cfg.once,
        };
        self.send_now(&join);
        self.clock.rewarm(now);
        self.delivery.clear();
        self.conn = Conn::Open(Open {
            joined: false,
            last_heard: now,
            next_heartbeat: now.saturating_add(self.cfg.heartbeat),
            next_report: now.saturating_add(self.cfg.report_interval),
            heartbeats: 0,
            reports: 0,
            reported_synced: None,
        });
    }

    /// Opening the connection failed. `fatal` failures (a certificate the member does not trust)
    /// end the member; others are retried with backoff.
    pub fn handle_connect_failed(&mut self, now: Micros, reason: &str, fatal: bool) {
        if !matches!(self.conn, Conn::Connecting { .. }) {
            return;
        }
        if fatal {
            self.end(MemberEvent::Lost { reason: reason.to_owned() });
        } else {
            self.dropped(now, reason.to_owned());
        }
    }

    /// The connection closed or failed (a close frame, an error, end of stream). `reason` is the
    /// close frame's reason, or a description of the failure.
    pub fn handle_closed(&mut self, now: Micros, reason: &str) {
        if !matches!(self.conn, Conn::Open(_)) {
            return;
        }
        if reason.ends_with(crate::protocol::CLOSE_REPLACED) {
            self.end(MemberEvent::Replaced);
        } else {
            self.dropped(now, reason.to_owned());
        }
    }

    /// Reconnects now instead of at the end of the backoff (the network came back, the page became
    /// visible again).
    pub fn reconnect_now(&mut self, now: Micros) {
        if matches!(self.conn, Conn::Waiting { .. }) {
            self.connect(now);
        }
    }

    /// The resume token of the last welcome, to keep across a page reload.
    #[must_use]
    pub fn token(&self) -> Option<&Secret> {
        self.token.as_ref()
    }

    /// Something arrived that this member does not look into (a binary frame the driver hands to
    /// the documents itself): the server is alive.
    pub fn handle_heard(&mut self, now: Micros) {
        if let Conn::Open(o) = &mut self.conn {
            o.last_heard = now;
        }
    }

    /// A binary frame: a y-sync message for the documents.
    pub fn handle_binary(&mut self, now: Micros, bytes: Vec<u8>) {
        if matches!(self.conn, Conn::Open(_)) {
            self.handle_heard(now);
            self.events.push_back(MemberEvent::Doc { bytes });
        }
    }

    /// A text frame from the server. `now` is read as the frame arrives, before anything else is
    /// done with it: for a pong it is the receive time of the clock exchange.
    pub fn handle_text(&mut self, now: Micros, text: &str) {
        if !matches!(self.conn, Conn::Open(_)) {
            return;
        }
        self.handle_heard(now);
        let Ok(msg) = serde_json::from_str::<ServerMsg>(text) else {
            // A newer server's message this build does not know: nothing to do with it.
            return;
        };
        // A schedule no session could make (from a broken or hostile host) is dropped here,
        // before anything divides by its tempo.
        if !Mirror::plausible(&msg) {
            return;
        }
        if self.cfg.forward_server_messages && !matches!(msg, ServerMsg::Pong { .. } | ServerMsg::Heartbeat { .. }) {
            self.events.push_back(MemberEvent::Server { msg: msg.clone() });
        }
        match msg {
            ServerMsg::Pong { n, t0, t1, t2, epoch } => {
                // A new connection's pings are answered by the server at once, its join after
                // the session is ready: a pong from another clock can overtake the welcome that
                // says how that clock continues ours (a session carried to another server). It
                // is no news until the welcome came; taken as a restart, it would throw away the
                // estimate the band is clicking on.
                let joined = matches!(&self.conn, Conn::Open(o) if o.joined);
                if !joined && self.clock.epoch().is_some_and(|e| e != epoch) {
                    return;
                }
                self.clock.handle_pong(now, n, t0, t1, t2, epoch);
                self.delivered(t2, now);
            }
            ServerMsg::Heartbeat { .. } => {}
            ServerMsg::Cue { text, at, bar, by } => {
                if !self.cfg.forward_server_messages {
                    self.events.push_back(MemberEvent::Cue { text, at, bar, by });
                }
            }
            ServerMsg::Credentials { secret, pin, viewer } => {
                self.events.push_back(MemberEvent::Credentials { secret, pin, viewer });
            }
            ServerMsg::Error { code, message, about } => {
                let joined = matches!(&self.conn, Conn::Open(o) if o.joined);
                if !joined && about.as_deref() == Some("join") && code.is_refusal() {
                    self.out.push_back(Transmit::Close);
                    self.end(MemberEvent::Refused { code, message });
                } else if !self.cfg.forward_server_messages {
                    self.events.push_back(MemberEvent::Error { code, message, about });
                }
            }
            ServerMsg::Welcome { you, resume, resumed, epoch, rebase, snapshot, .. } => {
                // A session carried to another server: the estimate moves onto its clock, before
                // the schedule on that clock is used, and keeps time through the move.
                let rebased = rebase.filter(|r| self.clock.rebase(r.from, epoch, r.shift));
                if rebased.is_none() {
                    // Another clock that does not continue ours (a restarted host): sync again.
                    self.clock.new_epoch(now, epoch);
                }
                // Kept on every schedule of this clock, so that any one of them moves what the
                // schedules before left behind.
                if epoch != self.axis.epoch {
                    self.axis = HostAxis { epoch, continues: rebased };
                }
                self.token = Some(resume);
                self.attempt = 0;
                self.down_since = None;
                if let Conn::Open(o) = &mut self.conn {
                    o.joined = true;
                }
                self.events.push_back(MemberEvent::Joined {
                    you,
                    session: snapshot.session.clone(),
                    name: snapshot.name.clone(),
                    resumed,
                });
                let now_host = snapshot.now;
                self.mirror = Some(Mirror::from_welcome(you, epoch, snapshot));
                self.mirrored(Changed { participants: true, transport: true, snapshot: true, song: true }, now_host);
            }
            msg => {
                let Some(m) = self.mirror.as_mut() else { return };
                let changed = m.apply(&msg);
                let now_host = match &msg {
                    ServerMsg::Transport { now: sent, .. } => {
                        self.delivered(*sent, now);
                        *sent
                    }
                    ServerMsg::Snapshot(s) => s.now,
                    _ => Micros::ZERO,
                };
                self.mirrored(changed, now_host);
            }
        }
    }

    /// A message the server sent at host time `sent` is handled at local `now`: one more delay for
    /// the reports, once the clock has synced and can say what `now` is on the host's clock.
    fn delivered(&mut self, sent: Micros, now: Micros) {
        if self.clock.has_synced() {
            if let Some(handled) = self.clock.to_host(now) {
                self.delivery.record(sent, handled);
            }
        }
    }

    fn mirrored(&mut self, changed: Changed, now_host: Micros) {
        let Some(m) = &self.mirror else { return };
        if changed.participants {
            self.events.push_back(MemberEvent::Participants { participants: m.participants.clone(), stats: m.stats });
        }
        if changed.transport {
            self.events.push_back(MemberEvent::Transport {
                transport: m.transport.clone(),
                now: now_host,
                axis: self.axis,
            });
        }
    }

    /// Timers: clock pings, heartbeats and the silent-server check, reports, reconnects and
    /// connection attempts that take too long.
    pub fn handle_timeout(&mut self, now: Micros) {
        match &mut self.conn {
            Conn::Connecting { deadline } if now >= *deadline => {
                self.out.push_back(Transmit::Close);
                // Whole milliseconds: a connect timeout is set in them.
                let ms = self.cfg.connect_timeout.0 / 1000;
                self.dropped(now, format!("no answer from {} in {ms} ms", self.cfg.target.ws_url));
            }
            Conn::Waiting { until } if now >= *until => self.connect(now),
            Conn::Open(o) => {
                if now.0 - o.last_heard.0 > self.cfg.idle_timeout.0 {
                    self.out.push_back(Transmit::Close);
                    self.dropped(now, "the server went silent".into());
                    return;
                }
                if now >= o.next_heartbeat {
                    o.heartbeats = o.heartbeats.wrapping_add(1);
                    o.next_heartbeat = now.saturating_add(self.cfg.heartbeat);
                    let n = o.heartbeats;
                    self.send_now(&ClientMsg::Heartbeat { n });
                }
                if self.clock.poll_timeout() <= now {
                    if let Some((n, t0)) = self.clock.poll_ping(now) {
                        self.send_now(&ClientMsg::Ping { n, t0 });
                    }
                }
                self.report(now);
            }
            _ => {}
        }
    }

    fn report(&mut self, now: Micros) {
        let Conn::Open(o) = &mut self.conn else { return };
        if now < o.next_report {
            return;
        }
        o.next_report = now.saturating_add(self.cfg.report_interval);
        let status = self.clock.status(now);
        if status.error_us == i64::MAX {
            return;
        }
        self.events.push_back(MemberEvent::Clock { status });
        o.reports += 1;
        let due = o.reports % self.cfg.server_report_every.max(1) == 0;
        if o.joined && (o.reported_synced != Some(status.synced) || due) {
            o.reported_synced = Some(status.synced);
            let limit = Micros::from_secs(60);
            let m = ClientMsg::SyncReport {
                rtt_us: Micros(status.rtt_us).clamp(Micros::ZERO, limit),
                error_us: Micros(status.error_us).clamp(Micros::ZERO, limit),
                synced: status.synced,
                output: self.output.clone(),
                delivery_us: self.delivery.p95(),
            };
            self.send_now(&m);
        }
    }

    /// When [`Member::handle_timeout`] must next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Micros> {
        match &self.conn {
            Conn::Connecting { deadline } => Some(*deadline),
            Conn::Waiting { until } => Some(*until),
            Conn::Open(o) => {
                let idle = o.last_heard.saturating_add(Micros(self.cfg.idle_timeout.0 + 1));
                Some(o.next_heartbeat.min(o.next_report).min(idle).min(self.clock.poll_timeout()))
            }
            Conn::Ended => None,
        }
    }

    /// The next thing to do with the connection.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<MemberEvent> {
        self.events.pop_front()
    }

    /// Sends a message to the server. While not connected it is dropped, and an
    /// [`MemberEvent::Error`] says so.
    pub fn send(&mut self, msg: &ClientMsg) {
        if matches!(self.conn, Conn::Open(_)) {
            self.send_now(msg);
        } else {
            self.events.push_back(MemberEvent::Error {
                code: ErrorCode::Internal,
                message: "not connected; the message was not sent".into(),
                about: Some(msg.kind()),
            });
        }
    }

    /// Sends a message the caller has already encoded (the phone page's, typed by the generated
    /// bindings; the server checks it). While not connected it is dropped, and an
    /// [`MemberEvent::Error`] says so.
    pub fn send_text(&mut self, text: String) {
        if matches!(self.conn, Conn::Open(_)) {
            self.out.push_back(Transmit::Text(text));
        } else {
            #[derive(serde::Deserialize)]
            struct Kind {
                #[serde(rename = "type")]
                kind: Option<String>,
            }
            let kind = serde_json::from_str::<Kind>(&text).ok().and_then(|k| k.kind);
            self.events.push_back(MemberEvent::Error {
                code: ErrorCode::Internal,
                message: "not connected; the message was not sent".into(),
                about: kind,
            });
        }
    }

    /// Sends a y-sync frame. While not joined it is dropped: the replica's sync after the next
    /// join carries its edits, so nothing is lost.
    pub fn send_doc(&mut self, bytes: Vec<u8>) {
        if matches!(&self.conn, Conn::Open(o) if o.joined) {
            self.out.push_back(Transmit::Binary(bytes));
        }
    }

    /// Leaves the session for good.
    pub fn leave(&mut self) {
        if matches!(self.conn, Conn::Ended) {
            return;
        }
        if matches!(self.conn, Conn::Open(_)) {
            self.send_now(&ClientMsg::Leave {});
        }
        self.out.push_back(Transmit::Close);
        self.end(MemberEvent::Left);
    }

    /// The audio output's figures, sent with the next sync reports (and shown to the band).
    pub fn set_output(&mut self, output: Option<OutputReport>) {
        self.output = output;
    }

    fn send_now(&mut self, msg: &ClientMsg) {
        self.out.push_back(Transmit::Text(serde_json::to_string(msg).expect("client messages serialise")));
    }

    fn dropped(&mut self, now: Micros, reason: String) {
        let since = *self.down_since.get_or_insert(now);
        if self.cfg.backoff.give_up_after.is_some_and(|g| now.0 - since.0 >= g.0) {
            self.end(MemberEvent::Lost { reason });
            return;
        }
        self.events.push_back(MemberEvent::Disconnected { reason });
        self.attempt += 1;
        let delay = self.cfg.backoff.delay(self.attempt, self.jitter.unit());
        self.events.push_back(MemberEvent::Reconnecting { attempt: self.attempt, delay });
        self.conn = Conn::Waiting { until: now.saturating_add(delay) };
    }

    fn end(&mut self, why: MemberEvent) {
        self.conn = Conn::Ended;
        self.events.push_back(why);
    }

    /// Whether the member has ended (left, refused or lost).
    #[must_use]
    pub fn is_ended(&self) -> bool {
        matches!(self.conn, Conn::Ended)
    }

    /// Whether it is joined on the current connection.
    #[must_use]
    pub fn is_joined(&self) -> bool {
        matches!(&self.conn, Conn::Open(o) if o.joined)
    }

    /// The session as this member sees it, once joined.
    #[must_use]
    pub fn mirror(&self) -> Option<&Mirror> {
        self.mirror.as_ref()
    }

    /// The clock estimator.
    #[must_use]
    pub fn clock(&self) -> &ClockSync {
        &self.clock
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &MemberConfig {
        &self.cfg
    }
}

#[cfg(test)]
mod tests;
