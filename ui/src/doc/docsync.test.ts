import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { DocSync } from './docsync';
import { addSong, chartText, deleteSong, meterFields, meterLabel, moveSong, readSetlist, setlistOf, songMeter, updateSong, type Song } from './setlist';

/**
 * The host's side of PROTOCOL §12, enough to test a member against: step 1 is answered with
 * step 2 and the host's own step 1; updates are applied and relayed to the others; awareness is
 * relayed unchanged.
 */
class Host {
  doc = new Y.Doc();
  members = new Map<string, { online: boolean; inbox: Uint8Array[] }>();

  join(id: string): void {
    this.members.set(id, { online: true, inbox: [] });
  }

  setOnline(id: string, online: boolean): void {
    this.members.get(id)!.online = online;
  }

  receive(from: string, frame: Uint8Array): void {
    const d = decoding.createDecoder(frame);
    const type = decoding.readVarUint(d);
    const toSender: Uint8Array[] = [];
    const broadcast: Uint8Array[] = [];
    if (type === 1) {
      broadcast.push(frame);
    } else {
      const sub = decoding.readVarUint(d);
      const payload = decoding.readVarUint8Array(d);
      if (sub === 0) {
        const e = encoding.createEncoder();
        encoding.writeVarUint(e, 0);
        syncProtocol.writeSyncStep2(e, this.doc, payload);
        toSender.push(encoding.toUint8Array(e));
        const e2 = encoding.createEncoder();
        encoding.writeVarUint(e2, 0);
        syncProtocol.writeSyncStep1(e2, this.doc);
        toSender.push(encoding.toUint8Array(e2));
      } else {
        Y.applyUpdate(this.doc, payload);
        const e = encoding.createEncoder();
        encoding.writeVarUint(e, 0);
        syncProtocol.writeUpdate(e, payload);
        broadcast.push(encoding.toUint8Array(e));
      }
    }
    const me = this.members.get(from)!;
    me.inbox.push(...toSender);
    for (const [id, m] of this.members) if (id !== from && m.online) m.inbox.push(...broadcast);
  }
}

function member(host: Host, id: string, online = true) {
  host.join(id);
  host.setOnline(id, online);
  const sent: Uint8Array[] = [];
  const sync = new DocSync({ send: (f) => (host.members.get(id)!.online ? host.receive(id, f) : sent.push(f)) });
  return { sync, id };
}

/** Delivers queued frames until nothing moves. */
function pump(host: Host, ms: { sync: DocSync; id: string }[]): void {
  for (let round = 0; round < 20; round++) {
    let moved = false;
    for (const m of ms) {
      const box = host.members.get(m.id)!;
      while (box.online && box.inbox.length) {
        moved = true;
        m.sync.receive(box.inbox.shift()!);
      }
    }
    if (!moved) return;
  }
}

const song = (id: string, title: string): Song => ({ id, title, key: 'G', tempo: 96_000, meter: '7/8', notes: '', midi: '', flow: '' });

describe('document sync through a host', () => {
  it('two members converge on the setlist and a chart, offline edits included', () => {
    const host = new Host();
    const a = member(host, 'a');
    const b = member(host, 'b');
    a.sync.connected();
    b.sync.connected();
    pump(host, [a, b]);
    expect(a.sync.synced && b.sync.synced).toBe(true);

    addSong(a.sync.doc, song('s1', 'Wonderwall'), '[Em7]Today is');
    pump(host, [a, b]);
    expect(readSetlist(b.sync.doc).map((s) => s.title)).toEqual(['Wonderwall']);
    expect(chartText(b.sync.doc, 's1', false)?.toString()).toBe('[Em7]Today is');

    // B drops off and edits; A edits meanwhile; B comes back and sends step 1 again.
    host.setOnline('b', false);
    b.sync.disconnected();
    chartText(b.sync.doc, 's1', false)!.insert(0, '{title: Wonderwall}\n');
    addSong(a.sync.doc, song('s2', 'Creep'));
    pump(host, [a, b]);
    expect(readSetlist(b.sync.doc).length).toBe(1);
    host.setOnline('b', true);
    b.sync.connected();
    pump(host, [a, b]);
    for (const m of [a, b]) {
      expect(readSetlist(m.sync.doc).map((s) => s.id)).toEqual(['s1', 's2']);
      expect(chartText(m.sync.doc, 's1', false)?.toString()).toBe('{title: Wonderwall}\n[Em7]Today is');
    }
    expect(Y.encodeStateVector(host.doc)).toEqual(Y.encodeStateVector(a.sync.doc));
  });

  it('shares presence through awareness and forgets those who left', () => {
    const host = new Host();
    const a = member(host, 'a');
    const b = member(host, 'b');
    a.sync.setUser({ name: 'Ana', color: '#e6194b', colorLight: '#e6194b33', id: 1 });
    b.sync.setUser({ name: 'Ben', color: '#3cb44b', colorLight: '#3cb44b33', id: 2 });
    a.sync.connected();
    b.sync.connected();
    a.sync.setChart('s1');
    pump(host, [a, b]);
    expect(b.sync.presence().get(1)).toBe('s1');
    expect(a.sync.presence().get(2)).toBeNull();
    b.sync.forgetParticipant(1);
    expect(b.sync.presence().has(1)).toBe(false);
  });

  it('keeps an edit too large for one frame local and says so', () => {
    let tooLarge = 0;
    const sent: Uint8Array[] = [];
    const s = new DocSync({ send: (f) => sent.push(f), onTooLarge: (n) => (tooLarge = n) });
    s.connected();
    const text = chartText(s.doc, 'x', true)!;
    sent.length = 0;
    text.insert(0, 'x'.repeat(70_000));
    expect(tooLarge).toBeGreaterThan(65_535);
    expect(sent.length).toBe(0);
  });

  it('sends nothing while offline', () => {
    const sent: Uint8Array[] = [];
    const s = new DocSync({ send: (f) => sent.push(f) });
    addSong(s.doc, song('q', 'Q'));
    expect(sent.length).toBe(0);
  });
});

describe('setlist edits', () => {
  it('reorders, edits and deletes, keeping charts attached', () => {
    const doc = new Y.Doc();
    addSong(doc, song('a', 'A'), 'chart a');
    addSong(doc, song('b', 'B'));
    addSong(doc, song('c', 'C'));
    moveSong(doc, 'c', 0);
    expect(readSetlist(doc).map((s) => s.id)).toEqual(['c', 'a', 'b']);
    moveSong(doc, 'c', 2);
    expect(readSetlist(doc).map((s) => s.id)).toEqual(['a', 'b', 'c']);
    updateSong(doc, 'a', { tempo: 128_500, key: 'Bb' });
    expect(readSetlist(doc)[0]).toMatchObject({ tempo: 128_500, key: 'Bb', title: 'A' });
    updateSong(doc, 'a', { tempo: null });
    expect(readSetlist(doc)[0].tempo).toBeNull();
    expect(chartText(doc, 'a', false)?.toString()).toBe('chart a');
    deleteSong(doc, 'a');
    expect(readSetlist(doc).map((s) => s.id)).toEqual(['b', 'c']);
    expect(chartText(doc, 'a', false)).toBeNull();
  });

  it('stores meters as the host reads them: "7/8", or "7/8 3+2+2" for an unusual grouping', () => {
    expect(songMeter({ meter: '7/8' })).toEqual({ beats: 7, unit: 8, groups: [2, 2, 3] });
    expect(songMeter({ meter: '7/8 3+2+2' })).toEqual({ beats: 7, unit: 8, groups: [3, 2, 2] });
    expect(songMeter({ meter: '7/8 (2+3+2)' })).toEqual({ beats: 7, unit: 8, groups: [2, 3, 2] });
    expect(songMeter({ meter: '7/8 3+3' })).toBeNull(); // the host refuses it too
    expect(songMeter({ meter: '' })).toBeNull();
    expect(songMeter({ meter: '5/3' })).toBeNull();
    expect(meterFields({ beats: 7, unit: 8, groups: [2, 2, 3] })).toEqual({ meter: '7/8' });
    expect(meterFields({ beats: 7, unit: 8, groups: [3, 2, 2] })).toEqual({ meter: '7/8 3+2+2' });
    expect(meterLabel({ meter: '7/8 3+2+2' })).toBe('7/8 (3+2+2)');
    expect(meterLabel({ meter: '7/8' })).toBe('7/8');
  });

  it('keeps an unusual grouping through a round trip in the document', () => {
    const doc = new Y.Doc();
    addSong(doc, { ...song('a', 'A'), meter: '7/8 3+2+2' });
    addSong(doc, song('b', 'B'));
    expect(readSetlist(doc).map((s) => s.meter)).toEqual(['7/8 3+2+2', '7/8']);
    expect(readSetlist(doc).map((s) => songMeter(s)?.groups)).toEqual([[3, 2, 2], [2, 2, 3]]);
  });

  it('reads an older document\'s BPM tempos as the same milli-BPM, and stores milli-BPM', () => {
    const doc = new Y.Doc();
    addSong(doc, song('a', 'A'));
    addSong(doc, song('b', 'B'));
    addSong(doc, song('c', 'C'));
    // As a version-3 member wrote them: BPM, a float or a whole number; and a stray value.
    setlistOf(doc).get(0).set('tempo', 96.5);
    setlistOf(doc).get(1).set('tempo', 120);
    setlistOf(doc).get(2).set('tempo', 'fast');
    expect(readSetlist(doc).map((s) => s.tempo)).toEqual([96_500, 120_000, null]);
    // Saving other fields leaves an older tempo that reads the same as it is.
    updateSong(doc, 'a', { tempo: 96_500, notes: 'segue' });
    expect(setlistOf(doc).get(0).get('tempo')).toBe(96.5);
    moveSong(doc, 'a', 2);
    expect(setlistOf(doc).get(2).get('tempo')).toBe(96_500);
  });
});

describe("the page's Yjs", () => {
  it('decodes no XML types (the server refuses them; vite.config.ts takes their readers out)', () => {
    const evil = new Y.Doc();
    evil.getXmlFragment('notes').insert(0, [new Y.XmlElement('p')]);
    const update = Y.encodeStateAsUpdate(evil);
    expect(() => Y.applyUpdate(new Y.Doc(), update)).toThrow('XML types are not supported');
    // Everything else still decodes.
    const honest = new Y.Doc();
    honest.getMap('charts').set('s1', new Y.Text('[C]Let it be'));
    const reader = new Y.Doc();
    Y.applyUpdate(reader, Y.encodeStateAsUpdate(honest));
    expect(String(reader.getMap('charts').get('s1'))).toBe('[C]Let it be');
  });
});
