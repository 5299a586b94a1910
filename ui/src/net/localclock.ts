//! This device's clock for the member, in µs: `performance.now()`, optionally made wrong on
//! purpose (an offset and a frequency error) so that a test can show the clock sync removes the
//! error, as `bandsync join --clock-offset-ms X --clock-skew-ppm Y` does natively. The page reads
//! `?clock_offset_ms=X&clock_skew_ppm=Y` from its address.

import { clockDistortion } from '../wasm/api';

export interface LocalClock {
  /** Local µs now. */
  now(): number;
  /** Local µs at `performance.now()` time `perfMs`. */
  atPerf(perfMs: number): number;
  /** `performance.now()` ms at local µs `local`. */
  perfAt(local: number): number;
}

/** A clock reading `offsetMs` ahead and running `skewPpm` fast, as the core makes one
 *  (`crates/core/src/clock/distortion.rs`, the native client's too): it reads `base_us` when
 *  `performance.now()` reads 0, and `rate` µs per real µs. */
export function distortedClock(offsetMs: number, skewPpm: number): LocalClock {
  const { base_us: base, rate } = clockDistortion(offsetMs, skewPpm);
  return {
    now: () => base + performance.now() * 1000 * rate,
    atPerf: (perfMs) => base + perfMs * 1000 * rate,
    perfAt: (local) => (local - base) / rate / 1000,
  };
}

/** The page's clock: distorted when its address asks for it (tests), else the plain one. */
export function pageClock(search: string = typeof location === 'undefined' ? '' : location.search): LocalClock {
  const q = new URLSearchParams(search);
  return distortedClock(Number(q.get('clock_offset_ms') ?? 0), Number(q.get('clock_skew_ppm') ?? 0));
}
