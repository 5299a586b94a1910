//! The page's MIDI through Web MIDI, where the browser has it: out to the band's gear
//! (`out.ts`) and pedals in (`pedals.ts`), on the browser's ports (`ports.ts`), and what the
//! settings show of them.

import type { PlayerClock } from '../audio/player';
import type { Transport } from '../bindings';
import { WebMidiOut, type MidiOutSettings } from './out';
import { WebMidiPedals, type PedalContext, type PedalSettings } from './pedals';
import { MidiPorts, portName, webMidiAvailable } from './ports';

/** What the settings show: the ports there are, the ones open, and what went wrong. */
export interface WebMidiStatus {
  /** Whether this browser has Web MIDI here (a plain-http page has not). */
  available: boolean;
  outputs: string[];
  inputs: string[];
  /** The output the band's clock goes to, and the input the pedals come from. */
  out: string | null;
  pedals: string | null;
  /** Why MIDI out does nothing (no ports, the output not connected). */
  error: string | null;
  /** Why the pedals do nothing (the map, the input not connected). */
  pedalError: string | null;
}

export type WebMidiSettings = MidiOutSettings & PedalSettings;

/** Where the browser has no Web MIDI: nothing to open, and the settings say why. */
export const NO_WEB_MIDI: WebMidiStatus = { available: false, outputs: [], inputs: [], out: null, pedals: null, error: null, pedalError: null };

export { webMidiAvailable };

export class WebMidi {
  private ports: MidiPorts;
  private out: WebMidiOut;
  private pedals: WebMidiPedals;
  /** Told whenever the status may have changed. */
  onStatus: ((s: WebMidiStatus) => void) | null = null;

  constructor(clock: PlayerClock, ctx: PedalContext, settings: WebMidiSettings, request?: () => Promise<MIDIAccess>) {
    this.ports = new MidiPorts(request);
    this.out = new WebMidiOut(this.ports, clock, settings);
    this.pedals = new WebMidiPedals(this.ports, ctx, settings);
    // After out's and the pedals' own listeners: they have chosen their ports by then.
    this.ports.onChange(() => this.onStatus?.(this.status()));
  }

  status(): WebMidiStatus {
    return {
      available: webMidiAvailable(),
      outputs: this.ports.outputs().map(portName),
      inputs: this.ports.inputs().map(portName),
      out: this.out.open,
      pedals: this.pedals.open,
      error: this.ports.error ?? this.out.problem,
      pedalError: this.pedals.problem,
    };
  }

  /** Asks the browser for its ports (it may ask the user), to list them. */
  open(): Promise<void> {
    return this.ports.open();
  }

  /** The settings (all of them: the click's change nothing here). The status is told again
   *  when a port or the map changed. */
  setSettings(s: WebMidiSettings): void {
    const out = this.out.setSettings(s);
    const pedals = this.pedals.setSettings(s);
    if (out || pedals) this.onStatus?.(this.status());
  }

  setTransport(tr: Transport | null): void {
    this.out.setTransport(tr);
  }

  close(): void {
    this.out.close();
    this.pedals.close();
    this.ports.close();
  }
}
