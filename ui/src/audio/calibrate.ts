//! The page's side of latency calibration: turning taps into what the core's `calibrate.taps`
//! takes (`crates/audio/src/calibrate.rs`). The figure itself (median, outliers) is the core's.
//!
//! The click player renders each click so that it is heard at its grid time if the output's
//! unreported latency is the current `latencyMs`. If it is really `L`, the click is heard at
//! `grid + (L - latencyMs)`; so a tap offset `o` from the grid means `L = latencyMs + o`.

import { type Click, LATENCY_OFFSET_MAX_MS, LATENCY_OFFSET_MIN_MS } from '../bindings';

/** Taps asked for. */
export const TAPS = 16;

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

/**
 * A tap's offset (ms) from the click it goes with, as the core's `calibrate.taps` takes it: as if
 * the page played the click without its calibration (`latencyMs`, in effect at the tap). A tap
 * half a beat off could go with either click; a click is heard late far more often than early
 * (a Bluetooth earbud's 150 to 300 ms, uncalibrated), so the tap goes with the click it follows
 * nearest a quarter beat after: from a quarter beat before it to three quarters after (at 120
 * BPM, -125 to 375 ms; with the nearest click, 250 ms late read as 250 early). `null` without a
 * click to tap to (the metronome is stopped).
 */
export function tapOffsetMs(tapHost: number, clicks: readonly Click[], latencyMs: number): number | null {
  const n = clicks.length;
  const aim = n > 1 ? (clicks[n - 1].host - clicks[0].host) / (n - 1) / 4000 : 0;
  let best: number | null = null;
  for (const c of clicks) {
    const heard = (tapHost - c.host) / 1000;
    if (best === null || Math.abs(heard - aim) < Math.abs(best - aim)) best = heard;
  }
  return best === null ? null : best + latencyMs;
}

/** A calibration's figure as the offset field holds it, or `null` beyond its range: whole ms
 *  for taps (a hand's scatter is ms), a tenth of a ms for a loopback (`precise`: the microphone
 *  hears the click to the frame). */
export function offsetFromCalibration(latencyMs: number, precise = false): number | null {
  const v = precise ? Math.round(latencyMs * 10) / 10 : Math.round(latencyMs);
  return v >= LATENCY_OFFSET_MIN_MS && v <= LATENCY_OFFSET_MAX_MS ? v : null;
}
