//! Members and a session in simulated time: a seeded network with latency and jitter between
//! [`Member`]s and a [`Session`] behind a minimal server driver (joins, pings and heartbeats
//! answered at once, everything else through the state machine). Each member runs on its own,
//! deliberately wrong clock. A thousand simulated seconds take milliseconds.

use super::*;
use crate::protocol::Rebase;
use crate::protocol::Route;
use crate::session::{ConnId, JoinRequest, Output, SecretSource, Session, SessionConfig};
use crate::timeline::Tempo;
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

struct Peer {
    m: Member,
    /// Local clock: `host * (1 + skew) + offset`.
    offset: f64,
    skew: f64,
    conn: Option<ConnId>,
    events: Vec<MemberEvent>,
    /// A busy device: every third message to it is handled this much late.
    stall: Micros,
}

impl Peer {
    fn local(&self, host: Micros) -> Micros {
        Micros((host.0 as f64 * (1.0 + self.skew) + self.offset).round() as i64)
    }
    fn host(&self, local: Micros) -> Micros {
        Micros(((local.0 as f64 - self.offset) / (1.0 + self.skew)).ceil() as i64)
    }
}

struct World {
    now: Micros,
    session: Session,
    peers: Vec<Peer>,
    /// Deliveries: (time, sequence) so that equal times keep their order.
    queue: BinaryHeap<std::cmp::Reverse<(Micros, u64, Packet)>>,
    seq: u64,
    latency: Micros,
    jitter: Micros,
    rng: Jitter,
    server_up: bool,
    next_conn: ConnId,
    owner: BTreeMap<ConnId, usize>,
    /// The last delivery time on each connection and direction: TCP keeps order.
    fifo: BTreeMap<(bool, ConnId), Micros>,
}

const SECRET: &str = "s3cret";

impl World {
    fn new(seed: u64, latency_ms: i64, jitter_ms: i64) -> World {
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

    fn target(secret: &str) -> JoinTarget {
        JoinTarget::parse(&format!("http://10.0.0.1:7878/s/s1#k={secret}")).unwrap()
    }

    fn add(&mut self, name: &str, leader: bool, offset_ms: f64, skew_ppm: f64, secret: &str) -> usize {
        let mut cfg = MemberConfig::new(Self::target(secret), name);
        cfg.leader = leader;
        cfg.seed = self.peers.len() as u64 + 11;
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
    fn pump_member(&mut self, i: usize) {
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
            (Route::Connection, ClientMsg::Join { name, instrument, resume, leader, secret, pin, once, .. }) => {
                let req = JoinRequest { name, instrument, resume, leader, secret, pin, source: None, once };
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
    fn cut(&mut self) {
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

    fn run_for(&mut self, d: Micros) {
        let until = self.now + d;
        self.run_until(until);
    }

    fn events(&self, i: usize) -> &[MemberEvent] {
        &self.peers[i].events
    }
}

fn count(events: &[MemberEvent], f: impl Fn(&MemberEvent) -> bool) -> usize {
    events.iter().filter(|e| f(e)).count()
}

#[test]
fn a_member_on_a_wrong_clock_joins_syncs_and_its_quality_reaches_the_band() {
    let mut w = World::new(1, 5, 3);
    let a = w.add("Ana", true, 1500.0, 150.0, SECRET);
    w.run_for(Micros::from_secs(30));
    let joined = count(w.events(a), |e| matches!(e, MemberEvent::Joined { resumed: false, .. }));
    assert_eq!(joined, 1, "{:?}", w.events(a));
    let status = w.peers[a].m.clock().status(w.peers[a].local(w.now));
    assert!(status.synced, "{status:?}");
    // Host time read through the estimate, against the true host time.
    let read = w.peers[a].m.clock().to_host_f64(w.peers[a].local(w.now)).unwrap();
    assert!((read - w.now.0 as f64).abs() < 1_500.0, "off by {} µs", read - w.now.0 as f64);
    let p = w.session.participants().next().unwrap().clone();
    let q = p.sync.expect("the member reported its sync quality");
    assert!(q.synced && q.rtt_us >= Micros::from_millis(10), "{q:?}");
    assert_eq!(p.role, crate::protocol::Role::Leader);
}

#[test]
fn a_cut_connection_is_noticed_and_resumes_as_the_same_participant() {
    let mut w = World::new(2, 5, 3);
    let a = w.add("Ana", true, 0.0, 0.0, SECRET);
    let b = w.add("Ben", false, -20_000.0, -80.0, SECRET);
    w.run_for(Micros::from_secs(5));
    w.cut();
    // The member notices the silence (15 s), backs off and resumes; the session kept it away.
    w.run_for(Micros::from_secs(25));
    for i in [a, b] {
        let ev = w.events(i);
        assert!(count(ev, |e| matches!(e, MemberEvent::Disconnected { .. })) >= 1, "{ev:?}");
        assert_eq!(count(ev, |e| matches!(e, MemberEvent::Joined { resumed: true, .. })), 1, "{ev:?}");
        assert!(w.peers[i].m.is_joined());
    }
    let ids: Vec<_> = w.session.participants().map(|p| p.id).collect();
    assert_eq!(ids, [1, 2], "the same two participants, no duplicates");
    // The leader came back within the grace period and leads again.
    assert_eq!(w.session.stats().leader, Some(1));
}

#[test]
fn a_leaders_tempo_reaches_every_mirror_and_lands_on_the_same_bar() {
    let mut w = World::new(3, 8, 6);
    let a = w.add("Ana", true, 0.0, 0.0, SECRET);
    let b = w.add("Ben", false, 900.0, 120.0, SECRET);
    let c = w.add("Cy", false, -4_000.0, -200.0, SECRET);
    w.run_for(Micros::from_secs(10));
    w.peers[a].m.send(&ClientMsg::Play { count_in: 0 });
    w.pump_member(a);
    w.run_for(Micros::from_secs(2));
    w.peers[a].m.send(&ClientMsg::Tempo { tempo: Tempo(96_000) });
    w.pump_member(a);
    w.run_for(Micros::from_secs(2));
    let t = w.session.transport().clone();
    for i in [a, b, c] {
        let m = w.peers[i].m.mirror().expect("joined");
        assert_eq!(m.transport, t, "member {i} agrees with the session");
    }
    assert_eq!(t.latest().timeline.tempo, Tempo(96_000));
    let bar = t.latest().meter.bar_len();
    assert_eq!((t.latest().timeline.beat_origin.0 - t.latest().bar_origin.0).rem_euclid(bar.0), 0, "on a bar line");
}

#[test]
fn a_wrong_secret_is_refused_for_good_without_retrying() {
    let mut w = World::new(4, 5, 0);
    let a = w.add("Mallory", false, 0.0, 0.0, "guess");
    w.run_for(Micros::from_secs(20));
    let ev = w.events(a);
    assert!(matches!(ev.last(), Some(MemberEvent::Refused { code: ErrorCode::BadSecret, .. })), "{ev:?}");
    assert_eq!(count(ev, |e| matches!(e, MemberEvent::Reconnecting { .. })), 0);
    assert!(w.peers[a].m.is_ended() && w.peers[a].m.poll_timeout().is_none());
    assert_eq!(w.session.participants().count(), 0);
}

#[test]
fn a_host_gone_for_good_ends_in_lost_after_the_retry_window() {
    let mut w = World::new(5, 5, 2);
    let a = w.add("Ana", false, 0.0, 0.0, SECRET);
    w.run_for(Micros::from_secs(3));
    w.server_up = false;
    w.cut();
    w.run_for(Micros::from_secs(120));
    let ev = w.events(a);
    assert!(matches!(ev.last(), Some(MemberEvent::Lost { .. })), "{ev:?}");
    let delays: Vec<Micros> = ev
        .iter()
        .filter_map(|e| if let MemberEvent::Reconnecting { delay, .. } = e { Some(*delay) } else { None })
        .collect();
    assert!(delays.len() >= 5, "it kept trying: {delays:?}");
    assert!(delays.iter().all(|d| *d <= Micros::from_secs(5)), "backoff is capped: {delays:?}");
    assert!(delays.windows(2).take(4).all(|w| w[1].0 > w[0].0 / 2), "and grows: {delays:?}");
}

#[test]
fn leaving_removes_the_participant_and_ends_the_member() {
    let mut w = World::new(6, 5, 2);
    let a = w.add("Ana", false, 0.0, 0.0, SECRET);
    let b = w.add("Ben", false, 0.0, 0.0, SECRET);
    w.run_for(Micros::from_secs(3));
    w.peers[b].m.leave();
    w.pump_member(b);
    w.run_for(Micros::from_secs(1));
    assert!(matches!(w.events(b).last(), Some(MemberEvent::Left)));
    assert_eq!(w.session.participants().count(), 1);
    let left = w
        .events(a)
        .iter()
        .any(|e| matches!(e, MemberEvent::Participants { participants, .. } if participants.len() == 1));
    assert!(left, "the other member saw it go");
}

#[test]
fn a_busy_device_that_handles_messages_late_gets_a_longer_lead() {
    let mut w = World::new(4, 5, 2);
    let a = w.add("Ana", true, 0.0, 0.0, SECRET);
    let b = w.add("Ben", false, 700.0, 60.0, SECRET);
    w.peers[b].stall = Micros::from_millis(90);
    w.run_for(Micros::from_secs(40));
    // Its best round trip is the network's (10-14 ms); the stalls are what the lead must cover.
    let q = w.session.participants().find(|p| p.name == "Ben").unwrap().sync.clone().unwrap();
    assert!(q.rtt_us < Micros::from_millis(20), "{q:?}");
    let lead = w.session.lead_time();
    assert!(lead >= Micros::from_millis(250 + 2 * 90), "lead {lead:?}");
    // A start sent now reaches even the stalled member before it sounds.
    w.peers[a].m.send(&ClientMsg::Play { count_in: 0 });
    w.pump_member(a);
    let start = loop {
        w.run_for(Micros::from_millis(1));
        if w.session.transport().latest().playing {
            break w.session.transport().latest().at;
        }
    };
    let heard = loop {
        if w.peers[b].m.mirror().is_some_and(|m| m.transport.latest().playing) {
            break w.now;
        }
        w.run_for(Micros::from_millis(1));
    };
    assert!(heard + Micros::from_millis(50) < start, "heard at {heard:?}, starts at {start:?}");
}

/// The member's pings answered by a host whose clock reads `local + offset`, on `epoch`, until
/// `until`: what the member sent, polled, and its pongs handed back at once.
fn answer_pings(m: &mut Member, now: &mut Micros, until: Micros, offset: Micros, epoch: u64) {
    while *now < until {
        m.handle_timeout(*now);
        while let Some(t) = m.poll_transmit() {
            if let Transmit::Text(text) = t {
                if let Ok(ClientMsg::Ping { n, t0 }) = serde_json::from_str::<ClientMsg>(&text) {
                    let host = *now + offset;
                    let pong = ServerMsg::Pong { n, t0, t1: host, t2: host, epoch };
                    m.handle_text(*now, &serde_json::to_string(&pong).unwrap());
                }
            }
        }
        *now += Micros::from_millis(50);
    }
}

/// The welcome `session` gives a join on `conn` with `resume`.
fn welcome_of(session: &mut Session, now: Micros, conn: ConnId, resume: Option<Secret>) -> String {
    let secret = Some(session.secret().clone());
    let req = JoinRequest {
        name: "Ana".into(),
        instrument: None,
        resume,
        leader: false,
        secret,
        pin: None,
        source: None,
        once: false,
    };
    session.handle_join(now, conn, req, Secret("0123456789abcdef0123456789abcdef".into()));
    std::iter::from_fn(|| session.poll_output())
        .find_map(|o| match o {
            Output::Send(c, m @ ServerMsg::Welcome { .. }) if c == conn => Some(serde_json::to_string(&m).unwrap()),
            _ => None,
        })
        .expect("a welcome")
}

#[test]
fn a_pong_from_the_next_server_that_overtakes_its_welcome_leaves_the_estimate_in_sync() {
    let secrets = || SecretSource(Box::new(|| Secret(SECRET.to_owned())));
    let (old_offset, shift) = (Micros::from_secs(1_000), Micros::from_secs(-400));
    let mut now = Micros::from_secs(10);
    let mut a = Session::new("s1", "Gig", 1, SessionConfig::default(), now + old_offset, secrets());
    let mut m = Member::new(MemberConfig::new(World::target(SECRET), "Ana"), now);
    m.handle_connected(now);
    let welcome = welcome_of(&mut a, now + old_offset, 1, None);
    m.handle_text(now, &welcome);
    answer_pings(&mut m, &mut now, Micros::from_secs(20), old_offset, 1);
    assert!(m.clock().has_synced());
    let token = m.token().cloned();

    // The host dies; another server takes the session over on a clock `shift` from the old one's.
    let carried = a.carry(now + old_offset, 0);
    m.handle_closed(now, "the connection dropped");
    let mut b = Session::new("s1", "Gig", 2, SessionConfig::default(), now + old_offset + shift, secrets());
    b.take_over(carried, now + old_offset + shift, 0);
    while !matches!(m.poll_transmit(), Some(Transmit::Connect)) {
        now += Micros::from_millis(50);
        m.handle_timeout(now);
    }
    m.handle_connected(now);
    // The new server answers the first ping before the session has welcomed the member.
    let until = now + Micros::from_millis(50);
    answer_pings(&mut m, &mut now, until, old_offset + shift, 2);
    m.handle_text(now, &welcome_of(&mut b, now + old_offset + shift, 2, token));
    let status = m.clock().status(now);
    assert!(m.clock().has_synced() && status.synced, "the estimate stays in sync through the move: {status:?}");
    // Each schedule says which clock it is on, the new server's saying how it continues the
    // old: what the audio engine remembers in host times moves with it.
    let axes: Vec<HostAxis> = std::iter::from_fn(|| m.poll_event())
        .filter_map(|e| match e {
            MemberEvent::Transport { axis, .. } => Some(axis),
            _ => None,
        })
        .collect();
    assert_eq!(axes, [HostAxis::new(1), HostAxis { epoch: 2, continues: Some(Rebase { from: 1, shift }) }]);
    assert_eq!(m.clock().epoch(), Some(2));
    let host = m.clock().to_host(now).unwrap();
    assert!((host - (now + old_offset + shift)).0.abs() < 1_000, "on the new clock at once: {host:?}");
    // And it goes on from there without a step.
    let until = now + Micros::from_secs(5);
    answer_pings(&mut m, &mut now, until, old_offset + shift, 2);
    assert_eq!(m.clock().steps(), 0);
}
