//! The phone page's connection: a thin driver around the Rust member (`crates/core/src/member`,
//! in wasm). It opens the WebSockets the member asks for (racing the link's addresses), hands it
//! every frame with the local clock read first thing, sends what it says, sleeps until its next
//! timer, and turns its events into the UI's. Join, resume, refusals, heartbeats, the clock-sync
//! cadence, sync reports and backoff are all the member's.
//!
//! Documents (binary frames) go to the UI directly; every control message goes to the UI as well,
//! with what it changed in the member's mirror, which is the page's view of the session (the
//! app's Rust forwards the raw messages, which the UI's own mirror reads).

import type { ClientMsg, ClockStatus, HostAxis, MemberEvent, MemberTransmit, OutputReport, ServerMsg } from '../bindings';
import { Member, parseLink } from '../wasm/api';
import type { Backend, JoinRequest, Listener, UiEvent } from './backend';
import { pageClock, type LocalClock } from './localclock';
import type { JoinTarget } from '../bindings';

/** A random resume token to propose on a first join (128 bits, hex). */
function newToken(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Where the resume token is kept: per tab (sessionStorage), per server and session. */
function resumeKey(t: JoinTarget): string {
  return `bandsync.resume.${t.ws_url}.${t.session}`;
}

export class BrowserBackend implements Backend {
  readonly kind = 'browser' as const;
  readonly target: JoinTarget;
  readonly clock0: LocalClock = pageClock();
  private member: Member;
  private listeners = new Set<Listener>();
  private ws: WebSocket | null = null;
  /** Sockets being opened (the link's addresses, raced); the first to open wins. */
  private opening: WebSocket[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** The resume token last written to sessionStorage. */
  private keptToken: string | null = null;
  private joined = false;
  private ended = false;
  private lastStatus: ClockStatus | null = null;
  /** The host clock of the latest schedule, as the member's core says. */
  private lastAxis: HostAxis | null = null;
  private cleanups: (() => void)[] = [];

  /** `target` is where to connect (normally `parseLink(req.target)`). */
  constructor(
    private req: JoinRequest,
    target?: JoinTarget,
  ) {
    this.target = target ?? parseLink(req.target);
    this.member = this.makeMember();
  }

  private makeMember(): Member {
    return new Member({
      target: this.target,
      name: this.req.name,
      instrument: this.req.instrument,
      leader: this.req.leader ?? false,
      pin: this.req.pin,
      seed: Math.floor(Math.random() * 2 ** 31) + 1,
      give_up_after_ms: null,
      // Kept from before a reload, or proposed (a lost welcome's join is then resumed, not doubled).
      resume: sessionStorage.getItem(resumeKey(this.target)) ?? newToken(),
      now: this.clock0.now(),
    });
  }

  on(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private emit(ev: UiEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(ev);
      } catch (e) {
        console.error('listener failed', e);
      }
    }
  }

  /** Starts: the member asks for its first connection at once. */
  start(): void {
    // A phone back from the pocket, or a network back from a blip: retry now, not at the backoff.
    const wake = () => {
      if (!this.ended && document.visibilityState === 'visible') {
        this.member.reconnectNow(this.clock0.now());
        this.pump();
      }
    };
    window.addEventListener('online', wake);
    document.addEventListener('visibilitychange', wake);
    this.cleanups.push(() => {
      window.removeEventListener('online', wake);
      document.removeEventListener('visibilitychange', wake);
    });
    this.pump();
  }

  /** Carries out what the member asks, passes on what it says, and sleeps until its next timer. */
  private pump(): void {
    const p = this.member.poll();
    for (const t of p.transmits) this.transmit(t);
    for (const e of p.events) this.onEvent(e);
    if (p.token && p.token !== this.keptToken) {
      // Kept when it changes (the one the member proposes, then each welcome's), not on every
      // poll: a storage write is synchronous, and one on every message and ping also put back a
      // token the user (or a test) had just cleared.
      sessionStorage.setItem(resumeKey(this.target), p.token);
      this.keptToken = p.token;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (p.ended) {
      this.finish();
      return;
    }
    if (p.timeout !== null) {
      // Whole milliseconds, rounded up: a browser's timer fires on a millisecond, up to one
      // early, and a member woken before its time does nothing and asks again (a handful of
      // empty wakes before each ping).
      const ms = Math.max(0, Math.ceil((p.timeout - this.clock0.now()) / 1000));
      this.timer = setTimeout(() => {
        this.timer = null;
        this.member.timeout(this.clock0.now());
        this.pump();
      }, ms);
    }
  }

  private transmit(t: MemberTransmit): void {
    switch (t.kind) {
      case 'connect':
        this.connect([t.url, ...t.alternates]);
        break;
      case 'text':
        this.ws?.send(t.text);
        break;
      case 'binary':
        this.ws?.send(new Uint8Array(t.bytes));
        break;
      case 'close':
        this.closeAll();
        break;
    }
  }

  private closeAll(): void {
    for (const w of this.opening) w.close();
    this.opening = [];
    const ws = this.ws;
    this.ws = null;
    // 4000, not 1000: the server takes a normal closure (1000) as leaving, and the page closes
    // to reconnect too. When the page leaves, it says `leave` first.
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(4000, 'closing');
  }

  /** Opens every address at once; the first that opens is kept, the others are closed. */
  private connect(urls: string[]): void {
    this.closeAll();
    this.emit({ kind: 'connection', state: 'connecting', detail: `connecting to ${urls[0]}` });
    let failed = 0;
    for (const url of urls) {
      let ws: WebSocket;
      try {
        ws = new WebSocket(url);
      } catch (e) {
        failed += 1;
        if (failed === urls.length) {
          this.member.connectFailed(this.clock0.now(), `cannot connect to ${url}: ${(e as Error).message}`);
          this.pump();
        }
        continue;
      }
      ws.binaryType = 'arraybuffer';
      this.opening.push(ws);
      ws.onopen = () => {
        if (this.ws || !this.opening.includes(ws)) {
          ws.close();
          return;
        }
        for (const o of this.opening) if (o !== ws) o.close();
        this.opening = [];
        this.ws = ws;
        this.member.connected(this.clock0.now());
        this.pump();
      };
      ws.onmessage = (e) => {
        // The pong's arrival time, read first thing.
        const now = this.clock0.now();
        if (ws !== this.ws) return;
        if (typeof e.data !== 'string') {
          this.member.heard(now);
          this.emit({ kind: 'doc', data: new Uint8Array(e.data as ArrayBuffer) });
        } else {
          const mirrored = this.member.text(now, e.data);
          // The member's own events first: a welcome makes this connection joined before the UI
          // hears of it and opens the documents' sync (whose first frame `sendDoc` would drop
          // while not joined: a phone joining a session with a setlist saw none of it).
          this.pump();
          // The core read it and says it is for the page (not the member's pong or heartbeat),
          // and what it changed in the session as the member mirrors it.
          if (mirrored) this.emit({ kind: 'server', msg: JSON.parse(e.data) as ServerMsg, mirrored });
        }
        this.pump();
      };
      ws.onclose = (e) => {
        const now = this.clock0.now();
        if (ws === this.ws) {
          this.ws = null;
          const why = e.reason ? `closed: ${e.code} ${e.reason}` : e.code === 1006 ? 'the connection dropped' : `closed: ${e.code}`;
          this.member.closed(now, why);
          this.pump();
        } else if (this.opening.includes(ws)) {
          this.opening = this.opening.filter((o) => o !== ws);
          if (this.opening.length === 0 && !this.ws) {
            this.member.connectFailed(now, `cannot connect to ${urls[0]}`);
            this.pump();
          }
        }
      };
    }
  }

  private onEvent(e: MemberEvent): void {
    switch (e.event) {
      case 'joined':
        this.joined = true;
        this.emit({ kind: 'connection', state: 'online', detail: e.resumed ? 'resumed' : 'joined' });
        break;
      case 'disconnected':
        this.joined = false;
        this.emit({ kind: 'connection', state: 'lost', detail: e.reason });
        break;
      case 'reconnecting':
        this.emit({
          kind: 'connection',
          state: 'connecting',
          detail: `reconnecting in ${(e.delay / 1e6).toFixed(1)} s (attempt ${e.attempt})`,
        });
        break;
      case 'refused':
        if (e.code === 'bad_secret' || e.code === 'wrong_pin' || e.code === 'unknown_session') sessionStorage.removeItem(resumeKey(this.target));
        this.emit({ kind: 'connection', state: 'refused', detail: e.message, code: e.code });
        break;
      case 'lost':
        this.emit({ kind: 'connection', state: 'refused', detail: e.reason });
        break;
      case 'left':
        sessionStorage.removeItem(resumeKey(this.target));
        this.emit({ kind: 'connection', state: 'left', detail: 'you left the session' });
        break;
      case 'replaced':
        this.emit({ kind: 'connection', state: 'left', detail: 'this session was opened in another tab or window' });
        break;
      case 'clock':
        this.lastStatus = e.status;
        this.emit({ kind: 'clock', clock: { ...e.status, host_now_us: this.hostNow() } });
        break;
      case 'error':
        // The member's own (a message sent while disconnected); the server's come as messages.
        this.emit({ kind: 'server', msg: { type: 'error', code: e.code, message: e.message, about: e.about }, mirrored: null });
        break;
      // The UI reads the server's messages itself (a cue too, as in the app), with what each
      // changed in the member's mirror; documents come as frames.
      case 'transport':
        this.lastAxis = e.axis;
        break;
      case 'participants':
      case 'cue':
      case 'credentials':
      case 'doc':
      case 'server':
        break;
    }
  }

  private finish(): void {
    this.ended = true;
    this.joined = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.closeAll();
    for (const c of this.cleanups) c();
    this.cleanups = [];
  }

  /** Tries again with a PIN after a refusal asked for one. */
  retryWithPin(pin: string): void {
    this.req = { ...this.req, pin };
    this.member.free();
    this.member = this.makeMember();
    this.ended = false;
    this.start();
  }

  async send(msg: ClientMsg): Promise<void> {
    if (!this.joined || !this.ws || this.ws.readyState !== WebSocket.OPEN) {
      throw new Error('not connected; the message was not sent');
    }
    this.member.send(JSON.stringify(msg));
    this.pump();
  }

  sendDoc(frame: Uint8Array): void {
    const ws = this.ws;
    if (!this.joined || !ws || ws.readyState !== WebSocket.OPEN) return;
    ws.send(frame as Uint8Array<ArrayBuffer>);
  }

  /** The audio output's figures, reported to the band with the clock's sync quality. */
  setOutput(output: OutputReport | null): void {
    this.member.setOutput(output);
  }

  async leave(): Promise<void> {
    if (this.ended) return;
    this.member.leave();
    this.pump();
  }

  async qrSvg(link: string): Promise<string> {
    // POST: the link and its secret stay out of URLs and logs.
    const r = await fetch(`${this.target.origin}/api/qr`, { method: 'POST', body: JSON.stringify({ link }) });
    if (!r.ok) throw new Error(`no QR code from the host (${r.status})`);
    return r.text();
  }

  hostNow(): number | null {
    return this.member.toHost(this.clock0.now());
  }

  hostToPerf(hostUs: number): number | null {
    const l = this.member.toLocal(hostUs);
    return l === null ? null : this.clock0.perfAt(l);
  }

  /** Host µs at `performance.now()` time `perfMs`. */
  perfToHost(perfMs: number): number | null {
    return this.member.toHost(this.clock0.atPerf(perfMs));
  }

  clock(): ClockStatus | null {
    return this.lastStatus;
  }

  /** The host clock the session's schedule is on (handled before the UI hears the schedule). */
  axis(): HostAxis | null {
    return this.lastAxis;
  }

  /** Whether the join succeeded on the current connection. */
  isJoined(): boolean {
    return this.joined;
  }
}
