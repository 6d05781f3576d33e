import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import vue from '@vitejs/plugin-vue';
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers';
import Components from 'unplugin-vue-components/vite';
import { defineConfig, type Plugin } from 'vite';

const root = dirname(fileURLToPath(import.meta.url));
const outDir = resolve(root, 'dist');

// dist/ is embedded into the Go binary (web/embed.go, //go:embed all:dist),
// and go:embed needs the directory to exist even before the first build, so
// dist/.keep is tracked in git. Vite empties dist/ on every build; put the
// marker back afterwards.
function keepDistMarker(): Plugin {
  return {
    name: 'yunke-keep-dist',
    apply: 'build',
    closeBundle() {
      mkdirSync(outDir, { recursive: true });
      writeFileSync(resolve(outDir, '.keep'), '');
    },
  };
}

// The dev server proxies the API and signaling to a Yunke server started with
// `yunke serve --dev` (default port 7880; override with YUNKE_DEV_SERVER).
const backend = process.env.YUNKE_DEV_SERVER ?? 'http://127.0.0.1:7880';

export default defineConfig({
  plugins: [
    vue(),
    // Element Plus components used in templates are imported where they are
    // used, with their CSS, so every page's chunk carries only its own
    // components and the CSS ends up in files (never injected at run time).
    Components({
      dirs: [],
      dts: 'src/components.d.ts',
      resolvers: [ElementPlusResolver({ importStyle: 'css' })],
    }),
    keepDistMarker(),
  ],
  resolve: {
    alias: { '@': resolve(root, 'src') },
  },
  // Build flags of the esm-bundler builds. vue-i18n: composition API only, no
  // <i18n-t> components or v-t directive, and keep the message compiler. Since
  // v10 it always compiles "just in time": messages become ASTs that it
  // interprets, never code run through eval or new Function, which a
  // script-src 'self' policy would block (the __INTLIFY_JIT_COMPILATION__ flag
  // of v9 is gone).
  define: {
    __VUE_OPTIONS_API__: 'true',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    __VUE_I18N_FULL_INSTALL__: 'false',
    __VUE_I18N_LEGACY_API__: 'false',
    __INTLIFY_PROD_DEVTOOLS__: 'false',
    __INTLIFY_DROP_MESSAGE_COMPILER__: 'false',
  },
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: {
      '/api': backend,
      '/rtc': { target: backend, ws: true },
    },
  },
});
