/**
 * @module A step's task parameter space: its tasks in spec order, its chunks, and look-up of a task by its values.
 *
 * Nothing is materialised: a task or chunk is computed from its index in O(depth of the combination expression), so a
 * space of 10^9 tasks costs no more memory than one of 10.
 */

import {
  type CombinationNode,
  checkCombinationExpr,
  combinationLength,
  parseCombinationExpr,
} from './combination-expr.js';
import { CorralError, ModelErrorCode } from './errors.js';
import { IntRangeExpr } from './range-expr.js';

/** The type of a task parameter. */
export type TaskParameterType = 'INT' | 'FLOAT' | 'STRING' | 'PATH' | 'CHUNK[INT]';

/** How a `CHUNK[INT]` parameter's chunks may be shaped: one `a-b` interval, or any set of its values. */
export type RangeConstraint = 'CONTIGUOUS' | 'NONCONTIGUOUS';

/** The resolved `chunks` settings of a `CHUNK[INT]` parameter. */
export interface ChunkSettings {
  /** How many values a chunk has by default; at least 1. */
  readonly defaultTaskCount: number;
  /** Run time to aim for when sizing chunks adaptively; 0 means use `defaultTaskCount` only. */
  readonly targetRuntimeSeconds: number;
  readonly rangeConstraint: RangeConstraint;
}

/** A task parameter with its values resolved (format strings already evaluated). */
export interface ResolvedTaskParameter {
  readonly name: string;
  readonly type: TaskParameterType;
  /** INT/CHUNK[INT]: an IntRangeExpr (from a range expression string) or a list of ints in the template's order;
   *  FLOAT/STRING/PATH: the values as strings (FLOAT keeps the template's own decimal text). */
  readonly values: IntRangeExpr | readonly number[] | readonly string[];
  /** Only for CHUNK[INT]. */
  readonly chunks?: ChunkSettings;
}

/** One task parameter's value in a task: a single value, or for a chunk a range expression such as `"1-10"`. */
export interface TaskParameterValue {
  readonly type: TaskParameterType;
  readonly value: string;
}

/** The values of one task (or chunk), by parameter name, in the parameters' definition order. */
export type TaskParameterSet = Readonly<Record<string, TaskParameterValue>>;

/** A cursor over a space's chunks where the caller picks each chunk's size (adaptive chunking). */
export interface ChunkCursor {
  /**
   * The next chunk with at most `size` values of the chunked parameter, or `undefined` when every value is handed
   * out. Without a `CHUNK[INT]` parameter each call returns the next task and `size` has no effect.
   *
   * @throws RangeError when `size` is not a positive integer.
   */
  next(size: number): TaskParameterSet | undefined;
  /** How many tasks (at chunk size 1) have not been handed out yet. */
  readonly remaining: number;
}

function invalidArgument(message: string): CorralError {
  return new CorralError(ModelErrorCode.InvalidArgument, message);
}

/** `[a / b]` and `a % b` for non-negative safe integers, exactly (`%` on doubles is exact, so is the division). */
function divmod(a: number, b: number): [number, number] {
  const r = a % b;
  return [(a - r) / b, r];
}

/** Position and size of part `j` when `total` items are cut into `parts` near-equal parts, larger ones first. */
function nearEqualPart(total: number, parts: number, j: number): [number, number] {
  const [small, extra] = divmod(total, parts);
  return [j * small + Math.min(j, extra), small + (j < extra ? 1 : 0)];
}

function ceilDiv(a: number, b: number): number {
  const [q, r] = divmod(a, b);
  return r === 0 ? q : q + 1;
}

/** Binary search: the last index `i` with `starts[i] <= x` (`starts` ascending, `starts[0] <= x`). */
function lastAtOrBelow(starts: readonly number[], x: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (starts[mid]! <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** A parameter's values seen uniformly: count, value text at an index, indexes of a value given as text. */
interface Dimension {
  readonly length: number;
  valueAt(index: number): string;
  /** Ascending indexes whose value equals `text` (several when a list repeats a value). */
  lookup(text: string): readonly number[];
}

const INT_TEXT = /^[+-]?[0-9]+$/;

function parseIntText(text: string): number | undefined {
  if (!INT_TEXT.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

function rangeDimension(values: IntRangeExpr): Dimension {
  return {
    length: values.length,
    valueAt: (index) => String(values.at(index)),
    lookup: (text) => {
      const value = parseIntText(text);
      const index = value === undefined ? -1 : values.indexOf(value);
      return index === -1 ? [] : [index];
    },
  };
}

/** Indexes of each key, built on first use: only `find` needs them. */
function lazyIndex<K>(keys: () => Iterable<K>): (key: K) => readonly number[] {
  let map: Map<K, number[]> | undefined;
  return (key) => {
    if (map === undefined) {
      map = new Map();
      let i = 0;
      for (const k of keys()) {
        const list = map.get(k);
        if (list === undefined) map.set(k, [i]);
        else list.push(i);
        i++;
      }
    }
    return map.get(key) ?? [];
  };
}

function intListDimension(values: readonly number[]): Dimension {
  const index = lazyIndex(() => values);
  return {
    length: values.length,
    valueAt: (i) => String(values[i]),
    lookup: (text) => {
      const value = parseIntText(text);
      return value === undefined ? [] : index(value);
    },
  };
}

function stringListDimension(values: readonly string[], numeric: boolean): Dimension {
  const exact = lazyIndex(() => values);
  // A FLOAT given as '2.50' matches a template's '2.5': compare as numbers when the text differs.
  const byNumber = lazyIndex(() => values.map(Number));
  return {
    length: values.length,
    valueAt: (i) => values[i]!,
    lookup: (text) => {
      const found = exact(text);
      if (found.length > 0 || !numeric || text.trim() === '') return found;
      const number = Number(text);
      return Number.isFinite(number) ? byNumber(number) : [];
    },
  };
}

/** The combination compiled against parameter positions, with each node's task count. */
type Plan =
  | { readonly kind: 'leaf'; readonly param: number; readonly length: number }
  | { readonly kind: 'product'; readonly factors: readonly Plan[]; readonly length: number }
  | { readonly kind: 'zip'; readonly members: readonly Plan[]; readonly length: number };

/** Writes the values of task `index` of `plan` into `out` (by parameter position). Row-major: last factor fastest. */
function fill(plan: Plan, index: number, dims: readonly Dimension[], out: string[]): void {
  switch (plan.kind) {
    case 'leaf':
      out[plan.param] = dims[plan.param]!.valueAt(index);
      return;
    case 'zip':
      for (const member of plan.members) fill(member, index, dims, out);
      return;
    case 'product': {
      let rest = index;
      for (let f = plan.factors.length - 1; f >= 0; f--) {
        const factor = plan.factors[f]!;
        // Inline divmod: this is the hot path of tasks().
        const r = rest % factor.length;
        fill(factor, r, dims, out);
        rest = (rest - r) / factor.length;
      }
    }
  }
}

/** Whether task `index` of `plan` has, for every parameter below it, one of the wanted indexes. */
function matches(plan: Plan, index: number, wanted: readonly ReadonlySet<number>[]): boolean {
  switch (plan.kind) {
    case 'leaf':
      return wanted[plan.param]!.has(index);
    case 'zip':
      return plan.members.every((member) => matches(member, index, wanted));
    case 'product': {
      let rest = index;
      for (let f = plan.factors.length - 1; f >= 0; f--) {
        const factor = plan.factors[f]!;
        const [q, r] = divmod(rest, factor.length);
        if (!matches(factor, r, wanted)) return false;
        rest = q;
      }
      return true;
    }
  }
}

/** The task indexes of `plan` whose parameters take wanted values, ascending. Usually one or none. */
function* candidates(
  plan: Plan,
  wanted: readonly (readonly number[])[],
  sets: readonly ReadonlySet<number>[],
): Generator<number> {
  switch (plan.kind) {
    case 'leaf':
      yield* wanted[plan.param]!;
      return;
    case 'zip': {
      // Members advance together: a candidate of the first member must match all the others at the same index.
      const [first, ...others] = plan.members;
      for (const index of candidates(first!, wanted, sets)) {
        if (others.every((member) => matches(member, index, sets))) yield index;
      }
      return;
    }
    case 'product':
      yield* productCandidates(plan.factors, 0, 0, wanted, sets);
  }
}

function* productCandidates(
  factors: readonly Plan[],
  f: number,
  prefix: number,
  wanted: readonly (readonly number[])[],
  sets: readonly ReadonlySet<number>[],
): Generator<number> {
  if (f === factors.length) {
    yield prefix;
    return;
  }
  const factor = factors[f]!;
  for (const index of candidates(factor, wanted, sets)) {
    yield* productCandidates(factors, f + 1, prefix * factor.length + index, wanted, sets);
  }
}

/** A maximal run of consecutive integers (`interval`), or values with gaps around each (`isolated`), of the chunked
 *  parameter; `firstValueIndex` and `firstChunk` locate it among all values and all static chunks. */
type Block =
  | {
      readonly kind: 'interval';
      readonly first: number;
      readonly count: number;
      readonly firstValueIndex: number;
      readonly chunks: number;
      readonly firstChunk: number;
    }
  | {
      readonly kind: 'isolated';
      readonly first: number;
      readonly step: number;
      readonly count: number;
      readonly firstValueIndex: number;
      readonly chunks: number;
      readonly firstChunk: number;
    };

/** How the chunked parameter's sorted values are cut into chunks: statically, or on demand by the cursor. */
interface ChunkPlan {
  /** Static chunks per combination of the other parameters. */
  readonly count: number;
  /** The range expression text of static chunk `j`. */
  chunkAt(j: number): string;
  /** The chunk of at most `size` values starting at value index `position`, and the position after it. */
  take(position: number, size: number): [string, number];
}

function noncontiguousPlan(values: IntRangeExpr, taskCount: number): ChunkPlan {
  const total = values.length;
  const count = ceilDiv(total, taskCount);
  return {
    count,
    chunkAt: (j) => {
      const [start, size] = nearEqualPart(total, count, j);
      return values.slice(start, start + size).toString();
    },
    take: (position, size) => {
      const end = Math.min(total, position + size);
      return [values.slice(position, end).toString(), end];
    },
  };
}

function contiguousPlan(values: IntRangeExpr, taskCount: number): ChunkPlan {
  // Maximal runs of consecutive integers, built from the canonical ranges: a step-1 range is (part of) a run; in a
  // stepped range each value is alone, except that its first and last value may extend the runs next to it.
  const blocks: Block[] = [];
  let chunkTotal = 0;
  let run: { first: number; count: number; firstValueIndex: number } | undefined;
  const flush = (): void => {
    if (run === undefined) return;
    const chunks = ceilDiv(run.count, taskCount);
    blocks.push({ kind: 'interval', ...run, chunks, firstChunk: chunkTotal });
    chunkTotal += chunks;
    run = undefined;
  };
  const extend = (first: number, count: number, firstValueIndex: number): void => {
    if (run !== undefined && first === run.first + run.count) run.count += count;
    else {
      flush();
      run = { first, count, firstValueIndex };
    }
  };
  for (const range of values.ranges) {
    const firstValueIndex = values.indexOf(range.start);
    const count = values.indexOf(range.end) - firstValueIndex + 1;
    if (range.step === 1) {
      extend(range.start, count, firstValueIndex);
      continue;
    }
    extend(range.start, 1, firstValueIndex);
    flush();
    if (count > 2) {
      blocks.push({
        kind: 'isolated',
        first: range.start + range.step,
        step: range.step,
        count: count - 2,
        firstValueIndex: firstValueIndex + 1,
        chunks: count - 2,
        firstChunk: chunkTotal,
      });
      chunkTotal += count - 2;
    }
    extend(range.end, 1, firstValueIndex + count - 1);
  }
  flush();
  const chunkStarts = blocks.map((block) => block.firstChunk);
  const valueStarts = blocks.map((block) => block.firstValueIndex);
  const isolatedValue = (block: Block, k: number): number =>
    block.first + k * (block.kind === 'isolated' ? block.step : 1);
  return {
    count: chunkTotal,
    chunkAt: (j) => {
      const block = blocks[lastAtOrBelow(chunkStarts, j)]!;
      if (block.kind === 'isolated') {
        const value = isolatedValue(block, j - block.firstChunk);
        return `${value}-${value}`;
      }
      const [start, size] = nearEqualPart(block.count, block.chunks, j - block.firstChunk);
      return `${block.first + start}-${block.first + start + size - 1}`;
    },
    take: (position, size) => {
      const block = blocks[lastAtOrBelow(valueStarts, position)]!;
      const offset = position - block.firstValueIndex;
      if (block.kind === 'isolated') {
        const value = isolatedValue(block, offset);
        return [`${value}-${value}`, position + 1];
      }
      const taken = Math.min(size, block.count - offset);
      return [`${block.first + offset}-${block.first + offset + taken - 1}`, position + taken];
    },
  };
}

/** Removes the chunked leaf from the top-level product; returns what is left (undefined when nothing is). */
function withoutChunked(plan: Plan, param: number): Plan | undefined {
  if (plan.kind === 'leaf') return undefined; // the chunked parameter is the whole space
  if (plan.kind !== 'product') throw new Error('unreachable: the chunked parameter is checked not to be in a zip');
  const factors = plan.factors.filter((factor) => !(factor.kind === 'leaf' && factor.param === param));
  if (factors.length === 0) return undefined;
  if (factors.length === 1) return factors[0];
  return { kind: 'product', factors, length: factors.reduce((n, factor) => n * factor.length, 1) };
}

const TYPES: ReadonlySet<string> = new Set(['INT', 'FLOAT', 'STRING', 'PATH', 'CHUNK[INT]']);

/**
 * The tasks of one step: the task parameters combined by the step's combination expression.
 *
 * Tasks are numbered 0…`taskCount`−1 in spec order (row-major: the rightmost factor of a product varies fastest;
 * the members of `( … )` advance together). With a `CHUNK[INT]` parameter the space is the same for tasks, while
 * `chunks()`, `chunkAt()` and `chunkCursor()` iterate the chunked parameter innermost, so the other parameters
 * hold still while its values are cut into chunks.
 */
export class StepParameterSpace {
  /** A step without `parameterSpace`: exactly one task, with no parameters. */
  static readonly EMPTY: StepParameterSpace = new StepParameterSpace({ parameters: [] });

  /** The task parameters, in definition order. */
  readonly parameters: readonly ResolvedTaskParameter[];
  /** The combination expression used: the template's, or the parameter names joined with `' * '`. */
  readonly combination: string;
  /** The number of tasks at chunk size 1 (a `CHUNK[INT]` parameter counts like an `INT`). */
  readonly taskCount: number;
  /** The `CHUNK[INT]` parameter, if any. */
  readonly chunkParameter: ResolvedTaskParameter | undefined;

  private readonly dims: readonly Dimension[];
  private readonly plan: Plan | undefined;
  private readonly names: readonly string[];
  /** Chunking state, present only with a CHUNK[INT] parameter. */
  private readonly chunking:
    | {
        readonly param: number;
        readonly values: IntRangeExpr;
        readonly outer: Plan | undefined;
        readonly outerCount: number;
        readonly constraint: RangeConstraint;
        readonly plan: ChunkPlan;
      }
    | undefined;

  /**
   * Builds and validates a step's parameter space. With no parameters and no combination it is {@link EMPTY}.
   *
   * @throws ExpressionError with code `CORRAL_E_COMBINATION_EXPR` when the combination is malformed or does not fit
   *   the parameters (unknown, repeated or missing names, unequal lengths in `( … )`, the chunked parameter inside
   *   `( … )`, more than 2^53 − 1 tasks).
   * @throws CorralError with code `CORRAL_E_INVALID_ARGUMENT` when the parameters themselves are unusable (repeated
   *   names, no values, values of the wrong kind for the type, more than one `CHUNK[INT]`, missing or bad `chunks`).
   */
  constructor(options: { parameters: readonly ResolvedTaskParameter[]; combination?: string }) {
    const parameters = [...options.parameters];
    this.parameters = parameters;
    this.names = parameters.map((p) => p.name);
    this.combination = options.combination ?? this.names.join(' * ');
    this.dims = parameters.map((p) => checkParameter(p));
    const chunked = parameters.filter((p) => p.type === 'CHUNK[INT]');
    if (chunked.length > 1) {
      throw invalidArgument(
        `a step may have only one CHUNK[INT] parameter; found ${chunked.map((p) => `'${p.name}'`).join(', ')}`,
      );
    }
    this.chunkParameter = chunked[0];
    const positions = new Map<string, number>();
    parameters.forEach((p, i) => {
      if (positions.has(p.name)) throw invalidArgument(`task parameter '${p.name}' is defined more than once`);
      positions.set(p.name, i);
    });

    if (parameters.length === 0 && options.combination === undefined) {
      this.plan = undefined;
      this.taskCount = 1;
      this.chunking = undefined;
      return;
    }
    const tree = parseCombinationExpr(this.combination);
    const lengths = new Map(parameters.map((p, i) => [p.name, this.dims[i]!.length]));
    checkCombinationExpr(tree, { text: this.combination, lengths, chunked: this.chunkParameter?.name });
    this.taskCount = combinationLength(tree, this.combination, lengths);
    const compile = (node: CombinationNode): Plan => {
      if (node.kind === 'name') {
        const param = positions.get(node.name)!;
        return { kind: 'leaf', param, length: this.dims[param]!.length };
      }
      if (node.kind === 'product') {
        const factors = node.factors.map(compile);
        return { kind: 'product', factors, length: factors.reduce((n, f) => n * f.length, 1) };
      }
      const members = node.members.map(compile);
      return { kind: 'zip', members, length: members[0]!.length };
    };
    this.plan = compile(tree);

    const chunkParameter = this.chunkParameter;
    if (chunkParameter?.chunks === undefined) {
      this.chunking = undefined;
      return;
    }
    const param = positions.get(chunkParameter.name)!;
    const values =
      chunkParameter.values instanceof IntRangeExpr
        ? chunkParameter.values
        : IntRangeExpr.fromValues(chunkParameter.values as readonly number[]);
    const outer = withoutChunked(this.plan, param);
    const { defaultTaskCount, rangeConstraint } = chunkParameter.chunks;
    this.chunking = {
      param,
      values,
      outer,
      outerCount: outer?.length ?? 1,
      constraint: rangeConstraint,
      plan:
        rangeConstraint === 'CONTIGUOUS'
          ? contiguousPlan(values, defaultTaskCount)
          : noncontiguousPlan(values, defaultTaskCount),
    };
  }

  /**
   * The task at a 0-based index in spec order. A `CHUNK[INT]` parameter's value is a single integer here.
   *
   * @throws RangeError when `index` is not an integer in `[0, taskCount)`.
   */
  taskAt(index: number): TaskParameterSet {
    if (!Number.isInteger(index) || index < 0 || index >= this.taskCount) {
      throw new RangeError(`task index ${index} is out of bounds for a space of ${this.taskCount} tasks`);
    }
    const out: string[] = new Array(this.dims.length);
    if (this.plan !== undefined) fill(this.plan, index, this.dims, out);
    return this.toSet(out);
  }

  /** Every task in spec order, lazily. */
  *tasks(): IterableIterator<TaskParameterSet> {
    for (let i = 0; i < this.taskCount; i++) yield this.taskAt(i);
  }

  /**
   * The index of the task with exactly these values (one per parameter, no others), or -1.
   *
   * Values are compared as the task would print them: INT values as integers (`'07'` finds 7), FLOAT values by text
   * or else numerically. For the `CHUNK[INT]` parameter any non-empty range expression is accepted whose values all
   * belong to the parameter and, when CONTIGUOUS, form one run of consecutive integers; the result is the index of
   * the task holding its smallest value.
   */
  find(values: Readonly<Record<string, string>>): number {
    const keys = Object.keys(values);
    if (keys.length !== this.names.length) return -1;
    if (this.plan === undefined) return 0;
    const wanted: (readonly number[])[] = [];
    for (let i = 0; i < this.names.length; i++) {
      const name = this.names[i]!;
      if (!Object.hasOwn(values, name)) return -1;
      const text = values[name];
      if (typeof text !== 'string') return -1;
      const found = this.chunking?.param === i ? this.lookupChunk(text) : this.dims[i]!.lookup(text);
      if (found.length === 0) return -1;
      wanted.push(found);
    }
    const sets = wanted.map((list) => new Set(list));
    for (const index of candidates(this.plan, wanted, sets)) return index;
    return -1;
  }

  /** The number of static chunks (`defaultTaskCount` values each, near-equal); `taskCount` without `CHUNK[INT]`. */
  chunkCount(): number {
    const chunking = this.chunking;
    return chunking === undefined ? this.taskCount : chunking.outerCount * chunking.plan.count;
  }

  /**
   * The static chunk at a 0-based index; without a `CHUNK[INT]` parameter, the task at that index.
   *
   * CONTIGUOUS chunks are `a-b` and never bridge a gap: each run of consecutive values of length L is cut into
   * ceil(L / defaultTaskCount) near-equal chunks, larger ones first. NONCONTIGUOUS chunks cut all the values into
   * ceil(total / defaultTaskCount) near-equal chunks, printed as canonical range expressions.
   *
   * @throws RangeError when `index` is not an integer in `[0, chunkCount())`.
   */
  chunkAt(index: number): TaskParameterSet {
    const chunking = this.chunking;
    if (chunking === undefined) return this.taskAt(index);
    const count = this.chunkCount();
    if (!Number.isInteger(index) || index < 0 || index >= count) {
      throw new RangeError(`chunk index ${index} is out of bounds for a space of ${count} chunks`);
    }
    const [outerIndex, j] = divmod(index, chunking.plan.count);
    return this.chunkSet(outerIndex, chunking.plan.chunkAt(j));
  }

  /** Every static chunk in order (the chunked parameter innermost), lazily. Without `CHUNK[INT]`: `tasks()`. */
  *chunks(): IterableIterator<TaskParameterSet> {
    const count = this.chunkCount();
    for (let i = 0; i < count; i++) yield this.chunkAt(i);
  }

  /**
   * A cursor for adaptive chunking: each `next(size)` hands out the next chunk of at most `size` values, in the
   * order of `chunks()`. CONTIGUOUS chunks stop at the end of the current run of consecutive values; NONCONTIGUOUS
   * chunks take the next values whatever their gaps. Either way a chunk never spans two combinations of the other
   * parameters.
   */
  chunkCursor(): ChunkCursor {
    const chunking = this.chunking;
    if (chunking === undefined) {
      const taskCount = this.taskCount;
      let next = 0;
      return {
        next: (size) => {
          checkSize(size);
          return next < taskCount ? this.taskAt(next++) : undefined;
        },
        get remaining() {
          return taskCount - next;
        },
      };
    }
    const total = chunking.values.length;
    let outerIndex = 0;
    let position = 0;
    return {
      next: (size) => {
        checkSize(size);
        if (outerIndex >= chunking.outerCount) return undefined;
        const [value, after] = chunking.plan.take(position, size);
        const set = this.chunkSet(outerIndex, value);
        if (after < total) position = after;
        else {
          outerIndex++;
          position = 0;
        }
        return set;
      },
      get remaining() {
        return (chunking.outerCount - outerIndex) * total - position;
      },
    };
  }

  private lookupChunk(text: string): readonly number[] {
    const chunking = this.chunking!;
    let chunk: IntRangeExpr;
    try {
      chunk = IntRangeExpr.parse(text);
    } catch {
      return [];
    }
    const low = chunk.at(0);
    if (chunking.constraint === 'CONTIGUOUS' && chunk.at(chunk.length - 1) - low !== chunk.length - 1) return [];
    if (!chunking.values.containsAll(chunk)) return [];
    return this.dims[chunking.param]!.lookup(String(low));
  }

  private chunkSet(outerIndex: number, chunkValue: string): TaskParameterSet {
    const chunking = this.chunking!;
    const out: string[] = new Array(this.dims.length);
    if (chunking.outer !== undefined) fill(chunking.outer, outerIndex, this.dims, out);
    out[chunking.param] = chunkValue;
    return this.toSet(out);
  }

  private toSet(out: readonly string[]): TaskParameterSet {
    const set: Record<string, TaskParameterValue> = {};
    for (let i = 0; i < out.length; i++) {
      const name = this.names[i]!;
      const entry = { type: this.parameters[i]!.type, value: out[i]! };
      // Plain assignment to '__proto__' (a valid identifier) would replace the prototype instead of adding a key.
      if (name === '__proto__')
        Object.defineProperty(set, name, { value: entry, enumerable: true, writable: true, configurable: true });
      else set[name] = entry;
    }
    return set;
  }
}

function checkSize(size: number): void {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`chunk size must be a positive integer, got ${size}`);
}

/** Validates one parameter's shape and returns its values as a {@link Dimension}. */
function checkParameter(p: ResolvedTaskParameter): Dimension {
  if (!TYPES.has(p.type)) throw invalidArgument(`task parameter '${p.name}' has unknown type '${p.type}'`);
  const { values } = p;
  if (values instanceof IntRangeExpr ? values.length === 0 : values.length === 0) {
    throw invalidArgument(`task parameter '${p.name}' has no values`);
  }
  if (p.type === 'CHUNK[INT]') {
    const chunks = p.chunks;
    if (chunks === undefined) throw invalidArgument(`CHUNK[INT] task parameter '${p.name}' needs 'chunks' settings`);
    if (!Number.isSafeInteger(chunks.defaultTaskCount) || chunks.defaultTaskCount < 1) {
      throw invalidArgument(`task parameter '${p.name}': defaultTaskCount must be an integer of at least 1`);
    }
    if (!Number.isSafeInteger(chunks.targetRuntimeSeconds) || chunks.targetRuntimeSeconds < 0) {
      throw invalidArgument(`task parameter '${p.name}': targetRuntimeSeconds must be an integer of at least 0`);
    }
    if (chunks.rangeConstraint !== 'CONTIGUOUS' && chunks.rangeConstraint !== 'NONCONTIGUOUS') {
      throw invalidArgument(`task parameter '${p.name}': rangeConstraint must be CONTIGUOUS or NONCONTIGUOUS`);
    }
  } else if (p.chunks !== undefined) {
    throw invalidArgument(`task parameter '${p.name}' is ${p.type}; only CHUNK[INT] parameters take 'chunks'`);
  }
  if (p.type === 'INT' || p.type === 'CHUNK[INT]') {
    if (values instanceof IntRangeExpr) return rangeDimension(values);
    if (!values.every((v: number | string) => Number.isSafeInteger(v))) {
      throw invalidArgument(`${p.type} task parameter '${p.name}' needs integer values`);
    }
    return intListDimension(values as readonly number[]);
  }
  if (values instanceof IntRangeExpr || !values.every((v: number | string) => typeof v === 'string')) {
    throw invalidArgument(`${p.type} task parameter '${p.name}' needs its values as strings`);
  }
  return stringListDimension(values as readonly string[], p.type === 'FLOAT');
}
