import { describe, expect, it } from 'vitest';
import type { Transport } from '../bindings';
import { flowPlaceAt, flowProblem, flowStart } from './flow';

/** 120 BPM in 4/4 (a bar is 2 s) from host time 0, the song's flow from its first bar. */
const TR: Transport = {
  segments: [
    {
      at: 0,
      playing: true,
      timeline: { tempo: 120_000, beat_origin: 0, time_origin: 0 },
      meter: { beats: 4, unit: 4, groups: [4] },
      bar_origin: 0,
      song_start: 0,
      song: { id: 's' },
      flow: { bar: 0 },
    },
  ],
};

describe('a song flow through the core', () => {
  it('says what does not read', () => {
    expect(flowProblem('Intro 4, V1 16, C 8')).toBeNull();
    expect(flowProblem('Intro 4, Verse')).toContain('Verse');
  });

  it('finds the part and the chart section where the transport stands, and where parts start', () => {
    const chart = '{sov: Verse 1}\na\n{soc}\nb\n';
    expect(flowPlaceAt('Intro 2, V1 4, C 4', TR, 6 * 2_000_000 + 500_000, chart)).toMatchObject({ name: 'C', bar: 0, section: 1, next: null });
    expect(flowPlaceAt('Intro 2', TR, 2 * 2_000_000 + 500_000)).toBeNull();
    expect(flowPlaceAt('nonsense', TR, 0)).toBeNull();
    expect([flowStart('Intro 2, V1 4, C 4', 2), flowStart('Intro 2', 1)]).toEqual([6, null]);
  });
});
