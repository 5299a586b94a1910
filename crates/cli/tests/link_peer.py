"""An independent Ableton Link peer (aalink, from Python's registry) against `bandsync join --link`.

Runs inside a network namespace the Rust test made (Link is multicast). Starts a host and a
leader with the bridge, plays the part of Ableton Live, and records what each side did and when,
on Link's clock, into $DIR/peer.json; the leader's events go to $DIR/lead.jsonl. The Rust test
(`link.rs`) judges them.

Steps: the peer meets the bridge; the leader sets 100 BPM and plays (the peer must follow);
phase is sampled; the peer sets 130 BPM (the session must take it on its next bar line); phase
is sampled again; the peer stops (the session must stop). Then the peer plays alone at 90 BPM and
a new leader's bridge joins: the session must take up 90 BPM, the peer neither moving nor stopping;
then the leader plays, and the band must come in on the peer's bar, its phase unmoved.
"""

import asyncio
import json
import os
import subprocess
import sys
import threading
import time

from aalink import Link

BIN = os.environ["BIN"]
DIR = os.environ["DIR"]


def us(link):
    return int(link.time.total_seconds() * 1e6)


class Proc:
    """A bandsync process whose JSON lines are kept (and copied to a file) as they come."""

    def __init__(self, args, log):
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lines = []
        self.log = open(os.path.join(DIR, log), "w")
        self.cv = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.log.write(line)
            self.log.flush()
            try:
                v = json.loads(line)
            except ValueError:
                continue
            with self.cv:
                self.lines.append(v)
                self.cv.notify_all()

    def mark(self):
        with self.cv:
            return len(self.lines)

    def wait(self, what, pred, timeout=20.0, since=0):
        """The first line from `since` on that `pred` holds for."""
        end = time.monotonic() + timeout
        with self.cv:
            while True:
                for v in self.lines[since:]:
                    if pred(v):
                        return v
                left = end - time.monotonic()
                if left <= 0:
                    raise SystemExit(f"timed out waiting for {what}")
                self.cv.wait(left)

    def say(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()


async def until(what, pred, timeout=10.0):
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


async def sample(link, seconds, into):
    """The peer's beat against Link's clock, every 20 ms."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        into.append({"link_us": us(link), "beat": link.beat, "tempo": link.tempo, "playing": link.playing})
        await asyncio.sleep(0.02)


async def main():
    out = {"samples": []}
    host = Proc([BIN, "host", "--bind", "127.0.0.1:0", "--no-mdns", "--json", "--name", "Link gig"], "host.jsonl")
    url = host.wait("hosting", lambda v: v.get("event") == "hosting")["url"]
    lead = Proc([BIN, "join", url, "--name", "Laptop", "--leader", "--link", "--no-audio", "--json"], "lead.jsonl")
    lead.wait("joined", lambda v: v.get("event") == "joined")

    link = Link(120)
    link.quantum = 4
    link.start_stop_sync_enabled = True
    link.enabled = True
    await until("the bridge as a Link peer", lambda: link.num_peers >= 1)
    lead.wait("the bridge seeing the peer", lambda v: v.get("event") == "link_peers" and v["peers"] >= 1)

    # BandSync leads: tempo and play reach the peer.
    t = us(link)
    lead.say("tempo 100")
    await until("the peer at 100 BPM", lambda: abs(link.tempo - 100) < 0.01)
    out["peer_at_100_after_us"] = us(link) - t
    t = us(link)
    lead.say("play")
    await until("the peer playing", lambda: link.playing)
    out["peer_playing_after_us"] = us(link) - t
    await sample(link, 4.0, out["samples"])

    # Live leads: the peer's tempo becomes the session's, on its next bar line.
    out["peer_tempo_130_at_us"] = us(link)
    link.tempo = 130
    # Link goes back to the session's tempo until the session lands the change.
    await until("Link back on 100 BPM until the bar line", lambda: abs(link.tempo - 100) < 0.01, 2.0)
    lead.wait(
        "the session scheduling 130 BPM",
        lambda v: v.get("event") == "state" and any(abs(p["tempo"] - 130) < 0.01 for p in v.get("pending", [])),
    )
    await until("the peer at 130 BPM again, from the bar line", lambda: abs(link.tempo - 130) < 0.01, 5.0)
    out["peer_at_130_us"] = us(link)
    await sample(link, 4.0, out["samples"])

    # And its stop.
    mark = lead.mark()
    out["peer_stop_at_us"] = us(link)
    link.playing = False
    lead.wait("the session stopping", lambda v: v.get("event") == "state" and v.get("playing") is False, since=mark)
    out["session_stopped_after_us"] = us(link) - out["peer_stop_at_us"]

    lead.say("quit")
    lead.p.wait(timeout=10)

    # Opening BandSync does not change a Link session that was there first (Link's TEMPO-2): the
    # peer plays on its own at 90 BPM, a new leader's bridge joins the stopped session, and the
    # session takes up the peer's tempo while the peer neither changes tempo nor stops.
    link.tempo = 90
    link.playing = True
    await asyncio.sleep(0.5)
    lead2 = Proc([BIN, "join", url, "--name", "Laptop2", "--leader", "--link", "--no-audio", "--json"], "lead2.jsonl")
    tempos, stopped = set(), False
    end = time.monotonic() + 15
    taken = None
    while taken is None:
        if time.monotonic() > end:
            raise SystemExit("timed out waiting for the session to take up the peer's 90 BPM")
        tempos.add(round(link.tempo, 3))
        stopped |= not link.playing
        with lead2.cv:
            taken = next(
                (v for v in lead2.lines if v.get("event") == "state" and abs(v["tempo"] - 90) < 0.01),
                None,
            )
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.5)
    tempos.add(round(link.tempo, 3))
    stopped |= not link.playing
    out["join_peer_tempos"] = sorted(tempos)
    out["join_peer_stopped"] = stopped

    # The band comes in while Live plays: the leader's play starts on Live's bar (the bridge
    # gives it Link's bar grid), so Live's phase does not move when Link takes the session's
    # timeline. The peer's beat before and a second after, at its steady 90 BPM.
    before = (us(link), link.beat)
    mark = lead2.mark()
    lead2.say("play")
    lead2.wait("the session playing", lambda v: v.get("event") == "state" and v.get("playing") is True, since=mark)
    await asyncio.sleep(1.0)
    out["band_in_before"] = before
    out["band_in_after"] = (us(link), link.beat)
    out["band_in_tempo"] = link.tempo
    out["band_in_playing"] = link.playing
    lead2.say("quit")
    lead2.p.wait(timeout=10)
    host.p.terminate()
    host.p.wait(timeout=10)
    with open(os.path.join(DIR, "peer.json"), "w") as f:
        json.dump(out, f)


asyncio.run(main())
sys.exit(0)
