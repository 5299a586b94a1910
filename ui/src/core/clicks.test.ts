import { describe, expect, it } from 'vitest';
import type { Meter, Segment, Transport } from '../bindings';
import { ClickCursor, clicksBetween } from './clicks';
import { fromBeats, nextBar, ONE_BEAT, toBeats } from './timeline';

function playing(tempo: number, meter: Meter, over: Partial<Segment> = {}): Segment {
  return {
    at: 0,
    playing: true,
    timeline: { tempo, beat_origin: 0, time_origin: 0 },
    meter,
    bar_origin: 0,
    song_start: 0,
    ...over,
  } as Segment;
}

const FOUR = { beats: 4, unit: 4, groups: [4] } as Meter;

/** What the server does for `tempo` while playing (session.rs): land on the next bar line. */
function changeTempo(tr: Transport, notBefore: number, tempo: number): Transport {
  const last = tr.segments[tr.segments.length - 1];
  const t = Math.max(notBefore, last.at);
  const bar = nextBar(last, toBeats(last.timeline, t));
  let at = fromBeats(last.timeline, bar);
  if (at < t) at = fromBeats(last.timeline, bar + last.meter.beats * ONE_BEAT);
  const pos = toBeats(last.timeline, at);
  const next = { ...last, at, timeline: { tempo, beat_origin: pos, time_origin: at } } as Segment;
  return { segments: [...tr.segments.filter((s) => s.at < at), next] } as Transport;
}

describe('click grid', () => {
  it('accents 7/8 grouped 2+2+3 as downbeat, beat, group, beat, group, beat, beat', () => {
    const tr = { segments: [playing(200_000, { beats: 7, unit: 8, groups: [2, 2, 3] } as Meter)] } as Transport;
    const clicks = clicksBetween(tr, 0, 7 * 300_000, 1);
    expect(clicks.map((c) => c.accent)).toEqual(['downbeat', 'beat', 'group', 'beat', 'group', 'beat', 'beat']);
    expect(clicks.map((c) => c.beatInBar)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(clicks.map((c) => c.host)).toEqual([0, 300_000, 600_000, 900_000, 1_200_000, 1_500_000, 1_800_000]);
  });

  it('puts a tempo change on the next bar line with its downbeat exactly once', () => {
    // An awkward tempo, so that the bar line's host time is rounded and the new timeline's origin
    // is not exactly on the grid.
    for (const [from, to] of [
      [133_333, 97_001],
      [120_000, 90_000],
      [61_700, 188_888],
      [999_000, 20_000],
      // The new origin lands 7 micro-beats past the bar line: at 20 BPM its downbeat maps 21 µs
      // before the segment starts, and only the seam slack keeps it.
      [900_013, 20_000],
    ]) {
      let tr = { segments: [playing(from, FOUR)] } as Transport;
      tr = changeTempo(tr, 2_100_000, to);
      const change = tr.segments[1];
      const clicks = clicksBetween(tr, 0, change.at + (4 * 60_000_000_000) / to, 1);
      const downbeats = clicks.filter((c) => Math.abs(c.host - change.at) <= 1_000);
      expect(downbeats.length, `${from}->${to}`).toBe(1);
      expect(downbeats[0].accent).toBe('downbeat');
      // Within a few µs of the bar line: at 20 BPM one micro-beat of rounding is 3 µs.
      expect(Math.abs(downbeats[0].host - change.at)).toBeLessThanOrEqual(30);
      // One click per beat, positions consecutive, times strictly increasing.
      for (let i = 1; i < clicks.length; i++) {
        expect(clicks[i].position - clicks[i - 1].position).toBe(ONE_BEAT);
        expect(clicks[i].host).toBeGreaterThan(clicks[i - 1].host);
      }
      // After the change the beat is the new tempo's length (to within a microsecond).
      const i = clicks.indexOf(downbeats[0]);
      const beat = 60_000_000_000 / to;
      expect(Math.abs(clicks[i + 1].host - clicks[i].host - beat)).toBeLessThanOrEqual(30);
      expect(Math.abs(clicks[i + 2].host - clicks[i + 1].host - beat)).toBeLessThanOrEqual(1);
    }
  });

  it('120 to 90 BPM at the bar line: the example of PROTOCOL §5.7', () => {
    const tr = {
      segments: [
        playing(120_000, FOUR, { at: 5_150_000, timeline: { tempo: 120_000, beat_origin: -4_000_000, time_origin: 5_150_000 } }),
        playing(90_000, FOUR, { at: 9_150_000, timeline: { tempo: 90_000, beat_origin: 4_000_000, time_origin: 9_150_000 } }),
      ],
    } as Transport;
    const clicks = clicksBetween(tr, 0, 10_500_000, 1);
    expect(clicks.map((c) => c.host)).toEqual([
      5_150_000, 5_650_000, 6_150_000, 6_650_000, // count-in bar
      7_150_000, 7_650_000, 8_150_000, 8_650_000, // bar 1 at 120
      9_150_000, 9_816_667, 10_483_333, // bar 2 at 90
    ]);
    expect(clicks.slice(0, 4).every((c) => c.countIn && c.bar === -1)).toBe(true);
    expect(clicks[4]).toMatchObject({ countIn: false, bar: 0, accent: 'downbeat' });
    expect(clicks[8]).toMatchObject({ bar: 1, beatInBar: 0, accent: 'downbeat' });
  });

  it('subdivides on the exact grid, with subdivisions unaccented', () => {
    const tr = { segments: [playing(60_000, FOUR)] } as Transport;
    const clicks = clicksBetween(tr, 0, 1_000_000, 3);
    expect(clicks.map((c) => c.position)).toEqual([0, 333_333, 666_666]);
    expect(clicks.map((c) => c.subdivision)).toEqual([false, true, true]);
    expect(clicks.map((c) => c.accent)).toEqual(['downbeat', 'beat', 'beat']);
    expect(clicks.map((c) => c.host)).toEqual([0, 333_333, 666_666]);
  });

  it('stops clicking where a stop lands', () => {
    const stopAt = 4_000_000;
    const tr = {
      segments: [
        playing(120_000, FOUR),
        playing(120_000, FOUR, { at: stopAt, playing: false, timeline: { tempo: 120_000, beat_origin: 8_000_000, time_origin: stopAt } }),
      ],
    } as Transport;
    const clicks = clicksBetween(tr, 0, 10_000_000, 1);
    expect(clicks.length).toBe(8);
    expect(clicks[clicks.length - 1].host).toBe(3_500_000);
  });

  it('hands every click out once however the windows are cut', () => {
    let tr = { segments: [playing(133_333, { beats: 7, unit: 8, groups: [2, 2, 3] } as Meter)] } as Transport;
    tr = changeTempo(tr, 3_000_000, 171_717);
    const whole = clicksBetween(tr, 0, 12_000_000, 2);
    const cursor = new ClickCursor();
    const pieces = [];
    let t = 0;
    let seed = 7;
    while (t < 12_000_000) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const step = 1 + (seed % 60_000);
      const end = Math.min(12_000_000, t + step);
      // Windows overlap the past (as a scheduler that re-reads "now" does).
      pieces.push(...cursor.take(tr, t - (seed % 3000), end, 2));
      t = end;
    }
    expect(pieces.map((c) => c.host)).toEqual(whole.map((c) => c.host));
  });

  it('replays clicks after a rewind from the new schedule, without doubling the kept ones', () => {
    const a = { segments: [playing(120_000, FOUR)] } as Transport;
    const cursor = new ClickCursor();
    const first = cursor.take(a, 0, 1_200_000, 1); // 0, 0.5 s, 1.0 s
    expect(first.map((c) => c.host)).toEqual([0, 500_000, 1_000_000]);
    // The click at 1.0 s is cancelled; a schedule at 60 BPM from 0.5 s replaces the old one.
    cursor.rewind(1_000_000, 500_000);
    const b = {
      segments: [playing(120_000, FOUR), playing(60_000, FOUR, { at: 500_000, timeline: { tempo: 60_000, beat_origin: 1_000_000, time_origin: 500_000 } })],
    } as Transport;
    expect(cursor.take(b, 900_000, 2_000_000, 1).map((c) => c.host)).toEqual([1_500_000]);
  });
});
