//! The Rust core in the page: `crates/wasm` compiled to `bandsync.wasm`, reached through one
//! JSON call (`bs_call`) and, for the AudioWorklet, a render export. Every rule the page follows
//! (the member's join, resume, heartbeats, clock sync and reports; join links; the click grid; the
//! mirror of the session; meters and tempos; charts and flows) is that Rust, not a TypeScript copy.
//!
//! `loadCore()` once at start-up; then `core()` gives the instance.

import { type CoreExports, callCore } from './abi';
import wasmUrl from './bandsync.wasm?url';

export type { CoreExports } from './abi';

/** The core refused a call; the message says why. */
export class CoreError extends Error {}

/** One instance of the core: its calls go through JSON, as `crates/wasm/src/api.rs` reads them. */
export class Core {
  private enc = new TextEncoder();
  private dec = new TextDecoder();

  constructor(readonly ex: CoreExports) {}

  /** Calls `op` with `args` (and `samples` beside them, for the ops that take a recording);
   *  returns its answer or throws [`CoreError`]. */
  call<T = unknown>(op: string, args: unknown = null, samples?: Float32Array): T {
    const out = callCore<T>(
      this.ex,
      op,
      args,
      (t) => this.enc.encode(t),
      (b) => this.dec.decode(b),
      samples,
    );
    if (out.err !== undefined) throw new CoreError(out.err);
    return out.ok as T;
  }
}

let instance: Core | null = null;
let bytes: ArrayBuffer | null = null;

/** Loads the core (once). `source` overrides where the module comes from (tests read the file). */
export async function loadCore(source?: ArrayBuffer): Promise<Core> {
  if (instance) return instance;
  bytes = source ?? (await (await fetch(wasmUrl)).arrayBuffer());
  const { instance: inst } = await WebAssembly.instantiate(bytes, {});
  instance = new Core(inst.exports as unknown as CoreExports);
  return instance;
}

/** The loaded core. */
export function core(): Core {
  if (!instance) throw new Error('the core is not loaded yet (loadCore)');
  return instance;
}

/** The module's bytes, for the AudioWorklet's own instance. */
export function coreBytes(): ArrayBuffer {
  if (!bytes) throw new Error('the core is not loaded yet (loadCore)');
  return bytes;
}
