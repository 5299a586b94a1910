//! What the page's session mirror costs per server message, by the session's size: the mirror
//! is in the Rust core (wasm), and each message's answer comes back as JSON. Run with
//! `npx vitest bench --run src/state/mirror.bench.ts` (docs/BENCHMARKS.md).

import { bench, describe } from 'vitest';
import type { Participant, ServerMsg, Snapshot, Transport } from '../bindings';
import { Member, parseLink, SessionMirror } from '../wasm/api';

const TRANSPORT: Transport = {
  segments: [{ at: 0, playing: false, timeline: { tempo: 120_000, beat_origin: 0, time_origin: 0 }, meter: { beats: 4, unit: 4, groups: [4] }, bar_origin: 0, song_start: 0 }],
};

function person(id: number): Participant {
  const role = id === 1 ? 'leader' : 'follower';
  return { id, name: `Player ${id}`, instrument: 'guitar', role, access: 'editor', connection: 'online', color: '#336699', sync: null, joined_at: 0 };
}

/** The welcome to a session of `n`, as the server writes it (`type` first). */
function welcome(n: number): string {
  const participants = Array.from({ length: n }, (_, i) => person(i + 1));
  const stats = { members: n, online: n, leader: 1 };
  const snapshot: Snapshot = { session: 's1', name: 'Gig', song: null, cue_by: 'leader', participants, leader: 1, transport: TRANSPORT, stats, now: 0 };
  return JSON.stringify({ type: 'welcome', v: 3, you: 2, resume: 'r', resumed: false, epoch: 1, snapshot } as ServerMsg);
}

/** A mirror of a session of `n`, welcomed. */
function mirrorOf(n: number): SessionMirror {
  const m = new SessionMirror();
  m.apply(welcome(n));
  return m;
}

/** The page's member in a session of `n`, connected and welcomed. */
function memberOf(n: number): Member {
  const m = new Member({ target: parseLink('http://127.0.0.1:7878/s/s1#k=secret'), name: 'P2', seed: 1, now: 1000 });
  m.poll();
  m.connected(2000);
  m.poll();
  m.text(3000, welcome(n));
  m.poll();
  return m;
}

const chat = JSON.stringify({
  type: 'chat',
  message: { id: 1, from: 1, name: 'P1', text: 'hi', at: 0, edited_at: null, deleted: false, reply_to: null, reactions: [], mentions: [] },
});
const update = JSON.stringify({ type: 'participant_updated', participant: { ...person(3), sync: null, connection: 'away' } });

for (const n of [5, 500]) {
  describe(`a session of ${n}`, () => {
    const m = mirrorOf(n);
    bench('a chat message (the mirror unchanged)', () => {
      m.apply(chat);
    });
    bench("a participant's update (the list changed)", () => {
      m.apply(update);
    });
    // What the page's connection does with each message: the member reads it and is polled.
    const member = memberOf(n);
    let now = 4000;
    bench("the member: a participant's update, read and polled", () => {
      now += 1;
      member.text(now, update);
      member.poll();
    });
  });
}
