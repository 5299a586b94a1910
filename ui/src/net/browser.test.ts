import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClientMsg, ServerMsg } from '../bindings';
import type { UiEvent } from './backend';
import { BrowserBackend } from './browser';

/** A WebSocket double: records what the client sends and lets the test play the server. */
class FakeSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  static all: FakeSocket[] = [];
  readyState = FakeSocket.CONNECTING;
  binaryType = 'blob';
  sent: (ClientMsg | Uint8Array)[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(d: string | Uint8Array) {
    this.sent.push(typeof d === 'string' ? (JSON.parse(d) as ClientMsg) : d);
  }
  close(code = 1000, reason = '') {
    if (this.readyState === FakeSocket.CLOSED) return;
    this.readyState = FakeSocket.CLOSED;
    this.onclose?.({ code, reason });
  }
  // the server's side
  open() {
    this.readyState = FakeSocket.OPEN;
    this.onopen?.();
  }
  deliver(m: object) {
    this.onmessage?.({ data: JSON.stringify(m) });
  }
  drop() {
    this.readyState = FakeSocket.CLOSED;
    this.onclose?.({ code: 1006, reason: '' });
  }
  of<T extends ClientMsg['type']>(type: T): Extract<ClientMsg, { type: T }>[] {
    return this.sent.filter((m): m is Extract<ClientMsg, { type: T }> => !(m instanceof Uint8Array) && m.type === type);
  }
}

const snapshot = {
  session: 'k7m2qx9pta',
  name: 'Friday',
  song: null,
  participants: [],
  leader: null,
  transport: {
    segments: [{ at: 0, playing: false, timeline: { tempo: 120000, beat_origin: 0, time_origin: 0 }, meter: { beats: 4, unit: 4, groups: [4] }, bar_origin: 0, song_start: 0 }],
  },
  stats: { members: 1, online: 1, leader: null },
  now: 0,
};

function welcome(resume: string, resumed = false): ServerMsg {
  return { type: 'welcome', v: 2, you: 3, resume, resumed, epoch: 99, snapshot } as ServerMsg;
}

describe('browser client', () => {
  let store: Map<string, string>;
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.all = [];
    store = new Map();
    vi.stubGlobal('WebSocket', FakeSocket);
    vi.stubGlobal('sessionStorage', {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => store.set(k, v),
      removeItem: (k: string) => store.delete(k),
    });
    vi.stubGlobal('window', { addEventListener() {}, removeEventListener() {} });
    vi.stubGlobal('document', { addEventListener() {}, removeEventListener() {}, visibilityState: 'visible' });
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  function start(link = 'http://10.0.0.2:7878/s/k7m2qx9pta#k=feedface') {
    const b = new BrowserBackend({ target: link, name: 'Ana', instrument: ' ', pin: null });
    const events: UiEvent[] = [];
    b.on((e) => events.push(e));
    b.start();
    return { b, events, ws: () => FakeSocket.all[FakeSocket.all.length - 1] };
  }

  it('joins with the secret from the link, then bursts pings without waiting for the welcome', () => {
    const { ws } = start();
    expect(ws().url).toBe('ws://10.0.0.2:7878/ws');
    ws().open();
    const [join] = ws().of('join');
    expect(join).toEqual({ type: 'join', v: 2, session: 'k7m2qx9pta', name: 'Ana', instrument: null, resume: null, leader: false, secret: 'feedface', pin: null });
    vi.advanceTimersByTime(100);
    const pings = ws().of('ping');
    expect(pings.length).toBeGreaterThanOrEqual(6); // every 15 ms in the burst
    expect(pings.every((p) => Number.isInteger(p.t0))).toBe(true);
  });

  it('feeds pongs to the clock and reports sync after the welcome', () => {
    const { b, ws, events } = start();
    ws().open();
    ws().deliver(welcome('tok1'));
    // Answer every ping as a host 5 s ahead with a symmetric 1 ms path.
    for (let i = 0; i < 40; i++) {
      vi.advanceTimersByTime(15);
      for (const p of ws().of('ping').slice(-1)) {
        ws().deliver({ type: 'pong', n: p.n, t0: p.t0, t1: p.t0 + 5_000_000, t2: p.t0 + 5_000_000, epoch: 99 });
      }
    }
    vi.advanceTimersByTime(1000);
    expect(b.hostNow()).not.toBeNull();
    expect(events.some((e) => e.kind === 'clock')).toBe(true);
    const reports = ws().of('sync_report');
    expect(reports.length).toBeGreaterThan(0);
    expect(reports[0].rtt_us).toBeGreaterThanOrEqual(0);
  });

  it('keeps the resume token and resumes after a drop, with backoff', () => {
    const { ws, events } = start();
    ws().open();
    ws().deliver(welcome('tok1'));
    expect(events.some((e) => e.kind === 'connection' && e.state === 'online')).toBe(true);
    const first = ws();
    first.drop();
    expect(events.some((e) => e.kind === 'connection' && e.state === 'lost')).toBe(true);
    expect(FakeSocket.all.length).toBe(1);
    vi.advanceTimersByTime(250); // the first delay is at most 200 ms
    expect(FakeSocket.all.length).toBe(2);
    ws().open();
    expect(ws().of('join')[0]).toMatchObject({ resume: 'tok1', secret: 'feedface' });
  });

  it('stops for good on a refusal, and says why', () => {
    const { ws, events } = start('http://10.0.0.2:7878/s/k7m2qx9pta');
    ws().open();
    expect(ws().of('join')[0].secret).toBeNull();
    ws().deliver({ type: 'error', code: 'auth_required', message: 'a secret or PIN is needed', about: 'join' });
    const last = events.filter((e) => e.kind === 'connection').pop();
    expect(last).toMatchObject({ state: 'refused', detail: 'auth_required: a secret or PIN is needed' });
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all.length).toBe(1);
  });

  it('notices a silent server and reconnects', () => {
    const { ws, events } = start();
    ws().open();
    ws().deliver(welcome('tok1'));
    // Nothing comes back for 20 s (pings unanswered, heartbeats unanswered).
    vi.advanceTimersByTime(20_000);
    expect(events.some((e) => e.kind === 'connection' && e.state === 'lost' && e.detail.includes('silent'))).toBe(true);
  });

  it('refuses to send before the welcome, and leaves cleanly', async () => {
    const { b, ws, events } = start();
    ws().open();
    await expect(b.send({ type: 'claim' })).rejects.toThrow(/not connected/);
    ws().deliver(welcome('tok1'));
    await b.send({ type: 'claim' });
    expect(ws().of('claim').length).toBe(1);
    await b.leave();
    expect(ws().of('leave').length).toBe(1);
    expect(events.filter((e) => e.kind === 'connection').pop()).toMatchObject({ state: 'left' });
    expect(store.size).toBe(0); // the resume token is forgotten
  });
});
