import { defineConfig } from 'vitest/config';

// The host that `npm run dev` talks to (see README): `cargo run -p bandsync-cli -- host --no-mdns
// --bind 127.0.0.1:7878`. Override with BANDSYNC_HOST=ip:port.
const host = process.env.BANDSYNC_HOST ?? '127.0.0.1:7878';

// One bundle for both runtimes: the Tauri webview loads it from `ui/dist`, and the host serves the
// same files to phone browsers at `/s/SESSION`, so asset URLs must be absolute (`base: '/'`).
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    target: 'es2020',
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
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
  },
});
