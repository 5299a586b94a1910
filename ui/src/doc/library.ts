//! The band's ChordPro library in and out of the setlist, by the Rust core's rules
//! (`bandsync_core::chart::library`, which `bandsync import` and `export` use too): a file's songs
//! with what each says about itself, and a song written back as a ChordPro file.

import type * as Y from 'yjs';
import type { ImportedSong } from '../bindings';
import { coreInfo } from '../wasm/api';
import { core } from '../wasm/core';
import { addSong, chartText, newSongId, type Song } from './setlist';

/**
 * Adds a song to the setlist, with its chart, for each song of the ChordPro files among `files`
 * (in name order; a file may hold several, `{new_song}` between them): its title (else the file's
 * name without its extension), key, tempo and meter from its directives. Other files are left
 * out. Returns how many songs it added, all in one transaction.
 */
export async function importFiles(doc: Y.Doc, files: Iterable<File>): Promise<number> {
  const found: [Song, string][] = [];
  for (const f of [...files].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const [, stem, ext] = /^(.*)\.([^.]*)$/.exec(f.name) ?? [];
    if (!coreInfo().extensions.includes(ext?.toLowerCase())) continue;
    for (const chart of core().call<string[]>('library.songs', { text: await f.text() })) {
      const m = core().call<ImportedSong>('library.imported', { text: chart });
      found.push([{ id: newSongId(), title: m.title ?? stem, key: m.key ?? '', tempo: m.tempo ?? null, meter: m.meter ?? '', notes: '', midi: '', flow: '' }, chart]);
    }
  }
  doc.transact(() => found.forEach(([s, chart]) => addSong(doc, s, chart)));
  return found.length;
}

/** A song's chart as a ChordPro file, with the directives it lacks for what the setlist knows. */
export function exportSong(chart: string, s: Song): string {
  return core().call<string>('library.exported', [chart, s.title, s.key, String(s.tempo ?? ''), s.meter]);
}

/** The set as one ChordPro file: each song exported, `{new_song}` between them. */
export function exportSet(doc: Y.Doc, songs: Song[]): string {
  return songs.map((s) => exportSong(chartText(doc, s.id, false)?.toString() ?? '', s)).join('{new_song}\n');
}
