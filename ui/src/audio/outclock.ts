//! Where the AudioContext's clock stands against `performance.now()`: the map from "heard at
//! performance time P" to "start at context time C". Pure, so that it tests without a browser.
//!
//! `AudioContext.getOutputTimestamp()` pairs the context time of the frame the device is playing
//! now (`contextTime`) with the performance time at which it is heard (`performanceTime`): the
//! output latency is already inside that pair. It is quantized to the device's callbacks, so one
//! reading jitters by a buffer; the map is the median of the recent readings, which follows the
//! slow drift between the sound card's crystal and the system clock without jumping on a single
//! late callback. Browsers without it (or before audio flows) fall back to `currentTime` plus the
//! reported `baseLatency` and `outputLatency`.

/** One reading of the two clocks, as the browser gives it. */
export interface OutputReading {
  /** `getOutputTimestamp()`, if the browser has it. */
  timestamp?: { contextTime?: number; performanceTime?: number } | null;
  /** `ctx.currentTime` (s). */
  currentTime: number;
  /** `performance.now()` (ms) when `currentTime` was read. */
  perfNowMs: number;
  /** `ctx.baseLatency` (s), when known. */
  baseLatency?: number;
  /** `ctx.outputLatency` (s), when known. */
  outputLatency?: number;
}

/** Readings kept for the median: about a second at the scheduler's 25 ms tick. */
const WINDOW = 41;

export class OutputClock {
  /** Recent `d = heard perf time (s) − context time (s)`. */
  private ds: number[] = [];
  private d: number | null = null;
  /** Whether the readings come from `getOutputTimestamp` (true) or the latency fallback. */
  timestamped = false;

  /** Takes one reading. Readings that cannot be right (audio not flowing yet) are skipped. */
  update(r: OutputReading): void {
    const fallback = r.perfNowMs / 1000 - r.currentTime + (r.baseLatency ?? 0) + (r.outputLatency ?? 0);
    const ts = r.timestamp;
    let d = fallback;
    let stamped = false;
    if (ts && typeof ts.contextTime === 'number' && typeof ts.performanceTime === 'number' && ts.contextTime > 0 && ts.performanceTime > 0) {
      const cand = ts.performanceTime / 1000 - ts.contextTime;
      // A timestamp more than a second away from the latency estimate is a broken one.
      if (Math.abs(cand - fallback) < 1) {
        d = cand;
        stamped = true;
      }
    }
    if (stamped !== this.timestamped) {
      // Switching sources: the two disagree by the browser's latency accounting; start over.
      this.ds = [];
      this.timestamped = stamped;
    }
    this.ds.push(d);
    if (this.ds.length > WINDOW) this.ds.shift();
    const sorted = [...this.ds].sort((a, b) => a - b);
    this.d = sorted[sorted.length >> 1];
  }

  /** The context time (s) at which to start a sound so that it is heard at `perfMs`. */
  contextTimeFor(perfMs: number): number | null {
    return this.d === null ? null : perfMs / 1000 - this.d;
  }

  /** The performance time (ms) at which a sound started at context time `c` is heard. */
  perfTimeFor(c: number): number | null {
    return this.d === null ? null : (c + this.d) * 1000;
  }

  /** The output latency the map implies (s): how long after it is rendered a frame is heard. */
  latency(r: OutputReading): number | null {
    return this.d === null ? null : this.d - (r.perfNowMs / 1000 - r.currentTime);
  }

  reset(): void {
    this.ds = [];
    this.d = null;
  }
}
