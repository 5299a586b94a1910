import { describe, expect, it } from 'vitest';
import type { Segment } from '../bindings';
import { bandSummary, beatBadge, transportLine } from './labels';

const seg = (playing: boolean, tempo: number): Segment => ({
  at: 0,
  playing,
  timeline: { tempo, beat_origin: 0, time_origin: 0 },
  meter: { beats: 7, unit: 8, groups: [2, 2, 3] },
  bar_origin: 0,
  song_start: 0,
});

describe('labels', () => {
  it('name the beat in the top bar in words', () => {
    expect(beatBadge({ playing: false, countIn: false, bar: 4, beat: 1 })).toBe('stopped');
    expect(beatBadge({ playing: true, countIn: false, bar: 2, beat: 2 })).toBe('bar 3\nbeat 3');
    expect(beatBadge({ playing: true, countIn: true, bar: -1, beat: 0 })).toBe('count-in\nbeat 1');
  });

  it('say the transport in one line', () => {
    expect(transportLine(seg(true, 120_000), 'Ana')).toBe('▶ playing · Ana leads');
    expect(transportLine(seg(false, 92_500), null)).toBe('■ stopped · nobody leads');
  });

  it('count the band', () => {
    expect(bandSummary({ members: 5, online: 4, leader: null })).toBe('Band: 4 of 5 online');
  });
});
