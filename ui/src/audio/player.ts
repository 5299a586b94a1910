//! The phone page's click: Web Audio with the Rust click engine in an AudioWorklet
//! (`click-worklet.ts`). The engine renders the clicks of the shared timeline at the exact frame;
//! this main-thread side only measures where the context's frames are heard and tells it:
//!
//! - every reading pairs a context frame with the local time it is heard: from
//!   `getOutputTimestamp()` where the browser's is sound, else from `currentTime` plus the latency
//!   the browser reports. The core judges each timestamp (`crates/audio/src/stamps.rs`):
//!   WebKitGTK's run in the future and are dropped; one bad reading under load is skipped, and
//!   dropped timestamps are taken up again once they are sound;
//! - the core's device-clock filter fits a line through them (as for cpal natively), following a
//!   step in the playout (an output glitch) at once and dropping passing glitches; the member's
//!   clock estimate turns it into host time: the engine's frame map;
//! - the player's latency calibration (`latencyMs`) goes to the engine, which adds it to the map
//!   (a move of it is the player's: not counted late), for output latency the browser does not
//!   report (Bluetooth, or GStreamer's in WebKitGTK);
//! - when the context is suspended (a locked phone) the map is withdrawn, and on return a fresh
//!   one is fitted before anything sounds: no burst of stale clicks, back on the right beat.

import type { ClickSound, EngineCommand, EngineStats, HostAxis, LatencySource, OutputReport, Transport } from '../bindings';
import { clicksBetween, DeviceFilter, StampJudge } from '../wasm/api';
import { coreBytes } from '../wasm/core';
import workletUrl from './click-worklet.ts?worker&url';

export interface PlayerSettings {
  volume: number;
  mute: boolean;
  levels: { downbeat: number; group: number; beat: number; sub: number };
  subdivision: number;
  latencyMs: number;
  /** Where `latencyMs` comes from: typed in or tapped along (`calibrated`), or measured by a
   *  microphone loopback (`measured`: the native app's). */
  latencySource?: 'calibrated' | 'measured';
  clickSound: ClickSound;
  channel: 'left' | 'right' | 'both';
}

/** What the player needs from the member's clock (`net/browser.ts`). */
export interface PlayerClock {
  /** Host µs at `performance.now()` time `perfMs`, once there is an estimate. */
  perfToHost(perfMs: number): number | null;
  /** Host µs now. */
  hostNow(): number | null;
  /** The host clock the schedule and the estimate are on (`null` before a welcome). Host times
   *  are read on it: the engine moves what it remembers when it changes. */
  axis(): HostAxis | null;
}

export interface PlayerStats {
  running: boolean;
  /** Output latency the click is compensated for, ms (the browser's figure plus calibration). */
  latencyMs: number | null;
  /** Where the latency figure comes from. */
  source: LatencySource;
  /** Whether the browser's output timestamps are used (else its reported latency). */
  timestamped: boolean;
  /** Clicks played, played late, and missed (the context was suspended) since enabled. */
  clicks: number;
  late: number;
  missed: number;
  sampleRate: number;
  /** Times the output timestamps were dropped, playout steps followed, glitch readings dropped. */
  drops: number;
  steps: number;
  outliers: number;
}

/** How often the output is read: many readings average the callbacks' jitter away. */
const READ_MS = 50;
/** Readings before the first map: a second of them. */
const FIRST_MAP_POINTS = 20;
/** Readings between two maps sent to the engine (it needs one only as the clocks drift). */
const READS_PER_MAP = 5;
/** Before any welcome: one clock, unnamed. */
const NO_AXIS: HostAxis = { epoch: 0, continues: null };

export class ClickPlayer {
  private ctx: AudioContext | null = null;
  private node: AudioWorkletNode | null = null;
  private filter: DeviceFilter | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private settings: PlayerSettings;
  private transport: Transport | null = null;
  /** The host clock the schedule's times are on. */
  private scheduleAxis: HostAxis = NO_AXIS;
  private stateListeners = new Set<() => void>();
  /** Judges this context's output timestamps. */
  private judge: StampJudge | null = null;
  private timestamped = false;
  private health = { drops: 0, steps: 0, outliers: 0 };
  private reportedLatency: number | null = null;
  private engine: Pick<EngineStats, 'clicks' | 'late'> = { clicks: 0, late: 0 };
  private missed = 0;
  /** Host time the context stopped running at, while it is not running. */
  private suspendedAt: number | null = null;
  private mapped = false;
  private reads = 0;
  /** A calibration's probe plays instead of the session's schedule. What it played meanwhile,
   *  flat: each click's host µs and the context frame it started on; the output's readings, each
   *  a context frame and the local µs it is heard (`performance.now()`'s, in µs). */
  private probing = false;
  private probeClicks: number[] = [];
  /** The context frame of the newest click seen (frames only grow in a context, where a host's
   *  clock starts again when it restarts): none is kept twice, nor again once a switch of source
   *  dropped it. */
  private probeSeen = 0;
  private probeReadings: number[] = [];
  /** Told when the page comes back after the context was suspended: how long, clicks missed. */
  onResync: ((awayMs: number, missed: number) => void) | null = null;

  constructor(
    readonly clock: PlayerClock,
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
   * Creates (or resumes) the AudioContext and the engine. Must run inside a user gesture:
   * browsers keep audio off until a tap.
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
      // Every click is scheduled ahead on the shared timeline, so a larger output buffer costs
      // nothing heard and steadies the output (Chromium: interval jitter p99 0.06 ms against up to
      // 0.48 ms at 'interactive', docs/BENCHMARKS.md); its `baseLatency` is reported apart, so it
      // is not flagged as uncalibrated, and the host's lead time covers it.
      const ctx = new Ctor({ latencyHint: 'playback' });
      this.ctx = ctx;
      // A silent one-frame buffer, started inside the gesture, unlocks output on iOS.
      const unlock = ctx.createBufferSource();
      unlock.buffer = ctx.createBuffer(1, 1, ctx.sampleRate);
      unlock.connect(ctx.destination);
      unlock.start();
      await ctx.audioWorklet.addModule(workletUrl);
      const node = new AudioWorkletNode(ctx, 'bandsync-clicks', {
        numberOfInputs: 0,
        outputChannelCount: [2],
        processorOptions: { wasm: coreBytes().slice(0), sound: this.settings.clickSound },
      });
      node.port.onmessage = (e: MessageEvent) => {
        const d = e.data as { stats?: EngineStats; error?: string };
        if (d.stats) this.engine = d.stats;
        // The engine's last clicks, each kept once: a main thread stalled for a beat or more loses
        // none of the probe's (the calibration matches them to its plan by time).
        const r = d.stats?.recent ?? [];
        for (let i = 0; this.probing && i < r.length; i += 2) {
          if (r[i + 1] > this.probeSeen) this.probeClicks.push(r[i], (this.probeSeen = r[i + 1]));
        }
        if (d.error) console.warn('click engine:', d.error);
      };
      node.connect(ctx.destination);
      this.node = node;
      this.probeSeen = 0;
      this.filter = new DeviceFilter(4096);
      this.judge = new StampJudge();
      ctx.onstatechange = () => this.stateChanged();
      this.applySettings();
      if (this.transport && !this.probing) this.command({ kind: 'schedule', transport: this.transport, axis: this.scheduleAxis });
    }
    await this.ctx.resume();
    if (!this.timer) this.timer = setInterval(() => this.tick(), READ_MS);
    this.tick();
    this.notify();
  }

  /** Stops all sound and releases the context. */
  async disable(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const ctx = this.ctx;
    this.ctx = null;
    this.node?.disconnect();
    this.node = null;
    this.filter?.free();
    this.filter = null;
    this.judge?.free();
    this.judge = null;
    this.mapped = false;
    if (ctx) await ctx.close().catch(() => undefined);
    this.notify();
  }

  setSettings(s: PlayerSettings): void {
    this.settings = { ...s };
    this.applySettings();
  }

  /** A new schedule from the host. */
  setTransport(tr: Transport | null): void {
    this.transport = tr;
    this.scheduleAxis = this.clock.axis() ?? NO_AXIS;
    if (tr && !this.probing) this.command({ kind: 'schedule', transport: tr, axis: this.scheduleAxis });
  }

  /** The clock estimate stepped (first sync, host restart): the filter's host times are off;
   *  refit from fresh readings. */
  clockStepped(): void {
    this.filter?.reset();
    this.tick();
  }

  private command(c: EngineCommand): void {
    this.node?.port.postMessage(c);
  }

  private applySettings(): void {
    const s = this.settings;
    const v = Math.max(0, Math.min(1, s.volume));
    this.command({
      kind: 'settings',
      levels: { downbeat: this.probing ? 1 : s.levels.downbeat, group: s.levels.group, beat: s.levels.beat, subdivision: s.levels.sub, master: v, mute: s.mute },
      ear: s.channel,
      n: this.probing ? 1 : Math.max(1, Math.min(8, Math.round(s.subdivision))),
      offset_us: s.latencyMs * 1000,
      sound: s.clickSound,
    });
  }

  private stateChanged(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    if (ctx.state !== 'running') {
      // Its frames no longer say when they will be heard: silence until a fresh map.
      if (this.suspendedAt === null) this.suspendedAt = this.clock.hostNow();
      this.command({ kind: 'unmap' });
      this.mapped = false;
      this.filter?.reset();
      this.judge?.restart();
    } else if (this.suspendedAt !== null) {
      const from = this.suspendedAt;
      this.suspendedAt = null;
      const now = this.clock.hostNow();
      if (now !== null && this.transport) {
        const missed = clicksBetween(this.transport, from, now, this.settings.subdivision).length;
        this.missed += missed;
        this.onResync?.((now - from) / 1000, missed);
      }
      this.tick();
    }
    this.notify();
  }

  /** One reading of where the context's frames are heard, into the filter; a fresh map out. */
  private tick(): void {
    const ctx = this.ctx;
    const f = this.filter;
    if (!ctx || !f || ctx.state !== 'running') return;
    this.node?.port.postMessage('stats');
    const rate = ctx.sampleRate;
    const perfNow = performance.now();
    const reported = (ctx.baseLatency ?? 0) + outputLatency(ctx);
    const stamps = typeof ctx.getOutputTimestamp === 'function';
    const ts = stamps ? ctx.getOutputTimestamp() : null;
    const judged = this.judge?.judge(
      ts && typeof ts.contextTime === 'number' && typeof ts.performanceTime === 'number'
        ? { context_s: ts.contextTime, heard_ms: ts.performanceTime, now_ms: perfNow }
        : stamps
          ? { context_s: 0, heard_ms: 0, now_ms: perfNow }
          : null,
    );
    if (judged) this.health.drops = judged.drops;
    if (!judged || judged.verdict === 'skip') return;
    // The filter's points are of the other source: the line holds, then slews to the new one's.
    // A probe's clicks so far were placed by the other source's figures: they are not timed by
    // the new one's.
    if (judged.switched) {
      f.switchSource();
      if (this.probing) [this.probeClicks, this.probeReadings] = [[], []];
    }
    let frame: number;
    let heardPerf: number;
    if (judged.verdict === 'use' && ts) {
      frame = (ts.contextTime as number) * rate;
      heardPerf = ts.performanceTime as number;
      this.timestamped = true;
      // The frame rendered now (`currentTime`) is heard that much after `contextTime`'s.
      this.reportedLatency = ctx.currentTime - (ts.contextTime as number) + (heardPerf - perfNow) / 1000;
    } else {
      frame = ctx.currentTime * rate;
      heardPerf = perfNow + reported * 1000;
      this.timestamped = false;
      this.reportedLatency = reported;
    }
    if (frame <= 0) return;
    if (this.probing) this.probeReadings.push(frame, heardPerf * 1000);
    // In host µs rather than local ones: the member's estimate maps them, and the fit is of the
    // device's frames against the shared clock, as the cpal layer fits it.
    const host = this.clock.perfToHost(heardPerf);
    if (host === null) return;
    f.push(frame, host);
    // A map once the readings span a second (a line through fewer follows their noise), then
    // every few readings.
    this.reads += 1;
    if (this.mapped && this.reads % READS_PER_MAP !== 0) return;
    const fit = f.fit(1e6 / rate);
    if (!fit || (!this.mapped && fit.points < FIRST_MAP_POINTS)) return;
    this.health.steps = fit.steps;
    this.health.outliers = fit.outliers;
    this.command({
      kind: 'map',
      map: {
        frame_ref: Math.max(0, Math.round(fit.frame)),
        host_at_ref: fit.local + (Math.round(fit.frame) - fit.frame) * fit.us_per_frame,
        us_per_frame: fit.us_per_frame,
        epoch: (this.clock.axis() ?? NO_AXIS).epoch,
      },
    });
    this.mapped = true;
  }

  /** Plays the latency calibration's probe from host µs `startUs` on, in place of the
   *  session's schedule, one full downbeat a beat, or the session's again (`null`). */
  probe(startUs: number | null): void {
    this.probing = startUs !== null;
    this.probeClicks = [];
    this.probeReadings = [];
    this.applySettings();
    if (startUs !== null) this.command({ kind: 'probe', start_us: startUs, axis: this.clock.axis() ?? NO_AXIS });
    else if (this.transport) this.command({ kind: 'schedule', transport: this.transport, axis: this.scheduleAxis });
  }

  /** What the probe `probe` started has played (flat, as kept), and the output's rate. */
  probed(): { clicks: readonly number[]; readings: readonly number[]; rate: number } {
    return { clicks: this.probeClicks, readings: this.probeReadings, rate: this.ctx?.sampleRate ?? 0 };
  }

  /** What the player has done, for the UI and the sync report the band sees. */
  stats(): PlayerStats {
    const ctx = this.ctx;
    const cal = this.settings.latencyMs;
    const base = this.reportedLatency === null ? null : this.reportedLatency * 1000;
    return {
      running: this.running,
      latencyMs: base === null ? null : base + cal,
      // The core's `LatencySource::of`, in one line (a call into the wasm would cost the page's
      // budget 467 B): a measured 0 is measured; a typed or tapped 0 is no calibration.
      source: cal !== 0 || this.settings.latencySource === 'measured' ? (this.settings.latencySource ?? 'calibrated') : 'reported',
      timestamped: this.timestamped,
      clicks: this.engine.clicks,
      late: this.engine.late,
      missed: this.missed,
      sampleRate: ctx?.sampleRate ?? 0,
      ...this.health,
    };
  }

  /** The figures the band sees for this output, or `null` while it does not play (the core's member bounds them). */
  report(engineName: string): OutputReport | null {
    const s = this.stats();
    if (!s.running || s.latencyMs === null || !this.mapped) return null;
    return {
      latency_us: Math.round(s.latencyMs * 1000),
      // The context's own buffering (`baseLatency`), known exactly: the leader is warned only of
      // what the device adds past it.
      buffer_us: Math.round((this.ctx?.baseLatency ?? 0) * 1e6),
      source: s.source,
      clicks: s.clicks,
      missed: s.missed,
      late: s.late,
      engine: engineName,
      // The platform said nothing of the output past its buffer (WebKitGTK: `outputLatency` 0):
      // the device's part is unknown, and the leader is told to have it calibrated.
      ...(outputLatency(this.ctx) > 0 ? {} : { unreported: true }),
    };
  }

}

/** The context's `outputLatency` in seconds: 0 where the browser has none. */
function outputLatency(ctx: AudioContext | null): number {
  return (ctx as (AudioContext & { outputLatency?: number }) | null)?.outputLatency ?? 0;
}
