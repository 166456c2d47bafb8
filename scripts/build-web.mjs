// Builds the dashboard (web/) into dist/web: one hashed JS bundle (Preact and the app), one hashed CSS file, and an
// index.html naming them. Run by scripts/build.mjs; `node scripts/build-web.mjs --watch` rebuilds while editing.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const esbuild = require('esbuild');
const root = fileURLToPath(new URL('..', import.meta.url));
const web = join(root, 'web');
const out = join(root, 'dist', 'web');

/** Writes index.html with the bundle's file names; returns them for the log. */
function writeIndex(metafile) {
  const outputs = Object.keys(metafile.outputs).map((path) => `/assets/${basename(path)}`);
  const js = outputs.find((path) => path.endsWith('.js'));
  const css = outputs.find((path) => path.endsWith('.css'));
  if (!js || !css) throw new Error(`the dashboard's build made no ${js ? 'CSS' : 'JS'} file`);
  const html = readFileSync(join(web, 'index.html'), 'utf8').replace('{{js}}', js).replace('{{css}}', css);
  writeFileSync(join(out, 'index.html'), html);
  for (const file of readdirSync(join(web, 'public'))) copyFileSync(join(web, 'public', file), join(out, file));
  return { js, css };
}

const options = {
  entryPoints: [join(web, 'src', 'main.tsx')],
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome111', 'firefox111', 'safari16.4'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: 'linked',
  metafile: true,
  legalComments: 'linked',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
};

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
if (process.argv.includes('--watch')) {
  const context = await esbuild.context({
    ...options,
    plugins: [{ name: 'index', setup: (b) => b.onEnd((r) => r.metafile && writeIndex(r.metafile)) }],
  });
  await context.watch();
  console.log('watching web/ …');
} else {
  const result = esbuild.buildSync(options);
  writeIndex(result.metafile);
}
