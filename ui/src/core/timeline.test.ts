import { describe, expect, it } from 'vitest';
import type { Segment, Transport } from '../bindings';
import {
  accentOf,
  beatLen,
  beatPosition,
  defaultGroups,
  divRound,
  fromBeats,
  isValidTransport,
  meterError,
  mulDivRound,
  nextBar,
  parseMeter,
  positionAt,
  segmentAt,
  tempoFromBpm,
  toBeats,
} from './timeline';

const tl = (bpm: number) => ({ tempo: tempoFromBpm(bpm)!, beat_origin: 0, time_origin: 1_000 });

function seg(over: Partial<Segment> = {}): Segment {
  return {
    at: 0,
    playing: true,
    timeline: { tempo: 120_000, beat_origin: 0, time_origin: 0 },
    meter: { beats: 4, unit: 4, groups: [4] },
    bar_origin: 0,
    song_start: 0,
    ...over,
  } as Segment;
}

describe('integer rounding matches Rust div_round', () => {
  it('rounds halves toward +infinity, for negative numbers too', () => {
    expect(divRound(5, 2)).toBe(3);
    expect(divRound(-5, 2)).toBe(-2);
    expect(divRound(-7, 2)).toBe(-3);
    expect(divRound(7, 3)).toBe(2);
    expect(divRound(-7, 3)).toBe(-2);
    expect(divRound(-8, 3)).toBe(-3);
  });

  it('stays exact past 2^53 by switching to BigInt', () => {
    // 3 hours at 999 BPM: dt * tempo is about 1.08e16, past Number.MAX_SAFE_INTEGER.
    const dt = 3 * 3600 * 1_000_000 + 7;
    const exact = (BigInt(dt) * 999_000n + 30_000n) / 60_000n; // floor(x + 0.5) for positives
    expect(mulDivRound(dt, 999_000, 60_000)).toBe(Number(exact));
    expect(Number.isSafeInteger(dt * 999_000)).toBe(false);
  });
});

describe('timeline (port of timeline.rs tests)', () => {
  it('one beat at 120 BPM is half a second', () => {
    const t = tl(120);
    expect(toBeats(t, 501_000)).toBe(1_000_000);
    expect(fromBeats(t, 3_000_000)).toBe(1_501_000);
    expect(beatLen(120_000)).toBe(500_000);
  });

  it('beats and time round trip within one unit', () => {
    for (const bpm of [20, 61.7, 97, 120, 133.333, 999]) {
      const t = tl(bpm);
      for (const us of [-7_777_777, 0, 1, 999_999, 3_600_000_000]) {
        const back = fromBeats(t, toBeats(t, us));
        expect(Math.abs(back - us)).toBeLessThanOrEqual(3);
      }
    }
  });

  it('refuses tempi outside 20 to 999 BPM', () => {
    expect(tempoFromBpm(19.99)).toBeNull();
    expect(tempoFromBpm(1000)).toBeNull();
    expect(tempoFromBpm(NaN)).toBeNull();
    expect(tempoFromBpm(20)).toBe(20_000);
    expect(tempoFromBpm(96.5)).toBe(96_500);
  });

  it('groups meters the conventional way and accents 7/8 as 2+2+3', () => {
    expect(defaultGroups(7, 8)).toEqual([2, 2, 3]);
    expect(defaultGroups(6, 8)).toEqual([3, 3]);
    expect(defaultGroups(12, 16)).toEqual([3, 3, 3, 3]);
    expect(defaultGroups(5, 8)).toEqual([3, 2]);
    expect(defaultGroups(5, 4)).toEqual([5]);
    expect(meterError(0, 4, [1])).not.toBeNull();
    expect(meterError(4, 3, [4])).not.toBeNull();
    expect(meterError(33, 4, [33])).not.toBeNull();
    expect(meterError(7, 8, [3, 3])).not.toBeNull();
    const m = { beats: 7, unit: 8, groups: [2, 2, 3] };
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => accentOf(m, i))).toEqual([
      'downbeat', 'beat', 'group', 'beat', 'group', 'beat', 'beat',
    ]);
  });

  it('parses meters with and without groups', () => {
    expect(parseMeter('7/8')).toEqual({ beats: 7, unit: 8, groups: [2, 2, 3] });
    expect(parseMeter('7/8 3+2+2')).toEqual({ beats: 7, unit: 8, groups: [3, 2, 2] });
    expect(parseMeter('7/8 (2+3+2)')).toEqual({ beats: 7, unit: 8, groups: [2, 3, 2] });
    expect(parseMeter('7/8 3+3')).toBeNull();
    expect(parseMeter('4/3')).toBeNull();
  });
});

describe('transport', () => {
  it('finds the segment in effect and the position in it', () => {
    const tr: Transport = {
      segments: [
        seg({ at: 0, playing: false, timeline: { tempo: 120_000, beat_origin: 0, time_origin: 0 } }),
        seg({ at: 1_000_000, timeline: { tempo: 120_000, beat_origin: -4_000_000, time_origin: 1_000_000 } }),
      ],
    } as Transport;
    expect(segmentAt(tr, 500_000)).toBe(tr.segments[0]);
    expect(positionAt(tr, 500_000)).toBe(0);
    expect(positionAt(tr, 1_250_000)).toBe(-3_500_000);
    // Before every segment, the first one applies.
    expect(segmentAt(tr, -5)).toBe(tr.segments[0]);
  });

  it('finds bar lines for negative positions too', () => {
    const s = seg();
    expect(nextBar(s, -1)).toBe(0);
    expect(nextBar(s, 4_000_000)).toBe(4_000_000);
    expect(nextBar(s, 4_000_001)).toBe(8_000_000);
    expect(nextBar(seg({ bar_origin: 1_000_000 }), 5_000_000)).toBe(5_000_000);
  });

  it('reports beat, bar and count-in at a host time', () => {
    // play {count_in: 1} from position 0: the timeline starts a bar early.
    const tr = { segments: [seg({ timeline: { tempo: 120_000, beat_origin: -4_000_000, time_origin: 0 } })] } as Transport;
    const p = beatPosition(tr, 500_000); // one beat in: position -3 beats
    expect(p.countIn).toBe(true);
    expect(p.bar).toBe(-1);
    expect(p.beatInBar).toBe(1);
    expect(p.countInBarsLeft).toBe(1);
    const q = beatPosition(tr, 2_750_000); // position 1.5 beats into the song
    expect(q.countIn).toBe(false);
    expect(q.bar).toBe(0);
    expect(q.beatInBar).toBe(1);
    expect(q.beatPhase).toBeCloseTo(0.5, 6);
  });

  it('drops schedules no session could make', () => {
    expect(isValidTransport({ segments: [seg()] } as Transport)).toBe(true);
    expect(isValidTransport({ segments: [] } as unknown as Transport)).toBe(false);
    expect(isValidTransport({ segments: [seg({ timeline: { tempo: 0, beat_origin: 0, time_origin: 0 } })] } as Transport)).toBe(false);
    expect(isValidTransport({ segments: [seg({ meter: { beats: 0, unit: 4, groups: [] } })] } as Transport)).toBe(false);
    expect(isValidTransport({ segments: [seg({ at: 10 }), seg({ at: 5 })] } as Transport)).toBe(false);
  });
});
