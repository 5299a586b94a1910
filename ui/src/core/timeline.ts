//! The shared timeline: a port of `crates/core/src/timeline.rs` and `time.rs`.
//!
//! Host time is integer microseconds, positions are integer micro-beats and tempi are milli-BPM,
//! exactly as on the wire. The arithmetic is integer arithmetic carried out in JavaScript numbers
//! while every intermediate value is a safe integer, and in `BigInt` past that, so that results
//! equal the Rust code's (which uses i128) to the unit. Nothing here reads a clock.

import type { Accent, Meter, Segment, Transport } from '../bindings';

/** Micro-beats in one beat. */
export const ONE_BEAT = 1_000_000;
/** Lowest and highest tempo a session accepts, in BPM. */
export const MIN_BPM = 20;
export const MAX_BPM = 999;

/**
 * `num / den` rounded to the nearest integer, halves toward +∞ (Rust's `div_round`, which uses
 * Euclidean division). `den` must be positive.
 */
export function divRound(num: number, den: number): number {
  if (Number.isSafeInteger(num)) {
    let r = num % den; // exact for safe integers
    if (r < 0) r += den;
    const q = (num - r) / den; // exact: num - r is a multiple of den
    return 2 * r >= den ? q + 1 : q;
  }
  return divRoundBig(BigInt(Math.round(num)), BigInt(den));
}

function divRoundBig(num: bigint, den: bigint): number {
  let r = num % den;
  if (r < 0n) r += den;
  const q = (num - r) / den;
  return Number(2n * r >= den ? q + 1n : q);
}

/** `a * b / den`, rounded as [`divRound`], exact for integer inputs of any size that fits i64. */
export function mulDivRound(a: number, b: number, den: number): number {
  // Host times from a clock estimate can be fractional; the wire's are integers.
  if (!Number.isInteger(a)) a = Math.round(a);
  const p = a * b;
  if (Number.isSafeInteger(p)) return divRound(p, den);
  return divRoundBig(BigInt(a) * BigInt(b), BigInt(den));
}

/** Euclidean modulo: never negative for a positive `m`. */
export function mod(a: number, m: number): number {
  const r = a % m;
  return r < 0 ? r + m : r;
}

/** Floor division (toward −∞), for integers. */
export function floorDiv(a: number, b: number): number {
  return Math.floor(a / b);
}

/** The position at host time `t` on a timeline (Rust `Timeline::to_beats`). */
export function toBeats(tl: Segment['timeline'], t: number): number {
  return tl.beat_origin + mulDivRound(t - tl.time_origin, tl.tempo, 60_000);
}

/** The host time at which a timeline reaches position `b` (Rust `Timeline::from_beats`). */
export function fromBeats(tl: Segment['timeline'], b: number): number {
  return tl.time_origin + mulDivRound(b - tl.beat_origin, 60_000, tl.tempo);
}

/** The length of one beat in µs at `tempo` milli-BPM (Rust `Tempo::beat_len`). */
export function beatLen(tempo: number): number {
  return Math.floor((60_000_000_000 + Math.floor(tempo / 2)) / tempo);
}

/** BPM → milli-BPM as the server stores it: `round(bpm * 1000)`. */
export function tempoFromBpm(bpm: number): number | null {
  if (!Number.isFinite(bpm) || bpm < MIN_BPM || bpm > MAX_BPM) return null;
  return Math.round(bpm * 1000);
}

/** The conventional grouping (Rust `Meter::default_groups`). */
export function defaultGroups(beats: number, unit: number): number[] {
  const eighths = unit === 8 || unit === 16;
  if (eighths && (beats === 6 || beats === 9 || beats === 12)) return Array(beats / 3).fill(3);
  if (eighths && beats === 5) return [3, 2];
  if (eighths && beats === 7) return [2, 2, 3];
  return [Math.max(1, beats)];
}

/** Why a meter is not one a session accepts, or `null` if it is (Rust `Meter::with_groups`). */
export function meterError(beats: number, unit: number, groups: readonly number[]): string | null {
  if (!Number.isInteger(beats) || beats < 1 || beats > 32) return 'beats per bar must be 1 to 32';
  if (![1, 2, 4, 8, 16, 32].includes(unit)) return 'the beat unit must be 1, 2, 4, 8, 16 or 32';
  if (groups.length === 0 || groups.some((g) => !Number.isInteger(g) || g <= 0)) {
    return 'accent groups must be non-empty and positive';
  }
  if (groups.reduce((a, b) => a + b, 0) !== beats) return 'accent groups must add up to the beats per bar';
  return null;
}

/** How the beat at `index` (0-based within the bar) is accented (Rust `Meter::accent`). */
export function accentOf(meter: Meter, index: number): Accent {
  if (index === 0) return 'downbeat';
  let start = 0;
  for (const g of meter.groups) {
    if (index === start) return 'group';
    start += g;
  }
  return 'beat';
}

/** Bar length in micro-beats. */
export function barLen(meter: Meter): number {
  return meter.beats * ONE_BEAT;
}

/** Parses "7/8" or "7/8 2+2+3" into a meter, or `null`. */
export function parseMeter(text: string): Meter | null {
  const m = /^\s*(\d{1,2})\s*\/\s*(\d{1,2})\s*(?:[\s(]+([\d+\s]+)\)?)?\s*$/.exec(text);
  if (!m) return null;
  const beats = Number(m[1]);
  const unit = Number(m[2]);
  const groups = m[3] ? m[3].split('+').map((g) => Number(g.trim())) : defaultGroups(beats, unit);
  return meterError(beats, unit, groups) ? null : { beats, unit, groups };
}

/** "7/8" plus the grouping when it is not the only one ("7/8 (2+2+3)"). */
export function formatMeter(m: Meter): string {
  return m.groups.length > 1 ? `${m.beats}/${m.unit} (${m.groups.join('+')})` : `${m.beats}/${m.unit}`;
}

/** The position of a segment at host time `t` (Rust `Segment::position`). */
export function segmentPosition(s: Segment, t: number): number {
  return s.playing ? toBeats(s.timeline, t) : s.timeline.beat_origin;
}

/** The first bar line at or after position `b` in a segment (Rust `Segment::next_bar`). */
export function nextBar(s: Segment, b: number): number {
  const q = barLen(s.meter);
  const f = s.bar_origin + floorDiv(b - s.bar_origin, q) * q;
  return f === b ? f : f + q;
}

/** The segment in effect at host time `t`: the last with `at <= t`, else the first. */
export function segmentAt(tr: Transport, t: number): Segment {
  for (let i = tr.segments.length - 1; i >= 0; i--) if (tr.segments[i].at <= t) return tr.segments[i];
  return tr.segments[0];
}

/** The position at host time `t`. */
export function positionAt(tr: Transport, t: number): number {
  return segmentPosition(segmentAt(tr, t), t);
}

/** The last scheduled segment: what the transport will be once every change has landed. */
export function latest(tr: Transport): Segment {
  return tr.segments[tr.segments.length - 1];
}

/**
 * Whether a schedule received from a host is one a session could have made (Rust
 * `Transport::is_valid`). A schedule that is not is dropped, rather than divided by.
 */
export function isValidTransport(tr: Transport | null | undefined): tr is Transport {
  if (!tr || !Array.isArray(tr.segments) || tr.segments.length === 0) return false;
  for (let i = 0; i < tr.segments.length; i++) {
    const s = tr.segments[i];
    if (i > 0 && tr.segments[i - 1].at > s.at) return false;
    if (tempoFromBpm(s.timeline.tempo / 1000) === null) return false;
    if (meterError(s.meter.beats, s.meter.unit, s.meter.groups)) return false;
  }
  return true;
}

/** Where the transport is at one host time, as the beat display shows it. */
export interface BeatPosition {
  /** Position in micro-beats. */
  position: number;
  /** Whether the metronome is running. */
  playing: boolean;
  /** Beat within the bar, from 0. */
  beatInBar: number;
  /** Bar counted from the segment's bar origin, from 0; negative during a count-in. */
  bar: number;
  /** Whether the position is before the song start (count-in). */
  countIn: boolean;
  /** Bars of count-in left, including the current one (0 outside a count-in). */
  countInBarsLeft: number;
  /** Fraction of the current beat elapsed, 0 to 1. */
  beatPhase: number;
  /** The segment in effect. */
  segment: Segment;
}

/** Where the transport is at host time `t`. */
export function beatPosition(tr: Transport, t: number): BeatPosition {
  const s = segmentAt(tr, t);
  const p = segmentPosition(s, t);
  const rel = p - s.bar_origin;
  const beat = floorDiv(rel, ONE_BEAT);
  const countIn = s.playing && p < s.song_start;
  return {
    position: p,
    playing: s.playing,
    beatInBar: mod(beat, s.meter.beats),
    bar: floorDiv(beat, s.meter.beats),
    countIn,
    countInBarsLeft: countIn ? Math.ceil((s.song_start - p) / barLen(s.meter)) : 0,
    beatPhase: mod(rel, ONE_BEAT) / ONE_BEAT,
    segment: s,
  };
}
