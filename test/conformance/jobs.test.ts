/**
 * The OpenJD conformance suite's job cases, run through `corral run`: every `jobs/*.test.yaml` of base,
 * FEATURE_BUNDLE_1, TASK_CHUNKING and REDACTED_ENV_VARS. Each case's template is written to a temporary directory;
 * `parameters` are passed with `-p file://…`, `environments` with `--env`, `pathMapping` with
 * `--path-mapping-rules file://…`. `expected.output` items (or `anyOf` groups) must occur in stdout+stderr,
 * `forbidden` ones must not; `taskFailure` means the run must fail, and with `exitCode: N` the first non-zero
 * `exited with code: N` must be N. A `.invalid.` case must exit non-zero.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import jsyaml from 'js-yaml';
import * as YAML from 'yaml';
import { conformanceDir, repoRoot, runCorral } from '../helpers/cli.js';

/** Cases that need the EXPR extension, which Corral does not implement yet: it must refuse them by name. */
export const REQUIRES_EXPR: ReadonlySet<string> = new Set([
  'FEATURE_BUNDLE_1/jobs/5--timeout-null-drops-field.test.yaml',
  'FEATURE_BUNDLE_1/jobs/5--timeout-expr-value-honored.test.yaml',
]);

type Expected = string | { anyOf: string[] };
interface JobCase {
  runOn?: string[] | string;
  template: unknown;
  parameters?: Record<string, unknown>;
  environments?: unknown[];
  pathMapping?: unknown[];
  expected?: {
    output?: Expected[];
    output_posix?: Expected[];
    forbidden?: string[];
    forbidden_posix?: string[];
    taskFailure?: { exitCode?: number } | null;
  };
}

const components = ['base', 'FEATURE_BUNDLE_1', 'TASK_CHUNKING', 'REDACTED_ENV_VARS'];
const cases: string[] = [];
for (const component of components) {
  const dir = `${conformanceDir}/${component}/jobs`;
  if (!existsSync(dir)) continue;
  for (const file of readdirSync(dir).sort()) if (file.endsWith('.test.yaml')) cases.push(`${component}/jobs/${file}`);
}

const work = mkdtempSync(join(tmpdir(), 'corral-conformance-jobs-'));
after(() => rmSync(work, { recursive: true, force: true }));

/**
 * Writes a part of the case file as its own YAML document, keeping scalars as written: `1.0` stays `1.0` and
 * `9223372036854775807` stays exact, which a round trip through plain JavaScript values would lose.
 */
function writePart(source: YAML.Document, path: (string | number)[], file: string): void {
  const node = source.getIn(path, true) as YAML.Node;
  const doc = new YAML.Document();
  doc.contents = node;
  writeFileSync(file, doc.toString({ lineWidth: 0 }));
}

function argsFor(name: string, testCase: JobCase, dir: string): string[] {
  const source = YAML.parseDocument(readFileSync(`${conformanceDir}/${name}`, 'utf8'), { intAsBigInt: true });
  writePart(source, ['template'], join(dir, 'template.yaml'));
  const args = ['run', join(dir, 'template.yaml')];
  if (testCase.parameters) {
    writePart(source, ['parameters'], join(dir, 'parameters.yaml'));
    args.push('-p', `file://${join(dir, 'parameters.yaml')}`);
  }
  (testCase.environments ?? []).forEach((_env, i) => {
    writePart(source, ['environments', i], join(dir, `env${i}.yaml`));
    args.push('--env', join(dir, `env${i}.yaml`));
  });
  if (testCase.pathMapping) {
    writeFileSync(
      join(dir, 'rules.json'),
      JSON.stringify({ version: 'pathmapping-1.0', path_mapping_rules: testCase.pathMapping }),
    );
    args.push('--path-mapping-rules', `file://${join(dir, 'rules.json')}`);
  }
  return args;
}

describe('conformance: jobs through corral run', { concurrency: 4 }, () => {
  it('finds the suite', () => assert.ok(cases.length > 100, `found ${cases.length} job cases in ${conformanceDir}`));

  it('documents every case that needs EXPR in docs/conformance.md', () => {
    const doc = readFileSync(`${repoRoot}/docs/conformance.md`, 'utf8');
    for (const name of REQUIRES_EXPR) assert.ok(doc.includes(name), `docs/conformance.md must explain ${name}`);
  });

  for (const name of cases) {
    const testCase = jsyaml.load(readFileSync(`${conformanceDir}/${name}`, 'utf8')) as JobCase;
    const runOn = testCase.runOn === undefined ? undefined : [testCase.runOn].flat();
    const skip = runOn && !runOn.includes('posix') ? `runs only on ${runOn.join(', ')}` : false;
    it(name, { skip, timeout: 120_000 }, async () => {
      const dir = mkdtempSync(join(work, 'case-'));
      const result = await runCorral(argsFor(name, testCase, dir), { cwd: dir, timeoutMs: 110_000 });
      const output = `${result.stdout}${result.stderr}`;
      const context = `\n--- output of corral run (exit ${result.code}) ---\n${output.slice(-6000)}`;
      if (REQUIRES_EXPR.has(name)) {
        assert.equal(result.code, 1, context);
        assert.match(output, /does not support the EXPR extension yet/, context);
        return;
      }
      if (name.includes('.invalid.')) {
        assert.notEqual(result.code, 0, `an invalid job must fail${context}`);
        return;
      }
      const expected = testCase.expected ?? {};
      for (const item of [...(expected.output ?? []), ...(expected.output_posix ?? [])]) {
        if (typeof item === 'string')
          assert.ok(output.includes(item), `expected ${JSON.stringify(item)} in the output${context}`);
        else
          assert.ok(
            item.anyOf.some((s) => output.includes(s)),
            `expected one of ${JSON.stringify(item.anyOf)}${context}`,
          );
      }
      for (const item of [...(expected.forbidden ?? []), ...(expected.forbidden_posix ?? [])]) {
        assert.ok(!output.includes(item), `${JSON.stringify(item)} must not appear in the output${context}`);
      }
      if (expected.taskFailure !== undefined) {
        assert.notEqual(result.code, 0, `the run must fail${context}`);
        const wanted = expected.taskFailure?.exitCode;
        if (wanted !== undefined) {
          const codes = [...output.matchAll(/exited with code:\s*(-?\d+)/g)].map((m) => Number(m[1]));
          assert.equal(
            codes.find((c) => c !== 0),
            wanted,
            `first non-zero exit code${context}`,
          );
        }
      } else {
        assert.equal(result.code, 0, `the run must succeed${context}`);
      }
    });
  }
});
