//! The page's MIDI pedals: a foot controller's notes and controllers (a keyboard's keys, a
//! sustain pedal) do what the leader's buttons do: next or previous song, play/stop, tap tempo,
//! a cue. The map and what a press means are the core's (`PedalMap`, the app's and the CLI's
//! too); the message goes out as the button's, and the host checks the sender's authority as
//! for the button.

import type { ClientMsg, Transport } from '../bindings';
import { PedalMap } from '../wasm/api';
import { type MidiPorts, portName } from './ports';

export interface PedalSettings {
  /** The input's name, or `null` for none. */
  midiIn: string | null;
  /** `note 62=next; cc 64=playstop`; empty for the core's default. */
  midiMap: string;
}

/** What a press needs from the session, and where its message goes. */
export interface PedalContext {
  /** The setlist's song ids, in order. */
  setlist(): string[];
  current(): string | null;
  transport(): Transport | null;
  /** Sends the message the leader's button for `action` sends. */
  act(msg: ClientMsg, action: string): void;
  /** A press that sends nothing, and why (no next song). */
  refused(why: string): void;
}

export class WebMidiPedals {
  private input: MIDIInput | null = null;
  private map: PedalMap | null = null;
  private mapError: string | null = null;
  private missing: string | null = null;
  private settings: PedalSettings;
  private closed = false;
  private unsub: () => void;

  constructor(
    private ports: MidiPorts,
    private ctx: PedalContext,
    settings: PedalSettings,
  ) {
    this.settings = { midiIn: settings.midiIn, midiMap: settings.midiMap };
    this.setMap(settings.midiMap);
    this.unsub = ports.onChange(() => this.choose());
    if (settings.midiIn) void ports.open();
  }

  /** The input the pedals come from. */
  get open(): string | null {
    return this.input ? portName(this.input) : null;
  }

  /** Why the pedals do nothing: a map that does not read, an input not connected. */
  get problem(): string | null {
    return this.mapError ?? this.missing;
  }

  /** Takes new settings; says whether the port or the map changed. */
  setSettings(s: PedalSettings): boolean {
    const port = s.midiIn !== this.settings.midiIn;
    const map = s.midiMap !== this.settings.midiMap;
    if (map) this.setMap(s.midiMap);
    this.settings = { midiIn: s.midiIn, midiMap: s.midiMap };
    if (port) void this.ports.open();
    return port || map;
  }

  close(): void {
    this.closed = true;
    this.unsub();
    this.listen(null);
    this.map?.free();
    this.map = null;
  }

  private setMap(text: string): void {
    this.map?.free();
    this.map = null;
    try {
      this.map = new PedalMap(text);
      this.mapError = null;
    } catch (e) {
      this.mapError = e instanceof Error ? e.message : String(e);
    }
  }

  private choose(): void {
    if (this.closed) return;
    const { port, missing } = this.ports.pick(this.ports.inputs(), this.settings.midiIn, 'input');
    if (port !== this.input) this.listen(port);
    this.missing = missing;
  }

  private listen(input: MIDIInput | null): void {
    const old = this.input;
    if (old) old.onmidimessage = null;
    if (old && old !== input) void old.close?.().catch(() => undefined);
    this.input = input;
    // A handler opens the port (Web MIDI).
    if (input) input.onmidimessage = (e) => this.press(e);
  }

  private press(e: MIDIMessageEvent): void {
    if (!this.map || !e.data) return;
    const c = this.ctx;
    const r = this.map.press(e.timeStamp * 1000, [...e.data], c.setlist(), c.current(), c.transport());
    if (r?.msg && r.action) c.act(r.msg, r.action);
    else if (r?.refused) c.refused(r.refused);
  }
}
