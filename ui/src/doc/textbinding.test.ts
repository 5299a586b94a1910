//! The textarea binding at work: local edits, remote edits around the selection, concurrent
//! typing, undo, composition, read-only, teardown and random convergence.

import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { TextBinding } from './textbinding';
import { FakeArea, rng, twoDocs } from './textbinding.fixtures';

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
