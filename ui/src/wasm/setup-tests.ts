// vitest: the real Rust core (ui/src/wasm/bandsync.wasm, built by scripts/lib.sh's build_wasm),
// loaded once before the tests, as the page loads it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadCore } from './core';

const path = fileURLToPath(new URL('./bandsync.wasm', import.meta.url));
let bytes: Buffer;
try {
  bytes = readFileSync(path);
} catch {
  throw new Error(`no ${path}: build it with scripts/lib.sh's build_wasm (scripts/test.sh does)`);
}
await loadCore(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
