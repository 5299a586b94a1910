//! The debugging hook for testers: `window.__bandsync.state`, a read-only snapshot of the app.

import type { AppCore } from './appcore';

/** The debugging hook: `window.__bandsync.state`, read-only. */
export function exposeDebug(app: AppCore): void {
  const hook = {};
  Object.defineProperty(hook, 'state', {
    enumerable: true,
    get() {
      const s = app.state;
      return structuredCloneSafe({
        runtime: s.runtime,
        view: s.view,
        connection: s.connection,
        refusal: s.refusal,
        snapshot: s.session,
        clock: s.clock,
        hostNow: app.backend?.hostNow() ?? null,
        songs: s.songs,
        viewSong: s.viewSong,
        sound: app.player?.stats() ?? null,
        audio: s.audio,
      });
    },
  });
  // Read-only (no setter, not writable); configurable so that a hot reload can define it again.
  Object.defineProperty(window, '__bandsync', { value: Object.freeze(hook), configurable: true, writable: false });
}

function structuredCloneSafe<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}
