//! Keeps the screen on during a session when the settings ask for it: the Tauri app's native
//! keep-awake where there is one, else the webview's or browser's Screen Wake Lock API.

import { keepAwake } from './tauri';

type WakeLockSentinel = { release(): Promise<void> };

export class ScreenWakeLock {
  private lock: WakeLockSentinel | null = null;

  /** Holds the screen on (`want`) or lets it go; `native` tries the Tauri app's keep-awake first. */
  async update(want: boolean, native: boolean): Promise<void> {
    if (native) {
      try {
        await keepAwake(want);
        return;
      } catch {
        // The native keep-awake is desktop only; on Android and iOS the webview's Screen Wake
        // Lock API (below) keeps the screen on where the system webview supports it.
      }
    }
    const nav = navigator as Navigator & { wakeLock?: { request(t: 'screen'): Promise<WakeLockSentinel> } };
    if (!want) {
      const l = this.lock;
      this.lock = null;
      await l?.release().catch(() => undefined);
      return;
    }
    if (!nav.wakeLock || document.visibilityState !== 'visible') return;
    try {
      this.lock = await nav.wakeLock.request('screen');
    } catch {
      // Refused (battery saver, no gesture yet): the screen may sleep.
    }
  }
}
