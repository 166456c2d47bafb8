/**
 * Hostile input: random text, random values and mutated real templates must get answers, never crashes or hangs.
 * Every failure must be a CorralError (with a code and located issues), every success a usable template.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import jsyaml from 'js-yaml';
import { createJob } from '../../src/model/create-job.js';
import { decodeTemplate } from '../../src/model/decode.js';
import { CorralError, IssuesError } from '../../src/model/errors.js';
import { conformanceDir } from '../helpers/cli.js';

/** Runs `fn`, which must either succeed or throw a CorralError, within `limitMs`. */
function answers(fn: () => void, limitMs = 2000): void {
  const started = performance.now();
  try {
    fn();
  } catch (error) {
    if (!(error instanceof CorralError)) throw error;
    assert.match(error.code, /^CORRAL_E_[A-Z_]+$/);
    if (error instanceof IssuesError) {
      assert.ok(error.issues.length > 0, 'an issues error lists its issues');
      for (const issue of error.issues) assert.ok(issue.message.length > 0);
    }
  }
  const elapsed = performance.now() - started;
  assert.ok(elapsed < limitMs, `took ${elapsed.toFixed(0)} ms`);
}

function decodeAndCreate(input: { text?: string; value?: unknown }): void {
  const decoded = decodeTemplate(input);
  if (decoded.kind === 'job') {
    const job = createJob({ template: decoded.template, templateDirectory: '/t', currentWorkingDirectory: '/w' });
    // Touch what a runner would: the first few tasks and chunks of every step.
    for (const step of job.steps) {
      const space = step.parameterSpace;
      let n = 0;
      for (const _ of space.chunks()) if (++n > 3) break;
      if (space.taskCount > 0) space.taskAt(space.taskCount - 1);
    }
  }
}

const seeds: { name: string; text: string }[] = [];
for (const component of ['base', 'FEATURE_BUNDLE_1', 'TASK_CHUNKING']) {
  for (const kind of ['job_templates', 'env_templates']) {
    const dir = `${conformanceDir}/${component}/${kind}`;
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir)) {
      if (!file.includes('.invalid.')) seeds.push({ name: file, text: readFileSync(`${dir}/${file}`, 'utf8') });
    }
  }
}

/** Every path (keys and indexes) into a value. */
function paths(
  value: unknown,
  prefix: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((item, i) => paths(item, [...prefix, i], out));
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) paths(item, [...prefix, key], out);
  }
  return out;
}

/** Any generated value as text; String() itself throws for objects such as `{ toString: false }`. */
function text(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

type Mutation = { at: number; op: 'delete' | 'replace' | 'duplicate' | 'wrap' | 'fmt'; value: unknown };

function mutate(root: unknown, mutation: Mutation): unknown {
  const all = paths(root).filter((p) => p.length > 0);
  if (all.length === 0) return root;
  const path = all[mutation.at % all.length]!;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let parent = copy as Record<string | number, unknown>;
  for (const part of path.slice(0, -1)) parent = parent[part] as Record<string | number, unknown>;
  const key = path[path.length - 1]!;
  switch (mutation.op) {
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      break;
    case 'replace':
      parent[key] = mutation.value;
      break;
    case 'duplicate':
      if (Array.isArray(parent)) parent.push(structuredClone(parent[key]));
      else parent[`${String(key)}_`] = parent[key];
      break;
    case 'wrap':
      parent[key] = [parent[key]];
      break;
    case 'fmt':
      parent[key] = `{{${text(mutation.value).slice(0, 20)}}}${text(parent[key])}`;
      break;
  }
  return copy;
}

const mutation = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('delete', 'replace', 'duplicate', 'wrap', 'fmt' as const),
  value: fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(
      '{{Param.X}}',
      '{{',
      '}}',
      '1-1000000000',
      'CHUNK[INT]',
      'amount.worker.vcpu',
      -1,
      0,
      2 ** 63,
      Number.POSITIVE_INFINITY,
    ),
  ),
}) as fc.Arbitrary<Mutation>;

describe('hostile input', () => {
  it('has seed templates', () => assert.ok(seeds.length > 50, `found ${seeds.length}`));

  it('answers random text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => answers(() => decodeAndCreate({ text }))),
      { numRuns: 500 },
    );
  });

  it('answers random values', () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 4 }), (value) => answers(() => decodeAndCreate({ value }))),
      { numRuns: 500 },
    );
  });

  it('answers mutated real templates', () => {
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 4 }), (seed, mutations) => {
        let value = jsyaml.load(seed.text, { schema: jsyaml.CORE_SCHEMA });
        for (const m of mutations) value = mutate(value, m);
        answers(() => decodeAndCreate({ value }));
        answers(() => decodeAndCreate({ text: jsyaml.dump(value, { skipInvalid: true }) }));
      }),
      { numRuns: 1000 },
    );
  });

  it('answers templates whose text was damaged', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 5 }), fc.string({ maxLength: 4 })), { minLength: 1, maxLength: 5 }),
        (seed, edits) => {
          let text = seed.text;
          for (const [at, remove, insert] of edits) {
            const i = at % (text.length + 1);
            text = text.slice(0, i) + insert + text.slice(i + remove);
          }
          answers(() => decodeAndCreate({ text }));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('answers deep nesting and huge scalars', () => {
    answers(() => decodeAndCreate({ text: `${'['.repeat(5000)}${']'.repeat(5000)}` }));
    answers(() => decodeAndCreate({ text: `${'- '.repeat(3000)}x` }));
    answers(() => decodeAndCreate({ text: `name: "${'a'.repeat(5_000_000)}"` }));
    answers(() => decodeAndCreate({ text: `{"a": ${'9'.repeat(100_000)}}` }));
  });
});
