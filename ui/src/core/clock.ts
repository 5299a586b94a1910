//! The clock estimator: what time is it on the host, read from this device's clock. A faithful port
//! of `crates/core/src/clock.rs`; see that file for the reasoning behind each step.
//!
//! NTP-style four-timestamp exchanges (`ping`/`pong`) give samples of host minus local. The
//! estimator warms up with a burst of pings, keeps a sliding window of samples, fits offset and
//! skew by inverse-variance least squares with a skew prior, slews corrections at a bounded rate
//! (stepping only at first sync, after a host restart or for a huge error) and resets on a new
//! epoch.
//!
//! Sans-IO: every method takes the local time `now` in µs (the browser driver uses
//! `performance.now() * 1000`); nothing here reads a clock or sends anything.

import type { ClockStatus } from '../bindings';

/** Tuning of the estimator; the defaults are the Rust client's (`ClockConfig::default()`). */
export interface ClockConfig {
  burstCount: number;
  burstInterval: number;
  steadyInterval: number;
  window: number;
  maxSamples: number;
  keepFraction: number;
  minKeep: number;
  asymmetryWalkUs: number;
  maxSkewPpm: number;
  slewPpm: number;
  stepThreshold: number;
  pingTimeout: number;
  syncedError: number;
  holdoverPpm: number;
}

export const DEFAULT_CLOCK_CONFIG: Readonly<ClockConfig> = Object.freeze({
  burstCount: 40,
  burstInterval: 15_000,
  steadyInterval: 50_000,
  window: 60_000_000,
  maxSamples: 1200,
  keepFraction: 1.0,
  minKeep: 5,
  asymmetryWalkUs: 30,
  maxSkewPpm: 500,
  slewPpm: 1_000,
  stepThreshold: 20_000,
  pingTimeout: 2_000_000,
  syncedError: 1_000,
  holdoverPpm: 2,
});

/** One exchange: the offset it implies and how long the round trip took. */
export interface Sample {
  /** Local time halfway through the exchange. */
  at: number;
  /** Host minus local, µs. */
  offset: number;
  /** Round trip minus the host's processing time, µs. */
  rtt: number;
}

export function sampleFromExchange(t0: number, t1: number, t2: number, t3: number): Sample {
  return { at: (t0 + t3) / 2, offset: (t1 - t0 + (t2 - t3)) / 2, rtt: Math.max(0, t3 - t0 - (t2 - t1)) };
}

/** `host = local + a + b * (local - tRef)`. */
interface Xform {
  tRef: number;
  a: number;
  b: number;
}

const offsetAtX = (x: Xform, t: number) => x.a + x.b * (t - x.tRef);

interface Fit {
  x: Xform;
  sigmaA: number;
  sigmaB: number;
}

/** Three standard errors of host time read through the fit at local `t`, never under 5 µs. */
function fitErrorAt(f: Fit, t: number): number {
  const dt = t - f.x.tRef;
  return Math.max(5, 3 * Math.sqrt(f.sigmaA ** 2 + (dt * f.sigmaB) ** 2));
}

/** Smallest round trip first; among equals, the newest. */
function order(a: Sample, b: Sample): number {
  if (a.rtt !== b.rtt) return a.rtt - b.rtt;
  return b.at - a.at;
}

/** Inverse-variance weighted fit of offset and skew over the window (Rust `fit`). */
export function fitSamples(samples: readonly Sample[], cfg: ClockConfig): Fit | null {
  if (samples.length === 0) return null;
  const keep = Math.min(samples.length, Math.max(cfg.minKeep, Math.ceil(samples.length * cfg.keepFraction)));
  let kept: Sample[];
  if (keep < samples.length) {
    kept = [...samples].sort(order).slice(0, keep);
  } else {
    kept = [...samples];
  }
  // The four best, in order, at the front; the rest in any order (the sums do not care).
  const four = Math.min(4, kept.length);
  for (let i = 0; i < four; i++) {
    let best = i;
    for (let j = i + 1; j < kept.length; j++) if (order(kept[j], kept[best]) < 0) best = j;
    if (best !== i) [kept[i], kept[best]] = [kept[best], kept[i]];
  }
  const best = kept[0].rtt;
  const SIGMA0_SQ = 20 * 20;
  const gap = kept[four - 1].rtt - best;
  const n = kept.length;
  const var0 = new Float64Array(n);
  const w = new Float64Array(n);
  let sw = 0;
  let st = 0;
  let so = 0;
  for (let i = 0; i < n; i++) {
    var0[i] = SIGMA0_SQ + (kept[i].rtt - best + gap) ** 2 / 12;
    w[i] = 1 / var0[i];
    sw += w[i];
    st += kept[i].at * w[i];
    so += kept[i].offset * w[i];
  }
  const tMean = st / sw;
  const oMean = so / sw;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dt = kept[i].at - tMean;
    sxx += w[i] * dt * dt;
    sxy += w[i] * dt * (kept[i].offset - oMean);
  }
  const tau = cfg.maxSkewPpm * 0.5e-6;
  const info = sxx + 1 / (tau * tau);
  const maxB = cfg.maxSkewPpm * 1e-6;
  const b = Math.min(maxB, Math.max(-maxB, sxy / info));
  let chi2 = 0;
  for (let i = 0; i < n; i++) chi2 += w[i] * (kept[i].offset - oMean - b * (kept[i].at - tMean)) ** 2;
  const scale = n > 2 ? Math.max(1, chi2 / (n - 2)) : 1;
  const varB = scale / info;
  let tRef = -Infinity;
  for (const s of kept) if (s.at > tRef) tRef = s.at;
  const walk = cfg.asymmetryWalkUs * cfg.asymmetryWalkUs;
  let sumW = 0;
  let sumWo = 0;
  for (let i = 0; i < n; i++) {
    const s = kept[i];
    const age = tRef - s.at;
    const v = var0[i] * scale + age * age * varB + (walk * age) / 1e6;
    sumW += 1 / v;
    sumWo += (s.offset - b * (s.at - tRef)) / v;
  }
  return { x: { tRef, a: sumWo / sumW, b }, sigmaA: Math.sqrt(1 / sumW), sigmaB: Math.sqrt(varB) };
}

/** The estimator with its ping schedule (Rust `ClockSync`). */
export class ClockSync {
  readonly cfg: ClockConfig;
  private samples: Sample[] = [];
  /** Pings in flight: sequence number and local send time. */
  private outstanding: { n: number; t0: number }[] = [];
  private nextSeq = 1;
  private sent = 0;
  private nextPing: number;
  private epoch: number | null = null;
  private target: Xform | null = null;
  private fit: Fit | null = null;
  private lastSampleAt = 0;
  private residual = 0;
  private since = 0;
  private stepCount = 0;
  private locked = false;

  constructor(cfg: Partial<ClockConfig> = {}, now = 0) {
    this.cfg = { ...DEFAULT_CLOCK_CONFIG, ...cfg };
    this.nextPing = now;
  }

  /** When the next ping is due (local µs). */
  pollTimeout(): number {
    return this.nextPing;
  }

  /** The ping to send now, if one is due: its sequence number and `t0` (an integer). */
  pollPing(now: number): { n: number; t0: number } | null {
    now = Math.round(now);
    if (now < this.nextPing) return null;
    const n = this.nextSeq;
    this.nextSeq = (this.nextSeq + 1) >>> 0;
    this.sent += 1;
    this.nextPing = now + (this.sent < this.cfg.burstCount ? this.cfg.burstInterval : this.cfg.steadyInterval);
    while (this.outstanding.length > 0 && now - this.outstanding[0].t0 > this.cfg.pingTimeout) {
      this.outstanding.shift();
    }
    this.outstanding.push({ n, t0: now });
    return { n, t0: now };
  }

  /** Restarts the warm-up burst, for instance after a reconnect. */
  rewarm(now: number): void {
    this.sent = 0;
    this.nextPing = Math.round(now);
  }

  /**
   * A pong arrived at local time `now`. Unknown or timed-out pongs are ignored; a new epoch
   * (the host restarted) drops the old samples and the next fit is stepped to.
   */
  handlePong(now: number, n: number, t0: number, t1: number, t2: number, epoch: number): void {
    const idx = this.outstanding.findIndex((o) => o.n === n && o.t0 === t0);
    if (idx < 0) return;
    this.outstanding.splice(idx, 1);
    if (now - t0 > this.cfg.pingTimeout || now < t0) return;
    if (this.epoch !== epoch) {
      if (this.epoch !== null) {
        this.samples = [];
        this.locked = false;
        this.target = null;
        this.fit = null;
        this.rewarm(now);
      }
      this.epoch = epoch;
    }
    const s = sampleFromExchange(t0, t1, t2, now);
    this.samples.push(s);
    const horizon = now - this.cfg.window;
    let drop = 0;
    while (
      drop < this.samples.length &&
      (this.samples.length - drop > this.cfg.maxSamples || this.samples[drop].at < horizon)
    ) {
      drop++;
    }
    if (drop > 0) this.samples.splice(0, drop);
    this.lastSampleAt = s.at;
    this.refit(now);
  }

  private refit(now: number): void {
    const f = fitSamples(this.samples, this.cfg);
    if (!f) return;
    const fit = f.x;
    if (!this.locked) {
      // Until the first sync nothing plays on this estimate: follow the fit directly.
      this.target = fit;
      this.residual = 0;
      this.since = now;
      this.fit = f;
      const warmed = this.samples.length >= Math.floor(this.cfg.burstCount / 2);
      if (warmed && this.errorBound(Math.trunc(now)) <= this.cfg.syncedError) this.locked = true;
    } else if (this.target === null) {
      this.target = fit;
      this.residual = 0;
      this.since = now;
    } else {
      // Keep the applied map continuous: the old applied value becomes the residual over the
      // new target, and slews away from there.
      const applied = offsetAtX(this.target, now) + this.residualAt(now);
      const r = applied - offsetAtX(fit, now);
      if (Math.abs(r) > this.cfg.stepThreshold) {
        this.stepCount += 1;
        this.residual = 0;
      } else {
        this.residual = r;
      }
      this.since = now;
      this.target = fit;
    }
    this.fit = f;
  }

  private residualAt(t: number): number {
    if (this.residual === 0) return 0;
    const decay = Math.max(0, t - this.since) * this.cfg.slewPpm * 1e-6;
    return decay >= Math.abs(this.residual) ? 0 : this.residual - decay * Math.sign(this.residual);
  }

  /** Host minus local at local time `t`, as applied (slewed), or `null` before the first sample. */
  offsetAt(t: number): number | null {
    if (!this.target) return null;
    return offsetAtX(this.target, t) + this.residualAt(t);
  }

  /** Host time at local time `local` (fractional µs), or `null` before the first sample. */
  toHost(local: number): number | null {
    const o = this.offsetAt(local);
    return o === null ? null : local + o;
  }

  /** Local time at host time `host` (fractional µs), or `null` before the first sample. */
  toLocal(host: number): number | null {
    const o0 = this.offsetAt(host);
    if (o0 === null) return null;
    let guess = host - o0;
    for (let i = 0; i < 3; i++) guess = host - (this.offsetAt(guess) ?? o0);
    return guess;
  }

  /** The estimated error bound at local `now`: the fit's, a correction being slewed, and drift. */
  errorBound(now: number): number {
    if (!this.target) return Infinity;
    const holdover = Math.max(0, now - this.lastSampleAt) * this.cfg.holdoverPpm * 1e-6;
    const fit = this.fit ? fitErrorAt(this.fit, now) : Infinity;
    return fit + Math.abs(this.residualAt(now)) + holdover;
  }

  /** Everything the estimator knows at local `now` (the shape the Tauri app sends). */
  status(now: number): ClockStatus {
    const err = this.errorBound(now);
    let rtt = Infinity;
    for (const s of this.samples) if (s.rtt < rtt) rtt = s.rtt;
    const off = this.offsetAt(now);
    return {
      offset_us: off === null ? 0 : Math.round(off),
      skew_ppm: this.target ? this.target.b * 1e6 : 0,
      rtt_us: Math.trunc(Math.min(rtt, 1e12)),
      error_us: Number.isFinite(err) ? Math.round(err) : Number.MAX_SAFE_INTEGER,
      synced: this.locked && err <= this.cfg.syncedError,
      samples: this.samples.length,
      host_now_us: off === null ? null : Math.round(now + off),
    };
  }

  /** Whether the first sync happened (from then on corrections only slew). */
  hasSynced(): boolean {
    return this.locked;
  }

  /** Whether a host-time estimate exists. */
  hasEstimate(): boolean {
    return this.target !== null;
  }

  /** Corrections stepped rather than slewed (the first sync not counted). */
  steps(): number {
    return this.stepCount;
  }

  /** The host epoch the samples belong to. */
  currentEpoch(): number | null {
    return this.epoch;
  }
}

/**
 * When to send `sync_report` (Rust client): on the first status tick after the welcome, on the
 * first tick after `synced` flips, and otherwise every 5th tick (about every 5 s).
 */
export class SyncReporter {
  private reported: boolean | null = null;
  private ticks = 0;

  /** Called once a second with the status; returns the report to send, if one is due. */
  tick(
    status: ClockStatus,
    joined: boolean,
  ): { type: 'sync_report'; rtt_us: number; error_us: number; synced: boolean } | null {
    if (status.error_us >= Number.MAX_SAFE_INTEGER) return null;
    this.ticks += 1;
    if (!joined || (this.reported === status.synced && this.ticks % 5 !== 0)) return null;
    this.reported = status.synced;
    const clamp = (v: number) => Math.max(0, Math.min(60_000_000, Math.round(v)));
    return { type: 'sync_report', rtt_us: clamp(status.rtt_us), error_us: clamp(status.error_us), synced: status.synced };
  }

  /** A new connection: the next tick after the welcome reports at once. */
  reset(): void {
    this.reported = null;
    this.ticks = 0;
  }
}
