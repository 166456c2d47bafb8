// Builds dist/ from src/ with tsc, then the native process launcher with the machine's C compiler.
// Run by `npm ci` (prepare) so a fresh checkout is ready to use.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
const tsc = require.resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);

// The command line is also bundled into one CommonJS file that bin/corral.js loads with a V8 code cache
// (dist/bin/corral.cjs.cache, made below by a warm-up run): a start then neither parses Corral's code nor compiles
// the functions a check uses, ~30 ms of a `corral check`. Packages with native parts stay external.
const esbuild = require('esbuild');
esbuild.buildSync({
  entryPoints: [fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))],
  outfile: fileURLToPath(new URL('../dist/bin/corral.cjs', import.meta.url)),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // The farm's heavy dependencies stay external too: commands that need them load them; `check` never reads them.
  external: ['yaml', 'better-sqlite3', 'pg', 'fs-ext', 'playwright-core', 'fastify', 'pino', 'prom-client', 'kysely'],
  define: { 'import.meta.url': '__corralModuleUrl' },
  banner: { js: "const __corralModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  // Less source to scan; names are kept so stack traces stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});

// The dashboard: web/ bundled into dist/web, which the server serves at /.
const web = spawnSync(process.execPath, [fileURLToPath(new URL('./build-web.mjs', import.meta.url))], {
  stdio: 'inherit',
});
if (web.status !== 0) process.exit(web.status ?? 1);

// The native launcher (src/session/launcher/native/launcher.c) makes starting action processes several times
// cheaper than Node's spawn. Without a C compiler Corral falls back to a pure-Node launcher, so a missing compiler
// is a warning, not a failure; a compiler that rejects the source is a failure.
const cc = process.env.CC || 'cc';
const source = fileURLToPath(new URL('../src/session/launcher/native/launcher.c', import.meta.url));
const output = fileURLToPath(new URL('../dist/native/corral-launcher', import.meta.url));
mkdirSync(new URL('../dist/native', import.meta.url), { recursive: true });
const compiled = spawnSync(cc, ['-std=gnu11', '-O2', '-Wall', '-o', output, source], { stdio: 'inherit' });
if (compiled.error?.code === 'ENOENT') {
  console.warn(`warning: no C compiler (${cc}); the native launcher is not built, Corral will use its Node launcher`);
} else if (compiled.status !== 0) {
  process.exit(compiled.status ?? 1);
}

// Warm-up: one real check writes the code cache (bin/corral.js writes it whenever it is missing or stale).
const warm = spawnSync(
  process.execPath,
  [
    fileURLToPath(new URL('../bin/corral.js', import.meta.url)),
    'check',
    fileURLToPath(new URL('../examples/render-frames.yaml', import.meta.url)),
  ],
  { stdio: 'ignore' },
);
if (warm.status !== 0)
  console.warn('warning: the warm-up check failed; the CLI will build its code cache on first use');
