//! The shared timeline for the views, from the Rust core (`crates/core/src/timeline`, in wasm):
//! where the transport stands, meters and tempos. Nothing is computed here, and the constants are
//! the core's, generated into the bindings.

import type { Meter, Segment, Transport, TransportPlace } from '../bindings';
import { formatMeter as formatInCore, formatTempo, parseMeter as parseInCore, tempoFromBpm as checkInCore, transportAt } from '../wasm/api';

export { MAX_BPM, MIN_BPM, ONE_BEAT } from '../bindings';

/** A tempo (milli-BPM) as text, in the core's words: `120`, `92.5`, `133.333`. */
export function bpmText(tempo: number): string {
  return formatTempo(tempo);
}

/** The last segment: the schedule as it will be once every change has landed. */
export function latest(tr: Transport): Segment {
  return tr.segments[tr.segments.length - 1];
}

/** Where the transport stands at host time `t` (µs). */
export function beatPosition(tr: Transport, t: number): TransportPlace {
  return transportAt(tr, t);
}

/** The segment in effect at host time `t`. */
export function segmentAt(tr: Transport, t: number): Segment {
  return transportAt(tr, t).segment;
}

/** The position (micro-beats) of segment `s` at host time `t`. */
export function segmentPosition(s: Segment, t: number): number {
  return transportAt({ segments: [s] }, t).position;
}

/** A meter as text: `4/4`, `7/8`, `7/8 3+2+2`. */
export function formatMeter(m: Meter): string {
  return formatInCore(m);
}

/** A meter from text, or `null` when it is not one. */
export function parseMeter(text: string): Meter | null {
  const m = parseInCore(text);
  return typeof m === 'string' ? null : m;
}

/** Why `beats/unit` with `groups` is not a meter, or `null` when it is. */
export function meterError(beats: number, unit: number, groups: readonly number[]): string | null {
  const m = parseInCore(`${beats}/${unit}${groups.length ? ` ${groups.join('+')}` : ''}`);
  return typeof m === 'string' ? m : null;
}

/** The conventional accent grouping of `beats/unit` (7/8 is 2+2+3). */
export function defaultGroups(beats: number, unit: number): number[] {
  const m = parseInCore(`${beats}/${unit}`);
  return typeof m === 'string' ? [Math.max(1, beats)] : m.groups;
}

/** BPM to the milli-BPM the wire carries, or `null` outside 20 to 999. */
export function tempoFromBpm(bpm: number): number | null {
  return checkInCore(bpm);
}
