import { describe, expect, it } from 'vitest';
import type { Meter, Segment, Transport } from '../bindings';
import { coreInfo } from '../wasm/api';
import { beatPosition, defaultGroups, formatMeter, MAX_BPM, MIN_BPM, meterError, ONE_BEAT, parseMeter, tempoFromBpm } from './timeline';

const FOUR: Meter = { beats: 4, unit: 4, groups: [4] };

function playing(over: Partial<Segment> = {}): Segment {
  return { at: 0, playing: true, timeline: { tempo: 120_000, beat_origin: 0, time_origin: 0 }, meter: FOUR, bar_origin: 0, song_start: 0, ...over };
}

describe('the timeline, from the core', () => {
  it("keeps the view's constants equal to the core's", () => {
    const i = coreInfo();
    expect([ONE_BEAT, MIN_BPM, MAX_BPM]).toEqual([i.one_beat, i.min_bpm, i.max_bpm]);
  });

  it('says where a count-in and a bar stand', () => {
    const tr: Transport = { segments: [playing({ timeline: { tempo: 120_000, beat_origin: -4 * ONE_BEAT, time_origin: 0 } })] };
    const inCount = beatPosition(tr, 600_000);
    expect([inCount.count_in, inCount.count_in_bars_left, inCount.beat]).toEqual([true, 1, 1]);
    const p = beatPosition(tr, 2_000_000 + 1_750_000);
    expect([p.count_in, p.bar, p.beat, p.accents]).toEqual([false, 0, 3, ['downbeat', 'beat', 'beat', 'beat']]);
  });

  it('reads, writes and checks meters and tempos as the core does', () => {
    expect(parseMeter('7/8')?.groups).toEqual([2, 2, 3]);
    expect(formatMeter({ beats: 7, unit: 8, groups: [3, 2, 2] })).toBe('7/8 3+2+2');
    expect(defaultGroups(9, 8)).toEqual([3, 3, 3]);
    expect(meterError(7, 8, [3, 3])).toMatch(/add up/);
    expect(meterError(4, 4, [4])).toBeNull();
    expect(parseMeter('7/7')).toBeNull();
    expect(tempoFromBpm(96.5)).toBe(96_500);
    expect(tempoFromBpm(1000)).toBeNull();
  });
});
