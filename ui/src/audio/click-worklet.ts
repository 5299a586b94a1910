//! The click in the AudioWorklet: the Rust click engine (`crates/audio`'s, in `bandsync.wasm`)
//! renders every render quantum at the AudioContext's own frame counter, sample-exactly, from the
//! shared timeline. The main thread sends the map from context frames to host time and the
//! schedule (`EngineCommand`s); nothing here decides when a click falls.
//!
//! The output never stops (silence between clicks included), which also keeps WebKitGTK's audio
//! sink from dropping the silent buffers between clicks.

import { type CoreExports, callCore } from '../wasm/abi';

// The AudioWorklet global scope (not in TypeScript's DOM library).
declare const sampleRate: number;
declare const currentFrame: number;
declare function registerProcessor(name: string, ctor: unknown): void;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
  constructor(options?: unknown);
}

/** JSON text to bytes and back. The commands and answers are ASCII (numbers and names), and the
 *  worklet scope has no TextEncoder in every browser. */
function ascii(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0x7f;
  return b;
}

class ClickProcessor extends AudioWorkletProcessor {
  private ex: CoreExports;
  private h: number;
  private frames = 0;

  constructor(options: { processorOptions: { wasm: ArrayBuffer; sound: string } }) {
    super();
    const module = new WebAssembly.Module(options.processorOptions.wasm);
    this.ex = new WebAssembly.Instance(module, {}).exports as unknown as CoreExports;
    this.h = this.call('engine.new', { rate: sampleRate, sound: options.processorOptions.sound }) as number;
    this.port.onmessage = (e: MessageEvent) => {
      if (e.data === 'stats') {
        this.port.postMessage({ stats: this.call('engine.stats', { h: this.h }), frame: currentFrame });
      } else {
        this.call('engine.command', { h: this.h, command: e.data });
      }
    };
  }

  private call(op: string, args: unknown): unknown {
    const v = callCore(this.ex, op, args, ascii, (b) => {
      let text = '';
      for (let i = 0; i < b.length; i++) text += String.fromCharCode(b[i]);
      return text;
    });
    if (v.err !== undefined) this.port.postMessage({ error: v.err });
    return v.ok;
  }

  process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const out = outputs[0];
    if (!out || out.length === 0) return true;
    const n = out[0].length;
    const first = currentFrame;
    const p = this.ex.bs_engine_render(this.h, n, first % 4294967296, Math.floor(first / 4294967296));
    if (p === 0) return true;
    const buf = new Float32Array(this.ex.memory.buffer, p, n * 2);
    if (out.length >= 2) {
      for (let i = 0; i < n; i++) {
        out[0][i] = buf[2 * i];
        out[1][i] = buf[2 * i + 1];
      }
    } else {
      for (let i = 0; i < n; i++) out[0][i] = 0.5 * (buf[2 * i] + buf[2 * i + 1]);
    }
    this.frames += n;
    return true;
  }
}

registerProcessor('bandsync-clicks', ClickProcessor);
