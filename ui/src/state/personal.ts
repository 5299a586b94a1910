//! The member's own settings (the core's `Personal`): how they read the charts and hear the
//! click. The host keeps them for the member and passes them between the member's devices; this
//! device keeps its copy in its settings, like every other setting. What belongs to the device
//! (latency, audio device, text size, volume, pedal keys) never leaves it.

import type { Personal, SongLook } from '../bindings';
import type { Settings } from './settings';

/** Every field of `Personal`, and no other (the object fails to compile else). */
const KEYS = Object.keys({
  transpose: 0,
  capo: 0,
  songs: 0,
  notation: 0,
  chartShow: 0,
  twoColumns: 0,
  autoScroll: 0,
  barsPerLine: 0,
  subdivision: 0,
  flash: 0,
  countIn: 0,
} satisfies Record<keyof Personal, 0>) as (keyof Personal)[];

/** The member's own part of this device's settings (or of the host's copy: the same order). */
export function personalOf(s: Personal): Personal {
  const p = {} as Record<string, unknown>;
  for (const k of KEYS) p[k as string] = s[k];
  return p as unknown as Personal;
}

/** How this member reads `song`: with its own transpose and capo, or those for every song. */
export function lookOf(s: Personal, song: string | null): { transpose: number; capo: number } {
  const own = song === null ? undefined : s.songs.find(([id]) => id === song);
  return own ? { transpose: own[1], capo: own[2] } : { transpose: s.transpose, capo: s.capo };
}

/** The settings' change that reads `song` with `look` (`null`: every song without its own):
 *  a song read as every song is has no entry of its own. */
export function lookChange(s: Personal, song: string | null, look: { transpose: number; capo: number }): Partial<Personal> {
  if (song === null) return look;
  const songs: SongLook[] = s.songs.filter(([id]) => id !== song);
  if (look.transpose !== s.transpose || look.capo !== s.capo) songs.push([song, look.transpose, look.capo]);
  return { songs };
}

/** Whether a settings change touches the member's own part. */
export function touchesPersonal(patch: Partial<Settings>): boolean {
  return KEYS.some((k) => k in patch);
}

/** Sends this device's own settings to the host when they differ from what the host keeps for
 *  the member, a moment after the last change (a slider sends one message, not one a step), and
 *  takes the host's when another device of the member changed them. The host answers every
 *  change to all the member's devices, the sender's too, so that two devices changing them at
 *  once both end with the one it kept. */
export class PersonalSync {
  /** What the host has for the member, as JSON, when known. */
  private host: string | null = null;
  /** A change of ours that did not go out (no connection then): ours win at the next welcome. */
  private unsent = false;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly settings: () => Settings,
    /** Resolves to whether the message went out. */
    private readonly send: (p: Personal) => Promise<boolean>,
    /** Whether the host keeps them (one from before them answers `unknown_type`). */
    private readonly kept: () => boolean,
    private readonly delayMs = 400,
  ) {}

  /** The host's copy, from a welcome (`undefined` or `null`: it has none, so ours goes now) or
   *  from a change on any of the member's devices. Returns the settings to take, if any: none
   *  while a change of ours is settling (it goes when it has) or did not go out (it goes now). */
  fromHost(p: Personal | null | undefined): Personal | null {
    const theirs = p ? personalOf(p) : null;
    this.host = theirs ? JSON.stringify(theirs) : null;
    if (this.timer) return null;
    if (!theirs || this.unsent) {
      this.flush();
      return null;
    }
    return theirs;
  }

  /** The settings changed here: ours go once they settle (not when they are the host's, taken). */
  changed(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (JSON.stringify(personalOf(this.settings())) === this.host) return;
    this.timer = setTimeout(() => this.flush(), this.delayMs);
  }

  /** What was sent did not reach the host (the member was not connected): ours go at the next
   *  welcome. */
  failed(): void {
    [this.host, this.unsent] = [null, true];
  }

  /** Sends ours now if the host's differ. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const mine = personalOf(this.settings());
    const json = JSON.stringify(mine);
    if (json === this.host) this.unsent = false;
    if (json === this.host || !this.kept()) return;
    this.host = json;
    this.unsent = false;
    void this.send(mine).then((ok) => {
      if (!ok) this.failed();
    });
  }
}
