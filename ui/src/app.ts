//! The app controller: owns the backend (browser WebSocket or Tauri), the documents, the click
//! player and the store the views read. Views call its methods; it turns backend events into
//! state, toasts and sound. Nothing here renders.

import type {
  AudioStatus,
  ClientMsg,
  ClockStatus,
  ConnectionState,
  DiscoveredSession,
  HostInfo,
  JoinTarget,
  ServerMsg,
} from './bindings';
import { ClickPlayer } from './audio/player';
import { apply, chatRequested, clearSearch, isLeader, type SessionState } from './core/session';
import { buildLink, coreInfo, parseLink, SessionMirror } from './wasm/api';
import { DocSync } from './doc/docsync';
import { readSetlist, type Song } from './doc/setlist';
import type { Backend, JoinRequest, UiEvent } from './net/backend';
import { BrowserBackend } from './net/browser';
import { TauriBackend, audioDevices, discover, isTauri, keepAwake, setAudio } from './net/tauri';
import { explainRefusal, type Refusal } from './core/refusal';
import { Store } from './state/store';
import {
  loadRecent,
  loadSettings,
  rememberSession,
  saveSettings,
  type RecentSession,
  type Settings,
} from './state/settings';

export interface Toast {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

export interface AppState {
  runtime: 'browser' | 'tauri';
  view: 'home' | 'session';
  settings: Settings;
  connection: { state: ConnectionState; detail: string } | null;
  refusal: Refusal | null;
  session: SessionState | null;
  clock: ClockStatus | null;
  songs: Song[];
  /** Participant id → the chart they look at (from awareness). */
  presence: Map<number, string | null>;
  /** The chart shown here. */
  viewSong: string | null;
  toasts: Toast[];
  /** When this app hosts the session (Tauri). */
  host: HostInfo | null;
  /** The join target of the current session. */
  target: JoinTarget | null;
  /** Browser: whether the click can play (the AudioContext runs). */
  soundRunning: boolean;
  /** Tauri: the audio engine's state. */
  audio: AudioStatus | null;
  recent: RecentSession[];
  discovered: DiscoveredSession[];
  /** Why LAN discovery is not running (turned off, or failed), shown quietly on Home. */
  discoveryOff: string | null;
  devices: string[];
  /** A home-screen error (bad link, host failed). */
  homeError: string | null;
  busy: boolean;
  /** Message types this host does not know (an older host): their panels say so. */
  unsupported: ReadonlySet<string>;
}

/** Requests the app sends by itself; an older host that does not know them is not an error. */
const BACKGROUND = new Set(['chat_history', 'activity_history', 'versions']);
const REFUSAL_CODE = /\b(auth_required|bad_secret|too_many_attempts|unknown_session|full|invalid_name|version_unsupported)\b/;

let toastId = 0;

/** What plays the click here, as the band sees it: `web-audio` and the browser's engine. */
function engineName(): string {
  const ua = navigator.userAgent;
  const engine = /Firefox\//.test(ua) ? 'Gecko' : /Chrom(e|ium)\//.test(ua) ? 'Chromium' : /AppleWebKit\//.test(ua) ? 'WebKit' : 'browser';
  return `web-audio ${engine}`;
}

export class App {
  readonly store: Store<AppState>;
  backend: Backend | null = null;
  docs: DocSync | null = null;
  player: ClickPlayer | null = null;
  /** Tauri beat events, for the visual beat, newest last. */
  beats: { at: number; arrivedPerf: number; lead: number; bar: number; beat: number; countIn: boolean; subdivision: boolean }[] = [];
  private unsubs: (() => void)[] = [];
  private wakeLock: { release(): Promise<void> } | null = null;
  private lastJoin: JoinRequest | null = null;
  /** The one view of the session: the Rust mirror, fed with every server message. */
  private mirror: SessionMirror | null = null;
  /** The last error answering a join, for the refusal that follows it. */
  private joinError: { code: string; message: string } | null = null;
  private discovering = false;

  constructor() {
    const tauri = isTauri();
    this.store = new Store<AppState>({
      runtime: tauri ? 'tauri' : 'browser',
      view: 'home',
      settings: loadSettings(),
      connection: null,
      refusal: null,
      session: null,
      clock: null,
      songs: [],
      presence: new Map(),
      viewSong: null,
      toasts: [],
      host: null,
      target: null,
      soundRunning: false,
      audio: null,
      recent: loadRecent(),
      discovered: [],
      discoveryOff: null,
      devices: [],
      homeError: null,
      busy: false,
      unsupported: new Set(),
    });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') void this.updateWakeLock();
    });
  }

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

  // ---- settings -----------------------------------------------------------------------------

  setSettings(patch: Partial<Settings>): void {
    const settings = { ...this.state.settings, ...patch };
    saveSettings(settings);
    this.store.set({ settings });
    this.player?.setSettings(settings);
    if (this.state.runtime === 'tauri' && this.backend) void this.pushTauriAudio();
    if ('keepAwake' in patch) void this.updateWakeLock();
    if (('sound' in patch || 'visualOnly' in patch) && this.state.runtime === 'browser') {
      if (!settings.sound || settings.visualOnly) void this.player?.disable();
    }
    const s = this.state.session;
    if (s && this.backend && ('name' in patch || 'instrument' in patch)) {
      // Profile changes go to the band; the server validates them.
      void this.send({ type: 'profile', name: settings.name, instrument: settings.instrument });
      this.docs?.setUser(this.presenceUser());
    }
  }

  private async pushTauriAudio(): Promise<void> {
    const s = this.state.settings;
    try {
      await setAudio({
        enabled: s.sound && !s.visualOnly,
        device: s.device,
        channel: s.channel,
        volume: s.mute ? 0 : s.volume,
        subdivision: s.subdivision,
        latency_offset_ms: s.latencyMs,
        buffer_frames: null,
        sound: s.clickSound,
      });
    } catch (e) {
      this.toast(`Audio: ${String(e)}`);
    }
  }

  // ---- home ---------------------------------------------------------------------------------

  /** What the page was opened with: a join link from the host (browser only). */
  initialTarget(): JoinTarget | null {
    if (this.state.runtime === 'tauri') return null;
    if (!/^\/s\/[^/]+\/?$/.test(window.location.pathname)) return null;
    try {
      return parseLink(window.location.href);
    } catch {
      return null;
    }
  }

  startDiscovery(): void {
    if (this.state.runtime !== 'tauri' || this.discovering) return;
    this.discovering = true;
    discover((ev) => {
      this.store.set((s) => {
        const list = s.discovered.filter((d) =>
          ev.kind === 'removed' ? !(d.name === ev.name && (ev.id === null || d.id === ev.id)) : d.id !== ev.session.id,
        );
        if (ev.kind !== 'removed') list.push(ev.session);
        list.sort((a, b) => a.name.localeCompare(b.name));
        return { discovered: list };
      });
    }).catch((e) => {
      this.discovering = false;
      this.store.set({ discoveryOff: String(e) });
    });
    audioDevices()
      .then((devices) => this.store.set({ devices }))
      .catch(() => undefined);
  }

  /** Hosts a session on this device (Tauri only). */
  async hostSession(name: string): Promise<void> {
    const s = this.state.settings;
    if (!s.name.trim()) {
      this.store.set({ homeError: 'Enter your name first.' });
      return;
    }
    const tauri = new TauriBackend();
    this.attach(tauri);
    this.store.set({ busy: true, homeError: null, view: 'session', connection: { state: 'connecting', detail: 'starting the host' } });
    try {
      // The session starts its audio with the settings the app has: send this player's first
      // (visual only, device, ...), or it opens the default output regardless.
      await this.pushTauriAudio();
      const host = await tauri.hostSession(name.trim() || `${s.name}'s session`, s.name.trim(), s.instrument.trim() || null);
      let target: JoinTarget | null = null;
      try {
        target = parseLink(host.link);
      } catch {
        // the link is shown as it is
      }
      this.store.set({ host, target, busy: false });
      this.remember(host.link, host.name, host.session);
    } catch (e) {
      this.detach();
      this.store.set({ busy: false, view: 'home', connection: null, homeError: `Could not host: ${String(e)}` });
    }
  }

  /** Joins a session from a link (or `HOST:PORT`) and maybe a PIN. */
  async join(target: string, pin: string | null): Promise<void> {
    const s = this.state.settings;
    if (!s.name.trim()) {
      this.store.set({ homeError: 'Enter your name first.' });
      return;
    }
    const req: JoinRequest = { target: target.trim(), name: s.name.trim(), instrument: s.instrument.trim() || null, pin: pin?.trim() || null };
    this.store.set({ homeError: null, refusal: null });
    if (this.state.runtime === 'tauri') {
      const tauri = new TauriBackend();
      this.attach(tauri);
      let parsed: JoinTarget | null = null;
      try {
        parsed = parseLink(req.target);
      } catch {
        // HOST:PORT: the app finds the session itself
      }
      this.store.set({ view: 'session', target: parsed, connection: { state: 'connecting', detail: `joining ${req.target}` } });
      this.lastJoin = req;
      try {
        await this.pushTauriAudio();
        await tauri.join(req);
      } catch (e) {
        this.detach();
        this.store.set({ view: 'home', connection: null, homeError: String(e) });
      }
      return;
    }
    let t: JoinTarget;
    try {
      t = parseLink(req.target);
    } catch (e) {
      this.store.set({ homeError: (e as Error).message });
      return;
    }
    // A browser page can only open a WebSocket to the host it came from (the host checks the
    // Origin). In development the Vite proxy stands in for the host.
    if (import.meta.env.DEV) {
      t = { ...t, ws_url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`, origin: location.origin };
    } else if (t.origin !== location.origin) {
      location.assign(req.target.includes('://') ? req.target : `http://${req.target}`);
      return;
    }
    const browser = new BrowserBackend(req, t);
    this.attach(browser);
    this.lastJoin = req;
    this.store.set({ view: 'session', target: browser.target, connection: { state: 'connecting', detail: 'connecting' } });
    this.createPlayer(browser);
    browser.start();
    // Keep the address bar on the session, so that a reload rejoins (and resumes).
    if (!import.meta.env.DEV && location.pathname !== `/s/${t.session}`) history.replaceState(null, '', `/s/${t.session}${t.secret ? `#k=${t.secret}` : ''}`);
  }

  /** After a refusal a PIN may help: try again with it. */
  async retryWithPin(pin: string): Promise<void> {
    const b = this.backend;
    if (b instanceof BrowserBackend) {
      this.store.set({ refusal: null });
      b.retryWithPin(pin);
      return;
    }
    const last = this.lastJoin;
    if (last) {
      this.detach();
      await this.join(last.target, pin);
    }
  }

  private remember(link: string, name: string, session: string): void {
    this.store.set({ recent: rememberSession({ link, name, session, at: Date.now() }) });
  }

  // ---- session wiring -----------------------------------------------------------------------

  private attach(b: Backend): void {
    this.detach();
    this.backend = b;
    const docs = new DocSync({
      send: (f) => b.sendDoc(f),
      onTooLarge: (n) =>
        this.toast(`That edit is too large to share (${Math.round(n / 1024)} KB; the limit is 64 KB). Split it into smaller pastes.`),
      onBadFrame: (e) => console.warn('unreadable document frame', e),
    });
    this.docs = docs;
    const refreshSongs = () => {
      const songs = readSetlist(docs.doc);
      this.store.set((s) => {
        const view = s.viewSong && songs.some((x) => x.id === s.viewSong) ? s.viewSong : (s.session?.song ?? songs[0]?.id ?? null);
        return { songs, viewSong: view };
      });
    };
    docs.doc.on('update', refreshSongs);
    this.unsubs.push(() => docs.doc.off('update', refreshSongs));
    this.unsubs.push(docs.onChange(() => this.store.set({ presence: docs.presence() })));
    this.unsubs.push(b.on((ev) => this.onEvent(ev)));
    this.beats = [];
    void this.updateWakeLock();
  }

  private detach(): void {
    for (const u of this.unsubs) u();
    this.unsubs = [];
    this.docs?.destroy();
    this.docs = null;
    void this.player?.disable();
    this.player = null;
    this.backend = null;
    this.mirror?.free();
    this.mirror = null;
  }

  private createPlayer(b: BrowserBackend): void {
    const player = new ClickPlayer({ hostNow: () => b.hostNow(), perfToHost: (p) => b.perfToHost(p) }, this.state.settings);
    this.player = player;
    player.onResync = (awayMs, missed) => {
      const away = awayMs >= 1000 ? `${(awayMs / 1000).toFixed(0)} s` : `${Math.round(awayMs)} ms`;
      this.toast(`Back on the beat after ${away} away${missed ? ` (${missed} click${missed === 1 ? '' : 's'} missed)` : ''}.`, 'info');
    };
    this.unsubs.push(player.onStateChange(() => this.store.set({ soundRunning: player.running })));
  }

  /** Starts the browser's click; must be called from a tap or click. */
  async enableSound(): Promise<void> {
    if (!this.player) return;
    if (!this.state.settings.sound || this.state.settings.visualOnly) this.setSettings({ sound: true, visualOnly: false });
    try {
      await this.player.enable();
      this.player.setSettings(this.state.settings);
      this.player.setTransport(this.state.session?.transport ?? null);
    } catch (e) {
      this.toast(`Sound could not start: ${String(e)}`);
    }
  }

  private presenceUser() {
    const s = this.state.session;
    const me = s?.participants.find((p) => p.id === s.you);
    const color = me?.color ?? '#888888';
    return { name: me?.name ?? this.state.settings.name, color, colorLight: `${color}33`, id: s?.you ?? 0 };
  }

  private onEvent(ev: UiEvent): void {
    switch (ev.kind) {
      case 'server':
        this.onServer(ev.msg);
        break;
      case 'doc':
        this.docs?.receive(ev.data);
        break;
      case 'clock': {
        const prev = this.state.clock;
        this.store.set({ clock: ev.clock });
        // The band sees this device's output with its sync quality (the member sends it along).
        if (this.backend instanceof BrowserBackend) this.backend.setOutput(this.player?.report(engineName()) ?? null);
        // The first sync steps the estimate: what was scheduled on the old one is off.
        if (prev && !prev.synced && ev.clock.synced) this.player?.clockStepped();
        break;
      }
      case 'connection':
        this.onConnection(ev.state, ev.detail);
        break;
      case 'beat': {
        const b = ev.beat;
        this.beats.push({
          at: b.at_host_us,
          arrivedPerf: performance.now(),
          lead: b.lead_us,
          bar: b.bar,
          beat: b.beat,
          countIn: b.count_in,
          subdivision: b.subdivision,
        });
        if (this.beats.length > 64) this.beats.splice(0, this.beats.length - 64);
        break;
      }
      case 'audio':
        this.store.set({ audio: ev.audio });
        if (ev.audio.error) this.toast(`Audio: ${ev.audio.error}`);
        break;
      case 'host':
        this.store.set({ host: ev.host });
        break;
    }
  }

  private onConnection(state: ConnectionState, detail: string): void {
    this.store.set({ connection: { state, detail } });
    if (state === 'online') return;
    this.docs?.disconnected();
    if (state === 'refused') {
      // The join's error came just before (both runtimes forward it); else read the detail.
      const e = this.joinError;
      const code = e?.code ?? REFUSAL_CODE.exec(detail)?.[1] ?? '';
      const message = e?.message ?? detail.replace(/^[a-z_]+: /, '');
      this.store.set({ refusal: explainRefusal(code, message) });
    }
    if (state === 'left') {
      void this.updateWakeLock();
    }
  }

  private onServer(msg: ServerMsg): void {
    const s = this.state.session;
    if (msg.type === 'welcome') {
      this.mirror ??= new SessionMirror();
      const next = apply(s, msg, this.mirror);
      if (!next || next === s) {
        this.toast('The host sent a schedule no session could make; it was ignored.');
        return;
      }
      const firstSong = next.song;
      if (!this.state.target && this.lastJoin) {
        // Joined by address (HOST:PORT): now the session id is known, so is the link.
        try {
          const hp = this.lastJoin.target.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
          this.store.set({ target: parseLink(`http://${hp}/s/${msg.snapshot.session}`) });
        } catch {
          // not an address either; the invite panel then waits for the host's link
        }
      }
      this.joinError = null;
      this.store.set({ session: next, refusal: null, viewSong: this.state.viewSong ?? firstSong });
      this.player?.setTransport(next.transport);
      this.docs?.setUser(this.presenceUser());
      this.docs?.setChart(this.state.viewSong);
      this.docs?.connected();
      // Catch up on what was said and done, whether new or back from a drop.
      this.requestChat('page');
      void this.send({ type: 'activity_history', limit: 50 }, true);
      const t = this.state.target;
      if (t && this.state.runtime === 'browser') {
        const link = t.secret ? buildLink(t, t.secret) : `${t.origin}/s/${t.session}`;
        this.remember(link, msg.snapshot.name, msg.snapshot.session);
      } else if (t && t.secret) {
        this.remember(buildLink(t, t.secret), msg.snapshot.name, msg.snapshot.session);
      }
      return;
    }
    if (msg.type === 'error') {
      const about = msg.about ? ` (${msg.about})` : '';
      if (msg.about === 'join') this.joinError = { code: msg.code, message: msg.message };
      if ((msg.code === 'unknown_type' || msg.code === 'unsupported') && msg.about && BACKGROUND.has(msg.about)) {
        this.store.set((st) => ({ unsupported: new Set([...st.unsupported, msg.about!]) }));
        if (s && this.mirror) this.store.set({ session: apply(s, msg, this.mirror) });
        return;
      }
      if (!(msg.about === 'join' && !s)) this.toast(`${msg.message}${about} [${msg.code}]`);
      if (s && this.mirror) this.store.set({ session: apply(s, msg, this.mirror) });
      return;
    }
    if (!s || !this.mirror) return;
    const next = apply(s, msg, this.mirror);
    if (!next || next === s) {
      if (msg.type === 'transport') this.toast('The host sent a schedule no session could make; it was ignored.');
      return;
    }
    const patch: Partial<AppState> = { session: next };
    if (msg.type === 'transport') this.player?.setTransport(next.transport);
    if (msg.type === 'song_changed' && msg.song) {
      // Followers' charts jump to the song the leader chose.
      patch.viewSong = msg.song;
      this.docs?.setChart(msg.song);
    }
    if (msg.type === 'participant_left') this.docs?.forgetParticipant(msg.id);
    if ((msg.type === 'participant_updated' || msg.type === 'participant_joined') && msg.participant.id === next.you) {
      this.docs?.setUser(this.presenceUser());
    }
    this.store.set(patch);
  }

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

  // ---- chat and history ---------------------------------------------------------------------

  requestChat(kind: 'page' | 'older' | 'search', query?: string): void {
    const s = this.state.session;
    if (!s) return;
    const before = kind === 'older' && s.chat.length > 0 ? s.chat[0].id : null;
    const msg: ClientMsg =
      kind === 'search' ? { type: 'chat_history', query: query ?? '', limit: 100 } : { type: 'chat_history', before, limit: 50 };
    // Recorded before it is sent, so that the answer always finds it.
    this.store.set({ session: chatRequested(s, kind === 'search' ? 'search' : 'page', query) });
    void this.send(msg, true).then((ok) => {
      const cur = this.state.session;
      if (!ok && cur) {
        if (this.mirror) this.store.set({ session: apply(cur, { type: 'error', code: 'internal', message: 'not sent', about: 'chat_history' }, this.mirror) });
      }
    });
  }

  closeSearch(): void {
    const s = this.state.session;
    if (s) this.store.set({ session: clearSearch(s) });
  }

  /** Loads every older page, for an export of the whole chat. Gives up after 20 s. */
  async loadAllChat(): Promise<void> {
    const deadline = performance.now() + 20_000;
    while (performance.now() < deadline) {
      const s = this.state.session;
      if (!s || s.chatMore === false) return;
      if (s.chatRequests.length === 0) this.requestChat('older');
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the host did not send the whole history in time');
  }

  requestOlderActivity(): void {
    const s = this.state.session;
    if (!s) return;
    const before = s.activity.length ? s.activity[0].id : null;
    void this.send((before !== null ? { type: 'activity_history', before, limit: 50 } : { type: 'activity_history', limit: 50 }));
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

  async leave(): Promise<void> {
    const b = this.backend;
    if (b) {
      try {
        await b.leave();
      } catch (e) {
        this.toast(String(e));
      }
    }
    this.detach();
    this.store.set({ view: 'home', session: null, connection: null, refusal: null, songs: [], presence: new Map(), host: null, clock: null });
    if (this.state.runtime === 'browser' && !import.meta.env.DEV) history.replaceState(null, '', '/');
    void this.updateWakeLock();
  }

  // ---- screen wake lock ---------------------------------------------------------------------

  private async updateWakeLock(): Promise<void> {
    const want = this.state.settings.keepAwake && this.backend !== null;
    if (this.state.runtime === 'tauri') {
      try {
        await keepAwake(want);
        return;
      } catch {
        // The native keep-awake is desktop only; on Android and iOS the webview's Screen Wake
        // Lock API (below) keeps the screen on where the system webview supports it.
      }
    }
    const nav = navigator as Navigator & { wakeLock?: { request(t: 'screen'): Promise<{ release(): Promise<void> }> } };
    if (!want) {
      const l = this.wakeLock;
      this.wakeLock = null;
      await l?.release().catch(() => undefined);
      return;
    }
    if (!nav.wakeLock || document.visibilityState !== 'visible') return;
    try {
      this.wakeLock = await nav.wakeLock.request('screen');
    } catch {
      // Refused (battery saver, no gesture yet): the screen may sleep.
    }
  }
}

/** The debugging hook: `window.__bandsync.state`, read-only. */
export function exposeDebug(app: App): void {
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
