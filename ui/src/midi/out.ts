//! The page's MIDI out: the band's clock, start, stop and song position, and each song's patch,
//! to the gear plugged into this device. What to send and when is the core's feeder (`MidiFeed`),
//! the one the app and the CLI run for their ports; `MIDIOutput.send` takes each message's time
//! on the browser's clock, so the browser places it, not this thread's timer.
//!
//! The feeder is ticked from the main thread every 25 ms and hands out 100 ms ahead: a long task
//! up to 75 ms costs nothing. Browsers slow a hidden tab's timers, but not a tab that plays
//! audio, which the click does.

import type { HostAxis, Transport } from '../bindings';
import type { PlayerClock } from '../audio/player';
import { MidiFeed } from '../wasm/api';
import { type MidiPorts, portName } from './ports';

/** How often the feeder is ticked, ms. */
const TICK_MS = 25;
/** How far ahead messages are handed to the browser, µs. */
const HORIZON_US = 100_000;
/** Before any welcome: one clock, unnamed. */
const NO_AXIS: HostAxis = { epoch: 0, continues: null };
/** MIDI Stop. */
const STOP = [0xfc];

export interface MidiOutSettings {
  /** The output's name, or `null` for none. */
  midiOut: string | null;
  /** Send this much earlier, ms, for gear that sounds late (the core bounds it). */
  midiOffsetMs: number;
}

export class WebMidiOut {
  private out: MIDIOutput | null = null;
  private feed: MidiFeed | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private transport: Transport | null = null;
  private axis: HostAxis = NO_AXIS;
  private settings: MidiOutSettings;
  private failed: string | null = null;
  private closed = false;
  private unsub: () => void;

  constructor(
    private ports: MidiPorts,
    private clock: PlayerClock,
    settings: MidiOutSettings,
  ) {
    this.settings = { ...settings };
    this.unsub = ports.onChange(() => this.choose());
    if (settings.midiOut) void ports.open();
  }

  /** The output the band's clock goes to. */
  get open(): string | null {
    return this.out ? portName(this.out) : null;
  }

  /** Why the output named in the settings is not open. */
  get problem(): string | null {
    return this.failed;
  }

  setSettings(s: MidiOutSettings): void {
    const port = s.midiOut !== this.settings.midiOut;
    this.settings = { ...s };
    if (port) void this.ports.open();
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
    this.unsub();
    this.use(null);
  }

  /** Opens the output the settings name, if the browser lists it (ports come and go). */
  private choose(): void {
    if (this.closed) return;
    const want = this.settings.midiOut;
    const found = want ? (this.ports.outputs().find((o) => portName(o) === want && o.state === 'connected') ?? null) : null;
    if (found !== this.out) this.use(found);
    this.failed = want && this.ports.asked && !found ? `No MIDI output named "${want}" is connected.` : null;
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
      this.failed = `MIDI out: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
}
