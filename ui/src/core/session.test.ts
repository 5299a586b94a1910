import { describe, expect, it } from 'vitest';
import type { ChatMessage, Participant, ServerMsg, Snapshot, Transport } from '../bindings';
import { apply, canEdit, chatRequested, fromWelcome, isLeader, me, type SessionState } from './session';

const tr = (tempo = 120_000): Transport =>
  ({
    segments: [
      {
        at: 0,
        playing: false,
        timeline: { tempo, beat_origin: 0, time_origin: 0 },
        meter: { beats: 4, unit: 4, groups: [4] },
        bar_origin: 0,
        song_start: 0,
      },
    ],
  }) as Transport;

const person = (id: number, over: Partial<Participant> = {}): Participant =>
  ({
    id,
    name: `P${id}`,
    instrument: null,
    role: 'follower',
    access: 'editor',
    connection: 'online',
    color: '#e6194b',
    sync: null,
    joined_at: 1000 * id,
    ...over,
  }) as Participant;

const snap = (participants: Participant[], over: Partial<Snapshot> = {}): Snapshot =>
  ({
    session: 'k7m2qx9pta',
    name: 'Friday rehearsal',
    participants,
    leader: participants.find((p) => p.role === 'leader')?.id ?? null,
    transport: tr(),
    stats: { members: participants.length, online: participants.length, leader: null },
    now: 5,
    song: null,
    ...over,
  }) as Snapshot;

const msg = (m: object) => m as ServerMsg;

const chat = (id: number, over: Partial<ChatMessage> = {}): ChatMessage =>
  ({ id, from: 1, name: 'P1', text: `m${id}`, at: id * 1000, edited_at: null, deleted: false, reply_to: null, reactions: [], ...over }) as ChatMessage;

function start(): SessionState {
  return fromWelcome(2, 77, snap([person(1, { role: 'leader' }), person(2)]));
}

describe('session reducer', () => {
  it('applies participant_joined, _updated and _left, and recounts', () => {
    let s = start();
    expect(s.stats).toEqual({ members: 2, online: 2, leader: 1 });
    s = apply(s, msg({ type: 'participant_joined', participant: person(3, { name: 'Cy' }) }));
    expect(s.participants.map((p) => p.id)).toEqual([1, 2, 3]);
    // Our own participant_joined after the welcome is an upsert, not a duplicate.
    s = apply(s, msg({ type: 'participant_joined', participant: person(2, { instrument: 'bass' }) }));
    expect(s.participants.map((p) => p.id)).toEqual([1, 2, 3]);
    expect(me(s)?.instrument).toBe('bass');
    s = apply(s, msg({ type: 'participant_updated', participant: person(1, { connection: 'away' }) }));
    expect(s.stats).toEqual({ members: 3, online: 2, leader: null });
    s = apply(s, msg({ type: 'participant_updated', participant: person(2, { role: 'leader' }) }));
    expect(isLeader(s)).toBe(true);
    s = apply(s, msg({ type: 'participant_left', id: 3, reason: 'left' }));
    expect(s.participants.map((p) => p.id)).toEqual([1, 2]);
    expect(s.stats.members).toBe(2);
  });

  it('replaces the transport, and drops one no session could make', () => {
    let s = start();
    s = apply(s, msg({ type: 'transport', transport: tr(90_000), by: 1, now: 10 }));
    expect(s.transport.segments[0].timeline.tempo).toBe(90_000);
    const bad = apply(s, msg({ type: 'transport', transport: tr(0), by: 1, now: 11 }));
    expect(bad).toBe(s);
  });

  it('tracks the current song and credentials', () => {
    let s = fromWelcome(2, 77, snap([person(2)], { song: 'abc' }));
    expect(s.song).toBe('abc');
    s = apply(s, msg({ type: 'song_changed', song: 'xyz', by: 1 }));
    expect([s.song, s.songBy]).toEqual(['xyz', 1]);
    s = apply(s, msg({ type: 'credentials', secret: 'f00d', pin: '0420' }));
    expect(s.credentials).toEqual({ secret: 'f00d', pin: '0420' });
  });

  it('merges chat messages, edits and deletions by id', () => {
    let s = start();
    s = apply(s, msg({ type: 'chat', message: chat(2) }));
    s = apply(s, msg({ type: 'chat', message: chat(1) }));
    expect(s.chat.map((m) => m.id)).toEqual([1, 2]);
    s = apply(s, msg({ type: 'chat', message: chat(1, { text: 'fixed', edited_at: 5 }) }));
    expect(s.chat[0].text).toBe('fixed');
    s = apply(s, msg({ type: 'chat', message: chat(2, { text: '', deleted: true }) }));
    expect(s.chat[1].deleted).toBe(true);
  });

  it('routes history answers to the page or the search that asked for them', () => {
    let s = start();
    s = chatRequested(s, 'page');
    s = chatRequested(s, 'search', 'capo');
    s = apply(s, msg({ type: 'chat_history', messages: [chat(8), chat(9)], more: true }));
    expect(s.chat.map((m) => m.id)).toEqual([8, 9]);
    expect(s.chatMore).toBe(true);
    expect(s.search?.pending).toBe(true);
    s = apply(s, msg({ type: 'chat_history', messages: [chat(3, { text: 'capo 2' })], more: false }));
    expect(s.search).toMatchObject({ query: 'capo', pending: false, more: false });
    expect(s.search?.results.map((m) => m.id)).toEqual([3]);
    expect(s.chat.map((m) => m.id)).toEqual([8, 9]); // the search did not leak into the list
    // An older page extends the list and says whether still older ones remain.
    s = chatRequested(s, 'page');
    s = apply(s, msg({ type: 'chat_history', messages: [chat(6), chat(7)], more: false }));
    expect(s.chat.map((m) => m.id)).toEqual([6, 7, 8, 9]);
    expect(s.chatMore).toBe(false);
  });

  it('forgets a refused history request so the next answer lands right', () => {
    let s = start();
    s = chatRequested(s, 'search', 'x');
    s = chatRequested(s, 'page');
    s = apply(s, msg({ type: 'error', code: 'malformed', message: 'bad', about: 'chat_history' }));
    expect(s.search?.pending).toBe(false);
    s = apply(s, msg({ type: 'chat_history', messages: [chat(1)], more: false }));
    expect(s.chat.map((m) => m.id)).toEqual([1]);
  });

  it('keeps chat and activity across a resume of the same session, not across sessions', () => {
    let s = start();
    s = apply(s, msg({ type: 'chat', message: chat(1) }));
    s = apply(s, msg({ type: 'activity', event: { id: 4, at: 1, kind: 'play', by: 1, summary: 'P1 started' } }));
    const resumed = apply(s, msg({ type: 'welcome', v: 2, you: 2, resume: 'r', resumed: true, epoch: 77, snapshot: snap([person(2)]) }));
    expect(resumed.chat.length).toBe(1);
    expect(resumed.activity.length).toBe(1);
    const restarted = apply(s, msg({ type: 'welcome', v: 2, you: 5, resume: 'r', resumed: false, epoch: 78, snapshot: snap([person(5)]) }));
    expect(restarted.chat.length).toBe(0);
    expect(restarted.you).toBe(5);
  });

  it('pages activity and tells viewers apart', () => {
    let s = start();
    s = apply(s, msg({ type: 'activity_history', events: [{ id: 5, at: 1, kind: 'join', by: 1, summary: 'a' }], more: true }));
    s = apply(s, msg({ type: 'activity_history', events: [{ id: 2, at: 1, kind: 'join', by: 2, summary: 'b' }], more: false }));
    expect(s.activity.map((e) => e.id)).toEqual([2, 5]);
    expect(s.activityMore).toBe(false);
    expect(canEdit(s)).toBe(true);
    s = apply(s, msg({ type: 'participant_updated', participant: person(2, { access: 'viewer' }) }));
    expect(canEdit(s)).toBe(false);
  });

  it('replaces everything on a snapshot but keeps who we are', () => {
    let s = start();
    s = apply(s, msg({ type: 'snapshot', ...snap([person(1), person(2), person(4)]) }));
    expect(s.you).toBe(2);
    expect(s.epoch).toBe(77);
    expect(s.participants.length).toBe(3);
  });
});
