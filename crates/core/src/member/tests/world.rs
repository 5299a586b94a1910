//! The simulated world the member tests run in: a seeded network with latency, jitter and
//! per-connection order, a minimal server driver around a [`Session`], and members on clocks of
//! their own.

use crate::jitter::Jitter;
use crate::member::{JoinTarget, Member, MemberConfig, MemberEvent, Transmit};
use crate::protocol::{ClientMsg, Route, Secret, ServerMsg};
use crate::session::{ConnId, JoinRequest, Output, SecretSource, Session, SessionConfig};
use crate::time::Micros;
use std::collections::{BTreeMap, BinaryHeap};

/// A frame in flight.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Packet {
    /// A member's connection attempt reached the server (or failed, if it is down).
    Connect { peer: usize },
    /// A text frame for the server.
    ToServer { conn: ConnId, text: String },
    /// A member closed its connection.
    CloseToServer { conn: ConnId },
    /// A text frame for a member.
    ToMember { peer: usize, conn: ConnId, text: String },
    /// The server closed a member's connection.
    CloseToMember { peer: usize, conn: ConnId },
}

pub(super) struct Peer {
    pub(super) m: Member,
    /// Local clock: `host * (1 + skew) + offset`.
    offset: f64,
    skew: f64,
    conn: Option<ConnId>,
    events: Vec<MemberEvent>,
    /// A busy device: every third message to it is handled this much late.
    pub(super) stall: Micros,
}

impl Peer {
    pub(super) fn local(&self, host: Micros) -> Micros {
        Micros((host.0 as f64 * (1.0 + self.skew) + self.offset).round() as i64)
    }
    fn host(&self, local: Micros) -> Micros {
        Micros(((local.0 as f64 - self.offset) / (1.0 + self.skew)).ceil() as i64)
    }
}

pub(super) struct World {
    pub(super) now: Micros,
    pub(super) session: Session,
    pub(super) peers: Vec<Peer>,
    /// Deliveries: (time, sequence) so that equal times keep their order.
    queue: BinaryHeap<std::cmp::Reverse<(Micros, u64, Packet)>>,
    seq: u64,
    latency: Micros,
    jitter: Micros,
    rng: Jitter,
    pub(super) server_up: bool,
    next_conn: ConnId,
    owner: BTreeMap<ConnId, usize>,
    /// The last delivery time on each connection and direction: TCP keeps order.
    fifo: BTreeMap<(bool, ConnId), Micros>,
}

pub(super) const SECRET: &str = "s3cret";

impl World {
    pub(super) fn new(seed: u64, latency_ms: i64, jitter_ms: i64) -> World {
        let mut n = 0u64;
        let secrets = SecretSource(Box::new(move || {
            n += 1;
            Secret(if n == 1 { SECRET.to_owned() } else { format!("tok{n}") })
        }));
        World {
            now: Micros::from_secs(10),
            session: Session::new("s1", "Gig", 1, SessionConfig::default(), Micros::from_secs(10), secrets),
            peers: Vec::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            latency: Micros::from_millis(latency_ms),
            jitter: Micros::from_millis(jitter_ms),
            rng: Jitter::new(seed),
            server_up: true,
            next_conn: 1,
            owner: BTreeMap::new(),
            fifo: BTreeMap::new(),
        }
    }

    pub(super) fn target(secret: &str) -> JoinTarget {
        JoinTarget::parse(&format!("http://10.0.0.1:7878/s/s1#k={secret}")).unwrap()
    }

    pub(super) fn add(&mut self, name: &str, leader: bool, offset_ms: f64, skew_ppm: f64, secret: &str) -> usize {
        self.add_with(name, leader, offset_ms, skew_ppm, secret, |_| {})
    }

    /// [`World::add`], with the member's configuration changed by `tweak`.
    pub(super) fn add_with(
        &mut self,
        name: &str,
        leader: bool,
        offset_ms: f64,
        skew_ppm: f64,
        secret: &str,
        tweak: impl FnOnce(&mut MemberConfig),
    ) -> usize {
        let mut cfg = MemberConfig::new(Self::target(secret), name);
        cfg.leader = leader;
        cfg.seed = self.peers.len() as u64 + 11;
        tweak(&mut cfg);
        let mut p = Peer {
            m: Member::new(cfg, Micros::ZERO),
            offset: offset_ms * 1000.0,
            skew: skew_ppm * 1e-6,
            conn: None,
            events: Vec::new(),
            stall: Micros::ZERO,
        };
        // Re-create the member at its own local "now" (its clock is not the host's).
        let cfg = p.m.config().clone();
        p.m = Member::new(cfg, p.local(self.now));
        self.peers.push(p);
        let i = self.peers.len() - 1;
        self.pump_member(i);
        i
    }

    fn send(&mut self, at: Micros, pkt: Packet) {
        let j = Micros((self.jitter.0 as f64 * self.rng.unit()) as i64);
        let mut when = at + self.latency + j;
        if let Packet::ToMember { peer, .. } = &pkt {
            if self.seq % 3 == 0 {
                when += self.peers[*peer].stall;
            }
        }
        let lane = match &pkt {
            Packet::Connect { .. } => None,
            Packet::ToServer { conn, .. } | Packet::CloseToServer { conn } => Some((true, *conn)),
            Packet::ToMember { conn, .. } | Packet::CloseToMember { conn, .. } => Some((false, *conn)),
        };
        if let Some(lane) = lane {
            let last = self.fifo.entry(lane).or_insert(Micros::ZERO);
            when = when.max(*last);
            *last = when;
        }
        self.seq += 1;
        self.queue.push(std::cmp::Reverse((when, self.seq, pkt)));
    }

    /// Drains a member's transmits and events.
    pub(super) fn pump_member(&mut self, i: usize) {
        let now = self.now;
        while let Some(t) = self.peers[i].m.poll_transmit() {
            match t {
                Transmit::Connect => self.send(now, Packet::Connect { peer: i }),
                Transmit::Text(text) => {
                    if let Some(conn) = self.peers[i].conn {
                        self.send(now, Packet::ToServer { conn, text });
                    }
                }
                Transmit::Binary(_) => {}
                Transmit::Close => {
                    if let Some(conn) = self.peers[i].conn.take() {
                        self.send(now, Packet::CloseToServer { conn });
                    }
                }
            }
        }
        while let Some(e) = self.peers[i].m.poll_event() {
            self.peers[i].events.push(e);
        }
    }

    /// Drains the session's outputs onto the network.
    fn pump_session(&mut self) {
        let now = self.now;
        while let Some(o) = self.session.poll_output() {
            let text = |m: &ServerMsg| serde_json::to_string(m).unwrap();
            match o {
                Output::Send(conn, m) => self.send_to_conn(now, conn, text(&m)),
                Output::Broadcast(m) => {
                    let t = text(&m);
                    for c in self.session.connections().collect::<Vec<_>>() {
                        self.send_to_conn(now, c, t.clone());
                    }
                }
                Output::Close(conn, _) => {
                    if let Some(&peer) = self.owner.get(&conn) {
                        self.send(now, Packet::CloseToMember { peer, conn });
                    }
                }
                Output::Activity { .. } => {}
            }
        }
    }

    fn send_to_conn(&mut self, now: Micros, conn: ConnId, text: String) {
        if let Some(&peer) = self.owner.get(&conn) {
            self.send(now, Packet::ToMember { peer, conn, text });
        }
    }

    fn server_receives(&mut self, conn: ConnId, text: &str) {
        let now = self.now;
        let msg: ClientMsg = serde_json::from_str(text).unwrap();
        match (msg.route(), msg) {
            (Route::Connection, ClientMsg::Ping { n, t0 }) => {
                let pong = ServerMsg::Pong { n, t0, t1: now, t2: now, epoch: 1 };
                self.send_to_conn(now, conn, serde_json::to_string(&pong).unwrap());
            }
            (Route::Connection, ClientMsg::Heartbeat { n }) => {
                self.send_to_conn(now, conn, serde_json::to_string(&ServerMsg::Heartbeat { n }).unwrap());
            }
            (Route::Connection, ClientMsg::Join { v, name, instrument, resume, leader, secret, pin, once, .. }) => {
                let req = JoinRequest { v, name, instrument, resume, leader, secret, pin, source: None, once };
                self.seq += 1;
                self.session.handle_join(now, conn, req, Secret(format!("resume{}", self.seq)));
            }
            (_, msg) => self.session.handle_input(now, conn, msg),
        }
        self.pump_session();
    }

    fn deliver(&mut self, pkt: Packet) {
        let now = self.now;
        match pkt {
            Packet::Connect { peer } => {
                let local = self.peers[peer].local(now);
                if self.server_up {
                    let conn = self.next_conn;
                    self.next_conn += 1;
                    self.owner.insert(conn, peer);
                    self.peers[peer].conn = Some(conn);
                    self.peers[peer].m.handle_connected(local);
                } else {
                    self.peers[peer].m.handle_connect_failed(local, "connection refused", false);
                }
                self.pump_member(peer);
            }
            Packet::ToServer { conn, text } => {
                if self.server_up && self.owner.contains_key(&conn) {
                    self.server_receives(conn, &text);
                }
            }
            Packet::CloseToServer { conn } => {
                if self.owner.remove(&conn).is_some() {
                    self.session.handle_disconnect(now, conn);
                    self.pump_session();
                }
            }
            Packet::ToMember { peer, conn, text } => {
                if self.peers[peer].conn == Some(conn) {
                    let local = self.peers[peer].local(now);
                    self.peers[peer].m.handle_text(local, &text);
                    self.pump_member(peer);
                }
            }
            Packet::CloseToMember { peer, conn } => {
                if self.peers[peer].conn == Some(conn) {
                    self.peers[peer].conn = None;
                    let local = self.peers[peer].local(now);
                    self.peers[peer].m.handle_closed(local, "closed by the server");
                    self.pump_member(peer);
                }
            }
        }
    }

    /// Cuts every connection without a close handshake (a Wi-Fi drop): neither side is told.
    pub(super) fn cut(&mut self) {
        for p in &mut self.peers {
            p.conn = None;
        }
        self.owner.clear();
    }

    /// Runs until host time `until`.
    fn run_until(&mut self, until: Micros) {
        loop {
            let net = self.queue.peek().map(|std::cmp::Reverse((t, _, _))| *t);
            let members = self.peers.iter().filter_map(|p| p.m.poll_timeout().map(|t| p.host(t))).min();
            let session = self.session.poll_timeout();
            let next = [net, members, session].into_iter().flatten().min().unwrap_or(until).max(self.now);
            if next >= until {
                self.now = until;
                return;
            }
            self.now = next;
            if net == Some(next) {
                let std::cmp::Reverse((_, _, pkt)) = self.queue.pop().unwrap();
                self.deliver(pkt);
            }
            for i in 0..self.peers.len() {
                let local = self.peers[i].local(self.now);
                if self.peers[i].m.poll_timeout().is_some_and(|t| t <= local) {
                    self.peers[i].m.handle_timeout(local);
                    self.pump_member(i);
                }
            }
            if session.is_some_and(|t| t <= self.now) {
                self.session.handle_timeout(self.now);
                self.pump_session();
            }
        }
    }

    pub(super) fn run_for(&mut self, d: Micros) {
        let until = self.now + d;
        self.run_until(until);
    }

    pub(super) fn events(&self, i: usize) -> &[MemberEvent] {
        &self.peers[i].events
    }
}

pub(super) fn count(events: &[MemberEvent], f: impl Fn(&MemberEvent) -> bool) -> usize {
    events.iter().filter(|e| f(e)).count()
}
