"""An independent network MIDI peer for BandSync's tests: pymidi's AppleMIDI session (from
Python's registry) on a free pair of loopback UDP ports, which BandSync invites.

It prints JSON lines: `listening` (its control port), `connected` (a peer joined on both ports),
`sync` (a clock exchange packet answered or completed), `sent` (MIDI it sent when told to on
stdin: `send 903e64`), and `midi` for every data packet: when it
arrived (the kernel's receive timestamp, SO_TIMESTAMPNS, in µs: what a Mac's network stack would
see, without this script's own scheduling) and its MIDI commands as hex, read by the parser below,
written from RFC 6295 and not from BandSync's code.
"""
import json
import select
import socket
import struct
import sys
import threading

from pymidi import server as pserver
from pymidi.protocol import DataProtocol


def emit(**kw):
    print(json.dumps(kw), flush=True)


def free_pair():
    for _ in range(100):
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        socks = []
        try:
            for p in (port, port + 1):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise SystemExit("no free pair of UDP ports")


def midi_commands(data):
    """The MIDI list of an RTP-MIDI packet (RFC 6295 §3), status bytes required."""
    flags = data[12]
    if flags & 0x80:
        length, at = ((flags & 0x0F) << 8) | data[13], 14
    else:
        length, at = flags & 0x0F, 13
    end = at + length
    first = not (flags & 0x20)
    out = []
    while at < end:
        if not first:
            while data[at] & 0x80:
                at += 1
            at += 1
        first = False
        status = data[at]
        if status >= 0xF8 or status == 0xF6:
            n = 1
        elif 0xC0 <= status <= 0xDF or status in (0xF1, 0xF3):
            n = 2
        else:
            n = 3
        out.append(data[at:at + n].hex())
        at += n
    return out


SO_TIMESTAMPNS = 35  # Linux; the control message has the same number


class Recording(DataProtocol):
    arrived_us = 0

    def handle_data_message(self, data, addr):
        t_us = self.arrived_us
        ssrc = int.from_bytes(data[8:12], "big")
        emit(event="midi", t_us=t_us, known=ssrc in self.peers_by_ssrc, commands=midi_commands(data))
        try:
            super().handle_data_message(data, addr)
        except Exception:  # pymidi's own parser knows only notes and controllers
            pass

    def handle_timestamp(self, data, addr):
        super().handle_timestamp(data, addr)
        emit(event="sync", count=data[8])


class Handler(pserver.Handler):
    def on_peer_connected(self, peer):
        emit(event="connected", name=peer.name)

    def on_peer_disconnected(self, peer):
        emit(event="disconnected", name=peer.name)


def send_commands(proto):
    """Lines on stdin `send HEX` send those MIDI bytes to every joined peer, as a keyboard on the
    network would: one RTP-MIDI packet, the command section written from RFC 6295 here."""
    seq = 0
    for line in sys.stdin:
        words = line.split()
        if len(words) != 2 or words[0] != "send":
            continue
        body = bytes.fromhex(words[1])
        seq = (seq + 1) & 0xFFFF
        packet = bytes([0x80, 0x61]) + seq.to_bytes(2, "big") + (0).to_bytes(4, "big")
        packet += proto.ssrc.to_bytes(4, "big") + bytes([len(body)]) + body
        for peer in list(proto.peers_by_ssrc.values()):
            proto.socket.sendto(packet, peer.addr)
        emit(event="sent", bytes=words[1], peers=len(proto.peers_by_ssrc))


def serve(srv):
    """pymidi's loop, reading each datagram with its kernel receive timestamp."""
    for s in srv.socket_map:
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    data = next(p for p in srv.socket_map.values() if isinstance(p, Recording))
    threading.Thread(target=send_commands, args=(data,), daemon=True).start()
    while True:
        ready, _, _ = select.select(list(srv.socket_map), [], [], 0.5)
        for s in ready:
            data, anc, _, addr = s.recvmsg(1500, 256)
            proto = srv.socket_map[s]
            for level, kind, cdata in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", cdata[:16])
                    Recording.arrived_us = sec * 1_000_000 + nsec // 1000
            proto.handle_message(bytes(data), addr)


def main():
    port = free_pair()
    pserver.DataProtocol = Recording
    srv = pserver.Server([("127.0.0.1", port)])
    srv.add_handler(Handler())
    srv._init_protocols()
    emit(event="listening", port=port)
    serve(srv)


if __name__ == "__main__":
    sys.exit(main())
