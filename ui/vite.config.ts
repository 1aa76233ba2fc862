import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { svelteTesting } from '@testing-library/svelte/vite';
import { readFileSync } from 'node:fs';

/** The inbox's version (About), from package.json. */
const version: string = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')).version;

// The same build runs in a browser (served by taskpool-server at /) and, later, in the
// Tauri window. During `vite dev`, API calls go to a local server.
export default defineConfig({
  // svelteTesting: component tests get Svelte's browser build and a clean DOM per test
  // (it does nothing outside Vitest).
  plugins: [svelte(), svelteTesting()],
  define: { __APP_VERSION__: JSON.stringify(version) },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  // Pure logic runs in Node; component tests (`*.svelte.test.ts`) say `@vitest-environment jsdom`.
  test: { include: ['src/**/*.test.ts'] },
});
