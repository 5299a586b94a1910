// Prints the gzip size (level 9, as the host serves them) of every JS, CSS and wasm file of the
// build and their total; fails above the
// budget (250 000 bytes: the Rust core as wasm, Yjs and everything else included). Run after
// `npm run build`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET = 250_000;
const dist = new URL('../dist/', import.meta.url).pathname;

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

let list;
try {
  list = files(dist).filter((f) => /\.(m?js|css|wasm)$/.test(f));
} catch {
  console.error('no ui/dist: run `npm run build` first');
  process.exit(1);
}
if (list.length === 0) {
  console.error('ui/dist holds no JS or CSS');
  process.exit(1);
}
let total = 0;
for (const f of list.sort()) {
  const raw = readFileSync(f);
  // As the host sends it: gzip at the best level, made once per file (crates/server/src/compress.rs).
  const gz = gzipSync(raw, { level: 9 }).length;
  total += gz;
  console.log(`${String(gz).padStart(8)}  ${String(raw.length).padStart(8)}  ${relative(dist, f)}`);
}
console.log(`${String(total).padStart(8)}  total gzip bytes (budget ${BUDGET})`);
if (total > BUDGET) {
  console.error(`over budget by ${total - BUDGET} bytes`);
  process.exit(1);
}
