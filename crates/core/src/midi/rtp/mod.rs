//! Network MIDI: an AppleMIDI session (the protocol of macOS's and iOS's "Network" MIDI, carried
//! in RTP-MIDI, RFC 6295), sans-IO in the manner of quinn-proto: bytes and `now` in, packets to
//! send and events out.
//!
//! BandSync is a session that others join (a Mac's Audio MIDI Setup connects to it), and it can
//! invite a session itself (`--midi-out rtp:HOST:PORT`). A session has two UDP ports, control
//! and data (control + 1). Invitations go to both; the clock exchange (`CK`) and the MIDI go to
//! data. The initiator runs the clock exchange: at once, then every 1.5 s six times, then every
//! 10 s. A peer not heard from for 60 s is dropped (and invited again, if we invited it).
//!
//! MIDI is sent without the recovery journal (J = 0), as Apple's peers accept: each packet is sent
//! at the moment its events happen, and a lost clock pulse is one of 24 a beat.
//!
//! What arrives from the peers is handled in `rtp/input.rs`; the packets' bytes are `rtp/packet.rs`.

mod input;
mod packet;

pub use packet::{Packet, PacketError, decode};

use crate::midi::MidiMessage;
use crate::time::Micros;
use std::collections::VecDeque;
use std::net::SocketAddr;

/// At most this many peers.
pub const MAX_PEERS: usize = 16;
/// A peer silent for this long is gone.
const SILENT: Micros = Micros::from_secs(60);
/// Invitations: every second twelve times, then every ten seconds.
const RETRY_FAST: Micros = Micros::from_secs(1);
const RETRY_SLOW: Micros = Micros::from_secs(10);

/// Which of the session's two ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// Invitations and exits.
    Control,
    /// Clock exchange and MIDI (control + 1).
    Data,
}

/// A packet to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// From which of our ports.
    pub port: Port,
    /// To whom.
    pub to: SocketAddr,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// What happened to the session's peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtpEvent {
    /// A peer joined (on both ports): MIDI goes to it from now on.
    Connected {
        /// Its session name.
        name: String,
        /// Its control port.
        addr: SocketAddr,
    },
    /// A clock exchange completed: the peer's clock less ours, and the round trip (µs).
    Synced {
        /// Its session name.
        name: String,
        /// Its clock less ours.
        offset_us: i64,
        /// The round trip.
        rtt_us: i64,
    },
    /// A peer refused our invitation.
    Refused {
        /// Its control port.
        addr: SocketAddr,
    },
    /// A peer left, or went silent.
    Left {
        /// Its session name.
        name: String,
    },
    /// A peer sent MIDI (for MIDI in): each command's bytes.
    Midi {
        /// Its session name.
        name: String,
        /// The commands, in order.
        commands: Vec<Vec<u8>>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// We invited its control port.
    InvitingControl,
    /// Its control port accepted; we invited its data port.
    InvitingData,
    /// It invited us on control; waiting for its data invitation.
    Joining,
    /// Both ports joined.
    Connected,
}

#[derive(Debug, Clone)]
struct Peer {
    name: String,
    /// Its stream id on data (some peers use another on control: `ctrl_ssrc`).
    ssrc: u32,
    ctrl_ssrc: u32,
    control: SocketAddr,
    data: SocketAddr,
    state: State,
    /// We invited it (and run the clock exchange, and invite it again if it goes silent).
    ours: bool,
    token: u32,
    tries: u32,
    /// When to send the next invitation or clock exchange.
    next: Micros,
    syncs: u32,
    heard: Micros,
    seq: u16,
}

/// One AppleMIDI session.
#[derive(Debug)]
pub struct RtpSession {
    name: String,
    ssrc: u32,
    peers: Vec<Peer>,
    out: VecDeque<Datagram>,
    events: VecDeque<RtpEvent>,
    tokens: u32,
}

/// A timestamp of the exchange: 100 µs units.
fn ts(now: Micros) -> u64 {
    (now.0.max(0) / 100) as u64
}

fn data_of(control: SocketAddr) -> SocketAddr {
    SocketAddr::new(control.ip(), control.port().wrapping_add(1))
}

impl RtpSession {
    /// A session named `name` (shown on the peers), with stream id `ssrc` (random per run).
    #[must_use]
    pub fn new(name: &str, ssrc: u32) -> Self {
        RtpSession {
            name: name.to_owned(),
            ssrc,
            peers: Vec::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            tokens: ssrc.rotate_left(7),
        }
    }

    /// Invites the session whose control port is `control`, and keeps inviting until it joins.
    pub fn invite(&mut self, now: Micros, control: SocketAddr) {
        if self.peers.iter().any(|p| p.control == control) || self.peers.len() >= MAX_PEERS {
            return;
        }
        self.tokens = self.tokens.wrapping_add(0x9E37_79B9);
        self.peers.push(Peer {
            name: control.to_string(),
            ssrc: 0,
            ctrl_ssrc: 0,
            control,
            data: data_of(control),
            state: State::InvitingControl,
            ours: true,
            token: self.tokens,
            tries: 0,
            next: now,
            syncs: 0,
            heard: now,
            seq: 0,
        });
        self.handle_timeout(now);
    }

    /// The names of the peers that have joined.
    pub fn connected(&self) -> impl Iterator<Item = &str> {
        self.peers.iter().filter(|p| p.state == State::Connected).map(|p| p.name.as_str())
    }

    /// When [`RtpSession::handle_timeout`] is next due.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Micros> {
        self.peers.iter().map(|p| p.next.min(p.heard + SILENT)).min()
    }

    /// Sends due invitations and clock exchanges, and drops silent peers.
    pub fn handle_timeout(&mut self, now: Micros) {
        let me = self.ssrc;
        let mut again = Vec::new();
        let mut i = 0;
        while i < self.peers.len() {
            let p = &mut self.peers[i];
            if now >= p.heard + SILENT {
                let gone = self.peers.remove(i);
                if gone.state == State::Connected || gone.state == State::Joining {
                    self.events.push_back(RtpEvent::Left { name: gone.name.clone() });
                }
                if gone.ours {
                    again.push(gone.control);
                }
                continue;
            }
            if now >= p.next {
                match p.state {
                    State::InvitingControl | State::InvitingData => {
                        let (port, to) = if p.state == State::InvitingControl {
                            (Port::Control, p.control)
                        } else {
                            (Port::Data, p.data)
                        };
                        self.out.push_back(Datagram {
                            port,
                            to,
                            bytes: packet::exchange(b"IN", p.token, me, Some(&self.name)),
                        });
                        p.tries += 1;
                        p.next = now + if p.tries < 12 { RETRY_FAST } else { RETRY_SLOW };
                        // Still trying: not silent.
                        p.heard = now;
                    }
                    State::Connected if p.ours => {
                        self.out.push_back(Datagram {
                            port: Port::Data,
                            to: p.data,
                            bytes: packet::sync(me, 0, [ts(now), 0, 0]),
                        });
                        p.syncs += 1;
                        p.next = now + if p.syncs < 6 { Micros::from_millis(1_500) } else { Micros::from_secs(10) };
                    }
                    _ => p.next = Micros::MAX,
                }
            }
            i += 1;
        }
        for control in again {
            self.invite(now, control);
        }
    }

    /// Sends `msgs` to every connected peer now, in one packet each.
    pub fn send(&mut self, now: Micros, msgs: &[MidiMessage]) {
        let me = self.ssrc;
        let stamp = ts(now) as u32;
        for p in self.peers.iter_mut().filter(|p| p.state == State::Connected) {
            p.seq = p.seq.wrapping_add(1);
            self.out.push_back(Datagram { port: Port::Data, to: p.data, bytes: packet::midi(p.seq, stamp, me, msgs) });
        }
    }

    /// Says goodbye to every peer (`BY` on control).
    pub fn close(&mut self) {
        let me = self.ssrc;
        for p in self.peers.drain(..) {
            if p.state == State::Connected || p.state == State::Joining {
                self.out.push_back(Datagram {
                    port: Port::Control,
                    to: p.control,
                    bytes: packet::exchange(b"BY", p.token, me, None),
                });
            }
        }
    }

    /// The next packet to send.
    pub fn poll_transmit(&mut self) -> Option<Datagram> {
        self.out.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<RtpEvent> {
        self.events.pop_front()
    }
}

#[cfg(test)]
mod tests;
