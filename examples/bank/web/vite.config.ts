import { fileURLToPath } from 'node:url';

import { defineConfig } from 'vite';

const webRoot = fileURLToPath(new URL('.', import.meta.url));

/**
 * Builds the demo bank's web app into dist/web, which `examples/bank/start.ts` serves at `/`.
 * The output has no inline script or style, so it runs under the strict CSP the gateway sends.
 */
export default defineConfig({
  root: webRoot,
  base: '/',
  publicDir: 'public',
  build: {
    outDir: fileURLToPath(new URL('../../../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The preload polyfill would add script the CSP does not need; modern browsers preload
    // modules natively.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
  },
});
