//! Latency calibration in the core (`crates/audio/src/calibrate.rs`): the figures from taps along
//! with the click and from a microphone loopback. Nothing here decides anything.

import type { Calibration } from '../bindings';
import { core } from './core';

/** The extra output latency from taps along with the click: the taps' host µs, the offset in
 *  effect at each (ms) and each tap's own clicks around it (host µs, as the transport stood at the
 *  tap); the core pairs each tap with its click. Throws [`CoreError`] with a sentence for the
 *  player when the taps give no figure (too few agreed, too scattered). */
export function calibrateTaps(atUs: readonly number[], latencyMs: readonly number[], clicksUs: readonly number[][]): Calibration {
  return core().call<Calibration>('calibrate.taps', [atUs, latencyMs, ...clicksUs]);
}

/** When the last click of the probe train from host µs `startUs` on has been heard, however
 *  late (host µs): how long a microphone loopback listens. */
export function probeUntil(startUs: number): number {
  return core().call<number>('calibrate.probe', startUs);
}

/** A microphone loopback's figure: `recording` came in as `deliveries` (for each, the frame after
 *  it and the local µs it arrived, flat), the probe started at host µs `startUs`, and `played`
 *  is what the player played of it (`ClickPlayer.probed`). Throws [`CoreError`] with a sentence
 *  for the player when nothing agreed. */
export function calibrateLoopback(
  recording: Float32Array,
  a: { rate: number; deliveries: readonly number[]; startUs: number; played: { clicks: readonly number[]; readings: readonly number[]; rate: number } },
): Calibration {
  const { clicks, readings, rate } = a.played;
  const args = [a.rate, a.deliveries, a.startUs, clicks, rate, readings];
  return core().call<Calibration>('calibrate.loopback', args, recording);
}
