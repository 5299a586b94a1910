//! What arrives from the peers: invitations and their answers, the clock exchange, feedback
//! and MIDI, fed to [`RtpSession::handle_input`]. Timers and sending are in `rtp/mod.rs`.

use super::{
    Datagram, MAX_PEERS, Packet, PacketError, Peer, Port, RtpEvent, RtpSession, State, data_of, decode, packet, ts,
};
use crate::time::Micros;
use std::net::SocketAddr;

impl RtpSession {
    /// Bytes that arrived on `port` from `from`.
    ///
    /// # Errors
    /// [`PacketError`] for bytes that are not a packet (the shell logs them and goes on).
    pub fn handle_input(&mut self, now: Micros, port: Port, from: SocketAddr, bytes: &[u8]) -> Result<(), PacketError> {
        let packet = decode(bytes)?;
        let me = self.ssrc;
        match packet {
            Packet::Exchange { cmd, token, ssrc, name } => match &cmd {
                b"IN" => self.invited(now, port, from, token, ssrc, name),
                b"OK" => {
                    let Some(p) = self.peers.iter_mut().find(|p| p.ours && p.token == token) else { return Ok(()) };
                    p.heard = now;
                    if port == Port::Control {
                        p.ctrl_ssrc = ssrc;
                    }
                    p.ssrc = ssrc;
                    if let Some(n) = name {
                        p.name = n;
                    }
                    match (p.state, port) {
                        (State::InvitingControl, Port::Control) => {
                            p.state = State::InvitingData;
                            p.data = data_of(from);
                            p.tries = 0;
                            p.next = now;
                        }
                        (State::InvitingData, Port::Data) => {
                            p.state = State::Connected;
                            p.next = now;
                            p.syncs = 0;
                            self.events.push_back(RtpEvent::Connected { name: p.name.clone(), addr: p.control });
                        }
                        _ => {}
                    }
                    self.handle_timeout(now);
                }
                b"NO" => {
                    if let Some(i) = self.peers.iter().position(|p| p.ours && p.token == token) {
                        let p = self.peers.remove(i);
                        self.events.push_back(RtpEvent::Refused { addr: p.control });
                    }
                }
                _ => {
                    // BY: the peer leaves; we do not invite it again.
                    let who = |p: &Peer| (p.ssrc == ssrc || p.ctrl_ssrc == ssrc) && p.state != State::InvitingControl;
                    if let Some(i) = self.peers.iter().position(who) {
                        let p = self.peers.remove(i);
                        self.events.push_back(RtpEvent::Left { name: p.name });
                    }
                }
            },
            Packet::Sync { ssrc, count, ts: t } => {
                let Some(p) = self.peers.iter_mut().find(|p| p.ssrc == ssrc && p.state == State::Connected) else {
                    return Ok(());
                };
                p.heard = now;
                match count {
                    0 => self.out.push_back(Datagram {
                        port: Port::Data,
                        to: from,
                        bytes: packet::sync(me, 1, [t[0], ts(now), 0]),
                    }),
                    1 => {
                        let t3 = ts(now);
                        self.out.push_back(Datagram {
                            port: Port::Data,
                            to: from,
                            bytes: packet::sync(me, 2, [t[0], t[1], t3]),
                        });
                        let offset = (t[1] as i64 - (t[0] as i64 + t3 as i64) / 2) * 100;
                        let rtt = (t3 as i64 - t[0] as i64) * 100;
                        self.events.push_back(RtpEvent::Synced {
                            name: p.name.clone(),
                            offset_us: offset,
                            rtt_us: rtt,
                        });
                    }
                    _ => {}
                }
            }
            Packet::Feedback { ssrc, .. } => {
                if let Some(p) = self.peers.iter_mut().find(|p| p.ssrc == ssrc) {
                    p.heard = now;
                }
            }
            Packet::Midi { ssrc, commands, .. } => {
                if let Some(p) = self.peers.iter_mut().find(|p| p.ssrc == ssrc && p.state == State::Connected) {
                    p.heard = now;
                    let name = p.name.clone();
                    self.events
                        .push_back(RtpEvent::Midi { name, commands: commands.into_iter().map(|(_, c)| c).collect() });
                }
            }
        }
        Ok(())
    }

    fn invited(&mut self, now: Micros, port: Port, from: SocketAddr, token: u32, ssrc: u32, name: Option<String>) {
        let me = self.ssrc;
        let accept = packet::exchange(b"OK", token, me, Some(&self.name));
        let ok = |to| Datagram { port, to, bytes: accept.clone() };
        match (port, self.peers.iter().position(|p| p.ssrc == ssrc && !p.ours)) {
            (Port::Control, Some(i)) => {
                // An invitation again (ours was lost): answer again.
                self.peers[i].heard = now;
                self.out.push_back(ok(from));
            }
            (Port::Control, None) => {
                if self.peers.len() >= MAX_PEERS {
                    self.out.push_back(Datagram {
                        port,
                        to: from,
                        bytes: packet::exchange(b"NO", token, me, Some(&self.name)),
                    });
                    return;
                }
                self.out.push_back(ok(from));
                self.peers.push(Peer {
                    name: name.unwrap_or_else(|| from.to_string()),
                    ssrc,
                    ctrl_ssrc: ssrc,
                    control: from,
                    data: data_of(from),
                    state: State::Joining,
                    ours: false,
                    token,
                    tries: 0,
                    next: Micros::MAX,
                    syncs: 0,
                    heard: now,
                    seq: 0,
                });
            }
            (Port::Data, Some(i)) => {
                self.out.push_back(ok(from));
                let p = &mut self.peers[i];
                p.data = from;
                p.heard = now;
                if p.state != State::Connected {
                    p.state = State::Connected;
                    self.events.push_back(RtpEvent::Connected { name: p.name.clone(), addr: p.control });
                }
            }
            (Port::Data, None) => {
                self.out.push_back(Datagram {
                    port,
                    to: from,
                    bytes: packet::exchange(b"NO", token, me, Some(&self.name)),
                });
            }
        }
    }
}
