/**
 * The OpenJD conformance suite's template cases, run through `corral check`: every file under
 * `job_templates/` and `env_templates/` of base, FEATURE_BUNDLE_1 and TASK_CHUNKING. A name with `.invalid.`
 * must be rejected (exit 1), any other accepted (exit 0). The suite is read from ../shared, never copied.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { conformanceDir, repoRoot, runCorral } from '../helpers/cli.js';

/** Cases where Corral follows the spec text against the suite; each is explained in docs/conformance.md. */
export const TEMPLATE_DIVERGENCES: Readonly<Record<string, string>> = {
  'base/job_templates/3.4--too-many-range-items.invalid.yaml':
    'the 1024-item limit applies to range lists, not to range expressions such as "1-1025" (§3.4.1.1)',
};

const components = ['base', 'FEATURE_BUNDLE_1', 'TASK_CHUNKING'];
const cases: string[] = [];
for (const component of components) {
  for (const kind of ['job_templates', 'env_templates']) {
    const dir = `${conformanceDir}/${component}/${kind}`;
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).sort()) cases.push(`${component}/${kind}/${file}`);
  }
}

describe('conformance: templates through corral check', { concurrency: 4 }, () => {
  it('finds the suite', () => {
    assert.ok(cases.length > 200, `expected the conformance suite in ${conformanceDir}, found ${cases.length} cases`);
  });

  it('documents every divergence in docs/conformance.md', () => {
    const doc = readFileSync(`${repoRoot}/docs/conformance.md`, 'utf8');
    for (const name of Object.keys(TEMPLATE_DIVERGENCES))
      assert.ok(doc.includes(name), `docs/conformance.md must explain ${name}`);
  });

  for (const name of cases) {
    const invalid = name.includes('.invalid.');
    const divergence = TEMPLATE_DIVERGENCES[name];
    const wantValid = divergence ? invalid : !invalid;
    it(`${name} is ${wantValid ? 'accepted' : 'rejected'}${divergence ? ' (divergence, see docs/conformance.md)' : ''}`, async () => {
      const result = await runCorral(['check', `${conformanceDir}/${name}`]);
      const output = `${result.stdout}${result.stderr}`;
      assert.equal(result.code, wantValid ? 0 : 1, output);
      if (!wantValid) assert.match(result.stderr, /^ERROR: /, 'a rejection explains itself');
    });
  }
});
