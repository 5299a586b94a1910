//! A plain `<textarea>` bound to a Y.Text, in UTF-16 offsets as Yjs counts them.
//!
//! Local edits: each `input` diffs the textarea against the text it last showed (which is the
//! Y.Text's) and applies one delete + insert in one transaction whose origin is the binding.
//! Remote edits (any other origin, the undo manager's included): the textarea takes the Y.Text's
//! new string and its selection is mapped through the change's delta, so it stays with the text
//! around it. During an IME composition nothing is applied either way (changing the value would
//! break the composition): remote deltas wait, and at `compositionend` the composed edit is
//! rebased over them. Undo and redo are a Y.UndoManager that tracks this binding's edits only.
//!
//! The element is anything textarea-shaped ([`TextAreaLike`]), so the logic runs in node tests.

import * as Y from 'yjs';
import { textEdit } from '../wasm/api';

/** One edit of a string: `remove` UTF-16 units at `index` replaced by `insert`. */
export interface TextChange {
  index: number;
  remove: number;
  insert: string;
}

/** A Y.Text delta: retain, insert (a string, or an embed of length 1) and delete operations. */
export type Delta = ReadonlyArray<{ retain?: number; insert?: unknown; delete?: number }>;

/** Which way a position goes when text is inserted exactly at it: -1 stays before, 1 after. */
export type Assoc = -1 | 1;

/**
 * The one change that turns `before` into `after`, as the core finds it (`textEdit`,
 * `crates/core/src/textdiff.rs`, the rule the server's documents follow too): the common prefix
 * and suffix are kept and never end inside a surrogate pair. `caret`, the collapsed caret in
 * `after` once the edit is done, places the change where it was made when the text around it
 * repeats ("aa" → "aaa" with the caret at 2 is an insert at 1, not at 2). Null when the strings
 * are equal.
 */
export function diffText(before: string, after: string, caret?: number): TextChange | null {
  if (before === after) return null;
  const e = textEdit(before, after, caret !== undefined && caret >= 0 ? caret : undefined);
  return e && { index: e.index, remove: e.remove, insert: after.slice(e.index, e.index + e.insert) };
}

/** Where `pos` is after one delta. A position inside deleted text goes to where it was. */
export function mapIndex(pos: number, delta: Delta, assoc: Assoc): number {
  let from = 0;
  let to = 0;
  for (const op of delta) {
    if (op.retain !== undefined) {
      if (pos < from + op.retain) return to + (pos - from);
      from += op.retain;
      to += op.retain;
    } else if (op.insert !== undefined) {
      if (pos === from && assoc < 0) return to;
      to += typeof op.insert === 'string' ? op.insert.length : 1;
    } else if (op.delete !== undefined) {
      if (pos < from + op.delete) return to;
      from += op.delete;
    }
  }
  return to + (pos - from);
}

/** `mapIndex` through several deltas in turn. */
export function mapThrough(pos: number, deltas: readonly Delta[], assoc: Assoc): number {
  for (const d of deltas) pos = mapIndex(pos, d, assoc);
  return pos;
}

/**
 * A selection after a delta: a caret stays before text inserted at it (so that two people typing
 * at one place do not interleave their letters); a range takes text inserted inside it, not at
 * its ends.
 */
export function mapSelection(start: number, end: number, deltas: readonly Delta[]): [number, number] {
  if (start === end) {
    const p = mapThrough(start, deltas, -1);
    return [p, p];
  }
  const s = mapThrough(start, deltas, 1);
  return [s, Math.max(s, mapThrough(end, deltas, -1))];
}

/** The pieces of `start..end` that are left after one delta, where they are now. */
export function mapRange(start: number, end: number, delta: Delta): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const keep = (from: number, to: number, n: number) => {
    const a = Math.max(start, from);
    const b = Math.min(end, from + n);
    if (a >= b) return;
    const piece: [number, number] = [to + a - from, to + b - from];
    const last = out[out.length - 1];
    if (last && last[1] === piece[0]) last[1] = piece[1];
    else out.push(piece);
  };
  let from = 0;
  let to = 0;
  for (const op of delta) {
    if (op.retain !== undefined) {
      keep(from, to, op.retain);
      from += op.retain;
      to += op.retain;
    } else if (op.insert !== undefined) {
      to += typeof op.insert === 'string' ? op.insert.length : 1;
    } else if (op.delete !== undefined) {
      from += op.delete;
    }
  }
  keep(from, to, Infinity);
  return out;
}

/** A local change moved over remote ones: the pieces of its deletion, then its insert at `index`. */
export interface RebasedChange {
  index: number;
  remove: Array<[number, number]>;
  insert: string;
}

/**
 * A local change made against an older text, moved over the deltas that happened since: it
 * deletes what is left of the text it deleted (not what others inserted inside it meanwhile) and
 * inserts before anything inserted at the same place.
 */
export function rebaseChange(c: TextChange, deltas: readonly Delta[]): RebasedChange {
  let remove: Array<[number, number]> = c.remove ? [[c.index, c.index + c.remove]] : [];
  for (const d of deltas) {
    remove = remove
      .flatMap(([a, b]) => mapRange(a, b, d))
      .reduce<Array<[number, number]>>((out, r) => {
        const last = out[out.length - 1];
        if (last && last[1] === r[0]) last[1] = r[1];
        else out.push(r);
        return out;
      }, []);
  }
  return { index: mapThrough(c.index, deltas, -1), remove, insert: c.insert };
}

/** Where the last change of a delta ends in the new text (the caret after an undo). */
export function deltaEnd(delta: Delta): number | null {
  let to = 0;
  let end: number | null = null;
  for (const op of delta) {
    if (op.retain !== undefined) to += op.retain;
    else if (op.insert !== undefined) end = to += typeof op.insert === 'string' ? op.insert.length : 1;
    else if (op.delete !== undefined) end = to;
  }
  return end;
}

/** What the binding needs of a `<textarea>`. */
export interface TextAreaLike {
  value: string;
  selectionStart: number;
  selectionEnd: number;
  selectionDirection?: string | null;
  readOnly: boolean;
  scrollTop?: number;
  setSelectionRange(start: number, end: number, direction?: 'forward' | 'backward' | 'none'): void;
  addEventListener(type: string, listener: (e: any) => void): void;
  removeEventListener(type: string, listener: (e: any) => void): void;
  ownerDocument?: { addEventListener(type: string, l: () => void): void; removeEventListener(type: string, l: () => void): void; activeElement: unknown } | null;
}

export interface TextBindingOptions {
  /** A read-only textarea: no edits, no undo. */
  readOnly?: boolean;
  /** The textarea's text changed (either way). */
  onChange?: () => void;
  /** The selection of the focused textarea may have moved: anchor and head in UTF-16 offsets. */
  onSelection?: (anchor: number, head: number) => void;
}

export class TextBinding {
  /** Undo and redo of this binding's edits only. */
  readonly undoManager: Y.UndoManager | null;
  /** What the textarea showed when it last matched the Y.Text: local edits are diffed against it. */
  private base: string;
  /** Remote deltas not yet in the textarea (they came during a composition). */
  private pending: Delta[] = [];
  private composing = false;
  private readonly readOnly: boolean;
  private readonly off: Array<() => void> = [];

  constructor(
    readonly ytext: Y.Text,
    readonly el: TextAreaLike,
    private readonly opts: TextBindingOptions = {},
  ) {
    this.readOnly = !!opts.readOnly;
    el.readOnly = this.readOnly;
    this.base = ytext.toString();
    el.value = this.base;
    el.setSelectionRange(0, 0);
    this.undoManager = opts.readOnly ? null : new Y.UndoManager(ytext, { trackedOrigins: new Set([this]) });
    const observer = (e: Y.YTextEvent) => this.onRemote(e);
    ytext.observe(observer);
    this.off.push(() => ytext.unobserve(observer));
    this.listen('input', () => this.flush());
    this.listen('compositionstart', () => {
      this.composing = true;
    });
    this.listen('compositionend', () => {
      this.composing = false;
      this.flush();
    });
    this.listen('keydown', (e: KeyboardEvent) => this.onKey(e));
    this.listen('beforeinput', (e: InputEvent) => {
      if (e.inputType !== 'historyUndo' && e.inputType !== 'historyRedo') return;
      e.preventDefault();
      this.history(e.inputType === 'historyRedo');
    });
    const sel = () => this.selectionMoved();
    for (const t of ['select', 'keyup', 'pointerup', 'focus']) this.listen(t, sel);
    const doc = el.ownerDocument;
    if (doc) {
      // Caret moves by arrow keys or touch handles fire only this, on the document.
      doc.addEventListener('selectionchange', sel);
      this.off.push(() => doc.removeEventListener('selectionchange', sel));
    }
    opts.onChange?.();
  }

  private listen(type: string, l: (e: any) => void): void {
    this.el.addEventListener(type, l);
    this.off.push(() => this.el.removeEventListener(type, l));
  }

  /** The text the textarea shows. */
  get value(): string {
    return this.el.value;
  }

  /** The selection as anchor and head (the head is where the caret is). */
  selection(): { anchor: number; head: number } {
    const { selectionStart: s, selectionEnd: e } = this.el;
    return this.el.selectionDirection === 'backward' ? { anchor: e, head: s } : { anchor: s, head: e };
  }

  private selectionMoved(): void {
    // Only a focused editor has a caret to show the others (a textarea outside a page has).
    const doc = this.el.ownerDocument;
    if (doc && doc.activeElement !== this.el) return;
    const { anchor, head } = this.selection();
    this.opts.onSelection?.(anchor, head);
  }

  private onKey(e: KeyboardEvent): void {
    if (!(e.ctrlKey || e.metaKey) || e.altKey) return;
    const k = e.key.toLowerCase();
    if (k !== 'z' && k !== 'y') return;
    e.preventDefault();
    this.history(k === 'y' || e.shiftKey);
  }

  /** Undoes (or redoes) this binding's last edit. */
  history(redo: boolean): void {
    if (!this.undoManager || this.composing) return;
    this.flush();
    if (redo) this.undoManager.redo();
    else this.undoManager.undo();
  }

  /** Applies the textarea's edit, if any, to the Y.Text. */
  flush(): void {
    if (this.composing) return;
    const el = this.el;
    const value = el.value;
    const { selectionStart: s, selectionEnd: t } = el;
    // A read-only textarea has no edits to send; whatever changed it is put back.
    const change = this.readOnly ? null : diffText(this.base, value, s === t ? t : undefined);
    const pending = this.pending;
    this.pending = [];
    if (pending.length === 0) {
      if (change) {
        this.apply(change);
        this.base = value;
        this.opts.onChange?.();
      } else if (value !== this.base) {
        this.show(this.ytext.toString(), s, t);
      }
      this.selectionMoved();
      return;
    }
    // Remote edits came while the textarea could not show them: move this edit over them, then
    // show the result with the selection carried along.
    const local = change ? rebaseChange(change, pending) : null;
    if (local) this.applyRebased(local);
    const map = (p: number, assoc: Assoc): number => {
      if (!change || !local) return mapThrough(p, pending, assoc);
      const insEnd = change.index + change.insert.length;
      if (p < change.index) return mapThrough(p, pending, assoc);
      if (p <= insEnd) return local.index + (p - change.index);
      const removed = local.remove.reduce((n, [a, b]) => n + b - a, 0);
      const m = mapThrough(p - change.insert.length + change.remove, pending, assoc);
      return Math.max(local.index + local.insert.length, m - removed + local.insert.length);
    };
    const [ns, nt] = s === t ? [map(s, -1), map(s, -1)] : [map(s, 1), Math.max(map(s, 1), map(t, -1))];
    this.show(this.ytext.toString(), ns, nt);
    this.selectionMoved();
  }

  private apply(c: TextChange): void {
    this.applyRebased({ index: c.index, remove: c.remove ? [[c.index, c.index + c.remove]] : [], insert: c.insert });
  }

  private applyRebased(c: RebasedChange): void {
    if (c.remove.length === 0 && c.insert === '') return;
    this.ytext.doc!.transact(() => {
      // The pieces are in order and at or after the insert: deleted from the last one.
      for (let i = c.remove.length - 1; i >= 0; i--) this.ytext.delete(c.remove[i][0], c.remove[i][1] - c.remove[i][0]);
      if (c.insert) this.ytext.insert(c.index, c.insert);
    }, this);
  }

  private onRemote(e: Y.YTextEvent): void {
    const origin = e.transaction.origin;
    if (origin === this) return;
    const delta = e.delta as Delta;
    if (this.composing || this.el.value !== this.base) {
      // Mid-composition, or an edit whose `input` has not come yet: keep it for `flush`.
      this.pending.push(delta);
      if (!this.composing) this.flush();
      return;
    }
    const text = this.ytext.toString();
    let [s, t] = mapSelection(this.el.selectionStart, this.el.selectionEnd, [delta]);
    if (this.undoManager && origin === this.undoManager) {
      // The caret goes to what was undone or redone.
      const end = deltaEnd(delta);
      if (end !== null) s = t = end;
    }
    this.show(text, s, t);
    this.selectionMoved();
  }

  /** Shows `text` with the selection `s`..`t` (its direction kept), without moving the scroll. */
  private show(text: string, s: number, t: number): void {
    const el = this.el;
    const dir = el.selectionDirection === 'backward' ? 'backward' : 'forward';
    const top = el.scrollTop;
    if (el.value !== text) el.value = text;
    el.setSelectionRange(Math.min(s, text.length), Math.min(t, text.length), dir);
    if (top !== undefined && el.scrollTop !== top) el.scrollTop = top;
    this.base = text;
    this.opts.onChange?.();
  }

  destroy(): void {
    for (const f of this.off.splice(0)) f();
    this.undoManager?.destroy();
  }
}
