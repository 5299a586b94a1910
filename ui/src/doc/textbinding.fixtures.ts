//! Test fixtures for the textarea binding: a fake textarea that edits as a person does, two Y
//! documents each bound to one, and a seeded random generator. Used by textbinding.test.ts and
//! textdiff.test.ts (not a test file itself: vitest runs `*.test.ts` only).

import { expect } from 'vitest';
import * as Y from 'yjs';
import { chartsOf } from './setlist';
import { TextBinding, type TextAreaLike } from './textbinding';

/** A textarea as the binding sees it; `value =` puts the caret at the end, as browsers do. */
export class FakeArea implements TextAreaLike {
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
export function twoDocs(initial: string, ids?: [number, number]) {
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

/** A small seeded generator, so that a failure repeats. */
export function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
}
