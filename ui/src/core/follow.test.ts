import { describe, expect, it } from 'vitest';
import type { Segment, Transport } from '../bindings';
import type { Song } from '../doc/setlist';
import { follow } from './follow';
import { beatPosition, ONE_BEAT } from './timeline';

const song = (id: string, flow: string): Song => ({ id, title: id.toUpperCase(), key: '', tempo: null, meter: '', notes: '', midi: '', flow });
const SONGS = [song('a', 'Intro 2, V1 4, C 4'), song('b', '')];

/** 120 BPM in 4/4 (a bar is 2 s), playing from host time 0 after `countIn` bars, song `id`. */
function transport(id: string | null, countIn = 0): Transport {
  const seg: Segment = {
    at: 0,
    playing: true,
    timeline: { tempo: 120_000, beat_origin: -4 * countIn * ONE_BEAT, time_origin: 0 },
    meter: { beats: 4, unit: 4, groups: [4] },
    bar_origin: 0,
    song_start: 0,
    ...(id ? { song: { id }, flow: { bar: 0 } } : {}),
  };
  return { segments: [seg] };
}

const at = (tr: Transport, bar: number) => [tr, bar * 2_000_000 + 500_000, beatPosition(tr, bar * 2_000_000 + 500_000)] as const;

describe('following the current song on the shared bar', () => {
  it('asks the core for the part of the bar since the song started', () => {
    const tr = transport('a');
    expect(follow(...at(tr, 0), 'a', SONGS)?.place).toMatchObject({ name: 'Intro', bar: 0, bars: 2, next: 'V1' });
    expect(follow(...at(tr, 3), 'a', SONGS)?.place).toMatchObject({ name: 'V1', bar: 1, bars: 4, next: 'C' });
    expect(follow(...at(tr, 9), 'a', SONGS)?.place).toMatchObject({ name: 'C', bar: 3, next: null });
    expect(follow(...at(tr, 10), 'a', SONGS)).toMatchObject({ bar: 10, place: null });
  });

  it('has no part in a count-in, and nothing while stopped or without a flow', () => {
    const tr = transport('a', 1);
    expect(follow(tr, 500_000, beatPosition(tr, 500_000), 'a', SONGS)).toMatchObject({ song: { id: 'a' }, bar: -1, place: null });
    expect(follow(tr, 2_500_000, beatPosition(tr, 2_500_000), 'a', SONGS)?.place?.name).toBe('Intro');
    const [t2, n2, p2] = at(tr, 2);
    expect(follow(t2, n2, { ...p2, playing: false }, 'a', SONGS)).toBeNull();
    expect(follow(...at(transport('b'), 2), 'b', SONGS)).toBeNull();
    expect(follow(...at(transport(null), 2), null, SONGS)).toBeNull();
  });

  it('follows the leader: a vamp loops its part, a move jumps to its bar', () => {
    const tr = transport('a');
    // From bar 4 on (host 8 s), the band vamps on the verse from its second bar (flow bar 3).
    const vamp: Transport = { segments: [...tr.segments, { ...tr.segments[0], at: 8_000_000, bar_origin: 4 * 4 * ONE_BEAT, flow: { bar: 3, vamp: 3 } }] };
    const name = (bar: number) => follow(...at(vamp, bar), 'a', SONGS)?.place;
    expect(name(3)).toMatchObject({ name: 'V1', bar: 1, vamping: false });
    expect(name(4)).toMatchObject({ name: 'V1', bar: 1, vamping: true });
    expect(name(7)).toMatchObject({ name: 'V1', bar: 0, vamping: true }); // looped back
  });

  it("follows the segment's song, else the session's, and names the chart section of its own chart", () => {
    expect(follow(...at(transport(null), 0), 'a', SONGS)?.song.id).toBe('a');
    expect(follow(...at(transport('b'), 0), 'a', SONGS)).toBeNull();
    const chart = '{sov: Verse 1}\na\n{soc}\nb\n';
    const tr = transport('a');
    expect(follow(...at(tr, 6), 'a', SONGS, { id: 'a', text: chart })?.place).toMatchObject({ name: 'C', section: 1 });
    expect(follow(...at(tr, 6), 'a', SONGS, { id: 'b', text: chart })?.place?.section).toBeNull();
  });
});
