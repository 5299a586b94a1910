//! The page's clock made wrong on purpose, through the core, as the native client makes it.

import { describe, expect, it } from 'vitest';
import { distortedClock, pageClock } from './localclock';

describe('the page clock', () => {
  it('reads ahead, runs fast and maps back', () => {
    const c = distortedClock(-5000, 150);
    expect(c.atPerf(0)).toBe(1e12 - 5e6);
    // One real second later it has run 150 µs more than a second.
    expect(c.atPerf(1000) - c.atPerf(0)).toBeCloseTo(1_000_150, 3);
    expect(c.perfAt(c.atPerf(42))).toBeCloseTo(42, 6);
  });

  it('is distorted as its address asks, and plain otherwise', () => {
    expect(pageClock('?clock_offset_ms=2000&clock_skew_ppm=-100').atPerf(0)).toBe(1e12 + 2e6);
    expect(pageClock('?clock_offset_ms=junk').atPerf(1000)).toBe(1e12 + 1e6);
  });
});
