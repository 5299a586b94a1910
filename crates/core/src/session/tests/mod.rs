//! The session state machine in simulated time: a harness that routes its outputs to one mirror
//! per connection, and checks that every mirror agrees with the session.

mod access;
mod carry;
mod control;
mod midi;
mod personal;
mod secrets;
mod stage;
mod sync;

use super::*;
use crate::mirror::Mirror;
use crate::protocol::{Access, ClientMsg, Connection, CueBy, ErrorCode, Role};
use crate::time::{Beats, Micros};
use crate::timeline::{Meter, Tempo};
use std::collections::BTreeMap;

/// A tempo in BPM as the wire carries it (milli-BPM), unchecked: tests send bad ones too.
fn bpm(b: f64) -> Tempo {
    Tempo((b * 1000.0).round() as u32)
}

/// A synced member's sync report (a 40 ms round trip, 300 µs of clock error), with `output`.
fn synced_report(output: Option<crate::protocol::OutputReport>) -> ClientMsg {
    ClientMsg::SyncReport { rtt_us: Micros(40_000), error_us: Micros(300), synced: true, output, delivery_us: None }
}

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

    /// A session on a host clock of another epoch (another server).
    fn on_epoch(epoch: u64) -> Self {
        Harness {
            s: Session::new("s1", "Rehearsal", epoch, SessionConfig::default(), Micros(0), counter_secrets()),
            ..Harness::new()
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
        let req = JoinRequest {
            v: crate::protocol::PROTOCOL_VERSION,
            name: name.into(),
            instrument: None,
            resume,
            leader,
            secret,
            pin: None,
            source: None,
            once: false,
        };
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
    join_from(h, c, secret, pin, resume, None);
}

fn join_from(
    h: &mut Harness,
    c: ConnId,
    secret: Option<&str>,
    pin: Option<&str>,
    resume: Option<Secret>,
    source: Option<&str>,
) {
    let req = JoinRequest {
        v: crate::protocol::PROTOCOL_VERSION,
        name: "X".into(),
        instrument: None,
        resume,
        leader: false,
        secret: secret.map(|s| Secret(s.into())),
        pin: pin.map(|s| Secret(s.into())),
        source: source.map(str::to_owned),
        once: false,
    };
    h.s.handle_join(h.now, c, req, Secret(format!("tok-{c}")));
    h.pump();
}
