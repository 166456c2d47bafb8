/**
 * The programs the docs show are run here, and the docs must show them verbatim.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { repoRoot } from './helpers/cli.js';

it('docs/model.md shows docs/examples/model-tour.ts, which runs as its comments say', () => {
  const code = readFileSync(join(repoRoot, 'docs/examples/model-tour.ts'), 'utf8');
  assert.ok(readFileSync(join(repoRoot, 'docs/model.md'), 'utf8').includes(code), 'docs/model.md embeds the program');
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'docs/examples/model-tour.ts'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stdout.split('\n');
  assert.equal(lines[0], 'CORRAL_E_TEMPLATE_INVALID');
  assert.ok(code.includes(`// ${lines[1]}`), `the comment shows the issue as printed: ${lines[1]}`);
  assert.ok(run.stdout.includes('Render sh020\n'));
  assert.ok(run.stdout.includes("unknown job parameter 'Frame'; the template defines Shot, Frames\n"));
  assert.ok(run.stdout.includes('2000 80\n'));
  assert.ok(run.stdout.includes('left 1-25\nleft 26-50\nleft 51-75\n'));
});
