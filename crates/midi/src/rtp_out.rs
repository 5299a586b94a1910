//! Network MIDI (AppleMIDI / RTP-MIDI): core's [`RtpSession`] on two UDP ports. RTP-MIDI has no
//! send-ahead, so an event leaves at its moment ([`crate::paced`]): the sender thread answers the
//! session protocol between events.

use crate::feed::{HostNow, Offset, Pending};
use crate::paced::{Due, PaceClock, start_feeder};
use crate::worker::Worker;
use crate::{MidiError, MidiOptions, OnMessage};
use bandsync_core::Micros;

use bandsync_core::midi::MidiMessage;
use bandsync_core::midi::rtp::{Port, RtpEvent, RtpSession};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The session's two sockets, and its thread.
pub(crate) struct RtpOut {
    port: String,
    /// The control port peers join, when the session waits for them (it invites none).
    listening: Option<u16>,
    /// What went wrong after it opened: the peer's name had no address.
    problem: Arc<Mutex<Option<String>>>,
    // Dropped in this order: the feeder stops first, saying whether the gear was left playing,
    // then the sender, which tells it Stop if so.
    _feeder: Worker,
    _sender: Worker,
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
        invite: Option<crate::target::Invite>,
        host_now: HostNow,
        pending: Arc<Pending>,
        offset: Arc<Offset>,
        input: Option<OnMessage>,
    ) -> Result<Self, MidiError> {
        // A loopback peer gets a loopback session: nothing leaves the machine.
        let ip = match &invite {
            Some(crate::target::Invite::Addr(a)) if a.ip().is_loopback() => a.ip(),
            Some(i) if i.is_loopback() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        let (control, data) =
            bind_pair(ip, listen).map_err(|e| MidiError::Backend(format!("network MIDI on UDP port {listen}: {e}")))?;
        for s in [&control, &data] {
            s.set_nonblocking(true).map_err(|e| MidiError::Backend(e.to_string()))?;
        }
        let local = control.local_addr().map_err(|e| MidiError::Backend(e.to_string()))?;
        let port = format!("rtp:{local}");
        let listening = invite.is_none().then_some(local.port());
        let name = opts.client_name.clone();
        let clock = PaceClock::new();
        let (feeder, due) = start_feeder("midi-rtp-feed", host_now, pending, clock, offset)?;
        let problem = Arc::default();
        let invite = match invite {
            Some(crate::target::Invite::Addr(a)) => Invitation::Now(a),
            Some(name) => Invitation::Later(look_up(name, Arc::clone(&problem))?),
            None => Invitation::None,
        };
        let sender = Worker::spawn("midi-rtp", move |stop| {
            crate::worker::realtime();
            let session = RtpSession::new(&name, rand_ssrc());
            let mut io = Io { control, data, session, clock, input };
            io.run(invite, due, stop);
        })?;
        tracing::info!(%port, "network MIDI session");
        Ok(RtpOut { port, listening, problem, _feeder: feeder, _sender: sender })
    }

    pub(crate) fn port_name(&self) -> &str {
        &self.port
    }

    pub(crate) fn listening(&self) -> Option<u16> {
        self.listening
    }

    pub(crate) fn problem(&self) -> Option<String> {
        self.problem.lock().expect("problem lock").clone()
    }
}

/// Whom the session invites: an address now, one a name's lookup will give, or no one.
enum Invitation {
    Now(SocketAddr),
    Later(std::sync::mpsc::Receiver<SocketAddr>),
    None,
}

impl Invitation {
    /// The address to invite, once it is known; then no one more.
    fn take(&mut self) -> Option<SocketAddr> {
        let a = match self {
            Invitation::Now(a) => Some(*a),
            Invitation::Later(address) => match address.try_recv() {
                Ok(a) => Some(a),
                Err(std::sync::mpsc::TryRecvError::Empty) => return None,
                // Looked up without an address: the lookup said so.
                Err(std::sync::mpsc::TryRecvError::Disconnected) => None,
            },
            Invitation::None => return None,
        };
        *self = Invitation::None;
        a
    }
}

/// Looks `name` up on a thread of its own, neither the caller's (a session's task) nor the
/// session's: a slow resolver delays the invitation only, and stopping does not wait for it. A
/// name without an address is `problem` (and the session waits for peers to join instead).
fn look_up(
    name: crate::target::Invite,
    problem: Arc<Mutex<Option<String>>>,
) -> Result<std::sync::mpsc::Receiver<SocketAddr>, MidiError> {
    let (found, address) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("midi-rtp-lookup".into())
        .spawn(move || match name.resolve() {
            Ok(a) => drop(found.send(a)),
            Err(e) => {
                tracing::error!("{e}: the session waits for peers instead");
                *problem.lock().expect("problem lock") = Some(e.to_string());
            }
        })
        .map_err(|e| MidiError::Backend(format!("network MIDI: cannot look the peer up ({e})")))?;
    Ok(address)
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
    clock: PaceClock,
    /// Where the peers' MIDI goes, if anywhere.
    input: Option<OnMessage>,
}

impl Io {
    fn now(&self) -> Micros {
        Micros(self.clock.now() as i64)
    }

    /// Until `stop`: the session protocol, and each event from the feeder at its moment. Then
    /// Stop, if the feeder left the gear playing.
    fn run(&mut self, mut invite: Invitation, mut due: Due, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            if let Some(a) = invite.take() {
                self.session.invite(self.now(), a);
            }
            self.receive();
            // Everything due goes now, one packet per moment.
            let now = self.now();
            due.send_due(now.0 as u64, |_, batch| self.session.send(now, batch));
            if self.session.poll_timeout().is_some_and(|t| t <= now) {
                self.session.handle_timeout(now);
            }
            self.transmit();
            due.pause(self.clock);
        }
        if due.left_playing() {
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
