/** @module Tests of step parameter spaces: task order, look-up, chunking, laziness, argument checks. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CorralError, ExpressionError, ModelErrorCode } from '../../src/model/errors.js';
import {
  type RangeConstraint,
  type ResolvedTaskParameter,
  StepParameterSpace,
  type TaskParameterSet,
} from '../../src/model/parameter-space.js';
import { IntRangeExpr } from '../../src/model/range-expr.js';

type Values = Record<string, string>;

function int(name: string, values: readonly number[] | string): ResolvedTaskParameter {
  return { name, type: 'INT', values: typeof values === 'string' ? IntRangeExpr.parse(values) : values };
}

function str(
  name: string,
  values: readonly string[],
  type: 'STRING' | 'PATH' | 'FLOAT' = 'STRING',
): ResolvedTaskParameter {
  return { name, type, values };
}

function chunk(
  name: string,
  values: readonly number[] | string,
  defaultTaskCount: number,
  rangeConstraint: RangeConstraint = 'CONTIGUOUS',
): ResolvedTaskParameter {
  return {
    name,
    type: 'CHUNK[INT]',
    values: typeof values === 'string' ? IntRangeExpr.parse(values) : values,
    chunks: { defaultTaskCount, targetRuntimeSeconds: 0, rangeConstraint },
  };
}

function space(parameters: ResolvedTaskParameter[], combination?: string): StepParameterSpace {
  return combination === undefined
    ? new StepParameterSpace({ parameters })
    : new StepParameterSpace({ parameters, combination });
}

/** A task's values without the types. */
function plain(set: TaskParameterSet): Values {
  return Object.fromEntries(Object.entries(set).map(([name, { value }]) => [name, value]));
}

function allTasks(s: StepParameterSpace): Values[] {
  return [...s.tasks()].map(plain);
}

function allChunks(s: StepParameterSpace): Values[] {
  return [...s.chunks()].map(plain);
}

/** The spec's example parameters: A=[1,2,3] B=[10,11,12] C=[20,21] D=[a,b,c]. */
const A = int('A', [1, 2, 3]);
const B = int('B', [10, 11, 12]);
const C = int('C', [20, 21]);
const D = str('D', ['a', 'b', 'c']);

describe('StepParameterSpace: order of tasks', () => {
  it('A * B: row-major, the rightmost factor fastest', () => {
    const s = space([A, B], 'A * B');
    assert.equal(s.taskCount, 9);
    assert.deepEqual(allTasks(s).slice(0, 5), [
      { A: '1', B: '10' },
      { A: '1', B: '11' },
      { A: '1', B: '12' },
      { A: '2', B: '10' },
      { A: '2', B: '11' },
    ]);
    assert.deepEqual(allTasks(s)[8], { A: '3', B: '12' });
  });

  it('(A,B): lockstep', () => {
    assert.deepEqual(allTasks(space([A, B], '(A,B)')), [
      { A: '1', B: '10' },
      { A: '2', B: '11' },
      { A: '3', B: '12' },
    ]);
  });

  it('(A,B) * C', () => {
    assert.deepEqual(allTasks(space([A, B, C], '(A,B) * C')), [
      { A: '1', B: '10', C: '20' },
      { A: '1', B: '10', C: '21' },
      { A: '2', B: '11', C: '20' },
      { A: '2', B: '11', C: '21' },
      { A: '3', B: '12', C: '20' },
      { A: '3', B: '12', C: '21' },
    ]);
  });

  it('(A,B,D)', () => {
    assert.deepEqual(allTasks(space([A, B, D], '(A,B,D)')), [
      { A: '1', B: '10', D: 'a' },
      { A: '2', B: '11', D: 'b' },
      { A: '3', B: '12', D: 'c' },
    ]);
  });

  it('C * (A, B * D) with a nested product inside a zip', () => {
    const s = space([int('A', '1-9'), B, C, D], 'C * (A, B * D)');
    assert.equal(s.taskCount, 18);
    const tasks = allTasks(s);
    assert.deepEqual(tasks[0], { A: '1', B: '10', C: '20', D: 'a' });
    assert.deepEqual(tasks[4], { A: '5', B: '11', C: '20', D: 'b' });
    assert.deepEqual(tasks[8], { A: '9', B: '12', C: '20', D: 'c' });
    assert.deepEqual(tasks[9], { A: '1', B: '10', C: '21', D: 'a' });
  });

  it('(A, (B, D)) * C with a nested zip', () => {
    const tasks = allTasks(space([A, B, C, D], '(A, (B, D)) * C'));
    assert.equal(tasks.length, 6);
    assert.deepEqual(tasks[3], { A: '2', B: '11', C: '21', D: 'b' });
  });

  it('the spec errors: (A,C) length mismatch and (A,B,A)', () => {
    assert.throws(() => space([A, C], '(A,C)'), {
      code: ModelErrorCode.CombinationExprInvalid,
      reason: "'(A,C)' combines parameters with different numbers of values: A has 3, C has 2",
    });
    assert.throws(() => space([A, B], '(A,B,A)'), { code: ModelErrorCode.CombinationExprInvalid, offset: 5 });
  });

  it('defaults to the product of all parameters in definition order', () => {
    // Conformance base/jobs/3.4--product-combination.
    const s = space([int('Frame', [1, 2]), str('Layer', ['fg', 'bg'])]);
    assert.equal(s.combination, 'Frame * Layer');
    assert.deepEqual(allTasks(s), [
      { Frame: '1', Layer: 'fg' },
      { Frame: '1', Layer: 'bg' },
      { Frame: '2', Layer: 'fg' },
      { Frame: '2', Layer: 'bg' },
    ]);
  });

  it('conformance 3.4 associative and mixed combinations', () => {
    const frame3 = int('Frame', [1, 2, 3]);
    assert.deepEqual(allTasks(space([frame3, str('Scene', ['a', 'b', 'c'])], '(Frame, Scene)')), [
      { Frame: '1', Scene: 'a' },
      { Frame: '2', Scene: 'b' },
      { Frame: '3', Scene: 'c' },
    ]);
    const mixed = space(
      [int('Frame', [1, 2]), str('Scene', ['a', 'b']), str('Quality', ['low', 'high'])],
      '(Frame, Scene) * Quality',
    );
    assert.deepEqual(allTasks(mixed), [
      { Frame: '1', Scene: 'a', Quality: 'low' },
      { Frame: '1', Scene: 'a', Quality: 'high' },
      { Frame: '2', Scene: 'b', Quality: 'low' },
      { Frame: '2', Scene: 'b', Quality: 'high' },
    ]);
    assert.equal(mixed.combination, '(Frame, Scene) * Quality');
  });

  it('keeps value texts and types; keys follow definition order', () => {
    const s = space(
      [str('F', ['1.50', '2e3'], 'FLOAT'), str('P', ['/a b/c'], 'PATH'), int('N', [-7, 0]), chunk('K', '5', 1)],
      'N * P * F * K',
    );
    assert.deepEqual(s.taskAt(0), {
      F: { type: 'FLOAT', value: '1.50' },
      P: { type: 'PATH', value: '/a b/c' },
      N: { type: 'INT', value: '-7' },
      K: { type: 'CHUNK[INT]', value: '5' },
    });
    assert.deepEqual(Object.keys(s.taskAt(3)), ['F', 'P', 'N', 'K']);
    assert.equal(s.taskAt(3).F?.value, '2e3');
  });

  it('a parameter named __proto__ is an ordinary key', () => {
    const s = space([str('__proto__', ['x'])]);
    const task = s.taskAt(0);
    assert.equal(Object.getPrototypeOf(task), Object.prototype);
    assert.deepEqual(Object.keys(task), ['__proto__']);
    assert.equal(s.find(JSON.parse('{"__proto__":"x"}')), 0);
  });

  it('taskAt rejects indexes outside the space', () => {
    const s = space([A]);
    for (const bad of [-1, 3, 0.5, Number.NaN]) assert.throws(() => s.taskAt(bad), RangeError);
  });

  it('EMPTY has one task with no parameters', () => {
    for (const s of [StepParameterSpace.EMPTY, space([])]) {
      assert.equal(s.taskCount, 1);
      assert.deepEqual(allTasks(s), [{}]);
      assert.equal(s.chunkCount(), 1);
      assert.deepEqual(allChunks(s), [{}]);
      assert.equal(s.find({}), 0);
      assert.equal(s.find({ A: '1' }), -1);
      assert.equal(s.chunkParameter, undefined);
      assert.equal(s.combination, '');
      const cursor = s.chunkCursor();
      assert.equal(cursor.remaining, 1);
      assert.deepEqual(cursor.next(5), {});
      assert.equal(cursor.next(5), undefined);
      assert.equal(cursor.remaining, 0);
    }
  });
});

describe('StepParameterSpace: find', () => {
  it('finds the index of each task', () => {
    const t = space([A, B, C], 'C * (A, B)');
    for (let i = 0; i < t.taskCount; i++) assert.equal(t.find(plain(t.taskAt(i))), i);
  });

  it('returns -1 for values not in the space, unknown or missing names', () => {
    const t = space([A, B], 'A * B');
    assert.equal(t.find({ A: '4', B: '10' }), -1);
    assert.equal(t.find({ A: '1' }), -1);
    assert.equal(t.find({ A: '1', B: '10', C: '20' }), -1);
    assert.equal(t.find({ A: '1', X: '10' }), -1);
    assert.equal(t.find({ A: 'one', B: '10' }), -1);
    assert.equal(t.find({ A: '1.0', B: '10' }), -1);
    assert.equal(t.find({ A: '', B: '10' }), -1);
    assert.equal(t.find({ A: '1', B: '11' }), 1);
  });

  it('compares INT values as integers and FLOAT values by text, then numerically', () => {
    const t = space([int('N', '1-5'), str('F', ['0.5', '2.50'], 'FLOAT')]);
    assert.equal(t.find({ N: '03', F: '2.50' }), 5);
    assert.equal(t.find({ N: '+3', F: '2.5' }), 5);
    assert.equal(t.find({ N: '3', F: '2.500' }), 5);
    assert.equal(t.find({ N: '3', F: '2.6' }), -1);
    assert.equal(t.find({ N: '3', F: ' ' }), -1);
  });

  it('in a zip, matches members at the same index even when a list repeats a value', () => {
    const t = space([str('S', ['a', 'a', 'b']), int('N', [1, 2, 3])], '(S, N)');
    assert.equal(t.find({ S: 'a', N: '2' }), 1);
    assert.equal(t.find({ S: 'a', N: '3' }), -1);
    assert.equal(t.find({ S: 'b', N: '3' }), 2);
    const product = space([str('S', ['a', 'b', 'a']), int('N', [1, 2])], 'S * N');
    assert.equal(product.find({ S: 'a', N: '2' }), 1);
  });

  it('accepts chunk values for the CHUNK[INT] parameter', () => {
    const t = space([str('L', ['x', 'y']), chunk('F', '1-10,15-20:5', 3)]);
    assert.equal(t.find({ L: 'y', F: '3-5' }), 12 + 2);
    assert.equal(t.find({ L: 'y', F: '4' }), 12 + 3);
    assert.equal(t.find({ L: 'x', F: '5-5' }), 4);
    assert.equal(t.find({ L: 'x', F: ' 1 - 10 ' }), 0);
    assert.equal(t.find({ L: 'x', F: '3,5' }), -1, 'CONTIGUOUS: one run only');
    assert.equal(t.find({ L: 'x', F: '10-15' }), -1, 'values outside the range');
    assert.equal(t.find({ L: 'x', F: '15-20' }), -1, '16..19 are not values');
    assert.equal(t.find({ L: 'x', F: '15' }), 10);
    assert.equal(t.find({ L: 'x', F: '1-11' }), -1);
    assert.equal(t.find({ L: 'x', F: 'nonsense' }), -1);
    assert.equal(t.find({ L: 'x', F: '' }), -1);
    const n = space([str('L', ['x', 'y']), chunk('F', '1-10,15-20:5', 3, 'NONCONTIGUOUS')]);
    assert.equal(n.find({ L: 'x', F: '3,5' }), 2);
    assert.equal(n.find({ L: 'y', F: '10,15,20' }), 12 + 9);
    assert.equal(n.find({ L: 'x', F: '15-20:5' }), 10);
    assert.equal(n.find({ L: 'x', F: '10-16' }), -1);
    assert.equal(n.find({ L: 'x', F: '1-10,15-20:5' }), 0);
  });

  it('a CHUNK[INT] list in template order finds the task of the smallest value', () => {
    const t = space([chunk('F', [7, 3, 4, 5], 2)]);
    assert.equal(t.find({ F: '3-5' }), 1);
    assert.equal(t.find({ F: '7' }), 0);
    assert.equal(t.find({ F: '5-7' }), -1);
  });
});

describe('StepParameterSpace: laziness', () => {
  it('answers a space of 10^9 tasks instantly', () => {
    const started = performance.now();
    const s = space([int('Frame', '1-1000000000'), str('Layer', ['a'])]);
    assert.equal(s.taskCount, 1_000_000_000);
    assert.deepEqual(plain(s.taskAt(999_999_999)), { Frame: '1000000000', Layer: 'a' });
    assert.equal(s.find({ Frame: '123456789', Layer: 'a' }), 123_456_788);
    assert.equal(s.chunkCount(), 1_000_000_000);
    const first = s.tasks().next().value;
    assert.deepEqual(first && plain(first), { Frame: '1', Layer: 'a' });
    assert.ok(performance.now() - started < 200, 'nothing may be materialised');
  });

  it('chunks a CHUNK[INT] range of 10^9 values instantly', () => {
    const started = performance.now();
    const s = space([chunk('Frame', '1-1000000000', 7), str('Layer', ['a', 'b'])]);
    assert.equal(s.taskCount, 2_000_000_000);
    assert.equal(s.chunkCount(), 2 * Math.ceil(1_000_000_000 / 7));
    const chunks = s.chunks();
    assert.deepEqual(plain(chunks.next().value!), { Frame: '1-7', Layer: 'a' });
    assert.deepEqual(plain(chunks.next().value!), { Frame: '8-14', Layer: 'a' });
    assert.deepEqual(plain(s.chunkAt(s.chunkCount() - 1)), { Frame: '999999995-1000000000', Layer: 'b' });
    const n = space([chunk('Frame', '1-1000000000:3', 400_000_000, 'NONCONTIGUOUS')]);
    assert.deepEqual(allChunks(n), [{ Frame: '1-1000000000:3' }]);
    const cursor = s.chunkCursor();
    assert.deepEqual(plain(cursor.next(500_000_000)!), { Frame: '1-500000000', Layer: 'a' });
    assert.equal(cursor.remaining, 1_500_000_000);
    assert.ok(performance.now() - started < 200, 'nothing may be materialised');
  });

  it('a stepped CHUNK[INT] range gives one chunk per value without listing them', () => {
    const s = space([chunk('Frame', '1-1999999999:2', 5)]);
    assert.equal(s.chunkCount(), 1_000_000_000);
    assert.deepEqual(plain(s.chunkAt(499_999_999)), { Frame: '999999999-999999999' });
  });
});

describe('StepParameterSpace: static chunks', () => {
  const frames = (s: StepParameterSpace): string[] => allChunks(s).map((c) => c.Frame!);

  // The TASK_CHUNKING/jobs conformance cases.
  it('contiguous-uneven: 1-12, count 5 → 1-4, 5-8, 9-12', () => {
    assert.deepEqual(frames(space([chunk('Frame', '1-12', 5)])), ['1-4', '5-8', '9-12']);
  });
  it('default-task-count-format-string: 1-8, count 3 → 1-3, 4-6, 7-8', () => {
    assert.deepEqual(frames(space([chunk('Frame', '1-8', 3)])), ['1-3', '4-6', '7-8']);
  });
  it('larger-than-range: 1-5, count 100 → 1-5', () => {
    assert.deepEqual(frames(space([chunk('Frame', '1-5', 100)])), ['1-5']);
  });
  it('noncontiguous-format: 1-8, count 3 → 1-3, 4-6, 7,8', () => {
    assert.deepEqual(frames(space([chunk('Frame', '1-8', 3, 'NONCONTIGUOUS')])), ['1-3', '4-6', '7,8']);
  });
  it('noncontiguous: 1-10, count 5 → 1-5, 6-10', () => {
    assert.deepEqual(frames(space([chunk('Frame', '1-10', 5, 'NONCONTIGUOUS')])), ['1-5', '6-10']);
  });
  it('target-runtime-seconds-format-string: 1-6, count 2 → 1-2, 3-4, 5-6', () => {
    assert.deepEqual(frames(space([chunk('Frame', '1-6', 2)])), ['1-2', '3-4', '5-6']);
  });

  it('CONTIGUOUS never bridges a gap and splits each run near-equally, larger chunks first', () => {
    assert.deepEqual(frames(space([chunk('Frame', '1,10-12,18-50', 10)])), [
      '1-1',
      '10-12',
      '18-26',
      '27-34',
      '35-42',
      '43-50',
    ]);
    assert.deepEqual(frames(space([chunk('Frame', '1-9:2', 5)])), ['1-1', '3-3', '5-5', '7-7', '9-9']);
    assert.deepEqual(frames(space([chunk('Frame', '2,4,6,7,8,9', 10)])), ['2-2', '4-4', '6-9']);
    assert.deepEqual(frames(space([chunk('Frame', '-3-3', 3)])), ['-3--1', '0-1', '2-3']);
    assert.deepEqual(frames(space([chunk('Frame', [10, 5, 1, 3, 2], 2)])), ['1-2', '3-3', '5-5', '10-10']);
  });

  it('NONCONTIGUOUS splits all values near-equally, in canonical form', () => {
    assert.deepEqual(frames(space([chunk('Frame', '1-20:2', 3, 'NONCONTIGUOUS')])), [
      '1-5:2',
      '7-11:2',
      '13,15',
      '17,19',
    ]);
    assert.deepEqual(frames(space([chunk('Frame', '1,10-12,18-50', 10, 'NONCONTIGUOUS')])), [
      '1,10-12,18-23',
      '24-32',
      '33-41',
      '42-50',
    ]);
  });

  it('the chunked dimension is innermost; the others hold still', () => {
    const s = space([chunk('Frame', '1-3', 2), int('B', [10, 11])]);
    assert.equal(s.combination, 'Frame * B');
    assert.equal(s.chunkCount(), 4);
    assert.deepEqual(allChunks(s), [
      { Frame: '1-2', B: '10' },
      { Frame: '3-3', B: '10' },
      { Frame: '1-2', B: '11' },
      { Frame: '3-3', B: '11' },
    ]);
    // tasks() keeps the spec order of the combination.
    assert.deepEqual(allTasks(s).slice(0, 2), [
      { Frame: '1', B: '10' },
      { Frame: '1', B: '11' },
    ]);
    assert.deepEqual(s.chunkAt(1), { Frame: { type: 'CHUNK[INT]', value: '3-3' }, B: { type: 'INT', value: '10' } });
  });

  it('moves the chunked factor out of a longer product, keeping the others in order', () => {
    const s = space([A, B, C, chunk('K', '1-2', 5)], 'C * K * (A, B)');
    assert.deepEqual(allChunks(s), [
      { A: '1', B: '10', C: '20', K: '1-2' },
      { A: '2', B: '11', C: '20', K: '1-2' },
      { A: '3', B: '12', C: '20', K: '1-2' },
      { A: '1', B: '10', C: '21', K: '1-2' },
      { A: '2', B: '11', C: '21', K: '1-2' },
      { A: '3', B: '12', C: '21', K: '1-2' },
    ]);
    assert.equal(s.chunkParameter?.name, 'K');
  });

  it('rejects the chunked parameter inside ( … )', () => {
    assert.throws(() => space([chunk('A', '1-3', 1), B], '(A, B)'), {
      code: ModelErrorCode.CombinationExprInvalid,
      offset: 1,
    });
  });

  it('without CHUNK[INT], chunks are the tasks', () => {
    const s = space([A, C]);
    assert.equal(s.chunkCount(), 6);
    assert.deepEqual(allChunks(s), allTasks(s));
    assert.deepEqual(plain(s.chunkAt(5)), { A: '3', C: '21' });
  });

  it('chunkAt rejects indexes outside the chunks', () => {
    const s = space([chunk('Frame', '1-12', 5)]);
    for (const bad of [-1, 3, 1.5]) assert.throws(() => s.chunkAt(bad), RangeError);
  });
});

describe('StepParameterSpace: chunk cursor', () => {
  it('takes the requested sizes, stopping at gaps when CONTIGUOUS', () => {
    const s = space([chunk('Frame', '1-5,8-9', 2), str('L', ['a', 'b'])]);
    const cursor = s.chunkCursor();
    assert.equal(cursor.remaining, 14);
    const got: string[] = [];
    for (const size of [3, 3, 3, 1, 10, 10]) {
      const next = cursor.next(size);
      assert.ok(next !== undefined);
      got.push(`${next.Frame!.value}/${next.L!.value}`);
    }
    assert.deepEqual(got, ['1-3/a', '4-5/a', '8-9/a', '1-1/b', '2-5/b', '8-9/b']);
    assert.equal(cursor.remaining, 0);
    assert.equal(cursor.next(1), undefined);
  });

  it('takes values across gaps when NONCONTIGUOUS', () => {
    const cursor = space([chunk('Frame', '1-5,8-9', 2, 'NONCONTIGUOUS')]).chunkCursor();
    assert.deepEqual(plain(cursor.next(6)!), { Frame: '1-5,8' });
    assert.equal(cursor.remaining, 1);
    assert.deepEqual(plain(cursor.next(6)!), { Frame: '9' });
    assert.equal(cursor.next(6), undefined);
  });

  it('without CHUNK[INT] hands out one task per call', () => {
    const s = space([A]);
    const cursor = s.chunkCursor();
    assert.deepEqual(plain(cursor.next(10)!), { A: '1' });
    assert.equal(cursor.remaining, 2);
  });

  it('rejects sizes that are not positive integers', () => {
    const cursor = space([chunk('Frame', '1-5', 2)]).chunkCursor();
    for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => cursor.next(bad), RangeError);
  });
});

describe('StepParameterSpace: argument checks', () => {
  const invalid = (parameters: ResolvedTaskParameter[], pattern: RegExp): void => {
    assert.throws(
      () => space(parameters),
      (error: unknown) =>
        error instanceof CorralError &&
        !(error instanceof ExpressionError) &&
        error.code === ModelErrorCode.InvalidArgument &&
        pattern.test(error.message),
    );
  };

  it('rejects unusable parameters', () => {
    invalid([A, int('A', [1])], /defined more than once/);
    invalid([int('A', [])], /no values/);
    invalid([str('S', [])], /no values/);
    invalid([chunk('A', '1-3', 1), chunk('B', '1-3', 1)], /only one CHUNK\[INT\]/);
    invalid([{ name: 'A', type: 'INT', values: ['1'] }], /integer values/);
    invalid([{ name: 'A', type: 'INT', values: [1.5] }], /integer values/);
    invalid([{ name: 'S', type: 'STRING', values: [1] }], /as strings/);
    invalid([{ name: 'S', type: 'PATH', values: IntRangeExpr.parse('1') }], /as strings/);
    invalid([{ name: 'K', type: 'CHUNK[INT]', values: [1] }], /needs 'chunks'/);
    invalid([chunk('K', '1-3', 0)], /defaultTaskCount/);
    invalid(
      [
        {
          ...chunk('K', '1-3', 1),
          chunks: { defaultTaskCount: 1, targetRuntimeSeconds: -1, rangeConstraint: 'CONTIGUOUS' },
        },
      ],
      /targetRuntimeSeconds/,
    );
    invalid(
      [{ ...A, chunks: { defaultTaskCount: 1, targetRuntimeSeconds: 0, rangeConstraint: 'CONTIGUOUS' } }],
      /only CHUNK\[INT\]/,
    );
    invalid([{ name: 'X', type: 'BOOL' as 'INT', values: [1] }], /unknown type/);
  });

  it('reports combination problems as combination-expression errors', () => {
    const cases: [ResolvedTaskParameter[], string, RegExp][] = [
      [[int('Frame', [1, 2, 3])], 'Frame * Layer', /unknown task parameter 'Layer'/],
      [[int('Frame', [1, 2, 3])], '', /empty/],
      [[A, B], 'A * * B', /two '\*'/],
      [[A, B], 'A', /'B' is missing/],
      [[A, B], 'A B', /missing '\*'/],
      [[], 'A', /unknown task parameter 'A'/],
      [[int('A', '1-100000000'), int('B', '1-100000000')], 'A * B', /too many tasks/],
    ];
    for (const [parameters, combination, reason] of cases) {
      assert.throws(
        () => space(parameters, combination),
        (error: unknown) => {
          assert.ok(error instanceof ExpressionError);
          assert.equal(error.code, ModelErrorCode.CombinationExprInvalid);
          assert.equal(error.expression, combination);
          assert.match(error.reason, reason);
          return true;
        },
      );
    }
  });
});

// ---- properties ----

interface RandomSpace {
  readonly parameters: ResolvedTaskParameter[];
  readonly combination: string;
  /** The tasks, materialised naively. */
  readonly tasks: Values[];
}

/** Generates a random space top-down so that every zip's members have equal lengths. */
function randomSpace(g: fc.GeneratorValue): RandomSpace {
  const parameters: ResolvedTaskParameter[] = [];
  const pick = (min: number, max: number): number => g(fc.integer, { min, max });
  const divisors = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);

  const leaf = (length: number): { text: string; tasks: Values[] } => {
    const name = `P${parameters.length}`;
    const kind = pick(0, 3);
    let texts: string[];
    if (kind === 0) {
      const start = pick(-5, 5);
      const step = pick(1, 3);
      const expr = IntRangeExpr.parse(length === 1 ? `${start}` : `${start}-${start + (length - 1) * step}:${step}`);
      parameters.push({ name, type: 'INT', values: expr });
      texts = [...expr].map(String);
    } else if (kind === 1) {
      const list = Array.from({ length }, () => pick(-3, 3));
      parameters.push({ name, type: 'INT', values: list });
      texts = list.map(String);
    } else if (kind === 2) {
      texts = Array.from({ length }, () => g(fc.constantFrom, 'a', 'b', 'c d', ''));
      parameters.push({ name, type: 'STRING', values: texts });
    } else {
      texts = Array.from({ length }, (_, i) => `${i}.5`);
      parameters.push({ name, type: 'FLOAT', values: texts });
    }
    return { text: name, tasks: texts.map((value) => ({ [name]: value })) };
  };

  const build = (depth: number, target: number | undefined): { text: string; tasks: Values[] } => {
    const kind = depth >= 3 || parameters.length >= 7 ? 0 : pick(0, 2);
    if (kind === 0) return leaf(target ?? pick(1, 3));
    if (kind === 1) {
      const count = pick(2, 3);
      const parts: { text: string; tasks: Values[] }[] = [];
      let remaining = target;
      for (let i = 0; i < count; i++) {
        let t: number | undefined;
        if (remaining !== undefined) {
          const share: number = i === count - 1 ? remaining : g(fc.constantFrom, ...divisors(remaining));
          remaining /= share;
          t = share;
        }
        parts.push(build(depth + 1, t));
      }
      let tasks: Values[] = [{}];
      for (const part of parts) tasks = tasks.flatMap((left) => part.tasks.map((right) => ({ ...left, ...right })));
      return { text: parts.map((p) => (p.text.includes('*') ? `(${p.text})` : p.text)).join(' * '), tasks };
    }
    const length = target ?? pick(1, 3);
    const members = Array.from({ length: pick(2, 3) }, () => build(depth + 1, length));
    return {
      text: `(${members.map((m) => m.text).join(', ')})`,
      tasks: members[0]!.tasks.map((_, i) => Object.assign({}, ...members.map((m) => m.tasks[i]))),
    };
  };

  const root = build(0, undefined);
  return { parameters, combination: root.text, tasks: root.tasks };
}

function sameValues(a: Values, b: Values): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

describe('StepParameterSpace properties', () => {
  it('taskCount, tasks(), taskAt(i) and find() agree with a naive expansion', () => {
    fc.assert(
      fc.property(fc.gen(), (g) => {
        const { parameters, combination, tasks } = randomSpace(g);
        const s = space(parameters, combination);
        assert.equal(s.taskCount, tasks.length);
        const listed = allTasks(s);
        // Key order is definition order; compare by value.
        assert.deepEqual(
          listed.map((t) => JSON.stringify(Object.entries(t).sort())),
          tasks.map((t) => JSON.stringify(Object.entries(t).sort())),
        );
        for (let i = 0; i < tasks.length; i++) {
          assert.deepEqual(plain(s.taskAt(i)), listed[i]);
          assert.equal(
            s.find(tasks[i]!),
            tasks.findIndex((t) => sameValues(t, tasks[i]!)),
          );
        }
        assert.equal(s.chunkCount(), s.taskCount);
      }),
      { numRuns: 300 },
    );
  });

  /** A random space with a CHUNK[INT] parameter among up to two others, default combination. */
  const chunkSpaceArb = fc.record({
    values: fc.array(fc.integer({ min: -10, max: 40 }), { minLength: 1, maxLength: 30 }),
    asExpr: fc.boolean(),
    count: fc.integer({ min: 1, max: 7 }),
    constraint: fc.constantFrom<RangeConstraint>('CONTIGUOUS', 'NONCONTIGUOUS'),
    others: fc.array(fc.array(fc.constantFrom('x', 'y', 'z'), { minLength: 1, maxLength: 3 }), { maxLength: 2 }),
    position: fc.nat(),
    sizes: fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 10 }),
  });

  type ChunkCase = typeof chunkSpaceArb extends fc.Arbitrary<infer T> ? T : never;

  function build(arb: ChunkCase) {
    const sorted = [...IntRangeExpr.fromValues(arb.values)];
    const param = chunk(
      'K',
      arb.asExpr ? IntRangeExpr.fromValues(arb.values).toString() : arb.values,
      arb.count,
      arb.constraint,
    );
    const others = arb.others.map((values, i) => str(`S${i}`, values));
    const parameters = [...others];
    parameters.splice(arb.position % (others.length + 1), 0, param);
    // The other parameters' combinations, in product order.
    let outer: Values[] = [{}];
    for (const o of others) {
      outer = outer.flatMap((left) => (o.values as string[]).map((v) => ({ ...left, [o.name]: v })));
    }
    // Maximal runs of consecutive values.
    const runs: number[][] = [];
    for (const v of sorted) {
      const last = runs[runs.length - 1];
      if (last !== undefined && last[last.length - 1] === v - 1) last.push(v);
      else runs.push([v]);
    }
    return { s: space(parameters), sorted, outer, runs };
  }

  const expand = (text: string): number[] => [...IntRangeExpr.parse(text)];
  const without = (values: Values): Values => Object.fromEntries(Object.entries(values).filter(([k]) => k !== 'K'));

  it('static chunks cover every value once per combination, sized as specified', () => {
    fc.assert(
      fc.property(chunkSpaceArb, (arb) => {
        const { s, sorted, outer, runs } = build(arb);
        const chunks = allChunks(s);
        assert.equal(chunks.length, s.chunkCount());
        assert.equal(chunks.length % outer.length, 0);
        const perCombination = chunks.length / outer.length;
        for (let o = 0; o < outer.length; o++) {
          const mine = chunks.slice(o * perCombination, (o + 1) * perCombination);
          for (const c of mine) assert.deepEqual(without(c), outer[o]);
          const texts = mine.map((c) => c.K!);
          assert.deepEqual(texts.flatMap(expand), sorted);
          const sizes = texts.map((t) => expand(t).length);
          assert.ok(sizes.every((n) => n <= arb.count));
          if (arb.constraint === 'CONTIGUOUS') {
            for (const t of texts) assert.match(t, /^-?\d+--?\d+$/);
            // Per run: ceil(L / count) chunks whose sizes differ by at most one, larger first.
            let k = 0;
            for (const run of runs) {
              const n = Math.ceil(run.length / arb.count);
              const runSizes = sizes.slice(k, k + n);
              assert.deepEqual(texts.slice(k, k + n).flatMap(expand), run);
              assert.ok(runSizes.every((x, i) => i === 0 || (x <= runSizes[i - 1]! && runSizes[0]! - x <= 1)));
              k += n;
            }
            assert.equal(k, texts.length);
          } else {
            assert.equal(texts.length, Math.ceil(sorted.length / arb.count));
            for (const t of texts) assert.equal(IntRangeExpr.parse(t).toString(), t);
            assert.ok(sizes.every((x, i) => i === 0 || (x <= sizes[i - 1]! && sizes[0]! - x <= 1)));
          }
          mine.forEach((c, j) => {
            assert.deepEqual(plain(s.chunkAt(o * perCombination + j)), c);
          });
        }
        // Every chunk is found, at the task of its first value.
        for (const c of chunks) {
          const index = s.find(c);
          assert.ok(index >= 0);
          const task = plain(s.taskAt(index));
          assert.equal(task.K, String(expand(c.K!)[0]));
          assert.deepEqual(without(task), without(c));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the cursor hands out every value exactly once, in order, at most `size` at a time', () => {
    fc.assert(
      fc.property(chunkSpaceArb, (arb) => {
        const { s, sorted, outer, runs } = build(arb);
        const runEnd = new Map<number, number>(); // index in sorted → index after its run
        let index = 0;
        for (const run of runs) {
          for (let i = 0; i < run.length; i++) runEnd.set(index + i, index + run.length);
          index += run.length;
        }
        const cursor = s.chunkCursor();
        let call = 0;
        for (let o = 0; o < outer.length; o++) {
          let position = 0;
          while (position < sorted.length) {
            const size = arb.sizes[call++ % arb.sizes.length]!;
            assert.equal(cursor.remaining, (outer.length - o) * sorted.length - position);
            const next = cursor.next(size);
            assert.ok(next !== undefined);
            const limit = arb.constraint === 'CONTIGUOUS' ? runEnd.get(position)! : sorted.length;
            const end = Math.min(position + size, limit);
            const expected = sorted.slice(position, end);
            const text = next.K!.value;
            assert.deepEqual(expand(text), expected);
            if (arb.constraint === 'CONTIGUOUS') assert.equal(text, `${expected[0]}-${expected[expected.length - 1]}`);
            else assert.equal(text, IntRangeExpr.fromValues(expected).toString());
            assert.deepEqual(without(plain(next)), outer[o]);
            position = end;
          }
        }
        assert.equal(cursor.remaining, 0);
        assert.equal(cursor.next(1), undefined);
      }),
      { numRuns: 300 },
    );
  });
});
