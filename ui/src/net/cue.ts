//! The leader's cues (PROTOCOL §5.15): each arrives a lead time early with the host time it lands,
//! and shows on every device at that moment, read through this device's clock estimate, as a
//! full-screen flash (`ui/CueFlash.tsx`) for a moment or until tapped. Both runtimes deliver it as
//! the server's raw message (`events.ts`), so it is handled here once.

import type { ServerMsg } from '../bindings';
import type { AppCore } from '../state/appcore';

/** How long a cue stays up unless tapped (ms). */
export const CUE_MS = 2500;
/** The longest wait believed (ms): a cue lands a lead time and at most a (long) bar ahead.
 *  Further off, the estimate is wrong: better now than much later. */
const MAX_WAIT_MS = 120_000;

/** How long to wait (ms) before showing what lands at `landsPerf` (`performance.now()` time, or
 *  `null` without a clock estimate): 0 when it is already past, unknown or implausibly far. */
export function cueDelay(landsPerf: number | null, nowPerf: number): number {
  if (landsPerf === null || !Number.isFinite(landsPerf)) return 0;
  const d = landsPerf - nowPerf;
  return d > 0 && d <= MAX_WAIT_MS ? d : 0;
}

/** Bumped when the session is left: what was scheduled before is dropped. */
let era = 0;
let lastId = 0;

/** Shows the cue when it lands, then takes it down after `CUE_MS`. */
export function scheduleCue(app: AppCore, msg: Extract<ServerMsg, { type: 'cue' }>): void {
  const lands = app.backend?.hostToPerf(msg.at) ?? null;
  const e = era;
  setTimeout(() => {
    if (e !== era) return;
    const id = ++lastId;
    app.store.set({ cue: { id, text: msg.text, landedAt: performance.now() } });
    setTimeout(() => dismissCue(app, id), CUE_MS);
  }, cueDelay(lands, performance.now()));
}

/** Takes cue `id` down, if it is still the one shown. */
export function dismissCue(app: AppCore, id: number): void {
  app.store.set((s) => (s.cue?.id === id ? { cue: null } : {}));
}

/** Forgets every pending cue (the session was left). */
export function cancelCues(app: AppCore): void {
  era++;
  app.store.set({ cue: null });
}
