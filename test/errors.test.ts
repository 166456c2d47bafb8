/**
 * The error catalogue: every `CORRAL_E_…` code in the source is documented in docs/errors.md, and every documented
 * code exists in the source.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { repoRoot } from './helpers/cli.js';

function sources(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) sources(path, out);
    else if (/\.(ts|tsx|c)$/.test(entry)) out.push(path);
  }
  return out;
}

it('documents every error code, and only codes that exist', () => {
  const inSource = new Set<string>();
  for (const file of sources(join(repoRoot, 'src'))) {
    for (const match of readFileSync(file, 'utf8').matchAll(/['"](CORRAL_E_[A-Z0-9_]+)['"]/g)) inSource.add(match[1]!);
  }
  const documented = new Set<string>();
  for (const match of readFileSync(join(repoRoot, 'docs/errors.md'), 'utf8').matchAll(
    /^\| `(CORRAL_E_[A-Z0-9_]+)` \|/gm,
  )) {
    documented.add(match[1]!);
  }
  assert.ok(inSource.size >= 10, 'finds the codes in the source');
  assert.deepEqual([...inSource].filter((c) => !documented.has(c)).sort(), [], 'codes missing from docs/errors.md');
  assert.deepEqual([...documented].filter((c) => !inSource.has(c)).sort(), [], 'documented codes that no longer exist');
});
