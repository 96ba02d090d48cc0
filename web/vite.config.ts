// Build and development server of the console.
//
// `npm run build` writes dist/ (index.html and hashed bundles under assets/), which `cdp serve`
// serves at /. `npm run dev` serves the sources with reloading and passes the API paths to a
// running cdp (127.0.0.1:8080, or $CDP_SERVER), so the pages talk to a real server.

import { defineConfig } from 'vite';

const server = process.env.CDP_SERVER ?? 'http://127.0.0.1:8080';
const proxied = { target: server, changeOrigin: false };

export default defineConfig({
  base: '/',
  // Vite 7 (esbuild) rather than 8: Vite 8's native bundler fails to install with npm 10, which
  // some Debian machines still have, and nothing here needs it.
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    proxy: { '/v1': proxied, '/admin': proxied, '/metrics': proxied, '/healthz': proxied },
  },
});
