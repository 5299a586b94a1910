import { describe, expect, it } from 'vitest';
import type { ClockStatus } from '../bindings';
import { ClockSync, SyncReporter } from './clock';

/** Runs one exchange with fixed one-way delays against a host clock `host(local)`. */
function exchange(c: ClockSync, now: number, up: number, down: number, host: (l: number) => number): number {
  const p = c.pollPing(now);
  if (!p) throw new Error('a ping is due');
  const t1 = Math.round(host(p.t0 + up));
  const t3 = p.t0 + up + down;
  c.handlePong(t3, p.n, p.t0, t1, t1, 9);
  return t3;
}

/** A seeded PRNG, so every run sees the same network. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('clock estimator (ported Rust tests)', () => {
  it('symmetric delays give the exact offset', () => {
    const c = new ClockSync({}, 0);
    exchange(c, 0, 2_000, 2_000, (l) => l + 5_000_000);
    expect(Math.round(c.toHost(10_000)!)).toBe(5_010_000);
    expect(Math.round(c.toLocal(5_010_000)!)).toBe(10_000);
    expect(c.status(4_000).rtt_us).toBe(4_000);
  });

  it('learns skew and follows it between samples', () => {
    const c = new ClockSync({}, 0);
    const host = (l: number) => l + 1_000 + Math.trunc(l / 10_000); // 100 ppm fast
    let now = 0;
    while (now < 30_000_000) {
      now = Math.max(c.pollTimeout(), now);
      exchange(c, now, 300, 300, host);
      now += 1;
    }
    const s = c.status(now);
    expect(Math.abs(s.skew_ppm - 100)).toBeLessThan(1);
    const t = 40_000_000;
    expect(Math.abs(c.toHost(t)! - host(t))).toBeLessThan(20);
  });

  it('slews corrections instead of jumping', () => {
    const c = new ClockSync({}, 0);
    let now = 0;
    for (let i = 0; i < 30; i++) {
      now = Math.max(c.pollTimeout(), now);
      exchange(c, now, 1_000, 1_000, (l) => l);
    }
    const before = c.toHost(now)!;
    for (let i = 0; i < 1200; i++) {
      now = Math.max(c.pollTimeout(), now);
      const arrival = now + 2_000;
      const prev = c.toHost(arrival)!;
      exchange(c, now, 1_600, 400, (l) => l);
      expect(Math.abs(c.toHost(arrival)! - prev)).toBeLessThan(1);
    }
    const t = now + 1_000_000;
    expect(Math.abs(c.toHost(t)! - (t + 600))).toBeLessThan(50);
    expect(c.toHost(now)!).toBeGreaterThan(before);
    expect(c.steps()).toBe(0);
  });

  it('resets and steps on a new epoch', () => {
    const c = new ClockSync({}, 0);
    let now = 0;
    for (let i = 0; i < 10; i++) {
      now = Math.max(c.pollTimeout(), now);
      exchange(c, now, 500, 500, (l) => l + 1_000_000);
    }
    now = Math.max(c.pollTimeout(), now);
    const p = c.pollPing(now)!;
    c.handlePong(p.t0 + 1_000, p.n, p.t0, 77, 77, 10);
    expect(Math.round(c.toHost(p.t0 + 500)!)).toBe(77);
    expect(c.currentEpoch()).toBe(10);
  });

  it('ignores unknown and late pongs', () => {
    const c = new ClockSync({}, 0);
    c.handlePong(10, 42, 0, 5, 5, 1);
    expect(c.hasEstimate()).toBe(false);
    const p = c.pollPing(0)!;
    c.handlePong(3_000_000, p.n, p.t0, 5, 5, 1);
    expect(c.hasEstimate()).toBe(false);
  });
});

describe('clock estimator on a jittery network', () => {
  /**
   * A phone on Wi-Fi: a 3 ms path each way, plus queueing that is usually small but has a long
   * tail (exponential, mean 2 ms, and 5% of packets wait up to 40 ms more), a host clock 12.345 s
   * ahead and 80 ppm fast, and 2% of packets lost.
   */
  function simulate(seconds: number, seed: number) {
    const r = rng(seed);
    const offset = 12_345_678;
    const skew = 80e-6;
    const host = (l: number) => l + offset + l * skew;
    const delay = () => 3_000 + -Math.log(1 - r()) * 2_000 + (r() < 0.05 ? r() * 40_000 : 0);
    const c = new ClockSync({}, 1_000_000);
    let now = 1_000_000;
    const end = 1_000_000 + seconds * 1_000_000;
    let worstAfterSync = 0;
    let firstSynced: number | null = null;
    let prev: { t: number; applied: number } | null = null;
    let fastestPpm = 0;
    while (now < end) {
      now = Math.max(c.pollTimeout(), now);
      const p = c.pollPing(now)!;
      const up = delay();
      const down = delay();
      const t1 = Math.round(host(p.t0 + up));
      const t2 = t1 + 30; // the host's own processing
      const t3 = p.t0 + up + 30 + down;
      if (r() >= 0.02) c.handlePong(t3, p.n, p.t0, t1, t2, 4242);
      const s = c.status(t3);
      if (s.synced && firstSynced === null) firstSynced = t3;
      if (firstSynced !== null) {
        worstAfterSync = Math.max(worstAfterSync, Math.abs(c.toHost(t3)! - host(t3)));
        // How fast the applied offset moves: never faster than the slew rate plus the skew.
        const applied = c.offsetAt(t3)!;
        if (prev !== null && t3 > prev.t) {
          fastestPpm = Math.max(fastestPpm, (Math.abs(applied - prev.applied) / (t3 - prev.t)) * 1e6);
        }
        prev = { t: t3, applied };
      }
      now += 1;
    }
    return { c, host, end, worstAfterSync, firstSynced, fastestPpm, status: c.status(end) };
  }

  it('converges to the simulated offset and skew within bounds', () => {
    for (const seed of [1, 2, 3]) {
      const { c, host, end, worstAfterSync, firstSynced, status } = simulate(60, seed);
      expect(firstSynced, `seed ${seed} synced`).not.toBeNull();
      // Synced within the warm-up and a few seconds.
      expect(firstSynced! - 1_000_000).toBeLessThan(5_000_000);
      // Once synced, host time read through the estimate stays within half a millisecond.
      expect(worstAfterSync, `seed ${seed}`).toBeLessThan(500);
      expect(Math.abs(status.skew_ppm - 80)).toBeLessThan(5);
      expect(status.error_us).toBeGreaterThan(0);
      expect(status.rtt_us).toBeGreaterThanOrEqual(6_000);
      // The reported error bound holds: the real error is within it.
      expect(Math.abs(c.toHost(end)! - host(end))).toBeLessThanOrEqual(Math.max(status.error_us, 5) * 2);
      // Holdover: 10 s without samples, the estimate still follows the skew.
      const later = end + 10_000_000;
      expect(Math.abs(c.toHost(later)! - host(later))).toBeLessThan(1_000);
    }
  });

  it('never moves the applied offset faster than the slew rate once synced', () => {
    for (const seed of [11, 12]) {
      const { fastestPpm, c } = simulate(40, seed);
      // Slewing moves the offset at most 1000 ppm; the fitted skew adds at most 500 ppm.
      expect(fastestPpm, `seed ${seed}`).toBeLessThan(1_500);
      expect(c.steps()).toBe(0);
    }
  });
});

describe('sync reports', () => {
  const st = (synced: boolean): ClockStatus =>
    ({ offset_us: 0, skew_ppm: 0, rtt_us: 4_000, error_us: synced ? 400 : 90_000_000, synced, samples: 30 }) as ClockStatus;

  it('reports after the welcome, when synced flips, and every 5th tick', () => {
    const r = new SyncReporter();
    expect(r.tick(st(false), false)).toBeNull(); // tick 1, not joined yet
    const first = r.tick(st(false), true); // tick 2: first after the welcome
    expect(first).toEqual({ type: 'sync_report', rtt_us: 4_000, error_us: 60_000_000, synced: false });
    expect(r.tick(st(false), true)).toBeNull(); // 3
    expect(r.tick(st(true), true)?.synced).toBe(true); // 4: flipped
    expect(r.tick(st(true), true)).not.toBeNull(); // 5: every 5th
    for (let i = 6; i <= 9; i++) expect(r.tick(st(true), true)).toBeNull();
    expect(r.tick(st(true), true)).not.toBeNull(); // 10
  });

  it('clamps values into the range the server accepts', () => {
    const r = new SyncReporter();
    const m = r.tick({ ...st(true), rtt_us: -5, error_us: 70_000_000 } as ClockStatus, true)!;
    expect([m.rtt_us, m.error_us]).toEqual([0, 60_000_000]);
  });
});
