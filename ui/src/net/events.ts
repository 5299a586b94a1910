//! Session wiring: attaching a backend (with a fresh document sync) and turning its events into
//! state, toasts and sound. Server messages go through the Rust session mirror; the connection's
//! state, refusals, clock, beats and audio status land in the store.

import type { ConnectionState, ErrorCode, Mirrored, ServerMsg } from '../bindings';
import { engineName } from '../audio/wiring';
import { apply } from '../core/session';
import { explainRefusal } from '../core/refusal';
import { DocSync } from '../doc/docsync';
import { readSetlist } from '../doc/setlist';
import type { AppState } from '../state/appstate';
import type { AppCore } from '../state/appcore';
import { buildLink, parseLink, SessionMirror } from '../wasm/api';
import type { Backend, UiEvent } from './backend';
import { BrowserBackend } from './browser';
import { cancelCues, scheduleCue } from './cue';
import { requestChat } from './history';
import * as notify from './notify';

/** Requests the app sends by itself; an older host that does not know them is not an error. */
const BACKGROUND = new Set(['chat_history', 'activity_history', 'versions', 'personal']);

/** Makes `b` the session's backend, with new documents; whatever was attached goes first. */
export function attach(app: AppCore, b: Backend): void {
  detach(app);
  app.backend = b;
  const docs = new DocSync({
    send: (f) => b.sendDoc(f),
    onTooLarge: (n) =>
      app.toast(`That edit is too large to share (${Math.round(n / 1024)} KB; the limit is 64 KB). Split it into smaller pastes.`),
    onBadFrame: (e) => console.warn('unreadable document frame', e),
  });
  app.docs = docs;
  const refreshSongs = () => {
    const songs = readSetlist(docs.doc);
    app.store.set((s) => {
      const view = s.viewSong && songs.some((x) => x.id === s.viewSong) ? s.viewSong : (s.session?.song ?? songs[0]?.id ?? null);
      return { songs, viewSong: view };
    });
  };
  docs.doc.on('update', refreshSongs);
  app.unsubs.push(() => docs.doc.off('update', refreshSongs));
  app.unsubs.push(docs.onChange(() => app.store.set({ presence: docs.presence() })));
  app.unsubs.push(b.on((ev) => onEvent(app, ev)));
  app.unsubs.push(() => cancelCues(app));
  app.beats = [];
  void app.updateWakeLock();
}

/** Lets go of the backend, the documents, the player and the mirror. */
export function detach(app: AppCore): void {
  for (const u of app.unsubs) u();
  app.unsubs = [];
  app.docs?.destroy();
  app.docs = null;
  void app.player?.disable();
  app.player = null;
  app.webMidi?.close();
  app.webMidi = null;
  app.store.set({ webMidi: null });
  app.backend = null;
  app.mirror?.free();
  app.mirror = null;
}

function onEvent(app: AppCore, ev: UiEvent): void {
  switch (ev.kind) {
    case 'server':
      onServer(app, ev.msg, mirrored(app, ev.msg, ev.mirrored));
      break;
    case 'doc':
      app.docs?.receive(ev.data);
      break;
    case 'clock': {
      const prev = app.state.clock;
      app.store.set({ clock: ev.clock });
      // The band sees this device's output with its sync quality (the member sends it along).
      if (app.backend instanceof BrowserBackend) app.backend.setOutput(app.player?.report(engineName()) ?? null);
      // The first sync steps the estimate: what was scheduled on the old one is off.
      if (prev && !prev.synced && ev.clock.synced) app.player?.clockStepped();
      break;
    }
    case 'connection':
      onConnection(app, ev.state, ev.detail, ev.code);
      break;
    case 'beat': {
      const b = ev.beat;
      app.beats.push({
        at: b.at_host_us,
        arrivedPerf: performance.now(),
        lead: b.lead_us,
        bar: b.bar,
        beat: b.beat,
        countIn: b.count_in,
        subdivision: b.subdivision,
      });
      if (app.beats.length > 64) app.beats.splice(0, app.beats.length - 64);
      break;
    }
    case 'audio':
      app.store.set({ audio: ev.audio });
      if (ev.audio.error) app.toast(`Audio: ${ev.audio.error}`);
      break;
    case 'host':
      app.store.set({ host: ev.host });
      break;
    case 'link':
      app.store.set({ link: ev.link });
      break;
    case 'midi':
      app.store.set({ midi: ev.midi });
      if (ev.midi.error) app.toast(`MIDI: ${ev.midi.error}`);
      break;
    case 'pedal':
      if (ev.refused) app.toast(`Pedal: ${ev.refused}`);
      break;
  }
}

function onConnection(app: AppCore, state: ConnectionState, detail: string, refused?: ErrorCode): void {
  app.store.set({ connection: { state, detail } });
  if (state === 'online') return;
  app.docs?.disconnected();
  if (state === 'refused') {
    // The event carries the refusal's code and the server's words (none: a reconnect given up).
    app.store.set({ refusal: explainRefusal(refused ?? '', detail) });
  }
  if (state === 'left') {
    void app.updateWakeLock();
  }
}

/** What a server message changed in the session's mirror: the page's member said so as it read
 *  it (`given`); the app's messages, forwarded raw, go through the view's own mirror. */
function mirrored(app: AppCore, msg: ServerMsg, given: Mirrored | null | undefined): Mirrored | null {
  if (given !== undefined) return given;
  app.mirror ??= new SessionMirror();
  return app.mirror.apply(JSON.stringify(msg));
}

function onServer(app: AppCore, msg: ServerMsg, r: Mirrored | null): void {
  const s = app.state.session;
  if (msg.type === 'welcome') {
    const next = apply(s, msg, r);
    if (!next || next === s) {
      app.toast('The host sent a schedule no session could make; it was ignored.');
      return;
    }
    const firstSong = next.song;
    if (!app.state.target && app.lastJoin) {
      // Joined by address (HOST:PORT): now the session id is known, so is the link.
      try {
        const hp = app.lastJoin.target.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
        app.store.set({ target: parseLink(`http://${hp}/s/${msg.snapshot.session}`) });
      } catch {
        // not an address either; the invite panel then waits for the host's link
      }
    }
    const unsupported = new Set(app.state.unsupported);
    unsupported.delete('personal');
    app.store.set({ session: next, refusal: null, viewSong: app.state.viewSong ?? firstSong, unsupported });
    // The member's own settings: the host's if a device of ours gave them, else ours go (to a
    // host that keeps them: this one may, where the last one did not).
    const mine = app.personal.fromHost(msg.personal);
    if (mine) app.setSettings(mine);
    app.player?.setTransport(next.transport);
    app.webMidi?.setTransport(next.transport);
    app.docs?.setUser(app.presenceUser());
    app.docs?.setChart(app.state.viewSong);
    app.docs?.connected();
    // Catch up on what was said and done, whether new or back from a drop.
    requestChat(app, 'page');
    void app.send({ type: 'activity_history', limit: 50 }, true);
    const t = app.state.target;
    if (t && app.state.runtime === 'browser') {
      const link = t.secret ? buildLink(t, t.secret) : `${t.origin}/s/${t.session}`;
      app.remember(link, msg.snapshot.name, msg.snapshot.session);
    } else if (t && t.secret) {
      app.remember(buildLink(t, t.secret), msg.snapshot.name, msg.snapshot.session);
    }
    return;
  }
  if (msg.type === 'error') {
    const about = msg.about ? ` (${msg.about})` : '';
    // Settings sent while the connection was down: they go at the next welcome, unannounced.
    if (msg.about === 'personal' && msg.code === 'internal') return app.personal.failed();
    if ((msg.code === 'unknown_type' || msg.code === 'unsupported') && msg.about && BACKGROUND.has(msg.about)) {
      app.store.set((st) => ({ unsupported: new Set([...st.unsupported, msg.about!]) }));
      if (s) app.store.set({ session: apply(s, msg, r) });
      return;
    }
    if (!(msg.about === 'join' && !s)) app.toast(`${msg.message}${about} [${msg.code}]`);
    if (s) app.store.set({ session: apply(s, msg, r) });
    return;
  }
  if (!s) return;
  // Not state (the mirror ignores it): a flash when it lands, on every device together.
  if (msg.type === 'cue') return scheduleCue(app, msg);
  if (msg.type === 'chat_export') return app.onChatExport?.(msg.format, msg.text);
  if (msg.type === 'personal') {
    const mine = app.personal.fromHost(msg.settings);
    return mine ? app.setSettings(mine) : undefined;
  }
  const next = apply(s, msg, r);
  if (!next || next === s) {
    if (msg.type === 'transport') app.toast('The host sent a schedule no session could make; it was ignored.');
    return;
  }
  const patch: Partial<AppState> = { session: next };
  if (msg.type === 'transport') {
    app.player?.setTransport(next.transport);
    app.webMidi?.setTransport(next.transport);
  }
  if (msg.type === 'song_changed' && msg.song) {
    // Followers' charts jump to the song the leader chose.
    patch.viewSong = msg.song;
    app.docs?.setChart(msg.song);
  }
  if (msg.type === 'participant_left') app.docs?.forgetParticipant(msg.id);
  if (msg.type === 'chat') notify.onChat(app, msg.message, next.you);
  if (msg.type === 'participant_updated' && msg.participant.id === next.you) {
    notify.onSelf(app, s.participants.find((p) => p.id === next.you), msg.participant);
  }
  if ((msg.type === 'participant_updated' || msg.type === 'participant_joined') && msg.participant.id === next.you) {
    app.docs?.setUser(app.presenceUser());
  }
  app.store.set(patch);
}
