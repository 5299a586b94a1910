//! The connection task: connect, join, mirror, reconnect.
//!
//! [`Client::spawn`] starts a task that owns the WebSocket. The caller sends [`ClientMsg`]s with
//! [`Client::send`] and reads [`Event`]s from [`Client::next_event`]. When the connection drops
//! the task reconnects with [`Backoff`] and joins again with its resume token, so the server keeps
//! it as the same participant; when the server refuses the join for good (unknown session, unsupported version, full,
//! bad name, missing or wrong secret or PIN) it stops with [`Event::Refused`]; when it cannot get back in time it stops with
//! [`Event::Lost`].

use crate::backoff::Backoff;
use crate::local_clock::LocalClock;
use crate::target::JoinTarget;
use bandsync_core::protocol::{ErrorCode, PROTOCOL_VERSION, Participant, ParticipantId, RoomStats, Secret};
use bandsync_core::timeline::Transport;
use bandsync_core::{ClientMsg, ClockConfig, ClockStatus, ClockSync, Micros, Mirror, ServerMsg};
use futures_util::{SinkExt, StreamExt};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// How to join.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Where.
    pub target: JoinTarget,
    /// Display name.
    pub name: String,
    /// Instrument.
    pub instrument: Option<String>,
    /// Claim leadership on join.
    pub leader: bool,
    /// A PIN, for joining by a typed address instead of a link.
    pub pin: Option<Secret>,
    /// Certificates to trust besides the public roots (a host's self-signed certificate).
    pub extra_ca: Vec<rustls_pki_types::CertificateDer<'static>>,
    /// Reconnect policy.
    pub backoff: Backoff,
    /// How often to send a heartbeat when nothing else was sent.
    pub heartbeat: Duration,
    /// Silence from the server after which the connection counts as dead.
    pub idle_timeout: Duration,
    /// This device's clock (distorted on purpose by `--clock-offset-ms`/`--clock-skew-ppm`).
    pub clock: LocalClock,
    /// Clock-sync tuning.
    pub clock_config: ClockConfig,
    /// How often to report clock status as an event and to the server.
    pub clock_report: Duration,
    /// Also hand every server control message except `pong` and `heartbeat` to the caller, as
    /// [`Event::Server`], in wire order (the app forwards them to its UI).
    pub forward_server_messages: bool,
}

impl ClientOptions {
    /// Options with the usual timings.
    #[must_use]
    pub fn new(target: JoinTarget, name: impl Into<String>) -> Self {
        ClientOptions {
            target,
            name: name.into(),
            instrument: None,
            leader: false,
            pin: None,
            extra_ca: Vec::new(),
            backoff: Backoff::default(),
            heartbeat: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(15),
            clock: LocalClock::system(),
            clock_config: ClockConfig::default(),
            clock_report: Duration::from_secs(1),
            forward_server_messages: false,
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
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
    /// Waiting before reconnect attempt `attempt`.
    Reconnecting {
        /// 1-based.
        attempt: u32,
        /// The wait.
        delay: Duration,
    },
    /// The server refused the join for good. The task has ended.
    Refused {
        /// The stable code.
        code: ErrorCode,
        /// The explanation.
        message: String,
    },
    /// The connection could not be re-established in time. The task has ended.
    Lost {
        /// The last failure.
        reason: String,
    },
    /// We left the session. The task has ended.
    Left,
    /// The clock estimate, about once a second.
    Clock(ClockStatus),
    /// A y-sync message for the documents (a binary frame from the server).
    Doc(Vec<u8>),
    /// A server control message as received, when [`ClientOptions::forward_server_messages`] is
    /// set: every one except `pong`, `heartbeat` and invalid transport schedules, in wire order,
    /// before the events it causes.
    Server(ServerMsg),
    /// To the leader: the join link and PIN as they are now (after a rotation, the old link is
    /// revoked).
    Credentials {
        /// The join link, with the secret.
        link: String,
        /// The PIN, if set.
        pin: Option<Secret>,
    },
}

enum Cmd {
    Send(ClientMsg),
    Doc(Vec<u8>),
    Leave,
}

/// What the connection task and the caller share.
#[derive(Debug)]
struct Shared {
    mirror: Option<Mirror>,
    clock: ClockSync,
}

type SharedRef = Arc<Mutex<Shared>>;

/// The clock estimate, readable from any thread (the audio control thread uses it).
#[derive(Debug, Clone)]
pub struct ClockView {
    shared: SharedRef,
    local: LocalClock,
}

impl ClockView {
    /// This device's local clock at `at`, µs.
    #[must_use]
    pub fn local_of(&self, at: std::time::Instant) -> f64 {
        self.local.at(at)
    }

    /// Host time at local time `local_us`, once the clock has synced; `None` before.
    #[must_use]
    pub fn to_host(&self, local_us: f64) -> Option<f64> {
        let guard = self.shared.lock().expect("client lock poisoned");
        let now = Micros(local_us.round() as i64);
        if !guard.clock.has_synced() {
            return None;
        }
        guard.clock.offset_at(now).map(|o| local_us + o)
    }

    /// Whether the clock has synced (clicks wait for it).
    #[must_use]
    pub fn synced(&self) -> bool {
        let now = self.local.now();
        self.shared.lock().expect("client lock poisoned").clock.status(now).synced
    }
}

/// A running member connection.
#[derive(Debug)]
pub struct Client {
    cmd: mpsc::UnboundedSender<Cmd>,
    events: mpsc::UnboundedReceiver<Event>,
    shared: SharedRef,
    local: LocalClock,
}

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cmd::Send(m) => write!(f, "Send({})", m.kind()),
            Cmd::Doc(b) => write!(f, "Doc({} bytes)", b.len()),
            Cmd::Leave => f.write_str("Leave"),
        }
    }
}

impl Client {
    /// Starts the connection task. Must be called inside a tokio runtime.
    #[must_use]
    pub fn spawn(opts: ClientOptions) -> Self {
        let (cmd, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, events) = mpsc::unbounded_channel();
        let local = opts.clock.clone();
        let clock = ClockSync::new(opts.clock_config.clone(), local.now());
        let shared = Arc::new(Mutex::new(Shared { mirror: None, clock }));
        tokio::spawn(run(opts, cmd_rx, ev_tx, shared.clone()));
        Client { cmd, events, shared, local }
    }

    /// Sends a message to the server. While disconnected the message is dropped and an
    /// [`Event::Error`] says so.
    pub fn send(&self, msg: ClientMsg) {
        let _ = self.cmd.send(Cmd::Send(msg));
    }

    /// Sends a y-sync message for the session's documents (a binary frame).
    pub fn send_doc(&self, bytes: Vec<u8>) {
        let _ = self.cmd.send(Cmd::Doc(bytes));
    }

    /// Leaves the session and ends the task; [`Event::Left`] follows.
    pub fn leave(&self) {
        let _ = self.cmd.send(Cmd::Leave);
    }

    /// The next event; `None` once the task has ended and every event was read.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// The session as this member sees it, once joined.
    #[must_use]
    pub fn mirror(&self) -> Option<Mirror> {
        self.shared.lock().expect("client lock poisoned").mirror.clone()
    }

    /// Host time now, through the clock estimate; `None` before the first clock sample.
    #[must_use]
    pub fn host_now(&self) -> Option<Micros> {
        let now = self.local.now();
        self.shared.lock().expect("client lock poisoned").clock.to_host(now)
    }

    /// Host time now in fractional µs, for measuring the estimate itself.
    #[must_use]
    pub fn host_now_f64(&self) -> Option<f64> {
        let now = self.local.now();
        self.shared.lock().expect("client lock poisoned").clock.to_host_f64(now)
    }

    /// The tokio instant at which the host clock will read `host`, through the estimate.
    #[must_use]
    pub fn instant_at_host(&self, host: Micros) -> Option<tokio::time::Instant> {
        let local = self.shared.lock().expect("client lock poisoned").clock.to_local(host)?;
        Some(self.local.instant_at(local))
    }

    /// A thread-safe view of the clock estimate, for the audio thread.
    #[must_use]
    pub fn clock_view(&self) -> ClockView {
        ClockView { shared: self.shared.clone(), local: self.local.clone() }
    }

    /// The clock estimate's status now.
    #[must_use]
    pub fn clock_status(&self) -> ClockStatus {
        let now = self.local.now();
        self.shared.lock().expect("client lock poisoned").clock.status(now)
    }
}

enum Ended {
    Left,
    Refused(ErrorCode, String),
    /// Dropped, and whether we had joined on this connection.
    Dropped(String, bool),
    /// A failure no retry can fix (a certificate the client does not trust).
    Fatal(String),
}

async fn run(
    opts: ClientOptions,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    ev: mpsc::UnboundedSender<Event>,
    shared: SharedRef,
) {
    let mut token: Option<Secret> = None;
    let mut attempt = 0u32;
    let mut down_since: Option<Instant> = None;
    loop {
        match connect_and_serve(&opts, &mut token, &mut cmds, &ev, &shared).await {
            Ended::Left => {
                let _ = ev.send(Event::Left);
                return;
            }
            Ended::Refused(code, message) => {
                let _ = ev.send(Event::Refused { code, message });
                return;
            }
            Ended::Fatal(reason) => {
                let _ = ev.send(Event::Lost { reason });
                return;
            }
            Ended::Dropped(reason, joined) => {
                if joined {
                    attempt = 0;
                    down_since = None;
                }
                let since = *down_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= opts.backoff.give_up_after {
                    let _ = ev.send(Event::Lost { reason });
                    return;
                }
                let _ = ev.send(Event::Disconnected { reason });
                attempt += 1;
                let delay = opts.backoff.delay(attempt, rand::random::<f64>());
                let _ = ev.send(Event::Reconnecting { attempt, delay });
                let wake = Instant::now() + delay;
                loop {
                    tokio::select! {
                        () = tokio::time::sleep_until(wake) => break,
                        c = cmds.recv() => match c {
                            None | Some(Cmd::Leave) => {
                                let _ = ev.send(Event::Left);
                                return;
                            }
                            Some(Cmd::Send(m)) => {
                                let _ = ev.send(not_connected(&m));
                            }
                            // Document edits live in the caller's replica; its sync step after the
                            // next `Joined` carries them, so nothing is lost by dropping this.
                            Some(Cmd::Doc(_)) => {}
                        },
                    }
                }
            }
        }
    }
}

fn not_connected(m: &ClientMsg) -> Event {
    Event::Error {
        code: ErrorCode::Internal,
        message: "not connected; the message was not sent".into(),
        about: Some(m.kind().into()),
    }
}

async fn connect_and_serve(
    opts: &ClientOptions,
    token: &mut Option<Secret>,
    cmds: &mut mpsc::UnboundedReceiver<Cmd>,
    ev: &mpsc::UnboundedSender<Event>,
    shared: &SharedRef,
) -> Ended {
    let connector = match opts.target.ws_url.scheme() {
        "wss" => Some(tokio_tungstenite::Connector::Rustls(tls_config(&opts.extra_ca))),
        _ => None,
    };
    // Every address the link names, raced: the one that answers first is the one kept.
    let attempts = std::iter::once(&opts.target.ws_url)
        .chain(&opts.target.alternates)
        .map(|u| Box::pin(tokio_tungstenite::connect_async_tls_with_config(u.as_str(), None, true, connector.clone())));
    let connect = async move { futures_util::future::select_ok(attempts).await.map(|(ok, _rest)| ok) };
    let (mut ws, _) = match tokio::time::timeout(Duration::from_secs(5), connect).await {
        Ok(Ok(x)) => x,
        Ok(Err(tokio_tungstenite::tungstenite::Error::Tls(e))) => {
            return Ended::Fatal(format!(
                "TLS with {} failed: {e}. If the host uses a self-signed certificate, pass it with --ca",
                opts.target.ws_url
            ));
        }
        Ok(Err(tokio_tungstenite::tungstenite::Error::Io(e))) if e.kind() == std::io::ErrorKind::InvalidData => {
            return Ended::Fatal(format!("TLS with {} failed: {e}", opts.target.ws_url));
        }
        Ok(Err(e)) => return Ended::Dropped(format!("cannot connect to {}: {e}", opts.target.ws_url), false),
        Err(_) => return Ended::Dropped(format!("no answer from {} in 5 s", opts.target.ws_url), false),
    };
    let _ = set_nodelay(&ws);
    let join = ClientMsg::Join {
        v: PROTOCOL_VERSION,
        session: opts.target.session.clone(),
        name: opts.name.clone(),
        instrument: opts.instrument.clone(),
        resume: token.clone(),
        leader: opts.leader,
        secret: opts.target.secret.clone(),
        pin: opts.pin.clone(),
    };
    if let Err(e) = ws.send(text(&join)).await {
        return Ended::Dropped(format!("send failed: {e}"), false);
    }
    let mut joined = false;
    let mut heartbeat = tokio::time::interval(opts.heartbeat);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let mut hb_n = 0u32;
    let local = &opts.clock;
    shared.lock().expect("client lock poisoned").clock.rewarm(local.now());
    let mut report = tokio::time::interval(opts.clock_report);
    report.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut reported_synced: Option<bool> = None;
    let mut reports = 0u32;
    loop {
        let ping_at = local.instant_at(shared.lock().expect("client lock poisoned").clock.poll_timeout());
        tokio::select! {
            () = tokio::time::sleep_until(ping_at) => {
                let ping = shared.lock().expect("client lock poisoned").clock.poll_ping(local.now());
                if let Some((n, t0)) = ping {
                    if let Err(e) = ws.send(text(&ClientMsg::Ping { n, t0 })).await {
                        return Ended::Dropped(format!("send failed: {e}"), joined);
                    }
                }
            }
            frame = ws.next() => {
                // The pong's arrival time, taken before anything else is done with the frame.
                let t3 = local.now();
                last_heard = Instant::now();
                let msg = match frame {
                    None => return Ended::Dropped("the server closed the connection".into(), joined),
                    Some(Err(e)) => return Ended::Dropped(format!("connection error: {e}"), joined),
                    Some(Ok(Message::Text(t))) => match serde_json::from_str::<ServerMsg>(t.as_str()) {
                        Ok(m) => m,
                        Err(e) => {
                            tracing::warn!(error = %e, "unreadable server message");
                            continue;
                        }
                    },
                    Some(Ok(Message::Binary(b))) => {
                        let _ = ev.send(Event::Doc(b.to_vec()));
                        continue;
                    }
                    Some(Ok(Message::Close(f))) => {
                        let reason = f.map_or_else(|| "closed".to_owned(), |f| format!("closed: {} {}", u16::from(f.code), f.reason));
                        return Ended::Dropped(reason, joined);
                    }
                    Some(Ok(_)) => continue,
                };
                // A schedule no session could make (from a broken or hostile host) is dropped here,
                // before anything divides by its tempo.
                let bad = match &msg {
                    ServerMsg::Transport { transport, .. } => !transport.is_valid(),
                    ServerMsg::Welcome { snapshot, .. } | ServerMsg::Snapshot(snapshot) => !snapshot.transport.is_valid(),
                    _ => false,
                };
                if bad {
                    tracing::warn!("dropped an invalid transport schedule from the host");
                    continue;
                }
                if opts.forward_server_messages && !matches!(msg, ServerMsg::Pong { .. } | ServerMsg::Heartbeat { .. }) {
                    let _ = ev.send(Event::Server(msg.clone()));
                }
                if let ServerMsg::Credentials { secret, pin } = &msg {
                    let _ = ev.send(Event::Credentials { link: opts.target.link(secret), pin: pin.clone() });
                    continue;
                }
                if let ServerMsg::Pong { n, t0, t1, t2, epoch } = msg {
                    shared.lock().expect("client lock poisoned").clock.handle_pong(t3, n, t0, t1, t2, epoch);
                    continue;
                }
                if let Some(end) = on_message(msg, token, &mut joined, ev, shared) {
                    return end;
                }
            }
            c = cmds.recv() => match c {
                None | Some(Cmd::Leave) => {
                    let _ = ws.send(text(&ClientMsg::Leave {})).await;
                    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
                    return Ended::Left;
                }
                Some(Cmd::Send(m)) => {
                    if let Err(e) = ws.send(text(&m)).await {
                        let _ = ev.send(not_connected(&m));
                        return Ended::Dropped(format!("send failed: {e}"), joined);
                    }
                }
                Some(Cmd::Doc(b)) => {
                    if let Err(e) = ws.send(Message::Binary(b.into())).await {
                        return Ended::Dropped(format!("send failed: {e}"), joined);
                    }
                }
            },
            _ = report.tick() => {
                let status = shared.lock().expect("client lock poisoned").clock.status(local.now());
                if status.error_us == i64::MAX {
                    continue;
                }
                let _ = ev.send(Event::Clock(status));
                // Tell the server (and so the participant view) every 5 s, and at once when the
                // synced flag changes.
                reports += 1;
                if joined && (reported_synced != Some(status.synced) || reports % 5 == 0) {
                    reported_synced = Some(status.synced);
                    let m = ClientMsg::SyncReport {
                        rtt_us: status.rtt_us.clamp(0, 60_000_000),
                        error_us: status.error_us.clamp(0, 60_000_000),
                        synced: status.synced,
                    };
                    if let Err(e) = ws.send(text(&m)).await {
                        return Ended::Dropped(format!("send failed: {e}"), joined);
                    }
                }
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > opts.idle_timeout {
                    return Ended::Dropped("the server went silent".into(), joined);
                }
                hb_n = hb_n.wrapping_add(1);
                if let Err(e) = ws.send(text(&ClientMsg::Heartbeat { n: hb_n })).await {
                    return Ended::Dropped(format!("send failed: {e}"), joined);
                }
            }
        }
    }
}

fn on_message(
    msg: ServerMsg,
    token: &mut Option<Secret>,
    joined: &mut bool,
    ev: &mpsc::UnboundedSender<Event>,
    shared: &SharedRef,
) -> Option<Ended> {
    match &msg {
        ServerMsg::Welcome { you, resume, resumed, snapshot, .. } => {
            *token = Some(resume.clone());
            *joined = true;
            let _ = ev.send(Event::Joined {
                you: *you,
                session: snapshot.session.clone(),
                name: snapshot.name.clone(),
                resumed: *resumed,
            });
        }
        ServerMsg::Error { code, message, about } => {
            if !*joined && about.as_deref() == Some("join") && code.is_refusal() {
                return Some(Ended::Refused(*code, message.clone()));
            }
            let _ = ev.send(Event::Error { code: *code, message: message.clone(), about: about.clone() });
            return None;
        }
        _ => {}
    }
    let mut shared = shared.lock().expect("client lock poisoned");
    let guard = &mut shared.mirror;
    let changed = match (&mut *guard, &msg) {
        (_, ServerMsg::Welcome { you, epoch, snapshot, .. }) => {
            *guard = Some(Mirror::from_welcome(*you, *epoch, snapshot.clone()));
            bandsync_core::mirror::Changed { participants: true, transport: true, snapshot: true, song: true }
        }
        (Some(m), msg) => m.apply(msg),
        (None, _) => return None,
    };
    let m = guard.as_ref().expect("set above");
    if changed.participants {
        let _ = ev.send(Event::Participants { participants: m.participants.clone(), stats: m.stats });
    }
    if changed.transport {
        let now = match &msg {
            ServerMsg::Transport { now, .. } => *now,
            ServerMsg::Welcome { snapshot, .. } | ServerMsg::Snapshot(snapshot) => snapshot.now,
            _ => Micros::ZERO,
        };
        let _ = ev.send(Event::Transport { transport: m.transport.clone(), now });
    }
    None
}

/// The TLS client configuration: the public web roots, plus any certificate passed with `--ca`
/// (a host's self-signed one). The ring provider, like the server.
fn tls_config(extra: &[rustls_pki_types::CertificateDer<'static>]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for c in extra {
        let _ = roots.add(c.clone());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(cfg)
}

fn text(m: &ClientMsg) -> Message {
    Message::Text(serde_json::to_string(m).expect("client messages always serialise").into())
}

fn set_nodelay(
    ws: &tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
) -> std::io::Result<()> {
    match ws.get_ref() {
        tokio_tungstenite::MaybeTlsStream::Plain(s) => s.set_nodelay(true),
        _ => Ok(()),
    }
}
