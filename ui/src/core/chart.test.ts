import { describe, expect, it } from 'vitest';
import { keyPrefersFlats, musicLineCount, parseChart, scrollFraction, transposeChord, transposeKey } from './chart';

describe('transpose', () => {
  it('moves roots and slash basses, keeping the chord quality', () => {
    expect(transposeChord('C', 2, false)).toBe('D');
    expect(transposeChord('Am7', 3, false)).toBe('Cm7');
    expect(transposeChord('C#m7b5/G#', 1, false)).toBe('Dm7b5/A');
    expect(transposeChord('F/A', -1, true)).toBe('E/Ab');
    expect(transposeChord('Bb', 2, true)).toBe('C');
    expect(transposeChord('B', 1, false)).toBe('C');
    expect(transposeChord('Gmaj7', 5, false)).toBe('Cmaj7');
    expect(transposeChord('Eb', -13, true)).toBe('D');
  });

  it('leaves things that are not chords alone', () => {
    expect(transposeChord('N.C.', 3, false)).toBe('N.C.');
    expect(transposeChord('x2', 3, false)).toBe('x2');
    expect(transposeChord('Hm', 3, false)).toBe('Hm');
  });

  it('spells keys the way musicians write them', () => {
    expect(keyPrefersFlats('F')).toBe(true);
    expect(keyPrefersFlats('Dm')).toBe(true);
    expect(keyPrefersFlats('Gm')).toBe(true);
    expect(keyPrefersFlats('E')).toBe(false);
    expect(keyPrefersFlats('Em')).toBe(false);
    expect(transposeKey('C', 3)).toBe('Eb');
    expect(transposeKey('C', 1)).toBe('Db');
    expect(transposeKey('A', 1)).toBe('Bb');
    expect(transposeKey('E', 2)).toBe('F#');
    expect(transposeKey('Am', 3)).toBe('Cm');
    expect(transposeKey('Cm', 3)).toBe('Ebm');
  });
});

describe('chart reading', () => {
  const chart = '{title: Wonderwall}\n{c: capo 2}\n\n[Em7]Today is [G]gonna be the day\nno chords here\n{soc}\n[C]And [D]all the roads\n{eoc}\n[Am]';

  it('splits lines into chords over lyrics and directives', () => {
    const lines = parseChart(chart);
    expect(lines[0]).toEqual({ kind: 'title', text: 'Wonderwall' });
    expect(lines[1]).toEqual({ kind: 'comment', text: 'capo 2' });
    expect(lines[2]).toEqual({ kind: 'blank' });
    expect(lines[3]).toEqual({
      kind: 'lyrics',
      pairs: [
        { chord: 'Em7', text: 'Today is ' },
        { chord: 'G', text: 'gonna be the day' },
      ],
    });
    expect(lines[4]).toEqual({ kind: 'lyrics', pairs: [{ chord: null, text: 'no chords here' }] });
    expect(lines[5]).toEqual({ kind: 'section', text: 'Chorus', chorus: true });
    expect(lines[7]).toEqual({ kind: 'lyrics', pairs: [{ chord: 'Am', text: '' }] });
    expect(lines.length).toBe(8); // {eoc} shows nothing
  });

  it('counts the lines that stand for music', () => {
    expect(musicLineCount(chart)).toBe(4);
  });

  it('scrolls by beats elapsed against the estimated length', () => {
    // 10 lines, 2 bars per line, 4/4: 80 beats.
    expect(scrollFraction(0, 10, 2, 4)).toBe(0);
    expect(scrollFraction(-4, 10, 2, 4)).toBe(0); // count-in
    expect(scrollFraction(40, 10, 2, 4)).toBe(0.5);
    expect(scrollFraction(200, 10, 2, 4)).toBe(1);
    expect(scrollFraction(10, 0, 2, 4)).toBe(0);
  });
});
