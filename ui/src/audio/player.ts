//! The browser's click: Web Audio, scheduled ahead on the AudioContext clock.
//!
//! Every 25 ms a tick takes the clicks whose start falls within the lookahead (150 ms past the
//! context's render position) from the shared transport, maps each one's host time to local time
//! through the clock estimate, then to context time through [`OutputClock`] (output latency
//! included), minus the user's latency offset, and starts an AudioBufferSourceNode exactly there.
//! A new transport or a clock step cancels what was scheduled past a short guard and takes it
//! again from the new state. Timers only decide *when we look*; the context clock decides when a
//! click sounds.

import type { Transport } from '../bindings';
import { ClickCursor, type Click } from '../core/clicks';
import { OutputClock, type OutputReading } from './outclock';
import { synthClick, type ClickSound, type Voice } from './sounds';

export interface PlayerSettings {
  volume: number;
  mute: boolean;
  levels: { downbeat: number; group: number; beat: number; sub: number };
  subdivision: number;
  latencyMs: number;
  clickSound: ClickSound;
  channel: 'left' | 'right' | 'both';
}

export interface PlayerClock {
  /** Host time now (µs), or `null` before there is an estimate. */
  hostNow(): number | null;
  /** `performance.now()` ms at which host time `h` (µs) comes, or `null`. */
  hostToPerf(h: number): number | null;
}

export interface PlayerStats {
  running: boolean;
  /** Output latency the browser accounts for, ms. */
  latencyMs: number | null;
  /** Whether `getOutputTimestamp` is in use (else the latency fallback). */
  timestamped: boolean;
  /** Clicks that were due before they could be scheduled, since the start. */
  late: number;
  scheduled: number;
  sampleRate: number;
}

const TICK_MS = 25;
const LOOKAHEAD_S = 0.15;
/** A click this close to the render position is left alone when rescheduling. */
const GUARD_S = 0.01;

interface Scheduled {
  host: number;
  ctxTime: number;
  src: AudioBufferSourceNode;
}

export class ClickPlayer {
  private ctx: AudioContext | null = null;
  private master: GainNode | null = null;
  private pan: StereoPannerNode | null = null;
  private buffers = new Map<Voice, AudioBuffer>();
  private out = new OutputClock();
  private cursor = new ClickCursor();
  private scheduled: Scheduled[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private lastTick = 0;
  private late = 0;
  private count = 0;
  private transport: Transport | null = null;
  private settings: PlayerSettings;
  private stateListeners = new Set<() => void>();
  /** Told about every click as it is scheduled, with the performance time it is heard. */
  onClick: ((c: Click, perfMs: number) => void) | null = null;

  constructor(
    private clock: PlayerClock,
    settings: PlayerSettings,
  ) {
    this.settings = { ...settings };
  }

  /** Whether the context exists and runs (sound can play). */
  get running(): boolean {
    return this.ctx?.state === 'running';
  }

  onStateChange(l: () => void): () => void {
    this.stateListeners.add(l);
    return () => this.stateListeners.delete(l);
  }

  private notify(): void {
    for (const l of [...this.stateListeners]) l();
  }

  /**
   * Creates (or resumes) the AudioContext. Must run inside a user gesture: browsers keep audio
   * off until a tap.
   */
  async enable(): Promise<void> {
    if (!this.ctx) {
      // iOS: play through the silent switch, like a music app.
      const nav = navigator as Navigator & { audioSession?: { type: string } };
      if (nav.audioSession) {
        try {
          nav.audioSession.type = 'playback';
        } catch {
          // older WebKit
        }
      }
      const Ctor: typeof AudioContext =
        window.AudioContext ?? (window as unknown as { webkitAudioContext: typeof AudioContext }).webkitAudioContext;
      const ctx = new Ctor({ latencyHint: 'interactive' });
      this.ctx = ctx;
      this.master = ctx.createGain();
      if (typeof ctx.createStereoPanner === 'function') {
        this.pan = ctx.createStereoPanner();
        this.master.connect(this.pan);
        this.pan.connect(ctx.destination);
      } else {
        this.master.connect(ctx.destination);
      }
      ctx.onstatechange = () => {
        if (ctx.state !== 'running') this.cancelFrom(-Infinity);
        this.notify();
      };
      this.renderSounds();
      this.applyMix();
    }
    // A silent one-frame buffer, started inside the gesture, unlocks output on iOS.
    const unlock = this.ctx.createBuffer(1, 1, this.ctx.sampleRate);
    const s = this.ctx.createBufferSource();
    s.buffer = unlock;
    s.connect(this.ctx.destination);
    s.start();
    await this.ctx.resume();
    this.out.reset();
    this.cursor.reset();
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), TICK_MS);
    }
    this.notify();
  }

  /** Stops all sound and releases the context. */
  async disable(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.cancelFrom(-Infinity);
    const ctx = this.ctx;
    this.ctx = null;
    this.master = null;
    this.pan = null;
    this.buffers.clear();
    if (ctx) await ctx.close().catch(() => undefined);
    this.notify();
  }

  setSettings(s: PlayerSettings): void {
    const resynth = s.clickSound !== this.settings.clickSound;
    const regrid = s.subdivision !== this.settings.subdivision || s.latencyMs !== this.settings.latencyMs;
    const relevel = JSON.stringify(s.levels) !== JSON.stringify(this.settings.levels);
    this.settings = { ...s };
    if (resynth) this.renderSounds();
    this.applyMix();
    if (resynth || regrid || relevel) this.reschedule();
  }

  /** A new schedule from the host. */
  setTransport(tr: Transport | null): void {
    this.transport = tr;
    this.reschedule();
  }

  /** The clock estimate stepped (first sync, host restart): what was scheduled is off. */
  clockStepped(): void {
    this.reschedule();
  }

  stats(): PlayerStats {
    const ctx = this.ctx;
    const r = ctx ? this.reading(ctx) : null;
    const lat = r ? this.out.latency(r) : null;
    return {
      running: this.running,
      latencyMs: lat === null ? null : lat * 1000,
      timestamped: this.out.timestamped,
      late: this.late,
      scheduled: this.count,
      sampleRate: ctx?.sampleRate ?? 0,
    };
  }

  private renderSounds(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    for (const v of ['downbeat', 'group', 'beat', 'sub'] as Voice[]) {
      const data = synthClick(this.settings.clickSound, v, ctx.sampleRate);
      const b = ctx.createBuffer(1, data.length, ctx.sampleRate);
      b.copyToChannel(data, 0);
      this.buffers.set(v, b);
    }
  }

  private applyMix(): void {
    if (!this.ctx || !this.master) return;
    const g = this.settings.mute ? 0 : Math.max(0, Math.min(1, this.settings.volume));
    this.master.gain.setTargetAtTime(g, this.ctx.currentTime, 0.01);
    if (this.pan) this.pan.pan.value = this.settings.channel === 'left' ? -1 : this.settings.channel === 'right' ? 1 : 0;
  }

  private reading(ctx: AudioContext): OutputReading {
    const ts = typeof ctx.getOutputTimestamp === 'function' ? ctx.getOutputTimestamp() : null;
    return {
      timestamp: ts,
      currentTime: ctx.currentTime,
      perfNowMs: performance.now(),
      baseLatency: ctx.baseLatency,
      outputLatency: (ctx as AudioContext & { outputLatency?: number }).outputLatency,
    };
  }

  /** Cancels every click that starts at context time `from` or later, and rewinds the grid. */
  private cancelFrom(from: number): void {
    const keep: Scheduled[] = [];
    let firstCancelled = Infinity;
    for (const s of this.scheduled) {
      if (s.ctxTime >= from) {
        try {
          s.src.stop();
        } catch {
          // never started
        }
        s.src.disconnect();
        firstCancelled = Math.min(firstCancelled, s.host);
      } else {
        keep.push(s);
      }
    }
    this.scheduled = keep;
    const lastKept = keep.length ? keep[keep.length - 1].host : null;
    if (from === -Infinity) this.cursor.reset();
    else this.cursor.rewind(Math.min(firstCancelled, this.hostAtCtx(from) ?? firstCancelled), lastKept);
  }

  private hostAtCtx(c: number): number | null {
    const perf = this.out.perfTimeFor(c);
    if (perf === null) return null;
    const hostNow = this.clock.hostNow();
    if (hostNow === null) return null;
    return hostNow + (perf + this.settings.latencyMs - performance.now()) * 1000;
  }

  private reschedule(): void {
    if (!this.ctx) return;
    this.cancelFrom(this.ctx.currentTime + GUARD_S);
    this.tick();
  }

  private tick(): void {
    const ctx = this.ctx;
    if (!ctx || ctx.state !== 'running') return;
    const nowPerf = performance.now();
    // A throttled timer (a background tab) looks further ahead, so the click does not stutter.
    const gap = this.lastTick ? (nowPerf - this.lastTick) / 1000 : 0;
    this.lastTick = nowPerf;
    const lookahead = Math.min(1.5, Math.max(LOOKAHEAD_S, gap * 2.5));
    const r = this.reading(ctx);
    this.out.update(r);
    // Forget clicks that have finished.
    this.scheduled = this.scheduled.filter((s) => s.ctxTime > ctx.currentTime - 0.1);
    const tr = this.transport;
    const hostNow = this.clock.hostNow();
    if (!tr || hostNow === null) return;
    const renderPerf = this.out.perfTimeFor(ctx.currentTime);
    const horizonPerf = this.out.perfTimeFor(ctx.currentTime + lookahead);
    if (horizonPerf === null || renderPerf === null) return;
    // The window in host time: from what a click started now would be heard as, to what one
    // started at the horizon would. Clicks start `latencyMs` before they are meant to be heard.
    const toHost = (perf: number) => hostNow + (perf + this.settings.latencyMs - nowPerf) * 1000;
    const h0 = toHost(renderPerf);
    const h1 = toHost(horizonPerf);
    if (h1 <= h0) return;
    for (const c of this.cursor.take(tr, h0, h1, this.settings.subdivision)) {
      const perf = this.clock.hostToPerf(c.host);
      if (perf === null) continue;
      const heardPerf = perf - this.settings.latencyMs;
      const when = this.out.contextTimeFor(heardPerf);
      if (when === null) continue;
      if (when < ctx.currentTime) {
        this.late++;
        continue;
      }
      this.start(c, when);
      this.onClick?.(c, perf);
    }
  }

  private start(c: Click, when: number): void {
    const ctx = this.ctx!;
    const voice: Voice = c.subdivision ? 'sub' : c.accent;
    const buf = this.buffers.get(voice);
    if (!buf || !this.master) return;
    const level = this.settings.levels[voice];
    if (level <= 0) return;
    const src = ctx.createBufferSource();
    src.buffer = buf;
    const g = ctx.createGain();
    g.gain.value = Math.min(1, level);
    src.connect(g);
    g.connect(this.master);
    src.onended = () => g.disconnect();
    src.start(when);
    this.count++;
    this.scheduled.push({ host: c.host, ctxTime: when, src });
  }
}
