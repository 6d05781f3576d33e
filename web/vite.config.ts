import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const outDir = resolve(dirname(fileURLToPath(import.meta.url)), 'dist');

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
  plugins: [keepDistMarker()],
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
