import { describe, expect, it } from 'vitest';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { chartMarks, clearCursor, overlayRuns, publishCursor, remoteCursors, type RemoteCursor } from './cursors';
import { chartsOf } from './setlist';

/** Two members: documents and awareness kept in step by hand, as y-sync would. */
function twoMembers() {
  const a = new Y.Doc();
  const b = new Y.Doc();
  const wa = new awarenessProtocol.Awareness(a);
  const wb = new awarenessProtocol.Awareness(b);
  chartsOf(a).set('s1', new Y.Text('[G]Hey Jude, don\'t make it bad'));
  chartsOf(a).set('s2', new Y.Text('other'));
  const docs = () => {
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    Y.applyUpdate(a, Y.encodeStateAsUpdate(b));
  };
  /** Awareness goes over the wire (JSON), so relative positions arrive as plain objects. */
  const aware = () => {
    awarenessProtocol.applyAwarenessUpdate(wb, awarenessProtocol.encodeAwarenessUpdate(wa, [a.clientID]), 'remote');
    awarenessProtocol.applyAwarenessUpdate(wa, awarenessProtocol.encodeAwarenessUpdate(wb, [b.clientID]), 'remote');
  };
  docs();
  wa.setLocalStateField('user', { name: 'Ana', color: '#e6194b', colorLight: '#e6194b33', id: 1 });
  wb.setLocalStateField('user', { name: 'Ben', color: '#3cb44b', id: 2 });
  return { a, b, wa, wb, docs, aware, ta: chartsOf(a).get('s1')!, tb: chartsOf(b).get('s1')! };
}

describe('cursors in awareness', () => {
  it('publishes the selection as Yjs relative positions that another client reads', () => {
    const m = twoMembers();
    publishCursor(m.wa, m.ta, 3, 7);
    const cur = m.wa.getLocalState()!.cursor;
    // The y-codemirror layout: {anchor, head}, each a relative position.
    expect(Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(cur.anchor), m.a)!.index).toBe(3);
    m.aware();
    expect(remoteCursors(m.wb, m.tb)).toEqual([
      { client: m.a.clientID, name: 'Ana', color: '#e6194b', colorLight: '#e6194b33', anchor: 3, head: 7 },
    ]);
    // Our own cursor is not a remote one.
    publishCursor(m.wb, m.tb, 1, 1);
    expect(remoteCursors(m.wb, m.tb).map((c) => c.client)).toEqual([m.a.clientID]);
    m.aware();
    expect(remoteCursors(m.wa, m.ta)).toEqual([
      { client: m.b.clientID, name: 'Ben', color: '#3cb44b', colorLight: '#3cb44b33', anchor: 1, head: 1 },
    ]);
  });

  it('keeps a remote cursor with its text when the text changes', () => {
    const m = twoMembers();
    publishCursor(m.wa, m.ta, 7, 11); // "Jude"
    m.aware();
    m.tb.insert(0, '{title: Hey Jude}\n');
    m.tb.insert(m.tb.length, '!');
    const [c] = remoteCursors(m.wb, m.tb);
    expect(m.tb.toString().slice(c.anchor, c.head)).toBe('Jude');
    m.docs();
    expect(remoteCursors(m.wb, m.tb)[0].anchor).toBe(c.anchor);
  });

  it('leaves out cursors in another chart and positions not received yet, and clears its own', () => {
    const m = twoMembers();
    publishCursor(m.wa, chartsOf(m.a).get('s2')!, 2, 2);
    m.aware();
    expect(remoteCursors(m.wb, m.tb)).toEqual([]);
    expect(remoteCursors(m.wb, chartsOf(m.b).get('s2')!).map((c) => c.head)).toEqual([2]);
    // A typed something B has not received yet and has the caret in it.
    m.ta.insert(0, 'new ');
    publishCursor(m.wa, m.ta, 2, 2);
    m.aware();
    expect(remoteCursors(m.wb, m.tb)).toEqual([]);
    m.docs();
    expect(remoteCursors(m.wb, m.tb).map((c) => c.head)).toEqual([2]);
    // Garbage from a buggy client is ignored.
    m.wa.setLocalStateField('cursor', { anchor: 5, head: 'x' });
    m.aware();
    expect(remoteCursors(m.wb, m.tb)).toEqual([]);
    clearCursor(m.wa);
    expect(m.wa.getLocalState()!.cursor).toBeNull();
  });

  it('publishes only when the selection moved', () => {
    const m = twoMembers();
    let updates = 0;
    m.wa.on('update', () => updates++);
    publishCursor(m.wa, m.ta, 2, 2);
    publishCursor(m.wa, m.ta, 2, 2);
    expect(updates).toBe(1);
    publishCursor(m.wa, m.ta, 3, 3);
    expect(updates).toBe(2);
  });
});

describe('the overlay', () => {
  it('marks chords and directive lines', () => {
    const text = '{title: Let It Be}\n[C]When I find [G]myself\n  {soc}  \nnot {a directive} here\n{sot}\n|-[0]-|\n{eot}\n# [C] a note\n[Am]é';
    expect(chartMarks(text).map((m) => [text.slice(m.from, m.to), m.cls])).toEqual([
      ['{title: Let It Be}', 'ov-directive'],
      ['[C]', 'ov-chord'],
      ['[G]', 'ov-chord'],
      ['{soc}', 'ov-directive'],
      ['{sot}', 'ov-directive'],
      ['{eot}', 'ov-directive'],
      ['[Am]', 'ov-chord'],
    ]);
  });

  const cursor = (head: number, anchor = head): RemoteCursor => ({ client: head, name: 'X', color: '#000', colorLight: '#0003', anchor, head });

  it('cuts the text where marks begin and end and carets stand', () => {
    const runs = overlayRuns(10, [{ from: 2, to: 6, cls: 'ov-chord' }, { from: 4, to: 8, cls: 'ov-sel', bg: '#f003' }], [cursor(8, 4), cursor(0)]);
    expect(runs).toEqual([
      { caret: cursor(0) },
      { from: 0, to: 2, cls: '', bg: null },
      { from: 2, to: 4, cls: 'ov-chord', bg: null },
      { from: 4, to: 6, cls: 'ov-chord ov-sel', bg: '#f003' },
      { from: 6, to: 8, cls: 'ov-sel', bg: '#f003' },
      { caret: cursor(8, 4) },
      { from: 8, to: 10, cls: '', bg: null },
    ]);
  });

  it('puts carets at the end and clamps what lies outside the text', () => {
    expect(overlayRuns(0, [], [cursor(0)])).toEqual([{ caret: cursor(0) }]);
    expect(overlayRuns(3, [{ from: 1, to: 9, cls: 'ov-chord' }], [cursor(12)])).toEqual([
      { from: 0, to: 1, cls: '', bg: null },
      { from: 1, to: 3, cls: 'ov-chord', bg: null },
      { caret: cursor(12) },
    ]);
    // The runs cover the text exactly once.
    const runs = overlayRuns(20, chartMarks('[C]ab [G]cd {x}\n[D]'), [cursor(5), cursor(5), cursor(19)]);
    const text = runs.flatMap((r) => ('caret' in r ? [] : [[r.from, r.to]]));
    expect(text[0][0]).toBe(0);
    expect(text.at(-1)![1]).toBe(20);
    for (let i = 1; i < text.length; i++) expect(text[i][0]).toBe(text[i - 1][1]);
    expect(runs.filter((r) => 'caret' in r)).toHaveLength(3);
  });
});
