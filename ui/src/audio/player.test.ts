import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Transport } from '../bindings';
import { ClickPlayer, type PlayerSettings } from './player';

/**
 * A fake AudioContext whose clock runs with `performance.now()` (faked by vitest): context time
 * `t` is heard at performance time `t * 1000 + OFFSET_MS`, and `currentTime` (what is being
 * rendered) runs `OUT_LATENCY` ahead of what is heard.
 */
const OFFSET_MS = 5_000; // the context was created 5 s after the page
const OUT_LATENCY = 0.04;

interface Started {
  when: number;
  stopped: boolean;
  gain: number;
}

class FakeCtx {
  static last: FakeCtx;
  state = 'running';
  sampleRate = 48_000;
  baseLatency = 0.005;
  outputLatency = OUT_LATENCY - 0.005;
  destination = {};
  started: Started[] = [];
  onstatechange: (() => void) | null = null;
  constructor() {
    FakeCtx.last = this;
  }
  get currentTime() {
    // The context renders ahead of what is heard by the output latency.
    return (performance.now() - OFFSET_MS) / 1000 + OUT_LATENCY;
  }
  getOutputTimestamp() {
    const perf = performance.now();
    return { contextTime: (perf - OFFSET_MS) / 1000, performanceTime: perf };
  }
  createGain() {
    return { gain: { value: 1, setTargetAtTime() {} }, connect() {}, disconnect() {} };
  }
  createStereoPanner() {
    return { pan: { value: 0 }, connect() {} };
  }
  createBuffer(_c: number, n: number) {
    return { length: n, copyToChannel() {} };
  }
  createBufferSource() {
    const ctx = this;
    let gainNode: { gain: { value: number } } | null = null;
    const rec: Started = { when: -1, stopped: false, gain: 1 };
    return {
      buffer: null,
      onended: null,
      connect(g: { gain: { value: number } }) {
        gainNode = g;
      },
      disconnect() {},
      start(when: number) {
        // The silent unlock buffer goes straight to the destination; clicks go through a gain.
        if (!gainNode?.gain) return;
        rec.when = when;
        rec.gain = gainNode.gain.value;
        ctx.started.push(rec);
      },
      stop() {
        rec.stopped = true;
      },
    };
  }
  async resume() {}
  async close() {}
}

const settings: PlayerSettings = {
  volume: 1,
  mute: false,
  levels: { downbeat: 1, group: 0.8, beat: 0.6, sub: 0.3 },
  subdivision: 1,
  latencyMs: 0,
  clickSound: 'classic',
  channel: 'both',
};

/** Host time runs 1 000 s ahead of performance time (µs vs ms). */
const HOST_AHEAD_US = 1_000_000_000;
const clock = {
  hostNow: () => performance.now() * 1000 + HOST_AHEAD_US,
  hostToPerf: (h: number) => (h - HOST_AHEAD_US) / 1000,
};

function playingFrom(hostStart: number, tempo = 120_000): Transport {
  return {
    segments: [
      { at: 0, playing: false, timeline: { tempo, beat_origin: 0, time_origin: 0 }, meter: { beats: 4, unit: 4, groups: [4] }, bar_origin: 0, song_start: 0 },
      { at: hostStart, playing: true, timeline: { tempo, beat_origin: 0, time_origin: hostStart }, meter: { beats: 4, unit: 4, groups: [4] }, bar_origin: 0, song_start: 0 },
    ],
  };
}

/** When each live (not stopped) click is heard, in host µs. */
function heardHost(ctx: FakeCtx): number[] {
  return ctx.started.filter((s) => !s.stopped).map((s) => Math.round((s.when * 1000 + OFFSET_MS) * 1000 + HOST_AHEAD_US));
}

describe('click player', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    vi.advanceTimersByTime(OFFSET_MS + 1_000);
    vi.stubGlobal('window', { AudioContext: FakeCtx });
    vi.stubGlobal('navigator', {});
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('schedules each click so that it is heard at its host time, latency included', async () => {
    const p = new ClickPlayer(clock, settings);
    await p.enable();
    const start = clock.hostNow() + 500_000;
    p.setTransport(playingFrom(start));
    vi.advanceTimersByTime(3_000);
    const heard = heardHost(FakeCtx.last);
    expect(heard.slice(0, 5).map((h) => h - start)).toEqual([0, 500_000, 1_000_000, 1_500_000, 2_000_000].map((x) => x));
    // Accents: the downbeat loudest.
    expect(FakeCtx.last.started[0].gain).toBe(1);
    expect(FakeCtx.last.started[1].gain).toBe(0.6);
    expect(p.stats().late).toBe(0);
    // Scheduled ahead, never more than the lookahead past the render position.
    for (const s of FakeCtx.last.started) expect(s.when).toBeGreaterThan(0);
  });

  it('starts clicks earlier by the latency offset', async () => {
    const p = new ClickPlayer(clock, { ...settings, latencyMs: 30 });
    await p.enable();
    const start = clock.hostNow() + 500_000;
    p.setTransport(playingFrom(start));
    vi.advanceTimersByTime(1_200);
    const heard = heardHost(FakeCtx.last);
    expect(heard[0] - start).toBe(-30_000);
  });

  it('replaces clicks already scheduled when a tempo change arrives', async () => {
    // Bluetooth compensation of 300 ms: clicks are scheduled 300 ms earlier, so a change that
    // arrives one lead time (150 ms) before it lands finds old-tempo clicks after it scheduled.
    const p = new ClickPlayer(clock, { ...settings, latencyMs: 300 });
    await p.enable();
    const start = clock.hostNow() + 500_000;
    const tr = playingFrom(start, 240_000); // 250 ms beats
    p.setTransport(tr);
    const at = start + 2_000_000; // the bar line at beat 8
    vi.advanceTimersByTime((at - 150_000 - clock.hostNow()) / 1000);
    p.setTransport({
      segments: [...tr.segments, { ...tr.segments[1], at, timeline: { tempo: 60_000, beat_origin: 8_000_000, time_origin: at } }],
    });
    vi.advanceTimersByTime(3_000);
    const clicks = heardHost(FakeCtx.last).map((h) => h - start + 300_000);
    expect(clicks.slice(0, 11)).toEqual([
      0, 250_000, 500_000, 750_000, 1_000_000, 1_250_000, 1_500_000, 1_750_000, // 240 BPM
      2_000_000, 3_000_000, 4_000_000, // 60 BPM from the bar line
    ]);
  });

  it('cancels the clicks a stop cuts off', async () => {
    const p = new ClickPlayer(clock, settings);
    await p.enable();
    const start = clock.hostNow() + 200_000;
    const tr = playingFrom(start, 240_000);
    p.setTransport(tr);
    // Just before a click 150 ms ahead was scheduled; the stop lands 30 ms before it.
    vi.advanceTimersByTime((start + 1_000_000 - 150_000 - clock.hostNow()) / 1000);
    const at = start + 1_000_000 - 30_000;
    expect(heardHost(FakeCtx.last)).toContain(start + 1_000_000);
    p.setTransport({
      segments: [...tr.segments, { ...tr.segments[1], at, playing: false, timeline: { tempo: 240_000, beat_origin: 4_000_000, time_origin: at } }],
    });
    vi.advanceTimersByTime(2_000);
    const heard = heardHost(FakeCtx.last);
    expect(heard.every((h) => h < at)).toBe(true);
    expect(heard.length).toBe(4);
  });

  it('skips the clicks whose level is zero, and subdivides when asked', async () => {
    const p = new ClickPlayer(clock, { ...settings, levels: { ...settings.levels, beat: 0 } });
    await p.enable();
    const start = clock.hostNow() + 200_000;
    p.setTransport(playingFrom(start));
    vi.advanceTimersByTime(4_000);
    // Only the downbeats sound when plain beats are at level 0.
    expect(heardHost(FakeCtx.last).map((h) => h - start).slice(0, 2)).toEqual([0, 2_000_000]);
    p.setSettings({ ...settings, subdivision: 2 });
    const from = clock.hostNow();
    vi.advanceTimersByTime(2_000);
    const after = heardHost(FakeCtx.last).filter((h) => h > from + 50_000);
    const gaps = after.slice(1).map((h, i) => h - after[i]);
    expect(gaps.every((g) => g === 250_000)).toBe(true);
  });
});
