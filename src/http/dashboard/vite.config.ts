import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

// `vite --config src/http/dashboard/vite.config.ts` serves the page with hot reload against a
// running daemon (CMS_EVENTS_URL, default http://127.0.0.1:8080); `npm run build` bundles it.
export default defineConfig({
  root: here,
  base: './',
  build: {
    outDir: fileURLToPath(new URL('../../../dist/dashboard', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
  },
  server: {
    proxy: { '/api': process.env.CMS_EVENTS_URL ?? 'http://127.0.0.1:8080' },
  },
});
