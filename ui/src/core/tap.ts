//! Tap tempo: the tempo of the last few taps, starting over after a pause.

/** A tap more than this after the previous one starts a new series (ms). */
export const TAP_RESET_MS = 2000;
/** How many intervals are averaged. */
export const TAP_WINDOW = 8;

export class TapTempo {
  private taps: number[] = [];

  /**
   * A tap at `nowMs` (any monotonic milliseconds). Returns the BPM of the series so far, rounded
   * to 0.1, or `null` after the first tap of a series.
   */
  tap(nowMs: number): number | null {
    const last = this.taps[this.taps.length - 1];
    if (last === undefined || nowMs - last > TAP_RESET_MS || nowMs <= last) this.taps = [];
    this.taps.push(nowMs);
    if (this.taps.length > TAP_WINDOW + 1) this.taps.shift();
    if (this.taps.length < 2) return null;
    // The mean interval of the series is (last - first) / intervals.
    const span = this.taps[this.taps.length - 1] - this.taps[0];
    const bpm = (60_000 * (this.taps.length - 1)) / span;
    return Math.round(bpm * 10) / 10;
  }

  /** Taps in the current series. */
  count(): number {
    return this.taps.length;
  }

  reset(): void {
    this.taps = [];
  }
}
