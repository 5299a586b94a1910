//! The bytes of Apple's network MIDI: the session packets (invitation, sync, exit, feedback,
//! all starting `0xFFFF` and a two-letter command) and RTP-MIDI data packets (RFC 6295: a
//! 12-byte RTP header with payload type 0x61, then the MIDI command section).

use crate::midi::MidiMessage;

/// The protocol version every AppleMIDI peer speaks.
pub const VERSION: u32 = 2;
/// RTP payload type for MIDI in AppleMIDI sessions.
const PAYLOAD_TYPE: u8 = 0x61;
/// The longest name we send or keep.
const MAX_NAME: usize = 64;

/// A packet of the session protocol, or a data packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// `IN` (invitation), `OK` (accepted), `NO` (rejected) or `BY` (exit).
    Exchange {
        /// The two-letter command.
        cmd: [u8; 2],
        /// The initiator's token, echoed in the answer.
        token: u32,
        /// The sender's stream id.
        ssrc: u32,
        /// The sender's session name, if it gave one.
        name: Option<String>,
    },
    /// `CK`: one of the three packets of a clock exchange.
    Sync {
        /// The sender's stream id.
        ssrc: u32,
        /// 0, 1 or 2: which packet of the exchange this is.
        count: u8,
        /// The three timestamps, in 100 µs units of their writers' clocks.
        ts: [u64; 3],
    },
    /// `RS`: the receiver has every packet up to `seq`.
    Feedback {
        /// The sender's stream id.
        ssrc: u32,
        /// The last sequence number received.
        seq: u16,
    },
    /// RTP-MIDI: MIDI commands.
    Midi {
        /// The RTP sequence number.
        seq: u16,
        /// The RTP timestamp (10 kHz).
        timestamp: u32,
        /// The sender's stream id.
        ssrc: u32,
        /// Each command's bytes, with its delta time from the one before (timestamp units).
        commands: Vec<(u32, Vec<u8>)>,
    },
}

/// Why bytes are not a packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a network MIDI packet: {0}")]
pub struct PacketError(pub &'static str);

fn be32(b: &[u8], at: usize) -> Result<u32, PacketError> {
    b.get(at..at + 4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]])).ok_or(PacketError("too short"))
}

fn be64(b: &[u8], at: usize) -> Result<u64, PacketError> {
    let hi = be32(b, at)?;
    let lo = be32(b, at + 4)?;
    Ok(u64::from(hi) << 32 | u64::from(lo))
}

/// Reads one packet.
///
/// # Errors
/// [`PacketError`] for anything short, unknown or inconsistent.
pub fn decode(b: &[u8]) -> Result<Packet, PacketError> {
    if b.starts_with(&[0xFF, 0xFF]) {
        let cmd = [*b.get(2).ok_or(PacketError("too short"))?, *b.get(3).ok_or(PacketError("too short"))?];
        return match &cmd {
            b"IN" | b"OK" | b"NO" | b"BY" => {
                if be32(b, 4)? != VERSION {
                    return Err(PacketError("unknown protocol version"));
                }
                let name = b.get(16..).filter(|n| !n.is_empty()).map(|n| {
                    let end = n.iter().position(|&c| c == 0).unwrap_or(n.len()).min(MAX_NAME);
                    String::from_utf8_lossy(&n[..end]).into_owned()
                });
                Ok(Packet::Exchange { cmd, token: be32(b, 8)?, ssrc: be32(b, 12)?, name })
            }
            b"CK" => {
                let count = *b.get(8).ok_or(PacketError("too short"))?;
                if count > 2 {
                    return Err(PacketError("sync count above 2"));
                }
                Ok(Packet::Sync { ssrc: be32(b, 4)?, count, ts: [be64(b, 12)?, be64(b, 20)?, be64(b, 28)?] })
            }
            b"RS" => Ok(Packet::Feedback { ssrc: be32(b, 4)?, seq: (be32(b, 8)? >> 16) as u16 }),
            _ => Err(PacketError("unknown session command")),
        };
    }
    decode_midi(b)
}

fn decode_midi(b: &[u8]) -> Result<Packet, PacketError> {
    if b.len() < 13 || b[0] >> 6 != 2 || b[1] & 0x7F != PAYLOAD_TYPE {
        return Err(PacketError("not RTP-MIDI"));
    }
    let seq = u16::from_be_bytes([b[2], b[3]]);
    let (timestamp, ssrc) = (be32(b, 4)?, be32(b, 8)?);
    let flags = b[12];
    let (len, mut at) = if flags & 0x80 != 0 {
        (usize::from(flags & 0x0F) << 8 | usize::from(*b.get(13).ok_or(PacketError("too short"))?), 14)
    } else {
        (usize::from(flags & 0x0F), 13)
    };
    let end = at + len;
    if end > b.len() {
        return Err(PacketError("command section longer than the packet"));
    }
    let mut commands = Vec::new();
    let mut first = flags & 0x20 == 0;
    while at < end {
        let mut delta = 0u32;
        if !first {
            for _ in 0..4 {
                let c = b[at];
                at += 1;
                delta = delta << 7 | u32::from(c & 0x7F);
                if c & 0x80 == 0 || at >= end {
                    break;
                }
            }
        }
        first = false;
        let status = *b.get(at).filter(|_| at < end).ok_or(PacketError("delta time without a command"))?;
        if status & 0x80 == 0 {
            return Err(PacketError("running status is not supported"));
        }
        let n = match status {
            0xF8..=0xFF | 0xF6 => 1,
            0xC0..=0xDF | 0xF1 | 0xF3 => 2,
            0x80..=0xBF | 0xE0..=0xEF | 0xF2 => 3,
            _ => return Err(PacketError("system exclusive is not supported")),
        };
        let cmd = b.get(at..at + n).filter(|_| at + n <= end).ok_or(PacketError("command cut short"))?;
        commands.push((delta, cmd.to_vec()));
        at += n;
    }
    Ok(Packet::Midi { seq, timestamp, ssrc, commands })
}

/// An `IN`, `OK`, `NO` or `BY` packet.
#[must_use]
pub fn exchange(cmd: &[u8; 2], token: u32, ssrc: u32, name: Option<&str>) -> Vec<u8> {
    let mut v = vec![0xFF, 0xFF, cmd[0], cmd[1]];
    v.extend_from_slice(&VERSION.to_be_bytes());
    v.extend_from_slice(&token.to_be_bytes());
    v.extend_from_slice(&ssrc.to_be_bytes());
    if let Some(n) = name {
        let n: String = n.chars().filter(|c| !c.is_control()).collect();
        let mut end = n.len().min(MAX_NAME);
        while !n.is_char_boundary(end) {
            end -= 1;
        }
        v.extend_from_slice(&n.as_bytes()[..end]);
        v.push(0);
    }
    v
}

/// A `CK` packet.
#[must_use]
pub fn sync(ssrc: u32, count: u8, ts: [u64; 3]) -> Vec<u8> {
    let mut v = vec![0xFF, 0xFF, b'C', b'K'];
    v.extend_from_slice(&ssrc.to_be_bytes());
    v.extend_from_slice(&[count, 0, 0, 0]);
    for t in ts {
        v.extend_from_slice(&t.to_be_bytes());
    }
    v
}

/// An RTP-MIDI packet with `msgs`, all at `timestamp` (no journal).
#[must_use]
pub fn midi(seq: u16, timestamp: u32, ssrc: u32, msgs: &[MidiMessage]) -> Vec<u8> {
    let mut list = Vec::new();
    for (i, m) in msgs.iter().enumerate() {
        if i > 0 {
            list.push(0); // delta time 0: they happen together
        }
        let (b, n) = m.bytes();
        list.extend_from_slice(&b[..n]);
    }
    let mut v = vec![0x80, PAYLOAD_TYPE];
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&timestamp.to_be_bytes());
    v.extend_from_slice(&ssrc.to_be_bytes());
    if list.len() <= 15 {
        v.push(list.len() as u8);
    } else {
        let n = list.len().min(0x0FFF);
        v.push(0x80 | (n >> 8) as u8);
        v.push((n & 0xFF) as u8);
    }
    v.extend_from_slice(&list);
    v
}
