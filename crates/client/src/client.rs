//! The tokio driver of a [`Member`]: one task that owns the WebSocket, feeds the member what
//! arrives (with the local clock read as each frame arrives), carries out what it asks (connect,
//! send, close), sleeps until its next timer, and hands its events to the caller. All the
//! protocol's decisions (join, resume, refusals, heartbeats, clock-sync cadence, sync reports,
//! backoff) are the member's, in `bandsync_core::member`; the phone page drives the same member
//! compiled to wasm.
//!
//! How to connect is in `client/options.rs`, the opening of the socket in `client/connect.rs`.

mod connect;
mod options;

pub use options::ClientOptions;

use crate::local_clock::LocalClock;
use bandsync_core::member::{Member, MemberEvent, Transmit};
use bandsync_core::protocol::OutputReport;
use bandsync_core::{ClientMsg, ClockStatus, Micros, Mirror};
use connect::{ConnectError, Ws, connect};
use futures_util::{SinkExt, StreamExt};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// What a member connection reports: the member's events.
pub type Event = MemberEvent;

enum ClientCmd {
    Send(ClientMsg),
    Doc(Vec<u8>),
    Output(Option<OutputReport>),
    Leave,
}

type Shared = Arc<Mutex<Member>>;

/// The clock estimate, readable from any thread (the audio control thread uses it).
#[derive(Debug, Clone)]
pub struct ClockView {
    shared: Shared,
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
        self.to_host_on(local_us).map(|(h, _)| h)
    }

    /// As [`ClockView::to_host`], with the epoch of the host clock that time is on (read
    /// together: a welcome can move the estimate onto another clock at any moment).
    #[must_use]
    pub fn to_host_on(&self, local_us: f64) -> Option<(f64, u64)> {
        let m = self.shared.lock().expect("member lock poisoned");
        let clock = m.clock();
        if !clock.has_synced() {
            return None;
        }
        let epoch = clock.epoch()?;
        clock.offset_at(Micros(local_us.round() as i64)).map(|o| (local_us + o, epoch))
    }

    /// Host time now (µs) and the epoch of the host clock it is on, once the clock has synced.
    #[must_use]
    pub fn host_now_on(&self) -> Option<(f64, u64)> {
        self.to_host_on(self.local_of(std::time::Instant::now()))
    }

    /// [`ClockView::host_now_on`] in whole µs, as schedules count host time.
    #[must_use]
    pub fn host_micros_now_on(&self) -> Option<(Micros, u64)> {
        self.host_now_on().map(|(h, e)| (Micros(h.round() as i64), e))
    }

    /// Whether the clock has synced (clicks wait for it).
    #[must_use]
    pub fn synced(&self) -> bool {
        let now = self.local.now();
        self.shared.lock().expect("member lock poisoned").clock().status(now).synced
    }
}

/// Sends to the server from another task than the one reading the client's events.
#[derive(Debug, Clone)]
pub struct Sender(mpsc::UnboundedSender<ClientCmd>);

impl Sender {
    /// As [`Client::send`].
    pub fn send(&self, msg: ClientMsg) {
        let _ = self.0.send(ClientCmd::Send(msg));
    }
}

/// A running member connection.
#[derive(Debug)]
pub struct Client {
    cmd: mpsc::UnboundedSender<ClientCmd>,
    events: mpsc::UnboundedReceiver<Event>,
    shared: Shared,
    local: LocalClock,
}

impl std::fmt::Debug for ClientCmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientCmd::Send(m) => write!(f, "Send({})", m.kind()),
            ClientCmd::Doc(b) => write!(f, "Doc({} bytes)", b.len()),
            ClientCmd::Output(_) => f.write_str("Output"),
            ClientCmd::Leave => f.write_str("Leave"),
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
        let shared = Arc::new(Mutex::new(Member::new(opts.member.clone(), local.now())));
        tokio::spawn(run(opts, cmd_rx, ev_tx, shared.clone()));
        Client { cmd, events, shared, local }
    }

    /// Sends a message to the server. While disconnected the message is dropped and an
    /// [`Event::Error`] says so.
    pub fn send(&self, msg: ClientMsg) {
        let _ = self.cmd.send(ClientCmd::Send(msg));
    }

    /// A handle that sends to the server from elsewhere (a load driver's task).
    #[must_use]
    pub fn sender(&self) -> Sender {
        Sender(self.cmd.clone())
    }

    /// Sends a y-sync message for the session's documents (a binary frame).
    pub fn send_doc(&self, bytes: Vec<u8>) {
        let _ = self.cmd.send(ClientCmd::Doc(bytes));
    }

    /// The audio output's figures, reported to the band with the clock's sync quality.
    pub fn set_output(&self, output: Option<OutputReport>) {
        let _ = self.cmd.send(ClientCmd::Output(output));
    }

    /// Leaves the session and ends the task; [`Event::Left`] follows.
    pub fn leave(&self) {
        let _ = self.cmd.send(ClientCmd::Leave);
    }

    /// The next event; `None` once the task has ended and every event was read.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// The session as this member sees it, once joined.
    #[must_use]
    pub fn mirror(&self) -> Option<Mirror> {
        self.shared.lock().expect("member lock poisoned").mirror().cloned()
    }

    /// Host time now, through the clock estimate; `None` before the first clock sample.
    #[must_use]
    pub fn host_now(&self) -> Option<Micros> {
        let now = self.local.now();
        self.shared.lock().expect("member lock poisoned").clock().to_host(now)
    }

    /// Host time now in fractional µs, for measuring the estimate itself.
    #[must_use]
    pub fn host_now_f64(&self) -> Option<f64> {
        let now = self.local.now();
        self.shared.lock().expect("member lock poisoned").clock().to_host_f64(now)
    }

    /// The tokio instant at which the host clock will read `host`, through the estimate.
    #[must_use]
    pub fn instant_at_host(&self, host: Micros) -> Option<tokio::time::Instant> {
        let local = self.shared.lock().expect("member lock poisoned").clock().to_local(host)?;
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
        self.shared.lock().expect("member lock poisoned").clock().status(now)
    }
}

type Connecting = Pin<Box<dyn Future<Output = Result<Ws, ConnectError>> + Send>>;

async fn run(
    opts: ClientOptions,
    mut cmds: mpsc::UnboundedReceiver<ClientCmd>,
    ev: mpsc::UnboundedSender<Event>,
    shared: Shared,
) {
    let local = opts.clock.clone();
    let mut ws: Option<Ws> = None;
    let mut connecting: Option<Connecting> = None;
    let mut cmds_open = true;
    loop {
        // Carry out what the member asked, and pass on what it says.
        let (transmits, events, deadline, ended) = {
            let mut m = shared.lock().expect("member lock poisoned");
            let t: Vec<Transmit> = std::iter::from_fn(|| m.poll_transmit()).collect();
            let e: Vec<Event> = std::iter::from_fn(|| m.poll_event()).collect();
            (t, e, m.poll_timeout(), m.is_ended())
        };
        for t in transmits {
            let failed = match t {
                Transmit::Connect => {
                    connecting = Some(Box::pin(connect(opts.clone())));
                    None
                }
                Transmit::Text(s) => send(&mut ws, Message::Text(s.into())).await,
                Transmit::Binary(b) => send(&mut ws, Message::Binary(b.into())).await,
                Transmit::Close => {
                    connecting = None;
                    if let Some(mut w) = ws.take() {
                        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), w.close(None)).await;
                    }
                    None
                }
            };
            if let Some(reason) = failed {
                ws = None;
                shared.lock().expect("member lock poisoned").handle_closed(local.now(), &reason);
            }
        }
        for e in events {
            let _ = ev.send(e);
        }
        if ended {
            return;
        }
        let wake = deadline.map(|t| local.instant_at(t));
        tokio::select! {
            r = async { connecting.as_mut().expect("guarded").await }, if connecting.is_some() => {
                connecting = None;
                let now = local.now();
                let mut m = shared.lock().expect("member lock poisoned");
                match r {
                    Ok(w) => {
                        ws = Some(w);
                        m.handle_connected(now);
                    }
                    Err(e) => m.handle_connect_failed(now, &e.reason, e.fatal),
                }
            }
            frame = async { ws.as_mut().expect("guarded").next().await }, if ws.is_some() => {
                // The pong's arrival time, taken before anything else is done with the frame.
                let t3 = local.now();
                let mut m = shared.lock().expect("member lock poisoned");
                match frame {
                    // What is shown comes as events (`forward_server_messages`).
                    Some(Ok(Message::Text(t))) => {
                        m.handle_text(t3, t.as_str());
                    }
                    Some(Ok(Message::Binary(b))) => m.handle_binary(t3, b.to_vec()),
                    Some(Ok(Message::Close(f))) => {
                        let reason = f.map_or_else(|| "closed".to_owned(), |f| format!("closed: {} {}", u16::from(f.code), f.reason));
                        ws = None;
                        m.handle_closed(t3, &reason);
                    }
                    Some(Ok(_)) => m.handle_heard(t3),
                    Some(Err(e)) => {
                        ws = None;
                        m.handle_closed(t3, &format!("connection error: {e}"));
                    }
                    None => {
                        ws = None;
                        m.handle_closed(t3, "the server closed the connection");
                    }
                }
            }
            c = cmds.recv(), if cmds_open => {
                let mut m = shared.lock().expect("member lock poisoned");
                match c {
                    Some(ClientCmd::Send(msg)) => m.send(&msg),
                    Some(ClientCmd::Doc(b)) => m.send_doc(b),
                    Some(ClientCmd::Output(o)) => m.set_output(o),
                    Some(ClientCmd::Leave) => m.leave(),
                    None => {
                        cmds_open = false;
                        m.leave();
                    }
                }
            }
            () = tokio::time::sleep_until(wake.unwrap_or_else(tokio::time::Instant::now)), if wake.is_some() => shared.lock().expect("member lock poisoned").handle_timeout(local.now()),
        }
    }
}

/// Sends a frame; on failure, the reason (the connection is then gone).
async fn send(ws: &mut Option<Ws>, m: Message) -> Option<String> {
    let w = ws.as_mut()?;
    w.send(m).await.err().map(|e| format!("send failed: {e}"))
}
