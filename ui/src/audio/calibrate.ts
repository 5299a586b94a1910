//! The page's side of latency calibration: each tap's time, for the core's `calibrate.taps`
//! (`crates/audio/src/calibrate/taps.rs`), which pairs it with its click and makes the figure.

import { LATENCY_OFFSET_MAX_MS, LATENCY_OFFSET_MIN_MS } from '../bindings';

/** Taps asked for: the core's. */
export { CALIBRATION_TAPS as TAPS } from '../bindings';

/** The range of the latency offset (ms), as the settings' field allows it: the core's. */
export { LATENCY_OFFSET_MAX_MS as LATENCY_MAX_MS, LATENCY_OFFSET_MIN_MS as LATENCY_MIN_MS };

/**
 * Host µs of an input event: `stampMs` is its `timeStamp` (the `performance.now()` base), read
 * against `hostNow` taken at `perfNow`. Browsers whose stamp is not in that base (or is from
 * more than a second ago) get the time of reading instead.
 */
export function eventHost(hostNow: number, perfNow: number, stampMs: number): number {
  const at = Number.isFinite(stampMs) && stampMs <= perfNow + 1 && stampMs >= perfNow - 1000 ? stampMs : perfNow;
  return hostNow - (perfNow - at) * 1000;
}

/** A calibration's figure as the offset field holds it (a tenth of a ms: a loopback hears the
 *  click to the frame; the core gives taps' to the whole ms), or `null` beyond its range. */
export function offsetFromCalibration(latencyMs: number): number | null {
  const v = Math.round(latencyMs * 10) / 10;
  return v >= LATENCY_OFFSET_MIN_MS && v <= LATENCY_OFFSET_MAX_MS ? v : null;
}
