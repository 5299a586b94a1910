//! Tap tempo: the page keeps the taps' times; the rule (series, window, rounding) is the core's
//! (`crates/core/src/tap.rs`, through wasm), shared with a MIDI foot switch.

import { tapTempo } from '../wasm/api';

export class TapTempo {
  private taps: number[] = [];

  /** A tap at `nowMs` (any monotonic milliseconds): the series' BPM, or `null` after its first tap. */
  tap(nowMs: number): number | null {
    this.taps.push(nowMs);
    const r = tapTempo(this.taps);
    this.taps = this.taps.slice(this.taps.length - r.count);
    return r.bpm;
  }

  /** Taps in the current series. */
  count(): number {
    return this.taps.length;
  }
}
