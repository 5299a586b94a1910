//! The app's state: what the views read from the store (`App.store`), and how it starts.

import type { AudioStatus, ClockStatus, ConnectionState, DiscoveredSession, HostInfo, JoinTarget, LinkStatus, MidiStatus } from '../bindings';
import type { WebMidiStatus } from '../midi/webmidi';
import type { SessionState } from '../core/session';
import type { Refusal } from '../core/refusal';
import type { Song } from '../doc/setlist';
import { loadRecent, loadSettings, type RecentSession, type Settings } from './settings';

export interface Toast {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

/** A leader's cue on screen (`net/cue.ts`). */
export interface ShownCue {
  id: number;
  text: string;
  /** `performance.now()` when it was shown. */
  landedAt: number;
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
  /** Tauri: Ableton Link (null in a browser). */
  link: LinkStatus | null;
  /** Tauri: MIDI out and pedals as they are (null until set, and in a browser). */
  midi: MidiStatus | null;
  /** Browser: MIDI out and pedals through Web MIDI (null outside a session, and in the app). */
  webMidi: WebMidiStatus | null;
  recent: RecentSession[];
  discovered: DiscoveredSession[];
  /** Why LAN discovery is not running (turned off, or failed), shown quietly on Home. */
  discoveryOff: string | null;
  devices: string[];
  /** Tauri: the microphones (for a calibration). */
  inputs: string[];
  /** A home-screen error (bad link, host failed). */
  homeError: string | null;
  busy: boolean;
  /** Message types this host does not know (an older host): their panels say so. */
  unsupported: ReadonlySet<string>;
  /** The leader's cue being shown, if any. */
  cue: ShownCue | null;
  /** Mentions and role changes not looked at yet (`net/notify.ts`): the chat link's badge. */
  mentions: number;
}

/** The state at start: the home screen, with the saved settings and recent sessions. */
export function initialAppState(runtime: AppState['runtime']): AppState {
  return {
    runtime,
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
    link: null,
    midi: null,
    webMidi: null,
    recent: loadRecent(),
    discovered: [],
    discoveryOff: null,
    devices: [],
    inputs: [],
    homeError: null,
    busy: false,
    unsupported: new Set(),
    cue: null,
    mentions: 0,
  };
}
