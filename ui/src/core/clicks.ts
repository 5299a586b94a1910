//! The click grid: which clicks a transport schedule puts in a window of host time. A port of the
//! grid walk in `crates/audio/src/engine.rs` (`Engine::schedule_clicks`), without the audio.
//!
//! Pure: the Web Audio scheduler calls [`ClickCursor.take`] with consecutive windows and gets each
//! click exactly once; the visual beat and the tests use the same code.

import type { Accent, Segment, Transport } from '../bindings';
import { ONE_BEAT, accentOf, floorDiv, fromBeats, mod, toBeats } from './timeline';

/** One click to sound. */
export interface Click {
  /** Host time (µs) at which it is heard. */
  host: number;
  /** Grid position in micro-beats. */
  position: number;
  /** Bar counted from the segment's bar origin; negative during a count-in from bar 0. */
  bar: number;
  /** Beat within the bar, from 0. */
  beatInBar: number;
  /** A subdivision between beats rather than a beat. */
  subdivision: boolean;
  /** Downbeat, group start, or plain beat (subdivisions are always `beat`). */
  accent: Accent;
  /** Before the song start: a count-in click. */
  countIn: boolean;
}

/**
 * How far before its segment's start a click may fall and still belong to it, in µs. A tempo
 * change lands on a bar line whose host time was rounded from the old timeline; on the new one the
 * same bar line can map to a microsecond or two earlier. Without this slack that downbeat would be
 * in neither segment.
 */
const SEAM_US = 50;
/**
 * Two clicks closer than this are the same click seen from both sides of a seam. Real clicks are
 * at least 60 s / 999 BPM / 8 subdivisions = 7.5 ms apart.
 */
const DUPLICATE_US = 1_000;

function describe(seg: Segment, b: number, g: number, sub: number, host: number): Click {
  const beat = floorDiv(g, sub);
  const subdivision = mod(g, sub) !== 0;
  const beatInBar = mod(beat, seg.meter.beats);
  return {
    host,
    position: b,
    bar: floorDiv(beat, seg.meter.beats),
    beatInBar,
    subdivision,
    accent: subdivision ? 'beat' : accentOf(seg.meter, beatInBar),
    countIn: b < seg.song_start,
  };
}

/**
 * Every click with host time in `[h0, h1)`, in time order, at `sub` clicks per beat (1 to 8).
 * Positions are exact grid points `bar_origin + floor(g * 1e6 / sub)`, never sums of steps.
 */
export function clicksBetween(tr: Transport, h0: number, h1: number, sub: number): Click[] {
  const out: Click[] = [];
  sub = Math.max(1, Math.min(8, Math.floor(sub)));
  const segs = tr.segments;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    if (!seg.playing) continue;
    const segEnd = i + 1 < segs.length ? segs[i + 1].at : Infinity;
    // Nothing clicks before a segment's `at`, not even for the first one (as the engine does).
    const lo = Math.max(h0, seg.at);
    const hi = Math.min(h1, segEnd);
    if (lo >= hi) continue;
    const slack = lo === seg.at ? SEAM_US : 0;
    const tl = seg.timeline;
    const bLo = toBeats(tl, Math.ceil(lo - slack));
    const bHi = toBeats(tl, Math.ceil(hi));
    const at = (g: number) => seg.bar_origin + floorDiv(g * ONE_BEAT, sub);
    let g = floorDiv((bLo - seg.bar_origin) * sub, ONE_BEAT) - 1;
    for (; at(g) <= bHi; g++) {
      const b = at(g);
      const t = fromBeats(tl, b);
      if (t >= lo - slack && t < hi) out.push(describe(seg, b, g, sub, t));
    }
  }
  out.sort((a, b) => a.host - b.host);
  return out;
}

/**
 * Walks the click grid window by window, handing each click out once even when windows overlap,
 * a seam between segments shows it twice, or the schedule is replaced mid-way.
 */
export class ClickCursor {
  /** Host time up to which clicks were handed out. */
  private until: number | null = null;
  /** Host time of the last click handed out. */
  private last: number | null = null;

  /** Clicks with host time in `[max(h0, until), h1)`. */
  take(tr: Transport, h0: number, h1: number, sub: number): Click[] {
    const from = this.until === null ? h0 : Math.max(h0, this.until);
    if (from >= h1) return [];
    const clicks = clicksBetween(tr, from, h1, sub).filter((c) => {
      if (this.last !== null && c.host <= this.last + DUPLICATE_US && c.host >= this.last - DUPLICATE_US) {
        return false;
      }
      this.last = c.host;
      return true;
    });
    this.until = h1;
    return clicks;
  }

  /**
   * Forgets everything from host time `t` on: the clicks from there were cancelled (a new
   * schedule arrived) and are handed out again, from the new schedule. `lastKept` is the host time
   * of the last click that still sounds, for the duplicate check.
   */
  rewind(t: number, lastKept: number | null): void {
    if (this.until !== null && this.until > t) this.until = t;
    this.last = lastKept;
  }

  /** Starts over, as after the audio was switched off and on. */
  reset(): void {
    this.until = null;
    this.last = null;
  }
}
