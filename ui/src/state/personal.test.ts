import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Personal } from '../bindings';
import { lookChange, lookOf, PersonalSync, personalOf, touchesPersonal } from './personal';
import { DEFAULT_SETTINGS, type Settings } from './settings';

describe("the member's own settings", () => {
  let settings: Settings;
  let sent: Personal[];
  let online: boolean;
  let kept: boolean;
  let sync: PersonalSync;
  beforeEach(() => {
    vi.useFakeTimers();
    settings = { ...DEFAULT_SETTINGS, latencyMs: 35, fontSize: 22 };
    sent = [];
    online = true;
    kept = true;
    sync = new PersonalSync(
      () => settings,
      (p) => {
        if (online) sent.push(p);
        return Promise.resolve(online);
      },
      () => kept,
    );
  });
  afterEach(() => vi.useRealTimers());

  it("are the member's part of the settings, and nothing of the device's", () => {
    const p = personalOf(settings);
    expect(Object.keys(p).sort()).toEqual(['autoScroll', 'barsPerLine', 'capo', 'chartShow', 'countIn', 'flash', 'notation', 'songs', 'subdivision', 'transpose', 'twoColumns']);
    expect(touchesPersonal({ capo: 2 })).toBe(true);
    expect(touchesPersonal({ latencyMs: 40, fontSize: 30, volume: 0.5 })).toBe(false);
  });

  it('go to a host that has none, once a slider settles, and only when they differ', () => {
    expect(sync.fromHost(undefined)).toBeNull();
    expect(sent).toEqual([personalOf(settings)]);
    for (const capo of [1, 2, 3]) {
      settings = { ...settings, capo };
      sync.changed();
      vi.advanceTimersByTime(100);
    }
    expect(sent.length).toBe(1);
    vi.advanceTimersByTime(400);
    expect(sent.map((p) => p.capo)).toEqual([0, 3]);
    sync.changed();
    vi.advanceTimersByTime(1000);
    expect(sent.length).toBe(2);
  });

  it("take the host's from another device, and don't send them back", () => {
    const theirs: Personal = { ...personalOf(settings), chartShow: 'lyrics', transpose: -2 };
    expect(sync.fromHost(theirs)).toEqual(theirs);
    settings = { ...settings, ...theirs };
    sync.changed();
    vi.advanceTimersByTime(1000);
    expect(sent).toEqual([]);
  });

  it('win at the next welcome when a change could not go out', async () => {
    sync.fromHost({ ...personalOf(settings) });
    online = false;
    settings = { ...settings, twoColumns: true };
    sync.changed();
    vi.advanceTimersByTime(500);
    await Promise.resolve();
    online = true;
    expect(sync.fromHost({ ...personalOf(settings), twoColumns: false })).toBeNull();
    expect(sent.map((p) => p.twoColumns)).toEqual([true]);
  });

  it('win over the host\'s when a change of ours is still settling', () => {
    sync.fromHost(personalOf(settings));
    settings = { ...settings, capo: 5 };
    sync.changed();
    vi.advanceTimersByTime(100);
    // Another device's change arrives meanwhile: ours go once they settle, and the host's answer
    // (ours) is taken without a word back.
    expect(sync.fromHost({ ...personalOf(settings), capo: 1 })).toBeNull();
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(400);
    expect(sent.map((p) => p.capo)).toEqual([5]);
    const echo = sync.fromHost(personalOf(settings));
    expect(echo?.capo).toBe(5);
    settings = { ...settings, ...echo };
    sync.changed();
    vi.advanceTimersByTime(1000);
    expect(sent.length).toBe(1);
  });

  it('go at the next welcome when the member was not connected, and not again once the host has them', () => {
    sync.fromHost(personalOf(settings));
    settings = { ...settings, chartShow: 'chords' };
    sync.changed();
    vi.advanceTimersByTime(500);
    sync.failed(); // the member answered: not connected
    expect(sync.fromHost({ ...personalOf(settings), chartShow: 'both' })).toBeNull();
    expect(sent.map((p) => p.chartShow)).toEqual(['chords', 'chords']);
    // A welcome that already has ours clears the debt: a later change elsewhere is taken.
    sync.failed();
    expect(sync.fromHost(personalOf(settings))).toBeNull();
    expect(sync.fromHost({ ...personalOf(settings), chartShow: 'lyrics' })?.chartShow).toBe('lyrics');
  });

  it('are not sent to a host that does not keep them', () => {
    kept = false;
    expect(sync.fromHost(null)).toBeNull();
    settings = { ...settings, flash: false };
    sync.changed();
    vi.advanceTimersByTime(1000);
    expect(sent).toEqual([]);
  });

  it('read a song with its own transpose and capo, and the others with those for every song', () => {
    settings = { ...settings, transpose: 0, capo: 2 };
    expect(lookOf(settings, 's1')).toEqual({ transpose: 0, capo: 2 });
    settings = { ...settings, ...lookChange(settings, 's1', { transpose: -3, capo: 2 }) };
    expect(lookOf(settings, 's1')).toEqual({ transpose: -3, capo: 2 });
    expect(lookOf(settings, 's2')).toEqual({ transpose: 0, capo: 2 });
    expect(personalOf(settings).songs).toEqual([['s1', -3, 2]]);
    // Back to how every song reads: no entry of its own, and none on the wire.
    settings = { ...settings, ...lookChange(settings, 's1', { transpose: 0, capo: 2 }) };
    expect(settings.songs).toEqual([]);
    expect(personalOf(settings).songs).toEqual([]);
    // No song: every song's.
    expect(lookChange(settings, null, { transpose: 1, capo: 0 })).toEqual({ transpose: 1, capo: 0 });
  });
});
