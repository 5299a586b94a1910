//! The page's MIDI out: the band's clock, start, stop and song position, and each song's patch,
//! to the gear plugged into this device. What to send and when is the core's feeder (`MidiFeed`),
//! the one the app and the CLI run for their ports; `MIDIOutput.send` takes each message's time
//! on the browser's clock, so the browser places it, not this thread's timer.
//!
//! The feeder is ticked every 25 ms and hands out 100 ms ahead: a long task up to 75 ms costs
//! nothing. The tick comes from a worker's timer: browsers slow a hidden tab's own timers to once
//! a second (Chrome, unless the tab plays sound), not a worker's.

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

/** Calls `f` every `ms`, from a worker's timer where the browser has workers (a hidden tab's own
 *  timers are slowed), else from the page's; returns the stop. */
function ticker(ms: number, f: () => void): () => void {
  if (typeof Worker === 'function' && typeof Blob === 'function') {
    try {
      const url = URL.createObjectURL(new Blob([`setInterval(() => postMessage(0), ${ms});`], { type: 'text/javascript' }));
      const w = new Worker(url);
      URL.revokeObjectURL(url);
      w.onmessage = f;
      return () => w.terminate();
    } catch {
      // No workers from a blob here: the page's own timer.
    }
  }
  const t = setInterval(f, ms);
  return () => clearInterval(t);
}

export class WebMidiOut {
  private out: MIDIOutput | null = null;
  private feed: MidiFeed | null = null;
  private stopTicks: (() => void) | null = null;
  /** The latest time handed to the browser (ms, `performance.now()`'s clock). */
  private lastAt = 0;
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
    this.settings = { midiOut: settings.midiOut, midiOffsetMs: settings.midiOffsetMs };
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

  /** Takes new settings; says whether the port changed. */
  setSettings(s: MidiOutSettings): boolean {
    const port = s.midiOut !== this.settings.midiOut;
    this.settings = { midiOut: s.midiOut, midiOffsetMs: s.midiOffsetMs };
    if (port) void this.ports.open();
    return port;
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
    const { port, missing } = this.ports.pick(this.ports.outputs(), this.settings.midiOut, 'output');
    if (port !== this.out) this.use(port);
    this.failed = missing;
  }

  /** Sends to `out` from now on: the old output is told to stop, after whatever it was handed
   *  (the browser may still hold a Start), and let go; the new one gets a fresh cursor (Start,
   *  or Song Position and Continue mid-song). */
  private use(out: MIDIOutput | null): void {
    const old = this.out;
    if (old && this.feed?.running()) {
      const clear = (old as MIDIOutput & { clear?: () => void }).clear;
      if (typeof clear === 'function') clear.call(old);
      this.send(old, STOP, Math.max(performance.now(), this.lastAt));
    }
    if (old && old !== out) void old.close?.().catch(() => undefined);
    this.feed?.free();
    this.feed = null;
    this.stopTicks?.();
    this.stopTicks = null;
    this.out = out;
    if (!out) return;
    this.feed = new MidiFeed(HORIZON_US);
    if (this.transport) this.feed.set(this.transport, this.axis);
    this.stopTicks = ticker(TICK_MS, () => this.tick());
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
    for (const m of feed.tick(host, epoch, perf * 1000, this.settings.midiOffsetMs * 1000)) {
      this.send(out, m.data, m.at_ms);
      this.lastAt = Math.max(this.lastAt, m.at_ms);
    }
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
