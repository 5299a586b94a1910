import { describe, expect, it } from 'vitest';
import { OutputClock } from './outclock';
import { CLICK_SOUNDS, synthClick } from './sounds';

describe('output clock', () => {
  it('maps performance time to context time through getOutputTimestamp, latency included', () => {
    const o = new OutputClock();
    // The device plays context time 10.000 s at performance time 20 000 ms; currentTime is
    // 40 ms ahead of what is heard (the output latency).
    o.update({ timestamp: { contextTime: 10, performanceTime: 20_000 }, currentTime: 10.04, perfNowMs: 20_001 });
    expect(o.timestamped).toBe(true);
    expect(o.contextTimeFor(20_500)).toBeCloseTo(10.5, 9);
    expect(o.perfTimeFor(10.5)).toBeCloseTo(20_500, 6);
  });

  it('ignores a jittery reading, following the median', () => {
    const o = new OutputClock();
    for (let i = 0; i < 20; i++) {
      const jitter = i % 5 === 0 ? 0.011 : 0; // a late callback now and then
      o.update({ timestamp: { contextTime: i * 0.025, performanceTime: 5_000 + i * 25 + jitter * 1000 }, currentTime: i * 0.025 + 0.02, perfNowMs: 5_000 + i * 25 });
    }
    expect(o.contextTimeFor(6_000)).toBeCloseTo(1.0, 6);
  });

  it('follows drift between the sound card and the system clock', () => {
    const o = new OutputClock();
    // The sound card runs 100 ppm slow: d grows by 100 µs per second.
    for (let i = 0; i < 400; i++) {
      const perf = 1_000 + i * 25;
      const ctxT = ((perf - 1_000) / 1000) * (1 - 100e-6);
      o.update({ timestamp: { contextTime: ctxT + 1, performanceTime: perf }, currentTime: ctxT + 1.01, perfNowMs: perf });
    }
    const perf = 1_000 + 399 * 25;
    const want = ((perf - 1_000) / 1000) * (1 - 100e-6) + 1;
    // Within a quarter millisecond after 10 s of drift (the median lags half a window).
    expect(Math.abs(o.contextTimeFor(perf)! - want)).toBeLessThan(0.00025);
  });

  it('falls back to the reported latencies without timestamps', () => {
    const o = new OutputClock();
    o.update({ timestamp: { contextTime: 0, performanceTime: 0 }, currentTime: 2, perfNowMs: 10_000, baseLatency: 0.005, outputLatency: 0.02 });
    expect(o.timestamped).toBe(false);
    // A sound started at context 2.1 is heard 100 ms later plus 25 ms of latency.
    expect(o.perfTimeFor(2.1)).toBeCloseTo(10_125, 6);
  });
});

describe('click sounds', () => {
  it('start at full amplitude on the first frame and stay in range', () => {
    for (const { id } of CLICK_SOUNDS) {
      for (const v of ['downbeat', 'group', 'beat', 'sub'] as const) {
        const s = synthClick(id, v, 48_000);
        expect(Math.abs(s[0]), `${id}/${v}`).toBeGreaterThan(0.5);
        expect(s.length).toBeGreaterThan(48 * 10);
        expect(Math.max(...Array.from(s, Math.abs))).toBeLessThanOrEqual(1.0000001);
        // It ends quietly (no click at the end of the buffer).
        expect(Math.abs(s[s.length - 1])).toBeLessThan(0.2);
      }
    }
  });

  it('tells the downbeat from the beat by pitch', () => {
    const zeroCrossings = (s: Float32Array) => s.reduce((n, x, i) => (i > 0 && Math.sign(x) !== Math.sign(s[i - 1]) ? n + 1 : n), 0);
    const down = synthClick('classic', 'downbeat', 48_000).subarray(0, 480);
    const beat = synthClick('classic', 'beat', 48_000).subarray(0, 480);
    expect(zeroCrossings(down)).toBeGreaterThan(zeroCrossings(beat) * 1.5);
  });
});
