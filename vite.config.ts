/**
 * The web app (src/web) built into dist/web, which `vidscribe serve` serves at `/`. Everything is
 * bundled: no CDN, no outside font or script, so the app works offline. `vite preview` (and the
 * dev server) pass the API through to a running `vidscribe serve` (VIDSCRIBE_API, default :8787).
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const api = process.env.VIDSCRIBE_API ?? 'http://127.0.0.1:8787';
const proxy = Object.fromEntries(['/api/', '/run_sse', '/register', '/register.js'].map((p) => [p, { target: api, changeOrigin: false }]));

export default defineConfig({
  root: 'src/web',
  base: '/',
  plugins: [react()],
  build: {
    outDir: '../../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    // Small first load: one entry chunk, no source maps shipped.
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: { proxy },
  preview: { proxy },
});
