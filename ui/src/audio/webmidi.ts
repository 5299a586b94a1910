//! The page's MIDI out, through Web MIDI where the browser has it (Chrome, Edge, Firefox and
//! Opera on computers and Android, on a secure page: https, or the host's own `localhost`): the
//! band's clock, start, stop and song position, and each song's patch, to the gear plugged into
//! this device. What to send and when is the core's feeder (`MidiFeed`), the one the app and the
//! CLI run for their ports; `MIDIOutput.send` takes each message's time on the browser's clock,
//! so the browser places it, not this thread's timer.
//!
//! The feeder is ticked from the main thread every 25 ms and hands out 100 ms ahead: a long task
//! up to 75 ms costs nothing. Browsers slow a hidden tab's timers, but not a tab that plays
//! audio, which the click does.

import type { HostAxis, Transport } from '../bindings';
import { MidiFeed } from '../wasm/api';
import type { PlayerClock } from './player';

/** How often the feeder is ticked, ms. */
const TICK_MS = 25;
/** How far ahead messages are handed to the browser, µs. */
const HORIZON_US = 100_000;
/** Before any welcome: one clock, unnamed. */
const NO_AXIS: HostAxis = { epoch: 0, continues: null };
/** MIDI Stop. */
const STOP = [0xfc];

/** What the settings show: the outputs there are, the one open, and what went wrong. */
export interface WebMidiStatus {
  /** Whether this browser has Web MIDI here (a plain-http page has not). */
  available: boolean;
  outputs: string[];
  /** The output the band's clock goes to. */
  open: string | null;
  error: string | null;
}

export interface WebMidiSettings {
  /** The output's name, or `null` for none. */
  midiOut: string | null;
  /** Send this much earlier, ms, for gear that sounds late. */
  midiOffsetMs: number;
}

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

export class WebMidiOut {
  private access: MIDIAccess | null = null;
  private asking: Promise<MIDIAccess> | null = null;
  private out: MIDIOutput | null = null;
  private feed: MidiFeed | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private transport: Transport | null = null;
  private axis: HostAxis = NO_AXIS;
  private settings: WebMidiSettings;
  private error: string | null = null;
  private closed = false;
  /** Told whenever the status changes. */
  onStatus: ((s: WebMidiStatus) => void) | null = null;

  constructor(
    private clock: PlayerClock,
    settings: WebMidiSettings,
    private request: () => Promise<MIDIAccess> = () => navigator.requestMIDIAccess(),
  ) {
    this.settings = { ...settings };
    if (settings.midiOut) void this.open();
  }

  status(): WebMidiStatus {
    const outputs = this.access ? [...this.access.outputs.values()].map((o) => o.name ?? o.id) : [];
    return { available: webMidiAvailable(), outputs, open: this.out ? (this.out.name ?? this.out.id) : null, error: this.error };
  }

  /** Asks the browser for its MIDI ports (it may ask the user), to list and open them. */
  async open(): Promise<WebMidiStatus> {
    if (!this.access) {
      // One request at a time (the settings may ask while the constructor's is out); a refused
      // one may be asked again.
      this.asking ??= this.request();
      try {
        const access = await this.asking;
        if (!this.access) {
          this.access = access;
          access.onstatechange = () => this.choose();
        }
        this.error = null;
      } catch (e) {
        this.error = refusal(e);
      } finally {
        this.asking = null;
      }
    }
    this.choose();
    return this.status();
  }

  setSettings(s: WebMidiSettings): void {
    const port = s.midiOut !== this.settings.midiOut;
    this.settings = { ...s };
    if (port) void this.open();
  }

  /** A new schedule from the host, on the clock the member is on now. */
  setTransport(tr: Transport | null): void {
    this.transport = tr;
    this.axis = this.clock.axis() ?? NO_AXIS;
    if (tr) this.feed?.set(tr, this.axis);
  }

  /** Lets go of the output: the gear is told to stop if it plays. */
  close(): void {
    this.closed = true;
    this.use(null);
    if (this.access) this.access.onstatechange = null;
  }

  /** Opens the output the settings name, if the browser lists it (ports come and go). */
  private choose(): void {
    if (this.closed) return;
    const want = this.settings.midiOut;
    const found = want && this.access ? ([...this.access.outputs.values()].find((o) => (o.name ?? o.id) === want && o.state === 'connected') ?? null) : null;
    if (found !== this.out) this.use(found);
    if (want && this.access && !found) this.error = `No MIDI output named "${want}" is connected.`;
    else if (this.access) this.error = null;
    this.onStatus?.(this.status());
  }

  /** Sends to `out` from now on: the old output is told to stop, the new one gets a fresh
   *  cursor (Start, or Song Position and Continue mid-song). */
  private use(out: MIDIOutput | null): void {
    if (this.out && this.feed?.running()) this.send(this.out, STOP);
    this.feed?.free();
    this.feed = null;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.out = out;
    if (!out) return;
    this.feed = new MidiFeed(HORIZON_US);
    if (this.transport) this.feed.set(this.transport, this.axis);
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.tick();
  }

  private tick(): void {
    const out = this.out;
    const feed = this.feed;
    if (!out || !feed) return;
    const perf = performance.now();
    const host = this.clock.perfToHost(perf);
    if (host === null) return;
    const epoch = (this.clock.axis() ?? NO_AXIS).epoch;
    for (const m of feed.tick(host, epoch, perf * 1000, this.settings.midiOffsetMs * 1000)) this.send(out, m.data, m.at_ms);
  }

  private send(out: MIDIOutput, data: number[], at?: number): void {
    try {
      out.send(data, at);
    } catch (e) {
      // The port went away between two looks: the next state change closes it.
      this.error = `MIDI out: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
}
