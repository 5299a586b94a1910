import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { chartsOf } from './setlist';
import { deltaEnd, diffText, mapIndex, mapSelection, rebaseChange, TextBinding, type TextAreaLike, type TextChange } from './textbinding';

/** A textarea as the binding sees it; `value =` puts the caret at the end, as browsers do. */
class FakeArea implements TextAreaLike {
  private text = '';
  selectionStart = 0;
  selectionEnd = 0;
  selectionDirection: 'forward' | 'backward' | 'none' = 'forward';
  readOnly = false;
  scrollTop = 0;
  private listeners = new Map<string, Set<(e: any) => void>>();

  get value(): string {
    return this.text;
  }
  set value(v: string) {
    this.text = v;
    this.selectionStart = this.selectionEnd = v.length;
  }
  setSelectionRange(start: number, end: number, direction: 'forward' | 'backward' | 'none' = 'forward'): void {
    this.selectionEnd = Math.min(end, this.text.length);
    this.selectionStart = Math.min(start, this.selectionEnd);
    this.selectionDirection = direction;
  }
  addEventListener(type: string, l: (e: any) => void): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(l);
  }
  removeEventListener(type: string, l: (e: any) => void): void {
    this.listeners.get(type)?.delete(l);
  }
  fire(type: string, init: Record<string, unknown> = {}): { defaultPrevented: boolean } {
    const ev = {
      type,
      defaultPrevented: false,
      preventDefault() {
        ev.defaultPrevented = true;
      },
      ...init,
    };
    for (const l of [...(this.listeners.get(type) ?? [])]) l(ev);
    return ev;
  }
  listenerCount(): number {
    return [...this.listeners.values()].reduce((n, s) => n + s.size, 0);
  }

  // What a person does. Each edit changes the value and fires `input`, unless `silent`.
  select(start: number, end = start, dir: 'forward' | 'backward' = 'forward'): void {
    this.setSelectionRange(start, end, dir);
    this.fire('select');
  }
  /** Replaces the selection with `s`, the caret after it. */
  type(s: string, silent = false): void {
    if (this.readOnly) return;
    const { selectionStart: a, selectionEnd: b } = this;
    this.text = this.text.slice(0, a) + s + this.text.slice(b);
    this.selectionStart = this.selectionEnd = a + s.length;
    if (!silent) this.fire('input', { isComposing: false });
  }
  /** Deletes the selection, or the code point before the caret. */
  backspace(silent = false): void {
    if (this.readOnly) return;
    let { selectionStart: a, selectionEnd: b } = this;
    if (a === b) {
      if (a === 0) return;
      a -= a >= 2 && /[\udc00-\udfff]/.test(this.text[a - 1]) && /[\ud800-\udbff]/.test(this.text[a - 2]) ? 2 : 1;
    }
    this.text = this.text.slice(0, a) + this.text.slice(b);
    this.selectionStart = this.selectionEnd = a;
    if (!silent) this.fire('input', { isComposing: false });
  }
  key(key: string, mods: { ctrl?: boolean; meta?: boolean; shift?: boolean } = {}) {
    return this.fire('keydown', { key, ctrlKey: !!mods.ctrl, metaKey: !!mods.meta, shiftKey: !!mods.shift, altKey: false });
  }
}

/** Two documents that exchange their updates when `sync()` is called (or at once when `live`). */
function twoDocs(initial: string, ids?: [number, number]) {
  const a = new Y.Doc();
  const b = new Y.Doc();
  // Concurrent inserts at one place are ordered by client id: fixed ids make that order fixed.
  if (ids) [a.clientID, b.clientID] = ids;
  const toA: Uint8Array[] = [];
  const toB: Uint8Array[] = [];
  let live = false;
  const sync = () => {
    while (toA.length || toB.length) {
      for (const u of toB.splice(0)) Y.applyUpdate(b, u, 'remote');
      for (const u of toA.splice(0)) Y.applyUpdate(a, u, 'remote');
    }
  };
  a.on('update', (u: Uint8Array, origin: unknown) => {
    if (origin === 'remote') return;
    toB.push(u);
    if (live) sync();
  });
  b.on('update', (u: Uint8Array, origin: unknown) => {
    if (origin === 'remote') return;
    toA.push(u);
    if (live) sync();
  });
  chartsOf(a).set('song', new Y.Text(initial));
  sync();
  const ta = chartsOf(a).get('song')!;
  const tb = chartsOf(b).get('song')!;
  const ea = new FakeArea();
  const eb = new FakeArea();
  const ba = new TextBinding(ta, ea);
  const bb = new TextBinding(tb, eb);
  return {
    a, b, ta, tb, ea, eb, ba, bb, sync,
    setLive(v: boolean) {
      live = v;
      if (v) sync();
    },
    /** Both documents and both textareas hold `text`. */
    expectAll(text: string) {
      expect(ta.toString()).toBe(text);
      expect(tb.toString()).toBe(text);
      expect(ea.value).toBe(text);
      expect(eb.value).toBe(text);
    },
  };
}

function applyChange(s: string, c: TextChange): string {
  return s.slice(0, c.index) + c.insert + s.slice(c.index + c.remove);
}

/** A small seeded generator, so that a failure repeats. */
function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
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

describe('TextBinding', () => {
  it('shows the text and sends typing, backspace and replacement as Y edits', () => {
    const t = twoDocs('[G]Blackbird');
    t.setLive(true);
    expect(t.ea.value).toBe('[G]Blackbird');
    t.ea.select(3);
    t.ea.type('Hey ');
    t.expectAll('[G]Hey Blackbird');
    t.ea.backspace();
    t.expectAll('[G]HeyBlackbird');
    t.ea.select(0, 3);
    t.ea.type('[Am7]');
    t.expectAll('[Am7]HeyBlackbird');
    t.ea.select(t.ea.value.length);
    t.ea.type('\nsinging');
    t.expectAll('[Am7]HeyBlackbird\nsinging');
  });

  it('edits with its own origin, one transaction each', () => {
    const doc = new Y.Doc();
    const text = doc.getText('t');
    const el = new FakeArea();
    const b = new TextBinding(text, el);
    const origins: unknown[] = [];
    doc.on('afterTransaction', (tr: Y.Transaction) => origins.push(tr.origin));
    el.type('abc');
    el.select(1, 2);
    el.type('XY');
    expect(text.toString()).toBe('aXYc');
    expect(origins).toEqual([b, b]);
  });

  it('keeps the local selection with its text when remote edits land before, after and inside it', () => {
    const t = twoDocs('one two three');
    t.setLive(true);
    t.ea.select(4, 7); // "two"
    t.eb.select(0);
    t.eb.type('>> ');
    expect(t.ea.value).toBe('>> one two three');
    expect(t.ea.value.slice(t.ea.selectionStart, t.ea.selectionEnd)).toBe('two');
    t.eb.select(t.eb.value.length);
    t.eb.type('!');
    expect(t.ea.value.slice(t.ea.selectionStart, t.ea.selectionEnd)).toBe('two');
    // Inside the selection: it grows with the insert.
    t.eb.select(9);
    t.eb.type('--');
    expect(t.ea.value).toBe('>> one tw--o three!');
    expect(t.ea.value.slice(t.ea.selectionStart, t.ea.selectionEnd)).toBe('tw--o');
    // A caret stays between the same letters; one at the remote insert stays before it.
    t.ea.select(4); // o|ne
    t.eb.select(4);
    t.eb.type('ZZ');
    expect(t.ea.value).toBe('>> oZZne tw--o three!');
    expect(t.ea.selectionStart).toBe(4);
    t.eb.select(6);
    t.eb.type('_');
    expect([t.ea.selectionStart, t.ea.selectionEnd]).toEqual([4, 4]);
    // Remote deletion around the caret.
    t.ea.select(8);
    t.eb.select(3, 10);
    t.eb.backspace();
    expect(t.ea.value).toBe('>> tw--o three!');
    expect([t.ea.selectionStart, t.ea.selectionEnd]).toEqual([3, 3]);
    // A backward selection stays backward.
    t.ea.select(3, 5, 'backward');
    t.eb.select(0);
    t.eb.type('#');
    expect([t.ea.selectionStart, t.ea.selectionEnd, t.ea.selectionDirection]).toEqual([4, 6, 'backward']);
    expect(t.ba.selection()).toEqual({ anchor: 6, head: 4 });
  });

  it.each([
    [1, 2],
    [2, 1],
  ])('converges when both type at once at the same place, emoji included (client ids %i, %i)', (ida, idb) => {
    const t = twoDocs('[C]Let it be', [ida, idb]);
    t.ea.select(3);
    t.eb.select(3);
    t.ea.type('🎸 ');
    t.eb.type('😀');
    t.eb.type('🎹');
    t.eb.backspace(); // the whole 🎹
    t.sync();
    const text = t.ta.toString();
    t.expectAll(text);
    expect([...text].sort().join('')).toBe([...'[C]🎸 😀Let it be'].sort().join(''));
    // Each one's caret is still right after what they typed.
    expect(text.slice(0, t.ea.selectionStart).endsWith('🎸 ')).toBe(true);
    expect(text.slice(0, t.eb.selectionStart).endsWith('😀')).toBe(true);
    // Replacing one emoji with its neighbour code point (shared high surrogate) concurrently with
    // an insert right after it.
    const at = text.indexOf('😀');
    t.ea.select(at, at + 2);
    t.ea.type('😁');
    t.eb.select(at + 2);
    t.eb.type('!');
    t.sync();
    t.expectAll(t.ta.toString());
    expect(t.ta.toString()).toMatch(/😁!|!😁/);
    expect(t.ta.toString()).not.toContain('😀');
    expect(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(t.ta.toString())).toBe(false);
  });

  it.each([
    [1, 2],
    [2, 1],
  ])('converges when one inserts inside the selection the other replaces (client ids %i, %i)', (ida, idb) => {
    const t = twoDocs('[G]Yesterday, all my troubles', [ida, idb]);
    t.ea.select(3, 12); // "Yesterday"
    t.eb.select(7);
    t.eb.type('XX'); // "YestXXerday" on B
    t.ea.type('Today');
    t.sync();
    t.expectAll(t.ta.toString());
    // Y keeps the concurrent insert: it was not in the text A deleted.
    const text = t.ta.toString();
    expect(text).toMatch(/^\[G\](XXToday|TodayXX), all my troubles$/);
    // Once A has seen an insert inside its selection, the selection holds it, and replacing the
    // selection takes it too.
    t.setLive(true);
    const comma = text.indexOf(',');
    t.ea.select(3, comma);
    t.eb.select(5);
    t.eb.type('__');
    expect(t.ea.value.slice(t.ea.selectionStart, t.ea.selectionEnd)).toBe(`${text.slice(3, 5)}__${text.slice(5, comma)}`);
    t.ea.type('Now');
    t.expectAll('[G]Now, all my troubles');
  });

  it('undoes and redoes only its own edits', () => {
    const t = twoDocs('verse');
    t.setLive(true);
    t.ea.select(5);
    t.ea.type(' one');
    t.ba.undoManager!.stopCapturing();
    t.eb.select(0);
    t.eb.type('[D]');
    t.expectAll('[D]verse one');
    t.eb.select(3);
    expect(t.ea.key('z', { ctrl: true }).defaultPrevented).toBe(true);
    t.expectAll('[D]verse');
    // The caret goes to what was undone; B's caret stays with its text.
    expect(t.ea.selectionStart).toBe(8);
    expect(t.eb.selectionStart).toBe(3);
    t.ea.key('z', { ctrl: true }); // nothing more of A's to undo; B's insert stays
    t.expectAll('[D]verse');
    t.ea.key('z', { meta: true, shift: true });
    t.expectAll('[D]verse one');
    t.ea.key('z', { ctrl: true });
    t.ea.key('y', { ctrl: true });
    t.expectAll('[D]verse one');
    // B's undo takes back B's insert only.
    t.eb.key('z', { ctrl: true });
    t.expectAll('verse one');
    // The browser's own undo (Edit menu) is taken over too.
    const ev = t.eb.fire('beforeinput', { inputType: 'historyRedo' });
    expect(ev.defaultPrevented).toBe(true);
    t.expectAll('[D]verse one');
    // Plain keys and other shortcuts are left to the textarea.
    expect(t.ea.key('z').defaultPrevented).toBe(false);
    expect(t.ea.key('a', { ctrl: true }).defaultPrevented).toBe(false);
  });

  it('applies nothing during a composition, then the composed text, over remote edits made meanwhile', () => {
    const t = twoDocs('[Am]la');
    t.setLive(true);
    t.ea.select(6);
    t.ea.fire('compositionstart');
    t.ea.type(' k', true);
    t.ea.fire('input', { isComposing: true });
    t.ea.backspace(true);
    t.ea.type('ko', true);
    t.ea.fire('input', { isComposing: true });
    expect(t.ta.toString()).toBe('[Am]la');
    // Someone else edits before the composition: the textarea is left alone.
    t.eb.select(0);
    t.eb.type('{title: Song}\n');
    expect(t.ea.value).toBe('[Am]la ko');
    t.ea.type('ra', true);
    t.ea.fire('input', { isComposing: true });
    expect(t.tb.toString()).toBe('{title: Song}\n[Am]la');
    t.ea.fire('compositionend');
    t.expectAll('{title: Song}\n[Am]la kora');
    expect(t.ea.selectionStart).toBe(t.ea.value.length);
    // Safari's order: compositionend, then the last input; and a remote edit after the caret.
    t.ea.select(14);
    t.ea.fire('compositionstart');
    t.ea.type('ü', true);
    t.eb.select(t.eb.value.length);
    t.eb.type('!');
    t.ea.fire('compositionend');
    t.ea.fire('input', { isComposing: false });
    t.expectAll('{title: Song}\nü[Am]la kora!');
    expect(t.ea.selectionStart).toBe(15);
    // A composition that changed nothing still shows what came meanwhile.
    t.ea.fire('compositionstart');
    t.eb.type('?');
    expect(t.ea.value).toBe('{title: Song}\nü[Am]la kora!');
    t.ea.fire('compositionend');
    t.expectAll('{title: Song}\nü[Am]la kora!?');
    expect(t.ea.selectionStart).toBe(15);
    // A composition that replaces a selection keeps what someone typed inside it meanwhile.
    t.ea.select(15, 19); // "[Am]"
    t.ea.fire('compositionstart');
    t.ea.type('[E]', true);
    t.eb.select(17);
    t.eb.type('7');
    expect(t.eb.value).toBe('{title: Song}\nü[A7m]la kora!?');
    t.ea.fire('compositionend');
    t.expectAll('{title: Song}\nü[E]7la kora!?');
    expect(t.ea.selectionStart).toBe(18);
  });

  it('is read-only for viewers and still follows the others', () => {
    const a = new Y.Doc();
    const text = a.getText('t');
    text.insert(0, 'chart');
    const el = new FakeArea();
    const b = new TextBinding(text, el, { readOnly: true });
    expect(el.readOnly).toBe(true);
    expect(b.undoManager).toBeNull();
    el.readOnly = false;
    el.type('!'); // an edit that slipped through is put back
    expect(text.toString()).toBe('chart');
    expect(el.value).toBe('chart');
    el.readOnly = true;
    el.select(2);
    text.insert(0, '>');
    expect(el.value).toBe('>chart');
    expect(el.selectionStart).toBe(3);
    el.key('z', { ctrl: true });
    expect(text.toString()).toBe('>chart');
  });

  it('reports its selection and lets go of everything when destroyed', () => {
    const doc = new Y.Doc();
    const text = doc.getText('t');
    const el = new FakeArea();
    const seen: Array<[number, number]> = [];
    let changes = 0;
    const b = new TextBinding(text, el, { onSelection: (a, h) => seen.push([a, h]), onChange: () => changes++ });
    el.type('hello');
    el.select(1, 4, 'backward');
    expect(seen.at(-1)).toEqual([4, 1]);
    expect(changes).toBeGreaterThanOrEqual(2);
    b.destroy();
    expect(el.listenerCount()).toBe(0);
    text.insert(0, 'x');
    expect(el.value).toBe('hello');
  });

  it('converges under random concurrent editing and delivery', () => {
    const rand = rng(42);
    const bits = ['a', 'b', ' ', '\n', '[G]', '😀', '🎸'];
    for (let round = 0; round < 30; round++) {
      const t = twoDocs('[C]start', round % 2 ? [1, 2] : [2, 1]);
      for (let step = 0; step < 60; step++) {
        const el = rand() < 0.5 ? t.ea : t.eb;
        const len = el.value.length;
        const r = rand();
        const snap = (p: number) => (p > 0 && /[\udc00-\udfff]/.test(el.value[p] ?? '') ? p - 1 : p);
        const p = snap(Math.floor(rand() * (len + 1)));
        if (r < 0.5) {
          el.select(p);
          el.type(bits[Math.floor(rand() * bits.length)]);
        } else if (r < 0.7) {
          el.select(p);
          el.backspace();
        } else if (r < 0.8) {
          const q = snap(Math.min(len, p + Math.floor(rand() * 5)));
          el.select(p, q);
          el.type(bits[Math.floor(rand() * bits.length)]);
        } else if (r < 0.85) {
          el.key('z', { ctrl: true });
        } else if (r < 0.9) {
          el.select(p, snap(Math.min(len, p + Math.floor(rand() * 3))));
          el.fire('compositionstart');
          el.type('ab', true);
          if (rand() < 0.5) t.sync();
          el.fire('compositionend');
        } else {
          t.sync();
        }
        expect(t.ea.value).toBe(t.ta.toString());
        expect(t.eb.value).toBe(t.tb.toString());
      }
      t.sync();
      t.expectAll(t.ta.toString());
    }
  });
});
