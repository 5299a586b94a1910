import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vitest/config';

// The host that `npm run dev` talks to (see README): `cargo run -p bandsync-cli -- host --no-mdns
// --bind 127.0.0.1:7878`. Override with BANDSYNC_HOST=ip:port.
const host = process.env.BANDSYNC_HOST ?? '127.0.0.1:7878';

// BandSync's documents hold no Yjs XML types, and the server refuses every update that carries one
// (`crates/docs/src/lib0.rs`; `tests/e2e/hostile/frames.rs` proves it over a socket). So the page's
// Yjs decodes none: its readers for them throw, and the XML classes leave the bundle (355 B of
// gzip). The build stops if Yjs's table of readers is no longer as written here, or if it bundled
// no Yjs file that this rewrote (a Yjs that moved its module).
let yjsRewritten = false;
const yjsWithoutXml: Plugin = {
  name: 'bandsync-yjs-without-xml',
  enforce: 'pre',
  transform(code, id) {
    if (!/[\\/]yjs[\\/]dist[\\/]yjs\.mjs$/.test(id)) return null;
    const readers = /\breadYXmlElement,\s*readYXmlFragment,\s*readYXmlHook,\s*readYXmlText\s*\];/;
    if (!readers.test(code)) throw new Error(`${id}: Yjs's typeRefs changed; see ui/vite.config.ts`);
    yjsRewritten = true;
    const refused = 'function xmlRefused () { throw new Error("XML types are not supported") }';
    return { code: code.replace(readers, `xmlRefused, xmlRefused, xmlRefused, xmlRefused\n];\n${refused}`), map: null };
  },
  generateBundle() {
    if (!yjsRewritten) this.error("no Yjs module was rewritten: its XML readers are in the bundle; see ui/vite.config.ts");
  },
};

// One bundle for both runtimes: the Tauri webview loads it from `ui/dist`, and the host serves the
// same files to phone browsers at `/s/SESSION`, so asset URLs must be absolute (`base: '/'`).
export default defineConfig({
  base: '/',
  plugins: [yjsWithoutXml],
  resolve: {
    // Yjs logs (rarely) through lib0/logging, whose browser version colours its output through
    // lib0/dom and so brings lib0/schema into the bundle (about 2.8 kB of gzip for two warnings).
    // lib0/environment reads the query string and the command line and works out terminal colours
    // as it loads, for one flag and one variable (about 0.5 kB of gzip).
    alias: [
      { find: /^lib0\/logging$/, replacement: fileURLToPath(new URL('./src/shims/lib0-logging.ts', import.meta.url)) },
      { find: /^lib0\/environment$|^\.\/environment\.js$/, replacement: fileURLToPath(new URL('./src/shims/lib0-environment.ts', import.meta.url)) },
    ],
  },
  build: {
    outDir: 'dist',
    target: 'es2020',
    sourcemap: false,
    chunkSizeWarningLimit: 600,
    // One chunk and no dynamic imports: nothing to preload, so no polyfill for it.
    modulePreload: { polyfill: false },
    // Class fields as plain assignments, not through defineProperty helpers (es2020 has no class
    // fields; no class here has a setter that a field would shadow): bundled code here,
    // ours by tsconfig's `useDefineForClassFields: false`.
    rolldownOptions: { transform: { assumptions: { setPublicClassFields: true } } },
  },
  // The click worklet is bundled on its own; without this it keeps the `//!` module comments.
  worker: { rolldownOptions: { output: { comments: false } } },
  server: {
    port: 5173,
    // The dev page is on another origin than the host, and the host refuses WebSocket upgrades
    // whose Origin is not its own (PROTOCOL §1.1). The proxy presents the host's own origin.
    proxy: {
      '/ws': {
        target: `ws://${host}`,
        ws: true,
        changeOrigin: true,
        configure: (proxy) => {
          proxy.on('proxyReqWs', (req) => req.setHeader('origin', `http://${host}`));
        },
      },
      '/api': { target: `http://${host}`, changeOrigin: true },
      '/healthz': { target: `http://${host}`, changeOrigin: true },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
    // The Rust core, as the page loads it: the tests run the real thing, not a copy.
    setupFiles: ['src/wasm/setup-tests.ts'],
    // Yjs as the page bundles it (through the plugins above), not as Node would load it.
    server: { deps: { inline: ['yjs', 'y-protocols'] } },
  },
});
