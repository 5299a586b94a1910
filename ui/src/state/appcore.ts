//! The core of the app controller, which every part of it shares: the store the views read, the
//! live session (backend, documents, click player, session mirror), toasts, sending a control
//! message, and the screen wake lock. The parts work on it: joining and hosting (`net/join.ts`),
//! backend events (`net/events.ts`), chat and activity history (`net/history.ts`), the click
//! (`audio/wiring.ts`); `App` (`app.ts`) puts them together for the views. Nothing here renders.

import type { ClientMsg } from '../bindings';
import type { ClickPlayer } from '../audio/player';
import type { WebMidi } from '../midi/webmidi';
import type { DocSync, PresenceUser } from '../doc/docsync';
import type { Backend, JoinRequest } from '../net/backend';
import { isTauri } from '../net/tauri';
import { ScreenWakeLock } from '../net/wakelock';
import type { SessionMirror } from '../wasm/api';
import { initialAppState, type AppState, type Toast } from './appstate';
import { PersonalSync } from './personal';
import { rememberSession, type Settings } from './settings';
import { Store } from './store';

let toastId = 0;

/** A Tauri `beat` event as the visual beat reads it. */
export interface BeatMark {
  at: number;
  arrivedPerf: number;
  lead: number;
  bar: number;
  beat: number;
  countIn: boolean;
  subdivision: boolean;
}

export abstract class AppCore {
  readonly store: Store<AppState>;
  backend: Backend | null = null;
  docs: DocSync | null = null;
  player: ClickPlayer | null = null;
  /** Browser: MIDI out and pedals through Web MIDI, where the browser has it. */
  webMidi: WebMidi | null = null;
  /** Tauri beat events, for the visual beat, newest last. */
  beats: BeatMark[] = [];

  // The rest is for the controller's parts, not for the views.

  /** What to undo when the session's backend is detached. */
  unsubs: (() => void)[] = [];
  lastJoin: JoinRequest | null = null;
  /** The app's view of the session: the Rust mirror, fed with every server message the app
   *  forwards (a page's is its member's, `Member.text`). */
  mirror: SessionMirror | null = null;
  /** The member's own settings, to and from the host (`state/personal.ts`). */
  readonly personal = new PersonalSync(
    () => this.state.settings,
    (settings) => this.send({ type: 'personal', settings }, true),
    () => !this.state.unsupported.has('personal'),
  );
  /** Waiting for the host's `chat_export` (`net/history.ts`). */
  onChatExport: ((format: string, text: string) => void) | null = null;
  discovering = false;
  private readonly wakeLock = new ScreenWakeLock();

  constructor() {
    this.store = new Store<AppState>(initialAppState(isTauri() ? 'tauri' : 'browser'));
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') void this.updateWakeLock();
    });
  }

  /** Changes the personal settings and applies them (see `App`). */
  abstract setSettings(patch: Partial<Settings>): void;

  get state(): AppState {
    return this.store.get();
  }

  // ---- toasts -------------------------------------------------------------------------------

  toast(text: string, kind: Toast['kind'] = 'error'): void {
    const t = { id: ++toastId, kind, text };
    this.store.set((s) => ({ toasts: [...s.toasts.slice(-4), t] }));
    setTimeout(() => this.dismiss(t.id), kind === 'error' ? 8000 : 4000);
  }

  dismiss(id: number): void {
    this.store.set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) }));
  }

  // ---- the session --------------------------------------------------------------------------

  /** Sends a control message; a failure becomes a toast. Returns whether it went out. */
  async send(msg: ClientMsg, quiet = false): Promise<boolean> {
    const b = this.backend;
    if (!b) return false;
    try {
      await b.send(msg);
      return true;
    } catch (e) {
      if (!quiet) this.toast(`${(msg as { type: string }).type}: ${e instanceof Error ? e.message : String(e)}`);
      return false;
    }
  }

  /** Adds a session to the recent ones on the home screen. */
  remember(link: string, name: string, session: string): void {
    this.store.set({ recent: rememberSession({ link, name, session, at: Date.now() }) });
  }

  /** Who this member is in the documents' awareness. */
  presenceUser(): PresenceUser {
    const s = this.state.session;
    const me = s?.participants.find((p) => p.id === s.you);
    const color = me?.color ?? '#888888';
    return { name: me?.name ?? this.state.settings.name, color, colorLight: `${color}33`, id: s?.you ?? 0 };
  }

  // ---- screen wake lock ---------------------------------------------------------------------

  /** Keeps the screen on while in a session, if the settings ask for it. */
  async updateWakeLock(): Promise<void> {
    await this.wakeLock.update(this.state.settings.keepAwake && this.backend !== null, this.state.runtime === 'tauri');
  }
}
