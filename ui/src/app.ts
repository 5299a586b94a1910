//! The app controller: owns the backend (browser WebSocket or Tauri), the documents, the click
//! player and the store the views read. Views call its methods; it turns backend events into
//! state, toasts and sound. Nothing here renders.
//!
//! This is the face the views see; the work is done by its parts, on the shared core
//! (`state/appcore.ts`: store, live session, toasts, send, wake lock): `net/join.ts` (home:
//! discovery, host, join, leave), `net/events.ts` (backend events into state), `net/history.ts`
//! (chat and activity history), `audio/wiring.ts` (the click). Settings changes and the leader's
//! actions are here.

import * as click from './audio/wiring';
import type { JoinTarget } from './bindings';
import { isLeader } from './core/session';
import type { Song } from './doc/setlist';
import * as chatHistory from './net/history';
import * as joining from './net/join';
import { AppCore } from './state/appcore';
import { touchesPersonal } from './state/personal';
import { saveSettings, type Settings } from './state/settings';
import { buildLink, coreInfo } from './wasm/api';

export class App extends AppCore {
  // ---- settings -----------------------------------------------------------------------------

  override setSettings(patch: Partial<Settings>): void {
    const settings = { ...this.state.settings, ...patch };
    saveSettings(settings);
    this.store.set({ settings });
    this.player?.setSettings(settings);
    this.webMidi?.setSettings(settings);
    if (this.state.runtime === 'tauri') void click.pushTauriAudio(this, 'latencyMs' in patch);
    if ('keepAwake' in patch) void this.updateWakeLock();
    if (('sound' in patch || 'visualOnly' in patch) && this.state.runtime === 'browser') {
      if (!settings.sound || settings.visualOnly) void this.player?.disable();
    }
    const s = this.state.session;
    if (s && touchesPersonal(patch)) this.personal.changed();
    if (s && this.backend && ('name' in patch || 'instrument' in patch)) {
      // Profile changes go to the band; the server validates them.
      void this.send({ type: 'profile', name: settings.name, instrument: settings.instrument });
      this.docs?.setUser(this.presenceUser());
    }
  }

  /** Starts the browser's click; must be called from a tap or click. */
  enableSound(): Promise<void> {
    return click.enableSound(this);
  }

  // ---- home ---------------------------------------------------------------------------------

  /** What the page was opened with: a join link from the host (browser only). */
  initialTarget(): JoinTarget | null {
    return joining.initialTarget(this);
  }

  startDiscovery(): void {
    joining.startDiscovery(this);
  }

  /** Hosts a session on this device (Tauri only). */
  hostSession(name: string): Promise<void> {
    return joining.hostSession(this, name);
  }

  /** Joins a session from a link (or `HOST:PORT`) and maybe a PIN. */
  join(target: string, pin: string | null): Promise<void> {
    return joining.join(this, target, pin);
  }

  /** After a refusal a PIN may help: try again with it. */
  retryWithPin(pin: string): Promise<void> {
    return joining.retryWithPin(this, pin);
  }

  leave(): Promise<void> {
    return joining.leave(this);
  }

  // ---- chat and history ---------------------------------------------------------------------

  requestChat(kind: 'page' | 'older' | 'search', query?: string): void {
    chatHistory.requestChat(this, kind, query);
  }

  closeSearch(): void {
    chatHistory.closeSearch(this);
  }

  /** Loads every older page, for an export of the whole chat. Gives up after 20 s. */
  /** The whole chat as `format`, written by the host. */
  exportChat(format: 'json' | 'csv' | 'txt'): Promise<string> {
    return chatHistory.exportChat(this, format);
  }

  requestOlderActivity(): void {
    chatHistory.requestOlderActivity(this);
  }

  // ---- leader actions -----------------------------------------------------------------------

  /**
   * Selects a song (leader): the band's charts follow, and the host lands its tempo and meter on
   * the next bar, where the song starts (with its accent grouping, "7/8 3+2+2").
   */
  async selectSong(song: Song): Promise<void> {
    const s = this.state.session;
    if (!s) return;
    this.viewChart(song.id);
    if (!isLeader(s)) return;
    await this.send({ type: 'song', id: song.id });
  }

  /** Calls the song after the current one in the setlist (the first when none is). */
  nextSong(): void {
    const { session, songs } = this.state;
    const next = songs[songs.findIndex((x) => x.id === session?.song) + 1];
    if (next) void this.selectSong(next);
  }

  /** Starts the band (after the count-in of the settings) or stops it. */
  transport(play: boolean): void {
    void this.send(play ? { type: 'play', count_in: this.state.settings.countIn } : { type: 'stop' });
  }

  viewChart(id: string | null): void {
    this.store.set({ viewSong: id });
    this.docs?.setChart(id);
  }

  /** Seeks to a bar number (1-based) of the current meter. */
  seekBar(bar: number): void {
    const s = this.state.session;
    if (!s) return;
    const m = s.transport.segments[s.transport.segments.length - 1].meter;
    const position = Math.max(0, Math.round(bar) - 1) * m.beats * coreInfo().one_beat;
    void this.send({ type: 'seek', position });
  }

  /** The join link to share, as the leader knows it. */
  joinLink(): string | null {
    const s = this.state.session;
    const host = this.state.host;
    if (host && s && host.session === s.session) {
      // The app's own link carries every LAN address; it is refreshed by `host` events.
      if (!s.credentials || host.link.includes(`k=${s.credentials.secret}`)) return host.link;
    }
    const t = this.state.target;
    if (!s?.credentials || !t) return null;
    return buildLink({ ...t, session: s.session }, s.credentials.secret);
  }

  /** The view-only link (whoever joins with it can only view), when the host made one. */
  viewLink(): string | null {
    const s = this.state.session;
    const t = this.state.target;
    const v = s?.credentials?.viewer;
    return v && t ? buildLink({ ...t, session: s.session }, v) : null;
  }
}
