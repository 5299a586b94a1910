//! This device's clock for the member, in µs: `performance.now()`, optionally made wrong on
//! purpose (an offset and a frequency error) so that a test can show the clock sync removes the
//! error, as `bandsync join --clock-offset-ms X --clock-skew-ppm Y` does natively. The page reads
//! `?clock_offset_ms=X&clock_skew_ppm=Y` from its address.

export interface LocalClock {
  /** Local µs now. */
  now(): number;
  /** Local µs at `performance.now()` time `perfMs`. */
  atPerf(perfMs: number): number;
  /** `performance.now()` ms at local µs `local`. */
  perfAt(local: number): number;
}

/** A clock reading `offsetMs` ahead and running `skewPpm` fast. */
export function distortedClock(offsetMs: number, skewPpm: number): LocalClock {
  // Far enough from zero that a negative offset still reads positive.
  const base = 1e12 + offsetMs * 1000;
  const rate = 1 + skewPpm * 1e-6;
  return {
    now: () => base + performance.now() * 1000 * rate,
    atPerf: (perfMs) => base + perfMs * 1000 * rate,
    perfAt: (local) => (local - base) / rate / 1000,
  };
}

/** The page's clock: distorted when its address asks for it (tests), else the plain one. */
export function pageClock(search: string = typeof location === 'undefined' ? '' : location.search): LocalClock {
  const q = new URLSearchParams(search);
  const off = Number(q.get('clock_offset_ms') ?? 0);
  const skew = Number(q.get('clock_skew_ppm') ?? 0);
  return distortedClock(Number.isFinite(off) ? off : 0, Number.isFinite(skew) ? skew : 0);
}
