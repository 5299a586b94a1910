//! The click's wiring into the app: the browser's click player on the session's clock, starting
//! it from a tap, and the Tauri app's audio engine settings; the page's Web MIDI beside the click.

import { ClickPlayer, type PlayerClock } from './player';
import { NO_WEB_MIDI, WebMidi, webMidiAvailable } from '../midi/webmidi';
import type { PedalContext } from '../midi/pedals';
import type { BrowserBackend } from '../net/browser';
import { setAudio } from '../net/tauri';
import type { AudioSettings } from '../bindings';
import type { AppCore } from '../state/appcore';

/** What plays the click here, as the band sees it: `web-audio` and the browser's engine. */
export function engineName(): string {
  const ua = navigator.userAgent;
  const engine = /Firefox\//.test(ua) ? 'Gecko' : /Chrom(e|ium)\//.test(ua) ? 'Chromium' : /AppleWebKit\//.test(ua) ? 'WebKit' : 'browser';
  return `web-audio ${engine}`;
}

/** Browser: the click player for a session, on the backend's host clock. */
export function createPlayer(app: AppCore, b: BrowserBackend): void {
  const clock: PlayerClock = { hostNow: () => b.hostNow(), perfToHost: (p) => b.perfToHost(p), axis: () => b.axis() };
  const player = new ClickPlayer(clock, app.state.settings);
  app.player = player;
  player.onResync = (awayMs, missed) => {
    const away = awayMs >= 1000 ? `${(awayMs / 1000).toFixed(0)} s` : `${Math.round(awayMs)} ms`;
    app.toast(`Back on the beat after ${away} away${missed ? ` (${missed} click${missed === 1 ? '' : 's'} missed)` : ''}.`, 'info');
  };
  app.unsubs.push(player.onStateChange(() => app.store.set({ soundRunning: player.running })));
  createWebMidi(app, clock);
}

/** Browser: MIDI out through Web MIDI, on the same clock as the click, and pedals that act as
 *  the leader's buttons. Where the browser has no Web MIDI, the settings say why and nothing is
 *  made. */
function createWebMidi(app: AppCore, clock: PlayerClock): void {
  if (!webMidiAvailable()) {
    app.store.set({ webMidi: NO_WEB_MIDI });
    return;
  }
  const midi = new WebMidi(clock, pedalContext(app), app.state.settings);
  app.webMidi = midi;
  midi.onStatus = (s) => app.store.set({ webMidi: s });
  app.store.set({ webMidi: midi.status() });
  midi.setTransport(app.state.session?.transport ?? null);
}

/** Starts the browser's click; must be called from a tap or click. */
export async function enableSound(app: AppCore): Promise<void> {
  if (!app.player) return;
  if (!app.state.settings.sound || app.state.settings.visualOnly) app.setSettings({ sound: true, visualOnly: false });
  try {
    await app.player.enable();
    app.player.setSettings(app.state.settings);
    app.player.setTransport(app.state.session?.transport ?? null);
  } catch (e) {
    app.toast(`Sound could not start: ${String(e)}`);
  }
}

/** The pushes to the app so far (only the newest one's answer is shown), one after another. */
let pushes = 0;
let pushed: Promise<unknown> = Promise.resolve();

/** Tauri: hands the audio settings to the app's audio engine; a failure becomes a toast. The
 *  latency figure goes only when `figure` (the player set it): otherwise the output device plays
 *  by its own (each device keeps its own: `crates/app/src/app/audio.rs`), and the app's answer
 *  says which, for the field to show, unless another push or another device came meanwhile. */
export async function pushTauriAudio(app: AppCore, figure = false): Promise<void> {
  const s = app.state.settings;
  const n = ++pushes;
  const sent = {
    enabled: s.sound && !s.visualOnly,
    device: s.device,
    channel: s.channel,
    volume: s.mute ? 0 : s.volume,
    subdivision: s.subdivision,
    latency_offset_ms: figure ? s.latencyMs : null,
    latency_measured: s.latencySource === 'measured',
    buffer_frames: null,
    sound: s.clickSound,
    input_device: s.inputDevice,
  };
  try {
    // In the order they were made: the app handles each command in a task of its own.
    const r = await (pushed = pushed.catch(() => undefined).then(() => setAudio(sent)) as Promise<AudioSettings>);
    const now = app.state.settings;
    if (n === pushes && now.device === s.device && (r.latency_offset_ms !== now.latencyMs || r.latency_measured !== (now.latencySource === 'measured'))) {
      app.setSettings({ latencyMs: r.latency_offset_ms ?? 0, latencySource: r.latency_measured ? 'measured' : undefined });
    }
  } catch (e) {
    app.toast(`Audio: ${String(e)}`);
  }
}

/** What the pedals read of the session, and where their messages go: sent as the leader's
 *  buttons send them (the host refuses a member who does not lead, as for the buttons). */
function pedalContext(app: AppCore): PedalContext {
  return {
    setlist: () => app.state.songs.map((s) => s.id),
    current: () => app.state.session?.song ?? null,
    transport: () => app.state.session?.transport ?? null,
    act: (msg) => void app.send(msg),
    refused: (why) => app.toast(`Pedal: ${why}.`, 'info'),
  };
}
