//! The one way into `bandsync.wasm` (`crates/wasm/src/abi.rs`): its exports, and a JSON call.
//! Shared by the page (`core.ts`) and the AudioWorklet (`audio/click-worklet.ts`, bundled on its
//! own), so this file imports nothing.

/** The exports of `bandsync.wasm`. */
export interface CoreExports {
  memory: WebAssembly.Memory;
  bs_alloc(len: number): number;
  bs_free(ptr: number, len: number): void;
  bs_call(ptr: number, len: number): number;
  bs_call_samples(ptr: number, len: number, sptr: number, sbytes: number): number;
  bs_answer(): number;
  bs_engine_render(handle: number, frames: number, firstLo: number, firstHi: number): number;
}

/** A call's answer: `ok` with the result, or `err` with why the core refused. */
export interface Answer<T> {
  ok?: T;
  err?: string;
}

/** Calls `op` with `args` as JSON, and `samples` beside them where the op takes a recording.
 *  `encode` and `decode` are passed in because the worklet scope has no TextEncoder in every
 *  browser. */
export function callCore<T>(
  ex: CoreExports,
  op: string,
  args: unknown,
  encode: (s: string) => Uint8Array,
  decode: (b: Uint8Array) => string,
  samples?: Float32Array,
): Answer<T> {
  const req = encode(JSON.stringify({ op, args }));
  const p = ex.bs_alloc(req.length);
  new Uint8Array(ex.memory.buffer, p, req.length).set(req);
  let n: number;
  if (samples) {
    // Little-endian f32s, as every platform WebAssembly runs on lays them out.
    const bytes = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
    const s = ex.bs_alloc(bytes.length);
    new Uint8Array(ex.memory.buffer, s, bytes.length).set(bytes);
    n = ex.bs_call_samples(p, req.length, s, bytes.length);
    ex.bs_free(s, bytes.length);
  } else {
    n = ex.bs_call(p, req.length);
  }
  ex.bs_free(p, req.length);
  return JSON.parse(decode(new Uint8Array(ex.memory.buffer, ex.bs_answer(), n))) as Answer<T>;
}
