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

it('docs/session.md shows docs/examples/session-tour.ts, which runs a session end to end', () => {
  const code = readFileSync(join(repoRoot, 'docs/examples/session-tour.ts'), 'utf8');
  assert.ok(
    readFileSync(join(repoRoot, 'docs/session.md'), 'utf8').includes(code),
    'docs/session.md embeds the program',
  );
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'docs/examples/session-tour.ts'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stdout.split('\n');
  const at = (text: string) => lines.findIndex((line) => line.includes(text));
  assert.ok(at('Entering environment: Tools') < at('Entering environment: Voice'));
  assert.ok(at('| Hello, world (loud, ready)') > at('Entering environment: Voice'));
  assert.ok(at('[Greet] 50% done') !== -1);
  assert.ok(at('task farm: SUCCESS') > at('task world: SUCCESS'));
  assert.ok(at('Exiting environment: Voice') < at('Exiting environment: Tools'));
  assert.ok(at('| tools put away') > at('Exiting environment: Tools'));
  assert.equal(lines.at(-2), 'session ENDED');
});
