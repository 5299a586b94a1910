"""A Mac's side of network MIDI, for BandSync's tests: find the session by Bonjour, as Audio MIDI
Setup does, and join it. Independent of BandSync's code: python-zeroconf (Python's registry)
browses `_apple-midi._udp.local.` and resolves the session; the invitation and the clock exchange
are pymidi's packets (Python's registry); the MIDI is read by `rtp_peer.py`'s parser, written from
RFC 6295.

It prints JSON lines: `found` (the service's name, address and port), `joined` (both ports
accepted the invitation, with the session's name), `synced` (the session answered the clock
exchange), and `midi` for every data packet with its MIDI commands as hex.
"""
import json
import os
import socket
import sys
import time

from pymidi import packets
from zeroconf import ServiceBrowser, ServiceListener, Zeroconf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtp_peer import midi_commands  # noqa: E402

SERVICE = "_apple-midi._udp.local."
SSRC = 0x4D414321  # "MAC!"


def emit(**kw):
    print(json.dumps(kw), flush=True)


class Found(ServiceListener):
    def __init__(self):
        self.service = None

    def add_service(self, zc, type_, name):
        info = zc.get_service_info(type_, name, timeout=3000)
        if info and info.parsed_addresses():
            self.service = (name, info.parsed_addresses()[0], info.port)

    def update_service(self, zc, type_, name):
        self.add_service(zc, type_, name)

    def remove_service(self, zc, type_, name):
        pass


def invite(sock, addr, token):
    sock.sendto(
        packets.AppleMIDIExchangePacket.build(
            dict(command=b"IN", protocol_version=2, initiator_token=token, ssrc=SSRC, name="Test Mac")
        ),
        addr,
    )
    sock.settimeout(5)
    while True:
        data, _ = sock.recvfrom(1500)
        if data[:2] == b"\xff\xff" and data[2:4] in (b"OK", b"NO"):
            reply = packets.AppleMIDIExchangePacket.parse(data)
            if reply.command != b"OK" or reply.initiator_token != token:
                raise SystemExit(f"invitation refused: {reply}")
            return reply.name


def main():
    zc = Zeroconf(interfaces=["127.0.0.1"])
    found = Found()
    ServiceBrowser(zc, SERVICE, found)
    deadline = time.time() + 20
    while found.service is None:
        if time.time() > deadline:
            raise SystemExit("no network MIDI session found by Bonjour in 20 s")
        time.sleep(0.05)
    name, host, port = found.service
    emit(event="found", name=name.removesuffix("." + SERVICE), addr=host, port=port)

    control = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    control.bind(("127.0.0.1", 0))
    data = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    data.bind(("127.0.0.1", control.getsockname()[1] + 1))
    session = invite(control, (host, port), 1)
    invite(data, (host, port + 1), 2)
    emit(event="joined", session=session)

    # The initiator's clock exchange (CK0); the session answers CK1.
    data.sendto(
        packets.AppleMIDITimestampPacket.build(
            dict(command=b"CK", ssrc=SSRC, count=0, timestamp_1=int(time.monotonic() * 10000), timestamp_2=0, timestamp_3=0)
        ),
        (host, port + 1),
    )
    data.settimeout(30)
    synced = False
    end = time.time() + 60
    while time.time() < end:
        try:
            packet, _ = data.recvfrom(1500)
        except socket.timeout:
            break
        if packet[:4] == b"\xff\xffCK" and not synced:
            ck = packets.AppleMIDITimestampPacket.parse(packet)
            if ck.count == 1:
                synced = True
                emit(event="synced")
        elif packet[:2] != b"\xff\xff" and len(packet) > 12:
            emit(event="midi", commands=midi_commands(packet))
    zc.close()


if __name__ == "__main__":
    sys.exit(main())
