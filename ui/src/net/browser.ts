//! The phone-browser client: one WebSocket to the host, the join and resume, reconnects with
//! backoff and jitter, heartbeats, and the clock sync (the TypeScript port of the Rust estimator,
//! driven with the Rust client's cadence). It produces the same events as the Tauri app.
//!
//! Local time is `performance.now() * 1000` µs. The pong's arrival time is read first thing in
//! the message handler, before the JSON is parsed.

import type { ClientMsg, ClockStatus, ErrorCode, ServerMsg } from '../bindings';
import { DEFAULT_BACKOFF, backoffDelay } from '../core/backoff';
import { ClockSync, SyncReporter } from '../core/clock';
import { parseJoinLink, type JoinTarget } from '../core/link';
import type { Backend, JoinRequest, Listener, UiEvent } from './backend';

/** Codes that end a join for good (Rust `ErrorCode::is_refusal`). */
const REFUSALS: ReadonlySet<string> = new Set([
  'version_unsupported',
  'unknown_session',
  'full',
  'invalid_name',
  'auth_required',
  'bad_secret',
  'too_many_attempts',
]);

export function isRefusal(code: ErrorCode | string): boolean {
  return REFUSALS.has(code);
}

/** Where the resume token is kept: per tab (sessionStorage), per server and session. */
function resumeKey(t: JoinTarget): string {
  return `bandsync.resume.${t.wsUrl}.${t.session}`;
}

const HEARTBEAT_MS = 5000;
const SILENCE_MS = 15000;
const STATUS_MS = 1000;
const CONNECT_TIMEOUT_MS = 5000;

const localNow = () => performance.now() * 1000;

export class BrowserBackend implements Backend {
  readonly kind = 'browser' as const;
  readonly target: JoinTarget;
  readonly clockSync = new ClockSync();
  private listeners = new Set<Listener>();
  private ws: WebSocket | null = null;
  private joined = false;
  private ended = false;
  private attempt = 0;
  private timers: ReturnType<typeof setTimeout>[] = [];
  private pingTimer: ReturnType<typeof setTimeout> | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private lastHeard = 0;
  private hb = 0;
  private reporter = new SyncReporter();
  private lastStatus: ClockStatus | null = null;
  private cleanups: (() => void)[] = [];

  /** `target` is where to connect (normally `parseJoinLink(req.target)`). */
  constructor(
    private req: JoinRequest,
    target?: JoinTarget,
  ) {
    this.target = target ?? parseJoinLink(req.target);
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

  /** Opens the first connection. Events start flowing at once. */
  start(): void {
    this.connect();
    // A phone back from the pocket or a network back from a blip: retry now, not at the backoff.
    const wake = () => {
      if (!this.ended && !this.ws && this.reconnectTimer && document.visibilityState === 'visible') {
        clearTimeout(this.reconnectTimer);
        this.reconnectTimer = null;
        this.connect();
      }
    };
    window.addEventListener('online', wake);
    document.addEventListener('visibilitychange', wake);
    this.cleanups.push(() => {
      window.removeEventListener('online', wake);
      document.removeEventListener('visibilitychange', wake);
    });
    // Once a second: clock status for the UI, and sync reports on the Rust client's cadence.
    this.timers.push(setInterval(() => this.statusTick(), STATUS_MS));
    this.timers.push(setInterval(() => this.heartbeatTick(), HEARTBEAT_MS));
  }

  private connect(): void {
    if (this.ended) return;
    this.emit({ kind: 'connection', state: 'connecting', detail: `connecting to ${this.target.wsUrl}` });
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.target.wsUrl);
    } catch (e) {
      this.dropped(`cannot connect to ${this.target.wsUrl}: ${(e as Error).message}`);
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.joined = false;
    const openTimeout = setTimeout(() => {
      if (ws.readyState === WebSocket.CONNECTING) ws.close();
    }, CONNECT_TIMEOUT_MS);
    ws.onopen = () => {
      clearTimeout(openTimeout);
      this.lastHeard = performance.now();
      this.sendJoin();
      // The warm-up burst starts right after the join, without waiting for the welcome.
      this.clockSync.rewarm(localNow());
      this.reporter.reset();
      this.schedulePing();
    };
    ws.onmessage = (e) => {
      const t3 = localNow();
      if (ws !== this.ws) return;
      this.lastHeard = performance.now();
      if (typeof e.data !== 'string') {
        this.emit({ kind: 'doc', data: new Uint8Array(e.data as ArrayBuffer) });
        return;
      }
      let msg: ServerMsg;
      try {
        msg = JSON.parse(e.data) as ServerMsg;
      } catch {
        console.warn('unreadable server message');
        return;
      }
      this.onMessage(msg, t3);
    };
    ws.onclose = (e) => {
      clearTimeout(openTimeout);
      if (ws !== this.ws) return;
      this.ws = null;
      if (this.pingTimer) clearTimeout(this.pingTimer);
      if (this.ended) return;
      const why = e.reason ? `closed: ${e.code} ${e.reason}` : e.code === 1006 ? 'the connection dropped' : `closed: ${e.code}`;
      if (e.code === 1000 && e.reason === 'replaced by a newer connection') {
        // Another tab resumed us: going on here would fight it over the participant.
        this.finish('left', 'this session was opened in another tab or window');
        return;
      }
      this.dropped(why);
    };
    ws.onerror = () => {
      // The close event that follows says what happened.
    };
  }

  private sendJoin(): void {
    const resume = sessionStorage.getItem(resumeKey(this.target));
    const join: ClientMsg = {
      type: 'join',
      v: 2,
      session: this.target.session,
      name: this.req.name,
      instrument: this.req.instrument && this.req.instrument.trim() ? this.req.instrument : null,
      resume: resume ?? null,
      leader: this.req.leader ?? false,
      secret: this.target.secret,
      pin: this.req.pin && this.req.pin.trim() ? this.req.pin.trim() : null,
    };
    this.raw(join);
  }

  private onMessage(msg: ServerMsg, t3: number): void {
    switch (msg.type) {
      case 'pong':
        this.clockSync.handlePong(t3, msg.n, msg.t0, msg.t1, msg.t2, msg.epoch);
        return;
      case 'heartbeat':
        return;
      case 'welcome':
        this.joined = true;
        this.attempt = 0;
        sessionStorage.setItem(resumeKey(this.target), msg.resume);
        this.emit({ kind: 'server', msg });
        this.emit({ kind: 'connection', state: 'online', detail: msg.resumed ? 'resumed' : 'joined' });
        return;
      case 'error':
        if (!this.joined && msg.about === 'join' && isRefusal(msg.code)) {
          this.emit({ kind: 'server', msg });
          this.finish('refused', msg.message, msg.code);
          return;
        }
        this.emit({ kind: 'server', msg });
        return;
      default:
        this.emit({ kind: 'server', msg });
    }
  }

  private schedulePing(): void {
    if (this.pingTimer) clearTimeout(this.pingTimer);
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const due = this.clockSync.pollTimeout();
    const delayMs = Math.max(0, (due - localNow()) / 1000);
    this.pingTimer = setTimeout(() => {
      const p = this.clockSync.pollPing(localNow());
      if (p) this.raw({ type: 'ping', n: p.n, t0: p.t0 });
      this.schedulePing();
    }, delayMs);
  }

  private statusTick(): void {
    const now = localNow();
    const status = this.clockSync.status(now);
    if (status.error_us >= Number.MAX_SAFE_INTEGER) return;
    this.lastStatus = status;
    this.emit({ kind: 'clock', clock: status });
    const report = this.reporter.tick(status, this.joined && this.ws?.readyState === WebSocket.OPEN);
    if (report) this.raw(report);
  }

  private heartbeatTick(): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (performance.now() - this.lastHeard > SILENCE_MS) {
      // The server went silent: a dead connection that TCP has not noticed yet.
      ws.close(4000, 'the server went silent');
      this.ws = null;
      this.dropped('the server went silent');
      return;
    }
    this.hb = (this.hb + 1) >>> 0;
    this.raw({ type: 'heartbeat', n: this.hb });
  }

  private dropped(reason: string): void {
    if (this.ended) return;
    this.joined = false;
    this.attempt += 1;
    const delay = backoffDelay(DEFAULT_BACKOFF, this.attempt, Math.random());
    this.emit({
      kind: 'connection',
      state: 'lost',
      detail: `${reason}; reconnecting in ${(delay / 1000).toFixed(1)} s (attempt ${this.attempt})`,
    });
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  private finish(state: 'left' | 'refused', detail: string, code?: string): void {
    this.ended = true;
    this.joined = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.pingTimer) clearTimeout(this.pingTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000);
    if (state === 'left') {
      for (const c of this.cleanups) c();
      this.cleanups = [];
    }
    if (state === 'left' || code === 'bad_secret' || code === 'unknown_session') {
      sessionStorage.removeItem(resumeKey(this.target));
    }
    this.emit({ kind: 'connection', state, detail: code ? `${code}: ${detail}` : detail });
  }

  /** Tries to reconnect now, after a refusal was fixed (for example a PIN was typed). */
  retryWithPin(pin: string): void {
    this.req = { ...this.req, pin };
    this.ended = false;
    this.attempt = 0;
    this.timers.push(setInterval(() => this.statusTick(), STATUS_MS));
    this.timers.push(setInterval(() => this.heartbeatTick(), HEARTBEAT_MS));
    this.connect();
  }

  private raw(msg: ClientMsg): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  async send(msg: ClientMsg): Promise<void> {
    if (!this.joined || !this.raw(msg)) {
      throw new Error('not connected; the message was not sent');
    }
  }

  sendDoc(frame: Uint8Array): void {
    const ws = this.ws;
    if (!this.joined || !ws || ws.readyState !== WebSocket.OPEN) return;
    ws.send(frame as Uint8Array<ArrayBuffer>);
  }

  async leave(): Promise<void> {
    if (this.ended) return;
    if (this.joined) this.raw({ type: 'leave' });
    this.finish('left', 'you left the session');
  }

  hostNow(): number | null {
    return this.clockSync.toHost(localNow());
  }

  hostToPerf(hostUs: number): number | null {
    const l = this.clockSync.toLocal(hostUs);
    return l === null ? null : l / 1000;
  }

  clock(): ClockStatus | null {
    return this.lastStatus;
  }

  /** Whether the join succeeded on the current connection. */
  isJoined(): boolean {
    return this.joined;
  }
}
