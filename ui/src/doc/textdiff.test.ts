//! The binding's text arithmetic, without a textarea: the diff of an edit, and positions and
//! changes mapped through Y deltas.

import { describe, expect, it } from 'vitest';
import { deltaEnd, diffText, mapIndex, mapSelection, rebaseChange, type TextChange } from './textbinding';
import { rng } from './textbinding.fixtures';

function applyChange(s: string, c: TextChange): string {
  return s.slice(0, c.index) + c.insert + s.slice(c.index + c.remove);
}

describe('diffText', () => {
  it('finds the one change, placed at the caret when the text around it repeats', () => {
    expect(diffText('abc', 'abc')).toBeNull();
    expect(diffText('abc', 'abXc')).toEqual({ index: 2, remove: 0, insert: 'X' });
    expect(diffText('abc', 'ac')).toEqual({ index: 1, remove: 1, insert: '' });
    expect(diffText('hello world', 'hello there world')).toEqual({ index: 6, remove: 0, insert: 'there ' });
    expect(diffText('abcdef', 'aXYf')).toEqual({ index: 1, remove: 4, insert: 'XY' });
    // "a" typed between the two a's of "aa": without the caret the insert would land at the end.
    expect(diffText('aa', 'aaa')).toEqual({ index: 2, remove: 0, insert: 'a' });
    expect(diffText('aa', 'aaa', 2)).toEqual({ index: 1, remove: 0, insert: 'a' });
    expect(diffText('aa', 'aaa', 1)).toEqual({ index: 0, remove: 0, insert: 'a' });
    // Backspace in "aaa" with the caret at 2 deleted the second a.
    expect(diffText('aaa', 'aa', 1)).toEqual({ index: 1, remove: 1, insert: '' });
    // Enter between two newlines.
    expect(diffText('a\n\nb', 'a\n\n\nb', 3)).toEqual({ index: 2, remove: 0, insert: '\n' });
  });

  it('never cuts a surrogate pair', () => {
    // 😀 and 😁 share their high surrogate; the change is the whole emoji.
    expect(diffText('x😀y', 'x😁y')).toEqual({ index: 1, remove: 2, insert: '😁' });
    // 🎸 (D83C DFB8) and 🎹 (D83C DFB9) too, with the caret after the new one.
    expect(diffText('🎸', '🎹', 2)).toEqual({ index: 0, remove: 2, insert: '🎹' });
    // And ones sharing the low surrogate: U+1F600 (D83D DE00) and U+1F400 (D83D DC00)... and
    // U+1F600 against U+1F000-ish pairs that only share the second half.
    const a = '\ud83d\ude00';
    const b = '\ud83c\ude00';
    expect(diffText(`x${a}y`, `x${b}y`)).toEqual({ index: 1, remove: 2, insert: b });
    expect(diffText(`${a}`, `${b}`, 2)).toEqual({ index: 0, remove: 2, insert: b });
    expect(diffText('a😀', 'a')).toEqual({ index: 1, remove: 2, insert: '' });
    expect(diffText('😀😀', '😀🎸😀', 4)).toEqual({ index: 2, remove: 0, insert: '🎸' });
  });

  it('finds the smallest edit in a text with a lone surrogate (it travels as UTF-16 units)', () => {
    expect(diffText('ab\ud800', 'abc\ud800')).toEqual({ index: 2, remove: 0, insert: 'c' });
    expect(diffText('a\ud800b', 'a\ud801b')).toEqual({ index: 1, remove: 1, insert: '\ud801' });
    expect(diffText('ab', 'a\udc00b', -1)).toEqual({ index: 1, remove: 0, insert: '\udc00' });
  });

  it('turns the before into the after, whole code points only (random edits)', () => {
    const rand = rng(7);
    const alphabet = ['a', 'b', ' ', '\n', '😀', '😁', '🎸', '\ud83c\ude00', 'é'];
    const word = (n: number) => Array.from({ length: n }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
    const cut = (s: string) => {
      // A boundary between code points.
      const points = [...s];
      const i = Math.floor(rand() * (points.length + 1));
      return points.slice(0, i).join('').length;
    };
    for (let n = 0; n < 2000; n++) {
      const before = word(Math.floor(rand() * 8));
      const i = cut(before);
      const rest = before.slice(i);
      const j = i + cut(rest);
      const ins = word(Math.floor(rand() * 3));
      const after = before.slice(0, i) + ins + before.slice(j);
      const c = diffText(before, after, rand() < 0.7 ? i + ins.length : undefined);
      if (before === after) {
        expect(c).toBeNull();
        continue;
      }
      expect(c).not.toBeNull();
      expect(applyChange(before, c!)).toBe(after);
      const wellFormed = (s: string) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
      expect(wellFormed(c!.insert), JSON.stringify({ before, after, c })).toBe(true);
      expect(wellFormed(before.slice(c!.index, c!.index + c!.remove))).toBe(true);
    }
  });
});

describe('mapping through a delta', () => {
  const ins = [{ retain: 2 }, { insert: 'XY' }];
  const del = [{ retain: 1 }, { delete: 3 }];
  it('moves positions after an insert, keeps the ones before', () => {
    expect(mapIndex(1, ins, -1)).toBe(1);
    expect(mapIndex(3, ins, -1)).toBe(5);
    expect(mapIndex(2, ins, -1)).toBe(2);
    expect(mapIndex(2, ins, 1)).toBe(4);
    expect(mapIndex(10, ins, 1)).toBe(12);
  });
  it('collapses positions inside a deletion to its start', () => {
    expect(mapIndex(0, del, 1)).toBe(0);
    expect(mapIndex(2, del, 1)).toBe(1);
    expect(mapIndex(4, del, 1)).toBe(1);
    expect(mapIndex(6, del, 1)).toBe(3);
  });
  it('keeps a caret before text inserted at it; a range takes what is inserted inside it only', () => {
    expect(mapSelection(2, 2, [ins])).toEqual([2, 2]);
    expect(mapSelection(2, 3, [ins])).toEqual([4, 5]);
    expect(mapSelection(0, 2, [ins])).toEqual([0, 2]);
    expect(mapSelection(1, 3, [ins])).toEqual([1, 5]);
    expect(mapSelection(1, 4, [del])).toEqual([1, 1]);
  });
  it('moves a change over later deltas, and finds where an undo ends', () => {
    expect(rebaseChange({ index: 3, remove: 0, insert: 'z' }, [ins])).toEqual({ index: 5, remove: [], insert: 'z' });
    expect(rebaseChange({ index: 2, remove: 0, insert: 'z' }, [ins])).toEqual({ index: 2, remove: [], insert: 'z' });
    // "abcd" with "bc" replaced by z, while XY went in between b and c: XY stays.
    expect(rebaseChange({ index: 1, remove: 2, insert: 'z' }, [ins])).toEqual({ index: 1, remove: [[1, 2], [4, 5]], insert: 'z' });
    // Text deleted meanwhile is not deleted twice.
    expect(rebaseChange({ index: 2, remove: 3, insert: '' }, [del])).toEqual({ index: 1, remove: [[1, 2]], insert: '' });
    // Through two deltas: "abcdef" all deleted, while XY went in at 2 and "bXY" was deleted.
    expect(rebaseChange({ index: 0, remove: 6, insert: '' }, [ins, del])).toEqual({ index: 0, remove: [[0, 5]], insert: '' });
    expect(deltaEnd(ins)).toBe(4);
    expect(deltaEnd(del)).toBe(1);
    expect(deltaEnd([{ retain: 3 }])).toBeNull();
  });
});
