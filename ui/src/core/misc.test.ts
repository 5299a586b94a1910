import { describe, expect, it } from 'vitest';
import { explainRefusal } from './refusal';
import { TapTempo } from './tap';

describe('tap tempo', () => {
  it('averages the taps of a series', () => {
    const t = new TapTempo();
    expect(t.tap(1000)).toBeNull();
    expect(t.tap(1500)).toBe(120);
    expect(t.tap(2000)).toBe(120);
    // A late tap pulls the average, as the mean of all intervals.
    expect(t.tap(2600)).toBe(112.5);
  });

  it('starts over after a two-second gap', () => {
    const t = new TapTempo();
    t.tap(0);
    t.tap(400);
    expect(t.tap(2401)).toBeNull();
    expect(t.count()).toBe(1);
    expect(t.tap(3001)).toBe(100);
  });

  it('keeps only the last taps so a tempo change is followed', () => {
    const t = new TapTempo();
    let now = 0;
    for (let i = 0; i < 10; i++) t.tap((now += 1000)); // 60 BPM
    let bpm = null;
    for (let i = 0; i < 9; i++) bpm = t.tap((now += 500)); // 120 BPM
    expect(bpm).toBe(120);
  });
});

describe('refusals', () => {
  it('explain themselves and offer the PIN only where it helps', () => {
    expect(explainRefusal('auth_required', 'x').pinHelps).toBe(true);
    expect(explainRefusal('bad_secret', 'wrong PIN').message).toMatch(/Wrong PIN/);
    expect(explainRefusal('bad_secret', 'this join link is not (or no longer) valid').message).toMatch(/no longer valid/);
    expect(explainRefusal('unknown_session', 'x').pinHelps).toBe(false);
    expect(explainRefusal('something_new', 'as the host said')).toEqual({ code: 'something_new', message: 'as the host said', pinHelps: false });
  });
});
