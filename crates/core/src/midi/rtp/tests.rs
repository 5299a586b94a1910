//! Two sessions wired together in simulated time, each on its own clock; and the packets against
//! their layouts, hostile bytes included.

use super::*;
use std::net::{IpAddr, Ipv4Addr};

fn addr(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
}

/// A at ports 5000/5001 invites B at 6000/6001. B's clock reads 5 s ahead of A's.
struct Net {
    a: RtpSession,
    b: RtpSession,
    now: Micros,
    ea: Vec<RtpEvent>,
    eb: Vec<RtpEvent>,
    /// Drop every packet while set.
    cut: bool,
}

const B_AHEAD: Micros = Micros::from_secs(5);

impl Net {
    fn new() -> Net {
        Net {
            a: RtpSession::new("BandSync", 0xA),
            b: RtpSession::new("Mac", 0xB),
            now: Micros::from_secs(100),
            ea: vec![],
            eb: vec![],
            cut: false,
        }
    }

    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(t) = self.a.poll_transmit() {
                moved = true;
                if self.cut {
                    continue;
                }
                let (port, from) = match t.port {
                    Port::Control => (Port::Control, addr(5000)),
                    Port::Data => (Port::Data, addr(5001)),
                };
                assert_eq!(t.to.port() % 2, if port == Port::Control { 0 } else { 1 }, "A sends data to B's data port");
                self.b.handle_input(self.now + B_AHEAD, port, from, &t.bytes).unwrap();
            }
            while let Some(t) = self.b.poll_transmit() {
                moved = true;
                if self.cut {
                    continue;
                }
                let from = if t.port == Port::Control { addr(6000) } else { addr(6001) };
                self.a.handle_input(self.now, t.port, from, &t.bytes).unwrap();
            }
            self.ea.extend(std::iter::from_fn(|| self.a.poll_event()));
            self.eb.extend(std::iter::from_fn(|| self.b.poll_event()));
            if !moved {
                return;
            }
        }
    }

    fn advance(&mut self, d: Micros) {
        let end = self.now + d;
        while let Some(t) = self.a.poll_timeout().filter(|t| *t <= end) {
            self.now = t.max(self.now);
            self.a.handle_timeout(self.now);
            self.pump();
        }
        self.now = end;
        self.a.handle_timeout(self.now);
        self.b.handle_timeout(self.now + B_AHEAD);
        self.pump();
    }
}

#[test]
fn an_invited_session_joins_on_both_ports_syncs_clocks_and_receives_midi() {
    let mut n = Net::new();
    n.a.invite(n.now, addr(6000));
    n.pump();
    assert!(
        matches!(&n.ea[0], RtpEvent::Connected { name, addr: a } if name == "Mac" && *a == addr(6000)),
        "{:?}",
        n.ea
    );
    assert!(matches!(&n.eb[0], RtpEvent::Connected { name, .. } if name == "BandSync"), "{:?}", n.eb);
    let synced: Vec<i64> =
        n.ea.iter()
            .filter_map(|e| match e {
                RtpEvent::Synced { offset_us, .. } => Some(*offset_us),
                _ => None,
            })
            .collect();
    assert_eq!(synced, vec![B_AHEAD.0], "the first exchange measures B's clock");
    // Six exchanges 1.5 s apart, then every 10 s.
    n.advance(Micros::from_secs(30));
    let count = n.ea.iter().filter(|e| matches!(e, RtpEvent::Synced { .. })).count();
    assert_eq!(count, 1 + 5 + 2, "{:?}", n.ea);

    n.a.send(
        n.now,
        &[
            MidiMessage::Stop,
            MidiMessage::Patch(crate::patch::PatchMsg::Program { channel: 2, program: 9 }),
            MidiMessage::Start,
            MidiMessage::Clock,
        ],
    );
    n.pump();
    let Some(RtpEvent::Midi { name, commands }) = n.eb.last() else { panic!("{:?}", n.eb) };
    assert_eq!(name, "BandSync");
    assert_eq!(commands, &vec![vec![0xFC], vec![0xC1, 9], vec![0xFA], vec![0xF8]]);
}

#[test]
fn a_session_that_goes_silent_is_dropped_and_invited_again() {
    let mut n = Net::new();
    n.a.invite(n.now, addr(6000));
    n.pump();
    n.advance(Micros::from_secs(12));
    n.cut = true;
    n.advance(Micros::from_secs(61));
    assert!(n.ea.iter().any(|e| matches!(e, RtpEvent::Left { name } if name == "Mac")), "{:?}", n.ea);
    assert_eq!(n.a.connected().count(), 0);
    n.cut = false;
    n.advance(Micros::from_secs(11));
    assert_eq!(n.a.connected().collect::<Vec<_>>(), vec!["Mac"], "invited again until it answers");
}

#[test]
fn a_peer_that_leaves_is_gone_and_midi_stops_going_to_it() {
    let mut n = Net::new();
    n.a.invite(n.now, addr(6000));
    n.pump();
    n.b.close();
    n.pump();
    assert!(n.ea.iter().any(|e| matches!(e, RtpEvent::Left { name } if name == "Mac")));
    n.a.send(n.now, &[MidiMessage::Clock]);
    assert!(n.a.poll_transmit().is_none());
}

#[test]
fn packets_have_their_layouts() {
    let inv = packet::exchange(b"IN", 7, 0xDEAD_BEEF, Some("Gig\u{7}"));
    assert_eq!(inv, [&[0xFF, 0xFF, b'I', b'N', 0, 0, 0, 2, 0, 0, 0, 7, 0xDE, 0xAD, 0xBE, 0xEF][..], b"Gig\0"].concat());
    let ck = packet::sync(1, 2, [3, 4, 5]);
    assert_eq!(ck.len(), 36);
    assert_eq!(decode(&ck).unwrap(), Packet::Sync { ssrc: 1, count: 2, ts: [3, 4, 5] });
    // Sixteen commands: the long form of the length.
    let many = vec![MidiMessage::Clock; 16];
    let m = packet::midi(9, 1234, 5, &many);
    assert_eq!(m[12] & 0x80, 0x80);
    let Packet::Midi { seq, timestamp, ssrc, commands } = decode(&m).unwrap() else { panic!() };
    assert_eq!((seq, timestamp, ssrc, commands.len()), (9, 1234, 5, 16));
    assert!(commands.iter().all(|(d, c)| *d == 0 && c == &vec![0xF8]));
}

#[test]
fn hostile_bytes_are_refused_not_trusted() {
    let mut s = RtpSession::new("BandSync", 1);
    for bad in [
        &[][..],
        &[0xFF, 0xFF, b'I'][..],
        &[0xFF, 0xFF, b'I', b'N', 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 2][..],
        &[0xFF, 0xFF, b'C', b'K', 0, 0, 0, 1, 7, 0, 0, 0][..],
        &[0xFF, 0xFF, b'Z', b'Z'][..],
        &[0x80, 0x61, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x0F, 0xF8][..],
        &[0x80, 0x61, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x02, 0x40, 0x40][..],
        &[0x80, 0x61, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x02, 0xF0, 0x01][..],
    ] {
        assert!(s.handle_input(Micros(0), Port::Data, addr(1), bad).is_err(), "{bad:?}");
    }
    // Data from a stranger, or a data-port invitation without a control one: nothing kept.
    s.handle_input(Micros(0), Port::Data, addr(1), &packet::midi(1, 1, 99, &[MidiMessage::Clock])).unwrap();
    s.handle_input(Micros(0), Port::Data, addr(1), &packet::exchange(b"IN", 1, 99, None)).unwrap();
    assert_eq!(&s.poll_transmit().unwrap().bytes[2..4], b"NO");
    assert!(s.poll_event().is_none());
    // At most MAX_PEERS strangers.
    for i in 0..=MAX_PEERS as u32 {
        s.handle_input(
            Micros(0),
            Port::Control,
            addr(2000 + 2 * i as u16),
            &packet::exchange(b"IN", i, 100 + i, Some("x")),
        )
        .unwrap();
    }
    let answers: Vec<Vec<u8>> = std::iter::from_fn(|| s.poll_transmit()).map(|t| t.bytes[2..4].to_vec()).collect();
    assert_eq!(answers.iter().filter(|a| a[..] == *b"OK").count(), MAX_PEERS);
    assert_eq!(answers.last().unwrap()[..], *b"NO");
}
