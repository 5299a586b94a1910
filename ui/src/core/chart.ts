//! Chord charts: ChordPro-style text (`[C]` marks a chord, `{title: …}` a directive), read for
//! display, transposed for one reader, and measured for auto-scroll. Display-only: nothing here
//! edits the shared document.

const SHARPS = ['C', 'C#', 'D', 'D#', 'E', 'F', 'F#', 'G', 'G#', 'A', 'A#', 'B'];
const FLATS = ['C', 'Db', 'D', 'Eb', 'E', 'F', 'Gb', 'G', 'Ab', 'A', 'Bb', 'B'];
const NOTE = /^([A-G])([#b♯♭]?)/;

/** The pitch class (0 = C) of a note name such as `Bb` or `F#`, or `null`. */
export function pitchClass(note: string): number | null {
  const m = NOTE.exec(note);
  if (!m) return null;
  const base = { C: 0, D: 2, E: 4, F: 5, G: 7, A: 9, B: 11 }[m[1] as 'C'];
  const acc = m[2] === '#' || m[2] === '♯' ? 1 : m[2] === 'b' || m[2] === '♭' ? -1 : 0;
  return (base + acc + 12) % 12;
}

/** Major keys written with flats (F Bb Eb Ab Db; F# rather than Gb). */
const FLAT_MAJORS = new Set([5, 10, 3, 8, 1]);
/** Minor keys written with flats, by their relative major (Dm Gm Cm Fm Bbm Ebm). */
const FLAT_MINORS = new Set([5, 10, 3, 8, 1, 6]);

/** Whether chords in `key` (e.g. "Eb", "Gm") are spelled with flats. */
export function keyPrefersFlats(key: string): boolean {
  const pc = pitchClass(key.trim());
  if (pc === null) return false;
  const minor = /^[A-G][#b♯♭]?m(?!aj)/.test(key.trim());
  return minor ? FLAT_MINORS.has((pc + 3) % 12) : FLAT_MAJORS.has(pc);
}

/** One note name moved by `semis` semitones. Anything that is not a note is returned as is. */
export function transposeNote(note: string, semis: number, flats: boolean): string {
  const pc = pitchClass(note);
  if (pc === null) return note;
  const m = NOTE.exec(note)!;
  const names = flats ? FLATS : SHARPS;
  return names[(((pc + semis) % 12) + 12) % 12] + note.slice(m[0].length);
}

/**
 * A chord name moved by `semis` semitones: the root and any slash bass (`C#m7/G#`). Text that is
 * not a chord (`[N.C.]`, `[x2]`) is returned unchanged.
 */
export function transposeChord(chord: string, semis: number, flats: boolean): string {
  if (semis % 12 === 0) return chord;
  const m = /^([A-G][#b♯♭]?)([^/]*)(?:\/([A-G][#b♯♭]?)(.*))?$/.exec(chord.trim());
  if (!m) return chord;
  const root = transposeNote(m[1], semis, flats);
  const bass = m[3] ? `/${transposeNote(m[3], semis, flats)}${m[4] ?? ''}` : '';
  return root + m[2] + bass;
}

/** A key name moved by `semis`, spelled the conventional way for the new key. */
export function transposeKey(key: string, semis: number): string {
  const k = key.trim();
  if (!k || pitchClass(k) === null) return key;
  const sharp = transposeChord(k, semis, false);
  const flat = transposeChord(k, semis, true);
  if (sharp === flat) return sharp;
  return keyPrefersFlats(flat) ? flat : sharp;
}

/** A piece of a chart line: a chord (or none) and the lyric that follows it. */
export interface ChordPair {
  chord: string | null;
  text: string;
}

export type ChartLine =
  | { kind: 'lyrics'; pairs: ChordPair[] }
  | { kind: 'title'; text: string }
  | { kind: 'comment'; text: string }
  | { kind: 'section'; text: string; chorus: boolean }
  | { kind: 'blank' };

/** Reads a chart for display. Unknown directives show as section labels. */
export function parseChart(text: string): ChartLine[] {
  const out: ChartLine[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const dir = /^\s*\{\s*([a-zA-Z_]+)\s*(?::\s*(.*?))?\s*\}\s*$/.exec(line);
    if (dir) {
      const name = dir[1].toLowerCase();
      const arg = dir[2] ?? '';
      if (name === 'title' || name === 't' || name === 'subtitle' || name === 'st') out.push({ kind: 'title', text: arg });
      else if (name === 'comment' || name === 'c' || name === 'ci' || name === 'comment_italic') out.push({ kind: 'comment', text: arg });
      else if (name === 'start_of_chorus' || name === 'soc') out.push({ kind: 'section', text: arg || 'Chorus', chorus: true });
      else if (name === 'end_of_chorus' || name === 'eoc' || name.startsWith('end_of_') || name.startsWith('eo')) continue;
      else if (name.startsWith('start_of_')) out.push({ kind: 'section', text: arg || cap(name.slice(9)), chorus: false });
      else out.push({ kind: 'section', text: arg ? `${cap(name)}: ${arg}` : cap(name), chorus: false });
      continue;
    }
    if (line.trim() === '') {
      out.push({ kind: 'blank' });
      continue;
    }
    const pairs: ChordPair[] = [];
    const re = /\[([^\]\n]*)\]/g;
    let last = 0;
    let chord: string | null = null;
    for (let m = re.exec(line); m; m = re.exec(line)) {
      if (m.index > last || chord !== null) pairs.push({ chord, text: line.slice(last, m.index) });
      chord = m[1];
      last = m.index + m[0].length;
    }
    pairs.push({ chord, text: line.slice(last) });
    out.push({ kind: 'lyrics', pairs: pairs.filter((p, i) => i === 0 || p.chord !== null || p.text !== '') });
  }
  return out;
}

function cap(s: string): string {
  const t = s.replace(/_/g, ' ');
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/** Lines that stand for music (bars), for the song-length estimate: not blank, not directives. */
export function musicLineCount(text: string): number {
  return parseChart(text).filter((l) => l.kind === 'lyrics').length;
}

/**
 * Where auto-scroll should be, 0 to 1: beats since the song start against the estimated song
 * length (`lines × barsPerLine` bars of `beatsPerBar`). Count-in and before-start give 0.
 */
export function scrollFraction(beatsSinceStart: number, lines: number, barsPerLine: number, beatsPerBar: number): number {
  const total = lines * barsPerLine * beatsPerBar;
  if (!(total > 0) || !(beatsSinceStart > 0)) return 0;
  return Math.min(1, beatsSinceStart / total);
}
