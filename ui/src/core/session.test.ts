import { describe, expect, it } from 'vitest';
import type { Participant, ServerMsg, Snapshot, Transport } from '../bindings';
import { Member, parseLink, SessionMirror } from '../wasm/api';
import { apply as applyMirrored, isLeader, type SessionState } from './session';

/** The app's path: the message through the view's own mirror. */
function apply(s: SessionState | null, msg: ServerMsg, m: SessionMirror): SessionState | null {
  return applyMirrored(s, msg, m.apply(JSON.stringify(msg)));
}

const TRANSPORT: Transport = {
  segments: [{ at: 0, playing: false, timeline: { tempo: 120_000, beat_origin: 0, time_origin: 0 }, meter: { beats: 4, unit: 4, groups: [4] }, bar_origin: 0, song_start: 0 }],
};

function person(id: number, role: 'leader' | 'follower' = 'follower'): Participant {
  return { id, name: `P${id}`, instrument: null, role, access: 'editor', connection: 'online', color: '#000000', sync: null, joined_at: 0 };
}

function welcome(you: number, epoch: number, participants: Participant[]): ServerMsg {
  const snapshot: Snapshot = {
    session: 's1',
    name: 'Gig',
    song: null,
    cue_by: 'leader',
    participants,
    leader: participants.find((p) => p.role === 'leader')?.id ?? null,
    transport: TRANSPORT,
    stats: { members: participants.length, online: participants.length, leader: null },
    now: 0,
  };
  return { type: 'welcome', v: 2, you, resume: 'r', resumed: false, epoch, snapshot };
}

describe('the session view', () => {
  it('follows who is there and the schedule through the Rust mirror, and keeps chat across a resume', () => {
    const m = new SessionMirror();
    let s: SessionState | null = apply(null, welcome(2, 7, [person(1, 'leader'), person(2)]), m);
    expect(s?.participants.map((p) => p.id)).toEqual([1, 2]);
    expect(s && isLeader(s)).toBe(false);
    expect(s?.cueBy).toBe('leader');
    expect(s?.mayCue).toBe(false);
    s = apply(s, { type: 'cue_by', who: 'editors' }, m);
    expect([s?.cueBy, s?.mayCue]).toEqual(['editors', true]);
    s = apply(s, { type: 'cue_by', who: 'leader', member: 'P2' }, m);
    expect([s?.cueBy, s?.cueMember, s?.mayCue]).toEqual(['leader', 'P2', true]);
    // Made a viewer, we may no longer: the core says so with the participant's change.
    s = apply(s, { type: 'participant_updated', participant: { ...person(2), access: 'viewer' } }, m);
    expect(s?.mayCue).toBe(false);
    s = apply(s, { type: 'participant_updated', participant: person(2) }, m);
    s = apply(s, { type: 'cue_by', who: 'leader' }, m);
    expect([s?.cueMember, s?.mayCue]).toEqual([null, false]);
    s = apply(s, { type: 'participant_joined', participant: person(3) }, m);
    expect([s?.participants.length, s?.stats.members, s?.stats.leader]).toEqual([3, 3, 1]);
    s = apply(s, { type: 'chat', message: { id: 1, from: 1, name: 'P1', text: 'hi', at: 0, edited_at: null, deleted: false, reply_to: null, reactions: [], mentions: [] } }, m);
    s = apply(s, { type: 'participant_left', id: 1, reason: 'left' }, m);
    expect([s?.stats.members, s?.stats.leader]).toEqual([2, null]);
    // A resume of the same session keeps what was loaded.
    s = apply(s, welcome(2, 7, [person(2), person(3)]), m);
    expect(s?.chat.map((c) => c.text)).toEqual(['hi']);
    // A host restart (a new epoch) starts over.
    s = apply(s, welcome(5, 8, [person(5)]), m);
    expect(s?.chat).toEqual([]);
    m.free();
  });

  it('gives a new object only to what a message changed', () => {
    const m = new SessionMirror();
    const s = apply(null, welcome(1, 1, [person(1), person(2)]), m)!;
    const synced = apply(s, { type: 'participant_updated', participant: { ...person(2), instrument: 'bass' } }, m)!;
    expect(synced.participants[1].instrument).toBe('bass');
    expect([synced.transport === s.transport, synced.stats === s.stats]).toEqual([true, true]);
    expect(synced.participants[0]).toBe(s.participants[0]);
    const left = apply(synced, { type: 'participant_left', id: 2, reason: 'left' }, m)!;
    expect(left.stats.members).toBe(1);
    expect(left.participants.map((p) => p.id)).toEqual([1]);
    // The list kept by the core's splices is the mirror's, in order.
    let more = left;
    for (const id of [3, 4]) more = apply(more, { type: 'participant_joined', participant: person(id) }, m)!;
    more = apply(more, { type: 'participant_updated', participant: { ...person(3), name: 'Cy' } }, m)!;
    expect(more.participants.map((p) => [p.id, p.name])).toEqual([[1, 'P1'], [3, 'Cy'], [4, 'P4']]);
    expect(more.stats.members).toBe(3);
    const moved = apply(left, { type: 'transport', transport: TRANSPORT, by: 1, now: 0 }, m)!;
    expect([moved.transport === left.transport, moved.participants === left.participants, moved.stats === left.stats]).toEqual([false, true, true]);
    m.free();
  });

  it('ignores a schedule no session could make', () => {
    const m = new SessionMirror();
    const s = apply(null, welcome(1, 1, [person(1)]), m)!;
    const bad: Transport = { segments: [{ ...TRANSPORT.segments[0], timeline: { tempo: 0, beat_origin: 0, time_origin: 0 } }] };
    expect(apply(s, { type: 'transport', transport: bad, by: 1, now: 0 }, m)).toBe(s);
    m.free();
  });

  it("reads the same through the page's member as through the app's mirror", () => {
    // The page's view is its member's mirror (`Member.text` answers with what each message
    // changed); the app's is the view's own. The same messages make the same session.
    const member = new Member({ target: parseLink('http://127.0.0.1:7878/s/s1#k=secret'), name: 'P2', seed: 1, now: 1000 });
    member.poll();
    member.connected(2000);
    member.poll();
    const m = new SessionMirror();
    const msgs: ServerMsg[] = [
      welcome(2, 7, [person(1, 'leader'), person(2)]),
      { type: 'participant_joined', participant: person(3) },
      { type: 'participant_updated', participant: { ...person(3), name: 'Cy' } },
      { type: 'chat', message: { id: 1, from: 1, name: 'P1', text: 'hi', at: 0, edited_at: null, deleted: false, reply_to: null, reactions: [], mentions: [] } },
      { type: 'transport', transport: { segments: [{ ...TRANSPORT.segments[0], playing: true }] }, by: 1, now: 0 },
      { type: 'song_changed', song: 'Intro', by: 1 },
      { type: 'participant_left', id: 1, reason: 'left' },
    ];
    let viaMember: SessionState | null = null;
    let viaMirror: SessionState | null = null;
    msgs.forEach((msg, i) => {
      viaMember = applyMirrored(viaMember, msg, member.text(3000 + i, JSON.stringify(msg)));
      viaMirror = apply(viaMirror, msg, m);
    });
    expect(viaMember).toEqual(viaMirror);
    expect(viaMember!.participants.map((p) => p.name)).toEqual(['P2', 'Cy']);
    expect(viaMember!.song).toBe('Intro');
    member.free();
    m.free();
  });
});
