// Runs the test suite with node:test through tsx. Node 20's runner has no globs, so the files are listed here.
// Usage: npm test [-- <file or folder>...]   (default: everything under test/)
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

function collect(path, out) {
  const stat = statSync(path);
  if (stat.isDirectory()) {
    for (const entry of readdirSync(path).sort()) {
      if (entry === 'fixtures' || entry === 'node_modules') continue;
      collect(join(path, entry), out);
    }
  } else if (/\.test\.ts$/.test(path)) {
    out.push(relative(root, path));
  }
  return out;
}

const targets = process.argv.slice(2);
const files = [];
for (const target of targets.length > 0 ? targets : ['test']) collect(join(root, target), files);
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// The CLI tests run bin/corral.js over dist/, so build it first.
const build = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  cwd: root,
  stdio: 'inherit',
});
// A test file whose process never exits (a connection left open) would otherwise hold CI until its own timeout.
const limitMinutes = Number(process.env.CORRAL_TEST_TIMEOUT_MINUTES ?? 45);
const limit = setTimeout(() => {
  console.error(`\nThe test run passed ${limitMinutes} minutes: stopping it. A test file's process did not exit.`);
  child.kill('SIGKILL');
  process.exit(1);
}, limitMinutes * 60_000);
limit.unref();
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
