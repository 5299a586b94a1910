//! Typed calls into the Rust core (`crates/wasm/src/api.rs`); the types are the generated
//! bindings. Nothing here decides anything: every answer is the Rust's.

import type {
  Calibration,
  ChartMark,
  ChartRendered,
  ChartView,
  Click,
  ClockDistortion,
  ClockStatus,
  EngineStats,
  FilterFit,
  HostAxis,
  JoinTarget,
  MemberPoll,
  Meter,
  MidiSend,
  PedalPress,
  Mirror,
  Mirrored,
  OutputReport,
  StampReading,
  StampVerdict,
  SyncConcern,
  TapResult,
  TextEdit,
  Transport,
  TransportPlace,
} from '../bindings';
import { core, CoreError } from './core';

export { CoreError };

/** Constants of the core: the protocol version, one beat in micro-beats, the tempo range, the
 *  extensions ChordPro files go by (`cho`, `chordpro`, `pro`, `crd`), each sync concern in words. */
export interface CoreInfo {
  version: number;
  one_beat: number;
  min_bpm: number;
  max_bpm: number;
  extensions: string[];
  concerns: [SyncConcern, string][];
}

let info: CoreInfo | null = null;

export function coreInfo(): CoreInfo {
  info ??= core().call<CoreInfo>('protocol.info');
  return info;
}

// ---- join links -------------------------------------------------------------------------------

/** Reads a join link; throws [`CoreError`] with a sentence a person can act on. */
export function parseLink(link: string): JoinTarget {
  return core().call<JoinTarget>('link.parse', { link });
}

/** The join link for `target`'s session with `secret`. */
export function buildLink(target: JoinTarget, secret: string): string {
  return core().call<string>('link.build', { target, secret });
}

// ---- meters, tempos, chat -------------------------------------------------------------------------

/** `7/8`, `7/8 2+2+3`, `7/8 (2+2+3)`: a checked meter, or the reason it is not one. */
export function parseMeter(text: string): Meter | string {
  try {
    return core().call<Meter>('meter.parse', { text });
  } catch (e) {
    return (e as Error).message;
  }
}

/** A meter as the core writes it (`7/8`, or `7/8 3+2+2` for an unusual grouping). */
export function formatMeter(meter: Meter): string {
  return core().call<string>('meter.format', { meter });
}

/** A tempo (milli-BPM) as the core writes it: `120`, `96.5`, `133.333`. */
export function formatTempo(tempo: number): string {
  return core().call<string>('tempo.format', { tempo });
}

/** BPM to the milli-BPM the wire carries, or `null` outside the range. */
export function tempoFromBpm(bpm: number): number | null {
  try {
    return core().call<number>('tempo.check', { bpm });
  } catch {
    return null;
  }
}

/** The setlist's stored tempos (each song's `tempo` value as its `Y.Map` holds it) by the core's
 *  one rule (`bandsync_core::setlist::stored_tempo_of`): milli-BPM, an older document's BPM read
 *  as the same tempo; a value that is not a number, or no tempo, is `null`. */
export function storedTempos(values: unknown[]): (number | null)[] {
  return core().call<(number | null)[]>('setlist.tempos', values.map((v) => (typeof v === 'number' ? v : null)));
}

/** Why `pin` is not a valid PIN (the core's rule: 6 to 8 digits), or `null` when it is. */
export function pinProblem(pin: string): string | null {
  try {
    core().call('pin.check', { pin });
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}


let lastChart: [string, ChartRendered] | null = null;

/** A ChordPro chart read and written for one reader (`crates/core/src/chart`): every chord
 *  transposed, under a capo or as numbers as `view` asks, and the lines that stand for music.
 *  The last answer is kept: the read view has a chart that arrives rendered in the core a task
 *  before it renders it in the page (`Chart.tsx`). */
export function renderChart(text: string, view: ChartView): ChartRendered {
  const key = JSON.stringify(view) + text;
  if (lastChart?.[0] !== key) lastChart = [key, core().call<ChartRendered>('chart.render', [text, view])];
  return lastChart[1];
}

/** One of each thing a chart holds, for `warmChartRenderer`. */
const SAMPLE_CHART = '{title: T}\n{key: G}\n{comment: c}\n{start_of_verse: V}\n[G]a [D/F#]b [Em7]c\n{end_of_verse}\n{start_of_chorus}\n[C]d\n{end_of_chorus}\n{start_of_grid: I}\nA | G . . . | % |\n{end_of_grid}\n{start_of_tab}\ne|-0-\n{end_of_tab}';

/** Renders a small chart once, in view `view`, and forgets it: the renderer's code is compiled on
 *  its first call, which a long chart's first render then no longer pays. */
export function warmChartRenderer(view: ChartView): void {
  core().call('chart.render', [SAMPLE_CHART, view]);
}

/** The page's clock made wrong on purpose (tests), as the native client's: reads `offsetMs`
 *  ahead and runs `skewPpm` fast (`crates/core/src/clock/distortion.rs`). Not-a-number counts
 *  as zero. */
export function clockDistortion(offsetMs: number, skewPpm: number): ClockDistortion {
  return core().call<ClockDistortion>('clock.distortion', [offsetMs, skewPpm]);
}

/** The one edit between a textarea's text before and after an input, in UTF-16 units
 *  (`crates/core/src/textdiff.rs`): `caret`, the collapsed caret after it, places it where the
 *  text repeats. Null when they are equal. A text with a lone surrogate, which JSON cannot carry
 *  as a string, goes as its UTF-16 units. */
export function textEdit(before: string, after: string, caret?: number): TextEdit | null {
  if (LONE_SURROGATE.test(before) || LONE_SURROGATE.test(after)) {
    const units = (s: string) => Array.from({ length: s.length }, (_, i) => s.charCodeAt(i));
    return core().call<TextEdit | null>('text.diff16', [units(before), units(after), caret ?? null]);
  }
  return core().call<TextEdit | null>('text.diff', [before, after, caret ?? null]);
}

/** A lone surrogate (`u`: a pair is one code point, not two surrogates). */
const LONE_SURROGATE = /\p{Cs}/u;

/** Where the reader finds the chords and directives of a chart's source, in UTF-16 units. */
export function chartSourceMarks(text: string): ChartMark[] {
  return core().call<ChartMark[]>('chart.marks', { text });
}

/** Runs the core's chart code three times on a small chart, for a page with nothing else to do
 *  yet: the first chart a member opens is then rendered by code V8 has already compiled for speed
 *  (wasm starts in its baseline tier; one render of 300 lines did not do it). The render's longest
 *  task in Chromium: docs/BENCHMARKS.md. */
export function warmChart(): void {
  for (let i = 1; i < 4; i++) renderChart('[Am]a [G7]b\n'.repeat(99), { transpose: i, capo: i, notation: 'letters', key: null });
}

// ---- the timeline and the click grid ---------------------------------------------------------

/** Where the transport stands at host time `now` (µs): bar, beat, accents, the next change. */
export function transportAt(transport: Transport, now: number): TransportPlace {
  return core().call<TransportPlace>('transport.at', [transport, now]);
}

/** Every click with host time in `[lo, hi)`. */
export function clicksBetween(transport: Transport, lo: number, hi: number, sub: number): Click[] {
  return core().call<Click[]>('grid.clicks', [transport, lo, hi, sub]);
}

// ---- the session mirror ---------------------------------------------------------------------

/** The app's view of the session, fed with the raw messages it forwards (the page's is its
 *  member's: `Member.text`). */
export class SessionMirror {
  private h = core().call<number>('mirror.new');

  /** Applies a server message (its JSON text); returns what changed and the mirror now. */
  apply(msgText: string): Mirrored {
    return core().call<Mirrored>('mirror.apply', { h: this.h, msg: msgText });
  }

  free(): void {
    core().call('mirror.free', { h: this.h });
  }
}

export type { Mirror };

// ---- the member -------------------------------------------------------------------------------

/** What the page asks for when it makes a member (`crates/wasm` `MemberSpec`, which reads it as
 *  a list: `Member`'s constructor writes it in that order). */
export interface MemberSpec {
  target: JoinTarget;
  name: string;
  instrument?: string | null;
  leader?: boolean;
  pin?: string | null;
  seed: number;
  /** `null`: never give up reconnecting (a phone back from a pocket rejoins). */
  give_up_after_ms?: number | null;
  resume?: string | null;
  now: number;
}

/** The sans-IO member (`crates/core/src/member`), driven by `net/browser.ts`. */
export class Member {
  readonly h: number;

  constructor(spec: MemberSpec) {
    const s = spec;
    this.h = core().call<number>('member.new', [s.target, s.name, s.instrument ?? null, s.leader ?? false, s.pin ?? null, s.seed, s.give_up_after_ms ?? null, s.resume ?? null, s.now]);
  }

  connected(now: number): void {
    core().call('member.connected', { h: this.h, now });
  }
  connectFailed(now: number, reason: string, fatal = false): void {
    core().call('member.connect_failed', { h: this.h, now, reason, fatal });
  }
  /** Reads a server message. For one about the session (not a pong or a heartbeat, and
   *  readable), what it changed in the member's mirror, which is the page's view of the session;
   *  else `null`. */
  text(now: number, text: string): Mirrored | null {
    return core().call<Mirrored | null>('member.text', { h: this.h, now, text });
  }
  heard(now: number): void {
    core().call('member.heard', { h: this.h, now });
  }
  closed(now: number, reason: string): void {
    core().call('member.closed', { h: this.h, now, reason });
  }
  timeout(now: number): void {
    core().call('member.timeout', { h: this.h, now });
  }
  reconnectNow(now: number): void {
    core().call('member.reconnect_now', { h: this.h, now });
  }
  /** Sends a message the page wrote (typed by the bindings; the server checks it). */
  send(text: string): void {
    core().call('member.send', { h: this.h, text });
  }
  leave(): void {
    core().call('member.leave', { h: this.h });
  }
  setOutput(output: OutputReport | null): void {
    core().call('member.set_output', { h: this.h, output });
  }
  poll(): MemberPoll {
    return core().call<MemberPoll>('member.poll', { h: this.h });
  }
  /** Host time (µs) at local time `at`, once the clock has a sample. */
  toHost(at: number): number | null {
    return core().call<number | null>('member.to_host', { h: this.h, at });
  }
  /** Local time (µs) at which the host clock reads `at`. */
  toLocal(at: number): number | null {
    return core().call<number | null>('member.to_local', { h: this.h, at });
  }
  status(now: number): ClockStatus {
    return core().call<ClockStatus>('member.status', { h: this.h, now });
  }
  free(): void {
    core().call('member.free', { h: this.h });
  }
}

// ---- the audio output's clock ---------------------------------------------------------------

/** The device-clock filter: a line through (frame, local heard time) points. */
export class DeviceFilter {
  private h: number;

  constructor(capacity: number) {
    this.h = core().call<number>('filter.new', { capacity });
  }
  push(frame: number, local: number): void {
    core().call('filter.push', [this.h, frame, local]);
  }
  fit(nominal: number): FilterFit | null {
    return core().call<FilterFit | null>('filter.fit', [this.h, nominal]);
  }
  reset(): void {
    core().call('filter.reset', { h: this.h });
  }
  /** The readings come from the other source now: the line holds, then slews to theirs. */
  switchSource(): void {
    core().call('filter.switch', { h: this.h });
  }
  free(): void {
    core().call('filter.free', { h: this.h });
  }
}

/** The page's MIDI out: the core's feeder (`crates/core/src/midi/feed.rs`), the one the native
 *  backends run, walks the transport `horizonUs` ahead of host time and places each message on
 *  the browser's clock, for `MIDIOutput.send`. */
export class MidiFeed {
  private h: number;

  constructor(horizonUs: number) {
    this.h = core().call<number>('midi.new', { horizon_us: horizonUs });
  }
  /** A new schedule, on host clock `axis`. */
  set(transport: Transport, axis: HostAxis): void {
    core().call('midi.set', [this.h, transport, axis]);
  }
  /** What to send now: host time `host` (µs, on clock `epoch`) is `performance.now()` time
   *  `deviceUs` (µs); each message `earlyUs` before its moment. */
  tick(host: number, epoch: number, deviceUs: number, earlyUs: number): MidiSend[] {
    return core().call<MidiSend[]>('midi.tick', [this.h, host, epoch, deviceUs, earlyUs]);
  }
  /** Whether the gear was told to play (and not told to stop since). */
  running(): boolean {
    return core().call<boolean>('midi.running', { h: this.h });
  }
  free(): void {
    core().call('midi.free', { h: this.h });
  }
}

/** A pedal map (`note 62=next; cc 64=playstop`; empty for the core's default), read by the core
 *  (`crates/core/src/midi/input.rs`): throws a `CoreError` saying what does not read. */
export class PedalMap {
  private h: number;

  constructor(map: string) {
    this.h = core().call<number>('pedal.new', { map });
  }
  /** What a message from the pedals (`data`, at `performance.now()` µs `at`) does, given the
   *  setlist's ids, the current song and the schedule: `null` for one that presses nothing. */
  press(at: number, data: number[], setlist: string[], current: string | null, transport: Transport | null): PedalPress | null {
    return core().call<PedalPress | null>('pedal.press', [this.h, at, data, setlist, current, transport]);
  }
  free(): void {
    core().call('pedal.free', { h: this.h });
  }
}

/** The pedal map used when none is given (the app's and the CLI's default too). */
export function defaultPedalMap(): string {
  return core().call<string>('pedal.default');
}

/** The judge of the browser's output timestamps (`crates/audio/src/stamps.rs`). */
export class StampJudge {
  private h: number;

  constructor() {
    this.h = core().call<number>('stamps.new', {});
  }
  judge(reading: StampReading | null): StampVerdict {
    return core().call<StampVerdict>('stamps.judge', { h: this.h, reading });
  }
  /** The context stopped and runs again: its timestamps start over. */
  restart(): void {
    core().call('stamps.restart', { h: this.h });
  }
  free(): void {
    core().call('stamps.free', { h: this.h });
  }
}

// ---- tap tempo (`crates/core/src/tap.rs`); latency calibration is in `calibrate.ts` ---------

/** Tap tempo over the taps so far (any monotonic ms): the series' BPM and how many taps make it. */
export function tapTempo(tapsMs: readonly number[]): TapResult {
  return core().call<TapResult>('tap.tempo', tapsMs);
}

export type { Calibration, EngineStats };
