//! Personal settings, kept in localStorage: who you are, how the click sounds, how charts look.
//! None of this is shared with the band; the member's own part (`Personal`) goes to the host, for
//! the member's other devices only (`personal.ts`).

import type { PlayerSettings } from '../audio/player';
import type { ClickSound } from '../audio/sounds';
import type { Personal } from '../bindings';
import type { LearnedKeys } from '../core/keys';

export interface Levels {
  downbeat: number;
  group: number;
  beat: number;
  sub: number;
}

/** This device's settings, with the member's own (`Personal`: chart view, subdivision, flash,
 *  count-in), which the host passes between the member's devices (`personal.ts`). */
export interface Settings extends Personal {
  name: string;
  instrument: string;
  /** Dark, high-contrast stage look. */
  stage: boolean;
  /** Click sound on (browser: Web Audio; Tauri: the app's audio engine). */
  sound: boolean;
  /** Silence without stopping (the visual beat goes on). */
  mute: boolean;
  volume: number;
  levels: Levels;
  /** Extra output latency to compensate, ms (positive: clicks start earlier). */
  latencyMs: number;
  /** Where `latencyMs` comes from (kept with it, per browser and device): typed in or tapped
   *  along (`calibrated`, also when absent), or measured with the microphone. */
  latencySource?: PlayerSettings['latencySource'];
  clickSound: ClickSound;
  channel: 'left' | 'right' | 'both';
  /** Visual beat only: no audio at all. */
  visualOnly: boolean;
  /** Tauri: an output device name; `null` for the default. */
  device: string | null;
  /** Tauri: the microphone a calibration listens through; `null` for the default. */
  inputDevice: string | null;
  keepAwake: boolean;
  /** Chart font size, px. */
  fontSize: number;
  /** Keys taught to a page turner (a pedal), on top of the usual ones (`core/keys.ts`). */
  keys: LearnedKeys;
  /** Browser: the Web MIDI output the band's clock and song changes go to (`null`: none). */
  midiOut: string | null;
  /** Browser: MIDI sent this much earlier, ms, for gear that sounds late. */
  midiOffsetMs: number;
  /** Browser: the Web MIDI input pedals come from (`null`: none), and their map (empty: the
   *  core's default). */
  midiIn: string | null;
  midiMap: string;
}

export const DEFAULT_SETTINGS: Settings = {
  name: '',
  instrument: '',
  stage: true,
  sound: true,
  mute: false,
  volume: 0.8,
  levels: { downbeat: 1, group: 0.8, beat: 0.6, sub: 0.35 },
  subdivision: 1,
  latencyMs: 0,
  clickSound: 'classic',
  channel: 'both',
  visualOnly: false,
  device: null,
  inputDevice: null,
  keepAwake: true,
  fontSize: 18,
  transpose: 0,
  capo: 0,
  songs: [],
  notation: 'letters',
  chartShow: 'both',
  twoColumns: false,
  autoScroll: false,
  barsPerLine: 2,
  countIn: 1,
  flash: true,
  keys: {},
  midiOut: null,
  midiOffsetMs: 0,
  midiIn: null,
  midiMap: '',
};

const KEY = 'bandsync.settings';

export function loadSettings(storage: Pick<Storage, 'getItem'> | null = globalThis.localStorage ?? null): Settings {
  try {
    const raw = storage?.getItem(KEY);
    if (!raw) return { ...DEFAULT_SETTINGS };
    const s = JSON.parse(raw) as Partial<Settings>;
    return { ...DEFAULT_SETTINGS, ...s, levels: { ...DEFAULT_SETTINGS.levels, ...(s.levels ?? {}) } };
  } catch {
    return { ...DEFAULT_SETTINGS };
  }
}

export function saveSettings(s: Settings, storage: Pick<Storage, 'setItem'> | null = globalThis.localStorage ?? null): void {
  try {
    storage?.setItem(KEY, JSON.stringify(s));
  } catch {
    // Private mode or a full quota: settings then last for this page only.
  }
}

/** A session joined before, for the home screen. The secret is kept so the link works again. */
export interface RecentSession {
  link: string;
  name: string;
  session: string;
  at: number;
}

const RECENT_KEY = 'bandsync.recent';

export function loadRecent(): RecentSession[] {
  try {
    const r = JSON.parse(localStorage.getItem(RECENT_KEY) ?? '[]') as RecentSession[];
    return Array.isArray(r) ? r : [];
  } catch {
    return [];
  }
}

export function rememberSession(r: RecentSession): RecentSession[] {
  const list = [r, ...loadRecent().filter((x) => x.session !== r.session || x.link !== r.link)].slice(0, 8);
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(list));
  } catch {
    // ignore
  }
  return list;
}

export function forgetSession(link: string): RecentSession[] {
  const list = loadRecent().filter((x) => x.link !== link);
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(list));
  } catch {
    // ignore
  }
  return list;
}
