import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { exportSet, exportSong, importFiles } from './library';
import { chartText, readSetlist } from './setlist';

describe('the ChordPro library in and out of the setlist, through the core', () => {
  it('adds a song per song of each ChordPro file, in name order, and leaves other files out', async () => {
    const doc = new Y.Doc();
    const files = [
      new File(['{title: One}\n{key: D}\n{tempo: 96}\n{time: 3/4}\n[D]a\n{new_song}\n[G]b\n'], 'set.CHO'),
      new File(['not a chart'], 'notes.txt'),
      new File(['[E]c\n'], 'a.song.crd'),
    ];
    expect(await importFiles(doc, files)).toBe(3);
    const songs = readSetlist(doc);
    expect(songs.map((s) => [s.title, s.key, s.tempo, s.meter, chartText(doc, s.id, false)?.toString()])).toEqual([
      ['a.song', '', null, '', '[E]c\n'],
      ['One', 'D', 96_000, '3/4', '{title: One}\n{key: D}\n{tempo: 96}\n{time: 3/4}\n[D]a\n'],
      ['set', '', null, '', '[G]b\n'],
    ]);
    expect(new Set(songs.map((s) => s.id)).size).toBe(3);
  });

  it('writes what the setlist knows in front of a chart that lacks it, and the set imports back', async () => {
    const song = { id: 's', title: 'Two', key: 'G', tempo: 120_500, meter: '6/8', notes: '', midi: '', flow: '' };
    expect(exportSong('[G]b\n', song)).toBe('{title: Two}\n{key: G}\n{tempo: 120.5}\n{time: 6/8}\n[G]b\n');
    expect(exportSong('{title: X}\nc', { ...song, key: '', tempo: null, meter: '' })).toBe('{title: X}\nc\n');
    const doc = new Y.Doc();
    await importFiles(doc, [new File(['{title: One}\n{tempo: 90}\n[D]a\n{ns}\n{title: Two}\n[G]b\n'], 'x.cho')]);
    const set = exportSet(doc, readSetlist(doc));
    expect(set).toBe('{title: One}\n{tempo: 90}\n[D]a\n{new_song}\n{title: Two}\n[G]b\n');
    const again = new Y.Doc();
    expect(await importFiles(again, [new File([set], 'set.cho')])).toBe(2);
    expect(readSetlist(again).map((s) => [s.title, s.tempo])).toEqual([['One', 90_000], ['Two', null]]);
  });
});
