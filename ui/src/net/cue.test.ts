import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AppCore } from '../state/appcore';
import type { AppState } from '../state/appstate';
import { Store } from '../state/store';
import { cancelCues, CUE_MS, cueDelay, dismissCue, scheduleCue } from './cue';

describe('when a cue shows', () => {
  it('waits until it lands, or shows it at once', () => {
    expect(cueDelay(1250, 1000)).toBe(250);
    expect(cueDelay(900, 1000)).toBe(0);
    expect(cueDelay(null, 1000)).toBe(0);
    expect(cueDelay(Number.NaN, 1000)).toBe(0);
    // An estimate that puts it minutes away is wrong: now beats never.
    expect(cueDelay(1000 + 600_000, 1000)).toBe(0);
  });
});

describe('a cue through the app', () => {
  afterEach(() => vi.useRealTimers());

  const appWith = (hostToPerf: (us: number) => number | null) =>
    ({ backend: { hostToPerf }, store: new Store({ cue: null } as Partial<AppState> as AppState) }) as unknown as AppCore;

  it('lands at its host time, stays a while, and can be taken down', () => {
    vi.useFakeTimers();
    const now = performance.now();
    const app = appWith((us) => now + us / 1000);
    scheduleCue(app, { type: 'cue', text: 'Last chorus', at: 400_000, bar: 8, by: 1 });
    vi.advanceTimersByTime(399);
    expect(app.store.get().cue).toBeNull();
    vi.advanceTimersByTime(1);
    const shown = app.store.get().cue!;
    expect(shown.text).toBe('Last chorus');
    expect(shown.landedAt).toBeGreaterThanOrEqual(now + 400);
    vi.advanceTimersByTime(CUE_MS);
    expect(app.store.get().cue).toBeNull();

    scheduleCue(app, { type: 'cue', text: 'Stop', at: 0, bar: null, by: 1 });
    scheduleCue(app, { type: 'cue', text: 'Outro', at: 0, bar: null, by: 1 });
    vi.advanceTimersByTime(0);
    const second = app.store.get().cue!;
    expect(second.text).toBe('Outro');
    dismissCue(app, second.id - 1);
    expect(app.store.get().cue).toBe(second);
    dismissCue(app, second.id);
    expect(app.store.get().cue).toBeNull();
  });

  it('shows at once without a clock estimate, and not at all once the session is left', () => {
    vi.useFakeTimers();
    const app = appWith(() => null);
    scheduleCue(app, { type: 'cue', text: 'Break', at: 9e12, bar: 3, by: 1 });
    vi.advanceTimersByTime(0);
    expect(app.store.get().cue?.text).toBe('Break');
    scheduleCue(app, { type: 'cue', text: 'Repeat', at: 9e12, bar: 3, by: 1 });
    cancelCues(app);
    vi.advanceTimersByTime(CUE_MS * 2);
    expect(app.store.get().cue).toBeNull();
  });
});
