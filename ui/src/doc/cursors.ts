//! Cursors in a shared chart. Each member publishes its selection in awareness as
//! `cursor: {anchor, head}`, Yjs relative positions made with `Y.createRelativePositionFromTypeIndex`
//! (as y-codemirror and y-prosemirror do, so stock Yjs clients read them), next to
//! `user: {name, color, colorLight}`. The others are drawn by [`CursorOverlay`]: a mirror of the
//! textarea (same font, padding, width and wrapping) laid under it, holding the same text in
//! transparent ink, where remote selections and chord marks are backgrounds behind the text and
//! remote carets with their names sit above it. It is redrawn in one animation frame after a text,
//! awareness or size change, and follows the textarea's scroll.

import type { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { chartSourceMarks } from '../wasm/api';

export interface RemoteCursor {
  /** The Yjs client id. */
  client: number;
  name: string;
  color: string;
  colorLight: string;
  anchor: number;
  head: number;
}

/** Publishes this member's selection in `ytext`, if it moved. */
export function publishCursor(awareness: Awareness, ytext: Y.Text, anchor: number, head: number): void {
  const local = awareness.getLocalState();
  if (local === null) return;
  const a = Y.createRelativePositionFromTypeIndex(ytext, anchor);
  const h = Y.createRelativePositionFromTypeIndex(ytext, head);
  const cur = local.cursor as { anchor?: unknown; head?: unknown } | null | undefined;
  if (cur?.anchor && cur.head) {
    try {
      if (
        Y.compareRelativePositions(Y.createRelativePositionFromJSON(cur.anchor), a) &&
        Y.compareRelativePositions(Y.createRelativePositionFromJSON(cur.head), h)
      )
        return;
    } catch {
      // Not a relative position: replaced below.
    }
  }
  awareness.setLocalStateField('cursor', { anchor: a, head: h });
}

/** Takes this member's cursor away (the editor closed). */
export function clearCursor(awareness: Awareness): void {
  const local = awareness.getLocalState();
  if (local && local.cursor != null) awareness.setLocalStateField('cursor', null);
}

function absolute(json: unknown, ytext: Y.Text): number | null {
  if (!json || typeof json !== 'object') return null;
  try {
    const abs = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(json), ytext.doc!);
    return abs && abs.type === ytext ? abs.index : null;
  } catch {
    return null;
  }
}

const str = (v: unknown, or: string) => (typeof v === 'string' && v !== '' ? v : or);

/**
 * The other members' cursors in `ytext`, in client order. A cursor in another text, or one whose
 * position this document has not received yet, is left out.
 */
export function remoteCursors(awareness: Awareness, ytext: Y.Text): RemoteCursor[] {
  const out: RemoteCursor[] = [];
  const me = awareness.doc.clientID;
  awareness.getStates().forEach((st, client) => {
    if (client === me) return;
    const c = st.cursor as { anchor?: unknown; head?: unknown } | null | undefined;
    if (!c) return;
    const anchor = absolute(c.anchor, ytext);
    const head = absolute(c.head, ytext);
    if (anchor === null || head === null) return;
    const u = (st.user ?? {}) as { name?: unknown; color?: unknown; colorLight?: unknown };
    const color = str(u.color, '#30bced');
    out.push({ client, name: str(u.name, 'Anonymous'), color, colorLight: str(u.colorLight, `${color}33`), anchor, head });
  });
  return out.sort((a, b) => a.client - b.client);
}

/** A background behind `from..to`: a chord, a directive line or a remote selection. */
export interface Mark {
  from: number;
  to: number;
  cls: string;
  bg?: string;
}

let lastMarks: [string, Mark[]] = ['', []];

/** Chords `[G]` and directive lines `{title: …}`, where the core's ChordPro reader finds them
 *  (not in a tab, a grid or a `#` note). The last text's are kept: a remote caret that moves
 *  redraws the overlay over the same text (the core takes 2 ms for 300 lines). A new list each
 *  time, for the caller to add to. */
export function chartMarks(text: string): Mark[] {
  if (lastMarks[0] !== text) {
    const marks = chartSourceMarks(text).map((m) => ({ from: m.from, to: m.to, cls: m.kind === 'chord' ? 'ov-chord' : 'ov-directive' }));
    lastMarks = [text, marks];
  }
  return [...lastMarks[1]];
}

/** A piece of the mirror: text with the marks over it, or a remote caret. */
export type Run = { from: number; to: number; cls: string; bg: string | null } | { caret: RemoteCursor };

/**
 * The mirror of a text of `length` units cut where marks begin and end and where carets stand:
 * runs of text in order, each with the classes of the marks over it (the last background wins),
 * and each remote caret at its head, before the text that follows it.
 */
export function overlayRuns(length: number, marks: readonly Mark[], carets: readonly RemoteCursor[]): Run[] {
  const clamp = (p: number) => Math.max(0, Math.min(length, p));
  const cuts = new Set<number>([0, length]);
  for (const m of marks) {
    cuts.add(clamp(m.from));
    cuts.add(clamp(m.to));
  }
  for (const c of carets) cuts.add(clamp(c.head));
  const at = [...cuts].sort((a, b) => a - b);
  const out: Run[] = [];
  for (let i = 0; i < at.length; i++) {
    const p = at[i];
    for (const c of carets) if (clamp(c.head) === p) out.push({ caret: c });
    if (i + 1 === at.length) break;
    const q = at[i + 1];
    const cls: string[] = [];
    let bg: string | null = null;
    for (const m of marks) {
      if (clamp(m.from) <= p && clamp(m.to) >= q) {
        if (!cls.includes(m.cls)) cls.push(m.cls);
        if (m.bg) bg = m.bg;
      }
    }
    out.push({ from: p, to: q, cls: cls.join(' '), bg });
  }
  return out;
}

/** How long a remote caret shows its name after that member last moved or typed. */
const NAME_MS = 3000;

/**
 * Remote cursors and chord marks drawn in `layer`, under the textarea `el` bound to `ytext`. A
 * caret shows its member's name while they move or type, and for a moment after.
 */
export class CursorOverlay {
  private raf = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly mirror: HTMLDivElement;
  private readonly off: Array<() => void> = [];
  /** Client → when its awareness last changed. */
  private readonly active = new Map<number, number>();

  constructor(
    private readonly el: HTMLTextAreaElement,
    layer: HTMLElement,
    private readonly ytext: Y.Text,
    private readonly awareness: Awareness,
  ) {
    this.mirror = layer.ownerDocument.createElement('div');
    this.mirror.className = 'editor-mirror';
    layer.replaceChildren(this.mirror);
    const me = awareness.doc.clientID;
    for (const c of awareness.getStates().keys()) if (c !== me) this.active.set(c, Date.now());
    const onAwareness = (ch: { added: number[]; updated: number[]; removed: number[] }) => {
      let redraw = false;
      for (const c of [...ch.added, ...ch.updated]) {
        if (c === me) continue;
        this.active.set(c, Date.now());
        redraw = true;
      }
      for (const c of ch.removed) redraw = this.active.delete(c) || redraw;
      if (redraw) this.schedule();
    };
    awareness.on('change', onAwareness);
    this.off.push(() => awareness.off('change', onAwareness));
    const onScroll = () => this.follow();
    el.addEventListener('scroll', onScroll, { passive: true });
    this.off.push(() => el.removeEventListener('scroll', onScroll));
    if (typeof ResizeObserver !== 'undefined') {
      const ro = new ResizeObserver(() => this.schedule());
      ro.observe(el);
      this.off.push(() => ro.disconnect());
    }
    this.schedule();
  }

  /** Redraws in the next animation frame (once, however often it is asked). */
  schedule(): void {
    if (!this.raf) this.raf = requestAnimationFrame(() => this.draw());
  }

  private follow(): void {
    this.mirror.style.top = `${-this.el.scrollTop}px`;
  }

  private draw(): void {
    this.raf = 0;
    const text = this.el.value;
    const doc = this.mirror.ownerDocument;
    const cursors = remoteCursors(this.awareness, this.ytext);
    const marks = chartMarks(text);
    for (const c of cursors) {
      if (c.anchor !== c.head) marks.push({ from: Math.min(c.anchor, c.head), to: Math.max(c.anchor, c.head), cls: 'ov-sel', bg: c.colorLight });
    }
    const frag = doc.createDocumentFragment();
    const now = Date.now();
    let wake = Infinity;
    for (const r of overlayRuns(text.length, marks, cursors)) {
      if ('caret' in r) {
        const caret = doc.createElement('span');
        caret.className = 'ov-caret';
        caret.style.color = r.caret.color;
        const name = doc.createElement('span');
        const left = (this.active.get(r.caret.client) ?? -Infinity) + NAME_MS - now;
        if (left > 0) wake = Math.min(wake, left);
        name.className = left > 0 ? 'ov-name' : 'ov-name idle';
        name.style.backgroundColor = r.caret.color;
        name.textContent = r.caret.name;
        caret.append(name);
        frag.append(caret);
      } else if (!r.cls) {
        frag.append(text.slice(r.from, r.to));
      } else {
        const span = doc.createElement('span');
        span.className = r.cls;
        if (r.bg) span.style.backgroundColor = r.bg;
        span.textContent = text.slice(r.from, r.to);
        frag.append(span);
      }
    }
    // A final newline needs something after it to make its line, as in the textarea.
    if (text.endsWith('\n')) frag.append(' ');
    this.mirror.style.width = `${this.el.clientWidth}px`;
    this.mirror.replaceChildren(frag);
    this.follow();
    clearTimeout(this.timer);
    if (wake !== Infinity) this.timer = setTimeout(() => this.schedule(), wake + 50);
  }

  destroy(): void {
    cancelAnimationFrame(this.raf);
    clearTimeout(this.timer);
    this.raf = 0;
    for (const f of this.off.splice(0)) f();
    this.mirror.remove();
  }
}
