//! The setlist and charts in the session's Y.Doc (PROTOCOL §12): `setlist` is a Y.Array of
//! Y.Maps `{id, title, key, tempo (milli-BPM), meter, notes, midi, flow}` in play order, `charts` a Y.Map from song id to
//! Y.Text. Reading and every edit live here, each edit in one transaction.

import * as Y from 'yjs';
import type { Meter, Song } from '../bindings';
import { formatMeter, parseMeter } from '../core/timeline';
import { storedTempos } from '../wasm/api';

/** One song of the setlist (`bandsync_core::setlist::Song`): `tempo` is milli-BPM, or `null`. */
export type { Song };

export const setlistOf = (doc: Y.Doc) => doc.getArray<Y.Map<unknown>>('setlist');
export const chartsOf = (doc: Y.Doc) => doc.getMap<Y.Text>('charts');

/** A text field as the host reads it (`bandsync_core::setlist`): a string as it is, a number or
 *  a boolean as its text, anything else as empty. */
function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
}

/** The setlist in order: text fields as the host reads them (`str`), tempos by the core's one
 *  rule (milli-BPM; an older document's BPM reads as the same tempo). Entries that are not maps
 *  (no client writes them) are skipped. */
export function readSetlist(doc: Y.Doc): Song[] {
  return readSongs(
    setlistOf(doc)
      .toArray()
      .filter((m): m is Y.Map<unknown> => m instanceof Y.Map),
  );
}

function readSongs(maps: Y.Map<unknown>[]): Song[] {
  const tempos = storedTempos(maps.map((m) => m.get('tempo')));
  return maps.map((m, i) => ({
    id: str(m.get('id')),
    title: str(m.get('title')),
    key: str(m.get('key')),
    tempo: tempos[i],
    meter: str(m.get('meter')),
    notes: str(m.get('notes')),
    midi: str(m.get('midi')),
    flow: str(m.get('flow')),
  }));
}

/** A random song id: 12 characters, so that two members never make the same one. */
export function newSongId(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

function songMap(s: Song): Y.Map<unknown> {
  const m = new Y.Map<unknown>();
  m.set('id', s.id);
  m.set('title', s.title);
  m.set('key', s.key);
  m.set('tempo', s.tempo);
  m.set('meter', s.meter);
  m.set('notes', s.notes);
  m.set('midi', s.midi);
  m.set('flow', s.flow);
  return m;
}

/** Appends a song and creates its chart (only the creator of a song ever creates its Y.Text). */
export function addSong(doc: Y.Doc, s: Song, chart = ''): void {
  doc.transact(() => {
    setlistOf(doc).push([songMap(s)]);
    if (!chartsOf(doc).has(s.id)) chartsOf(doc).set(s.id, new Y.Text(chart));
  });
}

function indexOf(doc: Y.Doc, id: string): number {
  return setlistOf(doc)
    .toArray()
    .findIndex((m) => m instanceof Y.Map && m.get('id') === id);
}

/** Changes some fields of a song; only the fields that read differently are written (an older
 *  song's tempo in BPM is left as it is when it reads as the same tempo, so that a concurrent
 *  change of it by someone else stays). */
export function updateSong(doc: Y.Doc, id: string, fields: Partial<Omit<Song, 'id'>>): void {
  const i = indexOf(doc, id);
  if (i < 0) return;
  const m = setlistOf(doc).get(i);
  const now: Record<string, unknown> = readSongs([m])[0];
  doc.transact(() => {
    for (const [k, v] of Object.entries(fields)) if (now[k] !== v) m.set(k, v);
  });
}

/**
 * Moves a song to position `to` (after removal). A Y.Array has no move: the entry is removed and
 * a copy inserted, with the same id, so the chart stays attached.
 */
export function moveSong(doc: Y.Doc, id: string, to: number): void {
  const arr = setlistOf(doc);
  const from = indexOf(doc, id);
  if (from < 0) return;
  const target = Math.max(0, Math.min(arr.length - 1, to));
  if (target === from) return;
  doc.transact(() => {
    const [s] = readSongs([arr.get(from)]);
    arr.delete(from, 1);
    arr.insert(target, [songMap(s)]);
  });
}

/** Removes a song and its chart. A saved version brings both back. */
export function deleteSong(doc: Y.Doc, id: string): void {
  doc.transact(() => {
    const i = indexOf(doc, id);
    if (i >= 0) setlistOf(doc).delete(i, 1);
    chartsOf(doc).delete(id);
  });
}

/** The chart text of a song, creating an empty one when a song has none (older documents). */
export function chartText(doc: Y.Doc, id: string, create: boolean): Y.Text | null {
  const charts = chartsOf(doc);
  const t = charts.get(id);
  if (t instanceof Y.Text) return t;
  if (!create) return null;
  const fresh = new Y.Text('');
  charts.set(id, fresh);
  return fresh;
}

/** A song's meter as the protocol's `Meter`, or `null` when it has none or it is not valid. */
export function songMeter(s: Pick<Song, 'meter'>): Meter | null {
  return parseMeter(s.meter);
}

/** A meter as the setlist stores it, in the core's words: "7/8", with the grouping only when unusual ("7/8 3+2+2"). */
export function meterFields(m: Meter): { meter: string } {
  return { meter: formatMeter(m) };
}

/** A song's meter for people: "7/8" or "7/8 (3+2+2)". */
export function meterLabel(s: Pick<Song, 'meter'>): string {
  const m = parseMeter(s.meter);
  return m ? formatMeter(m).replace(/ (.+)/, ' ($1)') : s.meter;
}
