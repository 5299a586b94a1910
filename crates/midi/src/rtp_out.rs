//! Network MIDI (AppleMIDI / RTP-MIDI): core's [`RtpSession`] on two UDP ports, and one thread
//! that feeds the transport, answers the session protocol and sends each event when it is due.
//! RTP-MIDI has no send-ahead, so an event leaves at its moment: the thread sleeps until the
//! earliest of the next event, the session's timer and the next feed, and no longer than 1 ms; in
//! the last 300 µs before an event it yields instead, since a sleep can overshoot.

use crate::feed::{Feeder, HostNow, Pending, Timed};
use crate::worker::Worker;
use crate::{MidiError, MidiOptions, OnMessage};
use bandsync_core::Micros;

use bandsync_core::midi::MidiMessage;
use bandsync_core::midi::rtp::{Port, RtpEvent, RtpSession};
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The port Apple's network MIDI uses by default (control; data is 5005).
pub const DEFAULT_PORT: u16 = 5004;
/// How often the transport is walked ahead.
const FEED: Duration = Duration::from_millis(5);
/// The longest sleep between looks at the sockets.
const NAP: Duration = Duration::from_millis(1);
/// Closer than this to an event, the thread yields instead of sleeping (a sleep can overshoot).
const SPIN: u64 = 300;

/// The session's two sockets, and its thread.
pub(crate) struct RtpOut {
    port: String,
    _thread: Worker,
}

/// Binds a control port and the data port above it; port 0 picks a free pair.
fn bind_pair(ip: IpAddr, port: u16) -> std::io::Result<(UdpSocket, UdpSocket)> {
    for _ in 0..32 {
        let control = UdpSocket::bind(SocketAddr::new(ip, port))?;
        let p = control.local_addr()?.port();
        match p.checked_add(1).map(|d| UdpSocket::bind(SocketAddr::new(ip, d))) {
            Some(Ok(data)) => return Ok((control, data)),
            Some(Err(e)) if port != 0 => return Err(e),
            _ => {}
        }
    }
    Err(std::io::Error::other("no free pair of UDP ports"))
}

impl RtpOut {
    /// Listens on `listen` (control; data is the port above) and, with `invite`, invites that
    /// session.
    pub(crate) fn start(
        opts: &MidiOptions,
        listen: u16,
        invite: Option<SocketAddr>,
        host_now: HostNow,
        pending: Arc<Pending>,
        input: Option<OnMessage>,
    ) -> Result<Self, MidiError> {
        // A loopback peer gets a loopback session: nothing leaves the machine.
        let ip = match invite {
            Some(a) if a.ip().is_loopback() => a.ip(),
            _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        let (control, data) =
            bind_pair(ip, listen).map_err(|e| MidiError::Backend(format!("network MIDI on UDP port {listen}: {e}")))?;
        for s in [&control, &data] {
            s.set_nonblocking(true).map_err(|e| MidiError::Backend(e.to_string()))?;
        }
        let port = format!("rtp:{}", control.local_addr().map_err(|e| MidiError::Backend(e.to_string()))?);
        let name = opts.client_name.clone();
        let offset_us = opts.offset_ms * 1000.0;
        let thread = Worker::spawn("midi-rtp", move |stop| {
            let session = RtpSession::new(&name, rand_ssrc());
            let mut io = Io { control, data, session, epoch: Instant::now(), input };
            io.run(invite, &host_now, &pending, offset_us, stop);
        })?;
        tracing::info!(%port, "network MIDI session");
        Ok(RtpOut { port, _thread: thread })
    }

    pub(crate) fn port_name(&self) -> &str {
        &self.port
    }
}

fn rand_ssrc() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish() as u32
}

struct Io {
    control: UdpSocket,
    data: UdpSocket,
    session: RtpSession,
    epoch: Instant,
    /// Where the peers' MIDI goes, if anywhere.
    input: Option<OnMessage>,
}

impl Io {
    /// This session's clock: µs since the thread started, far from zero.
    fn now(&self) -> Micros {
        Micros(1_000_000 + self.epoch.elapsed().as_micros() as i64)
    }

    fn run(
        &mut self,
        invite: Option<SocketAddr>,
        host_now: &HostNow,
        pending: &Pending,
        offset_us: f64,
        stop: &AtomicBool,
    ) {
        let mut feeder = Feeder::default();
        let mut queue: VecDeque<Timed> = VecDeque::new();
        let mut next_feed = Instant::now();
        if let Some(a) = invite {
            self.session.invite(self.now(), a);
        }
        let mut batch = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            self.receive();
            if Instant::now() >= next_feed {
                next_feed += FEED;
                feeder.take(pending);
                if let Some((host, epoch)) = host_now() {
                    let local = self.now().0 as f64;
                    feeder.tick(host, epoch, local - host - offset_us, &mut |e| queue.push_back(e));
                }
            }
            // Everything due goes now, one packet per moment.
            let now = self.now();
            while let Some(first) = queue.front().copied().filter(|e| e.at as i64 <= now.0) {
                batch.clear();
                while let Some(e) = queue.front().filter(|e| e.at == first.at) {
                    batch.push(e.msg);
                    queue.pop_front();
                }
                self.session.send(now, &batch);
            }
            if self.session.poll_timeout().is_some_and(|t| t <= now) {
                self.session.handle_timeout(now);
            }
            self.transmit();
            let wake = queue.front().map_or(u64::MAX, |e| e.at).saturating_sub(self.now().0 as u64);
            if wake <= SPIN {
                std::thread::yield_now();
            } else {
                let nap = Duration::from_micros(wake - SPIN);
                std::thread::sleep(NAP.min(nap).min(next_feed.saturating_duration_since(Instant::now())));
            }
        }
        if feeder.running() {
            self.session.send(self.now(), &[MidiMessage::Stop]);
        }
        self.session.close();
        self.transmit();
    }

    fn receive(&mut self) {
        let mut buf = [0u8; 1500];
        for port in [Port::Control, Port::Data] {
            let sock = if port == Port::Control { &self.control } else { &self.data };
            while let Ok((n, from)) = sock.recv_from(&mut buf) {
                let now = self.now();
                if let Err(e) = self.session.handle_input(now, port, from, &buf[..n]) {
                    tracing::debug!(%from, "network MIDI: {e}");
                }
            }
        }
        while let Some(ev) = self.session.poll_event() {
            match ev {
                RtpEvent::Connected { name, addr } => tracing::info!(%name, %addr, "network MIDI peer joined"),
                RtpEvent::Left { name } => tracing::info!(%name, "network MIDI peer left"),
                RtpEvent::Refused { addr } => tracing::warn!(%addr, "network MIDI peer refused the invitation"),
                RtpEvent::Synced { name, offset_us, rtt_us } => {
                    tracing::debug!(%name, offset_us, rtt_us, "network MIDI clock exchange")
                }
                RtpEvent::Midi { commands, .. } => {
                    let at = self.now().0.max(0) as u64;
                    if let Some(on) = &mut self.input {
                        commands.iter().for_each(|c| on(at, c));
                    }
                }
            }
        }
    }

    fn transmit(&mut self) {
        while let Some(t) = self.session.poll_transmit() {
            let sock = if t.port == Port::Control { &self.control } else { &self.data };
            if let Err(e) = sock.send_to(&t.bytes, t.to) {
                tracing::debug!(to = %t.to, "network MIDI send: {e}");
            }
        }
    }
}
