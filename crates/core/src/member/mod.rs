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
//!
//! - here: the member's state, connecting, closing, sending and leaving, and what the driver reads;
//! - `config`: how a member joins and keeps in touch ([`MemberConfig`]);
//! - `output`: what comes out ([`Transmit`], [`MemberEvent`]);
//! - `receive`: what the server's text frames do;
//! - `timers`: heartbeats, the silent-server check, pings, sync reports, reconnects;
//! - [`backoff`]: the delays between reconnects; [`delivery`]: how late the server's messages are
//!   handled here; [`link`]: join links read into a [`JoinTarget`].

pub mod backoff;
mod config;
pub mod delivery;
pub mod link;
mod output;
mod receive;
mod timers;

use crate::jitter::Jitter;
pub use backoff::Backoff;
pub use config::{CONNECT_TIMEOUT, MemberConfig};
pub use link::{JoinTarget, LinkError};
pub use output::{MemberEvent, Transmit};

use crate::clock::ClockSync;
use crate::host_axis::HostAxis;
use crate::mirror::{Changed, Mirror};
use crate::protocol::{ClientMsg, ErrorCode, OutputReport, PROTOCOL_VERSION, Secret, SyncQuality};
use crate::time::Micros;
use std::collections::VecDeque;

/// Where the connection stands.
#[derive(Debug, Clone)]
enum ConnState {
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
    /// The last sync report sent to the server, as the leader's list judges it.
    reported: Option<SyncQuality>,
    /// The report count at the last one sent early (see `MemberConfig::early_report_gap`).
    early_at: Option<u32>,
}

/// One participant's side of a session.
#[derive(Debug)]
pub struct Member {
    cfg: MemberConfig,
    conn: ConnState,
    /// The resume token of the last welcome.
    token: Option<Secret>,
    clock: ClockSync,
    mirror: Option<Mirror>,
    /// What the last message read changed in the mirror.
    changed: Changed,
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
            conn: ConnState::Ended,
            token,
            clock,
            mirror: None,
            changed: Changed::default(),
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
        self.conn = ConnState::Connecting { deadline: now.saturating_add(self.cfg.connect_timeout) };
        self.out.push_back(Transmit::Connect);
    }

    /// The connection asked for with [`Transmit::Connect`] is open: the join goes out.
    pub fn handle_connected(&mut self, now: Micros) {
        if !matches!(self.conn, ConnState::Connecting { .. }) {
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
        self.conn = ConnState::Open(Open {
            joined: false,
            last_heard: now,
            next_heartbeat: now.saturating_add(self.cfg.heartbeat),
            next_report: now.saturating_add(self.cfg.report_interval),
            heartbeats: 0,
            reports: 0,
            reported: None,
            early_at: None,
        });
    }

    /// Opening the connection failed. `fatal` failures (a certificate the member does not trust)
    /// end the member; others are retried with backoff.
    pub fn handle_connect_failed(&mut self, now: Micros, reason: &str, fatal: bool) {
        if !matches!(self.conn, ConnState::Connecting { .. }) {
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
        if !matches!(self.conn, ConnState::Open(_)) {
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
        if matches!(self.conn, ConnState::Waiting { .. }) {
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
        if let ConnState::Open(o) = &mut self.conn {
            o.last_heard = now;
        }
    }

    /// A binary frame: a y-sync message for the documents.
    pub fn handle_binary(&mut self, now: Micros, bytes: Vec<u8>) {
        if matches!(self.conn, ConnState::Open(_)) {
            self.handle_heard(now);
            self.events.push_back(MemberEvent::Doc { bytes });
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
        if matches!(self.conn, ConnState::Open(_)) {
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
        if matches!(self.conn, ConnState::Open(_)) {
            self.out.push_back(Transmit::Text(text));
        } else {
            #[derive(serde::Deserialize)]
            struct Tagged {
                #[serde(rename = "type")]
                kind: Option<String>,
            }
            let kind = serde_json::from_str::<Tagged>(&text).ok().and_then(|k| k.kind);
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
        if matches!(&self.conn, ConnState::Open(o) if o.joined) {
            self.out.push_back(Transmit::Binary(bytes));
        }
    }

    /// Leaves the session for good.
    pub fn leave(&mut self) {
        if matches!(self.conn, ConnState::Ended) {
            return;
        }
        if matches!(self.conn, ConnState::Open(_)) {
            self.send_now(&ClientMsg::Leave {});
        }
        self.out.push_back(Transmit::Close);
        self.end(MemberEvent::Left);
    }

    /// The audio output's figures, sent with the next sync reports (and shown to the band): at
    /// the next report (within `report_interval`) when they change what the leader's list shows,
    /// else at the server's interval (`server_report_every`).
    pub fn set_output(&mut self, output: Option<OutputReport>) {
        self.output = output;
        if let Some(o) = &mut self.output {
            o.bound();
        }
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
        self.conn = ConnState::Waiting { until: now.saturating_add(delay) };
    }

    fn end(&mut self, why: MemberEvent) {
        self.conn = ConnState::Ended;
        self.events.push_back(why);
    }

    /// Whether the member has ended (left, refused or lost).
    #[must_use]
    pub fn is_ended(&self) -> bool {
        matches!(self.conn, ConnState::Ended)
    }

    /// Whether it is joined on the current connection.
    #[must_use]
    pub fn is_joined(&self) -> bool {
        matches!(&self.conn, ConnState::Open(o) if o.joined)
    }

    /// The session as this member sees it, once joined.
    #[must_use]
    pub fn mirror(&self) -> Option<&Mirror> {
        self.mirror.as_ref()
    }

    /// What the last text frame read ([`Member::handle_text`]) changed in [`Member::mirror`]:
    /// nothing for a message that is not about the session's state.
    #[must_use]
    pub fn changed(&self) -> Changed {
        self.changed
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
