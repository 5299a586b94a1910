//! Latency calibration by microphone loopback, in the page, as `bandsync calibrate` does it
//! natively: the player plays the core's probe train (`calibrate.probe`) through its own click
//! path, instead of the session's click for those 8 s. The microphone's audio is read as it is
//! delivered (`MediaStreamTrackProcessor`), each delivery timed: the core finds the clicks in
//! it, when they were first in hand, and the lag past the player's figures that they share
//! (`calibrate.loopback`, `crates/audio/src/calibrate.rs`). Each click is timed by the output's
//! readings around the frame the engine started it on, all on this device's clock: a frame map
//! still settling (a page's first seconds, under load) or the clock estimate's moves do not
//! enter the figure.
//!
//! Not through Web Audio's microphone node: its buffer between the capture and the graph has a
//! different depth for every stream opened (in Chromium here, 108 to 123 ms of round trip from
//! one calibration to the next, to the frame within each), which no API reports.
//!
//! Browsers give the microphone only to a secure page: the app, an https page, or a page of this
//! machine's own (http://localhost). A LAN session's phone page is plain http: there, and in
//! browsers that do not hand out the microphone's deliveries (WebKit), the player taps along.

import type { Calibration } from '../bindings';
import { calibrateLoopback, probeUntil } from '../wasm/calibrate';
import type { ClickPlayer } from './player';

/** How long to wait for the microphone's first sound before playing anyway (ms). */
const WAIT_MS = 3000;
/** From the probe's planning to its first click (µs): time for the schedule to reach the
 *  worklet (the first click is not counted anyway). */
const LEAD_US = 300_000;

/** The deliveries of a microphone's track (Chromium's `MediaStreamTrackProcessor`). */
type Processor = new (o: { track: MediaStreamTrack }) => { readable: ReadableStream<AudioData> };

function processor(): Processor | undefined {
  return (window as unknown as { MediaStreamTrackProcessor?: Processor }).MediaStreamTrackProcessor;
}

/** Why the microphone cannot calibrate here, or `null` when it can. */
export function micUnavailable(): string | null {
  return !window.isSecureContext || typeof navigator.mediaDevices?.getUserMedia !== 'function'
    ? 'Browsers give the microphone only to the app or an https page; calibrate by tapping here.'
    : processor()
      ? null
      : 'This browser cannot time its microphone; calibrate by tapping.';
}

/** A calibration is running: one at a time, whatever the view does meanwhile. */
let running = false;

/**
 * Plays the probe through the player's click, in place of the session's, and hears it through
 * the microphone. Throws an `Error`
 * with a sentence for the player when there is no figure (no microphone, nothing heard, too few
 * clicks agreed, or a run that cannot be trusted).
 */
export async function measureLoopback(player: ClickPlayer): Promise<Calibration> {
  if (running) throw new Error('A calibration is running already.');
  running = true;
  try {
    return await measure(player);
  } finally {
    running = false;
  }
}

async function measure(player: ClickPlayer): Promise<Calibration> {
  const Proc = processor();
  if (micUnavailable() || !Proc) throw new Error(micUnavailable() ?? '');
  if (!player.running) throw new Error('Turn the sound on to calibrate.');
  const stream = await navigator.mediaDevices
    .getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } })
    .catch((e: unknown) => {
      const name = e instanceof Error ? e.name : String(e);
      throw new Error(
        name === 'NotAllowedError' ? 'The microphone was not allowed; allow it, or calibrate by tapping.' : `No microphone (${name}); calibrate by tapping.`,
      );
    });
  let reader: ReadableStreamDefaultReader<AudioData> | null = null;
  let limit: ReturnType<typeof setTimeout> | undefined;
  const epoch = player.clock.axis()?.epoch;
  try {
    const r = new Proc({ track: stream.getAudioTracks()[0] }).readable.getReader();
    reader = r;
    limit = setTimeout(() => void r.cancel(), WAIT_MS + 15_000);
    // The recording, and each delivery's frame after it and local µs it arrived (flat).
    const chunks: Float32Array[] = [];
    const deliveries: number[] = [];
    let total = 0;
    let rate = 0;
    /** The probe's first click and when its last has been heard (host µs), once it is on. */
    let start = 0;
    let until = 0;
    /** The track's stamp of the first delivery kept (µs). */
    let t0: number | null = null;
    const waitUntil = performance.now() + WAIT_MS;
    for (;;) {
      const { value: a, done } = await r.read();
      const now = performance.now();
      if (done) throw new Error('The microphone stopped; calibrate again.');
      const host = player.clock.perfToHost(now);
      const buf = new Float32Array(a.numberOfFrames);
      a.copyTo(buf, { planeIndex: 0, format: 'f32-planar' });
      rate = a.sampleRate;
      const stamp = a.timestamp;
      a.close();
      if (host === null || player.clock.axis()?.epoch !== epoch) {
        throw new Error('The clock is not in sync; calibrate again in a moment.');
      }
      if (!player.running) throw new Error('The sound stopped; calibrate again.');
      // A microphone delivers silence at first: the probe starts once it hears the room.
      if (total === 0 && now < waitUntil && !buf.some((s) => s !== 0)) continue;
      // A delivery the browser dropped (the page fell behind) would move every frame after it.
      // Each stamp is an estimate, a few ms either way: only the frames it says are missing
      // since the first count.
      t0 ??= stamp;
      if (((stamp - t0) / 1e6) * rate - total > buf.length * 0.75) {
        throw new Error('The page fell behind the microphone; calibrate again.');
      }
      if (total === 0) {
        start = host + LEAD_US;
        until = probeUntil(start);
        player.probe(start);
      }
      chunks.push(buf);
      total += buf.length;
      deliveries.push(total, now * 1000);
      if (host > until) break;
    }
    const recording = new Float32Array(total);
    chunks.reduce((at, c) => (recording.set(c, at), at + c.length), 0);
    return calibrateLoopback(recording, { rate, deliveries, startUs: start, played: player.probed() });
  } finally {
    clearTimeout(limit);
    player.probe(null);
    void reader?.cancel();
    for (const t of stream.getTracks()) t.stop();
  }
}
