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

// The command line is also bundled (one file per lazily loaded command): a CLI start then reads a few files instead
// of dozens, which is most of `corral check`'s time on small templates. Packages with native parts stay external.
const esbuild = require('esbuild');
esbuild.buildSync({
  entryPoints: [fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))],
  outdir: fileURLToPath(new URL('../dist/bin', import.meta.url)),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'bundle',
  external: ['yaml', 'better-sqlite3', 'pg', 'fs-ext', 'playwright-core'],
  // Bundled CommonJS dependencies call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __corralRequire } from 'node:module'; const require = __corralRequire(import.meta.url);",
  },
  // Less source for V8 to scan at every start; names are kept so stack traces stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});

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
