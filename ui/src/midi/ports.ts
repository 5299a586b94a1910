//! The browser's MIDI ports (Web MIDI), where it has them: Chrome, Edge and Opera on computers
//! and Android, and Firefox on computers, on a secure page (https, or the host's own `localhost`). Asked for once
//! (the browser may ask the user), shared by MIDI out (`out.ts`) and the pedals (`pedals.ts`),
//! which are told when ports come and go.

/** Whether the browser offers Web MIDI to this page. */
export function webMidiAvailable(): boolean {
  return typeof navigator !== 'undefined' && typeof navigator.requestMIDIAccess === 'function';
}

/** Why the browser gave no MIDI, in the user's words, with the browser's own. */
function refusal(e: unknown): string {
  const name = e instanceof Error ? e.name : '';
  const said = e instanceof Error ? e.message : String(e);
  if (name === 'NotAllowedError' || name === 'SecurityError') return `MIDI is not allowed for this page: allow it in the browser's site settings (${said})`;
  return `The browser could not open this device's MIDI (${said})`;
}

/** A port's name as the settings keep it. */
export const portName = (p: MIDIPort): string => p.name ?? p.id;

export class MidiPorts {
  private access: MIDIAccess | null = null;
  private asking: Promise<MIDIAccess> | null = null;
  private listeners = new Set<() => void>();
  private closed = false;
  /** Why there are no ports, once asked. */
  error: string | null = null;

  constructor(private request: () => Promise<MIDIAccess> = () => navigator.requestMIDIAccess()) {}

  /** Asks the browser for its ports, once (again after a refusal); tells the listeners. */
  async open(): Promise<void> {
    if (!this.access) {
      // One request at a time: out and the pedals may both ask.
      this.asking ??= this.request();
      try {
        const access = await this.asking;
        if (!this.access && !this.closed) {
          this.access = access;
          access.onstatechange = () => this.changed();
        }
        this.error = null;
      } catch (e) {
        this.error = refusal(e);
      } finally {
        this.asking = null;
      }
    }
    this.changed();
  }

  /** Calls `l` whenever ports come or go (and after `open`); returns the unsubscribe. */
  onChange(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  outputs(): MIDIOutput[] {
    return this.access ? [...this.access.outputs.values()] : [];
  }

  inputs(): MIDIInput[] {
    return this.access ? [...this.access.inputs.values()] : [];
  }

  /** The connected port of `list` named `want` (`null` for none wanted), and why there is none
   *  when one is wanted and the browser has answered. */
  pick<P extends MIDIPort>(list: P[], want: string | null, kind: 'output' | 'input'): { port: P | null; missing: string | null } {
    const port = want ? (list.find((p) => portName(p) === want && p.state === 'connected') ?? null) : null;
    return { port, missing: want && this.asked && !port ? `No MIDI ${kind} named "${want}" is connected.` : null };
  }

  /** Whether the browser has answered (with ports or without). */
  get asked(): boolean {
    return this.access !== null;
  }

  close(): void {
    this.closed = true;
    if (this.access) this.access.onstatechange = null;
    this.listeners.clear();
  }

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }
}
