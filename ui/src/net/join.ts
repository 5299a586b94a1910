//! Getting into a session and out of it, from the home screen: the join link the page was opened
//! with, LAN discovery (Tauri), hosting (Tauri), joining by link or address (either runtime), a
//! retry with a PIN after a refusal, and leaving. The browser's address bar follows the session.

import type { JoinTarget } from '../bindings';
import { createPlayer, pushTauriAudio } from '../audio/wiring';
import type { AppCore } from '../state/appcore';
import { parseLink } from '../wasm/api';
import type { JoinRequest } from './backend';
import { BrowserBackend } from './browser';
import { attach, detach } from './events';
import { TauriBackend, audioDevices, audioInputs, discover } from './tauri';

/** What the page was opened with: a join link from the host (browser only). */
export function initialTarget(app: AppCore): JoinTarget | null {
  if (app.state.runtime === 'tauri') return null;
  if (!/^\/s\/[^/]+\/?$/.test(window.location.pathname)) return null;
  try {
    return parseLink(window.location.href);
  } catch {
    return null;
  }
}

/** Tauri: lists the sessions on the LAN, and the audio outputs, for the home screen. */
export function startDiscovery(app: AppCore): void {
  if (app.state.runtime !== 'tauri' || app.discovering) return;
  app.discovering = true;
  discover((ev) => {
    app.store.set((s) => {
      const list = s.discovered.filter((d) =>
        ev.kind === 'removed' ? !(d.name === ev.name && (ev.id === null || d.id === ev.id)) : d.id !== ev.session.id,
      );
      if (ev.kind !== 'removed') list.push(ev.session);
      list.sort((a, b) => a.name.localeCompare(b.name));
      return { discovered: list };
    });
  }).catch((e) => {
    app.discovering = false;
    app.store.set({ discoveryOff: String(e) });
  });
  // The app plays each output device by its own figure (it keeps them): the field shows it.
  void pushTauriAudio(app);
  audioDevices()
    .then((devices) => app.store.set({ devices }))
    .catch(() => undefined);
  audioInputs()
    .then((inputs) => app.store.set({ inputs }))
    .catch(() => undefined);
}

/** Hosts a session on this device (Tauri only). */
export async function hostSession(app: AppCore, name: string): Promise<void> {
  const s = app.state.settings;
  if (!s.name.trim()) {
    app.store.set({ homeError: 'Enter your name first.' });
    return;
  }
  const tauri = new TauriBackend();
  attach(app, tauri);
  app.store.set({ busy: true, homeError: null, view: 'session', connection: { state: 'connecting', detail: 'starting the host' } });
  try {
    // The session starts its audio with the settings the app has: send this player's first
    // (visual only, device, ...), or it opens the default output regardless.
    await pushTauriAudio(app);
    const host = await tauri.hostSession(name.trim() || `${s.name}'s session`, s.name.trim(), s.instrument.trim() || null);
    let target: JoinTarget | null = null;
    try {
      target = parseLink(host.link);
    } catch {
      // the link is shown as it is
    }
    app.store.set({ host, target, busy: false });
    app.remember(host.link, host.name, host.session);
  } catch (e) {
    detach(app);
    app.store.set({ busy: false, view: 'home', connection: null, homeError: `Could not host: ${String(e)}` });
  }
}

/** Joins a session from a link (or `HOST:PORT`) and maybe a PIN. */
export async function join(app: AppCore, target: string, pin: string | null): Promise<void> {
  const s = app.state.settings;
  if (!s.name.trim()) {
    app.store.set({ homeError: 'Enter your name first.' });
    return;
  }
  const req: JoinRequest = { target: target.trim(), name: s.name.trim(), instrument: s.instrument.trim() || null, pin: pin?.trim() || null };
  app.store.set({ homeError: null, refusal: null });
  if (app.state.runtime === 'tauri') {
    const tauri = new TauriBackend();
    attach(app, tauri);
    let parsed: JoinTarget | null = null;
    try {
      parsed = parseLink(req.target);
    } catch {
      // HOST:PORT: the app finds the session itself
    }
    app.store.set({ view: 'session', target: parsed, connection: { state: 'connecting', detail: `joining ${req.target}` } });
    app.lastJoin = req;
    try {
      await pushTauriAudio(app);
      await tauri.join(req);
    } catch (e) {
      detach(app);
      app.store.set({ view: 'home', connection: null, homeError: String(e) });
    }
    return;
  }
  let t: JoinTarget;
  try {
    t = parseLink(req.target);
  } catch (e) {
    app.store.set({ homeError: (e as Error).message });
    return;
  }
  // A browser page can only open a WebSocket to the host it came from (the host checks the
  // Origin). In development the Vite proxy stands in for the host.
  if (import.meta.env.DEV) {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    t = { ...t, ws_url: t.ws_url.replace(/^wss?:\/\/[^/]+/, `${scheme}://${location.host}`), origin: location.origin };
  } else if (t.origin !== location.origin) {
    location.assign(req.target.includes('://') ? req.target : `http://${req.target}`);
    return;
  }
  const browser = new BrowserBackend(req, t);
  attach(app, browser);
  app.lastJoin = req;
  app.store.set({ view: 'session', target: browser.target, connection: { state: 'connecting', detail: 'connecting' } });
  createPlayer(app, browser);
  browser.start();
  // Keep the address bar on the session, so that a reload rejoins (and resumes).
  if (!import.meta.env.DEV && location.pathname !== `/s/${t.session}`) history.replaceState(null, '', `/s/${t.session}${t.secret ? `#k=${t.secret}` : ''}`);
}

/** After a refusal a PIN may help: try again with it. */
export async function retryWithPin(app: AppCore, pin: string): Promise<void> {
  const b = app.backend;
  if (b instanceof BrowserBackend) {
    app.store.set({ refusal: null });
    b.retryWithPin(pin);
    return;
  }
  const last = app.lastJoin;
  if (last) {
    detach(app);
    await join(app, last.target, pin);
  }
}

/** Leaves the session for good and goes back home. */
export async function leave(app: AppCore): Promise<void> {
  const b = app.backend;
  if (b) {
    try {
      await b.leave();
    } catch (e) {
      app.toast(String(e));
    }
  }
  detach(app);
  app.store.set({ view: 'home', session: null, connection: null, refusal: null, songs: [], presence: new Map(), host: null, clock: null });
  if (app.state.runtime === 'browser' && !import.meta.env.DEV) history.replaceState(null, '', '/');
  void app.updateWakeLock();
}
