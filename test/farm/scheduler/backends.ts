/**
 * @module The scheduler's test backends: every scenario runs on SQLite (a temporary file) and on PostgreSQL (a fresh
 * database in the test process's private cluster). Without PostgreSQL installed the PostgreSQL variants fail, unless
 * CORRAL_TEST_SKIP_POSTGRES=1 says that is expected: a silently skipped half of the suite proves nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SyncReply, SyncRequest } from '../../../src/farm/api/types.js';
import { Farm, type FarmOptions } from '../../../src/farm/scheduler/farm.js';
import { postgresAvailable, sharedPostgres } from '../../helpers/postgres.js';

export type Backend = 'sqlite' | 'postgres';
export const BACKENDS: readonly Backend[] = ['sqlite', 'postgres'];

/** Why a backend cannot run here (only when skipping is allowed). */
export function skipReason(backend: Backend): string | undefined {
  if (backend !== 'postgres' || process.env.CORRAL_TEST_SKIP_POSTGRES !== '1') return undefined;
  return postgresAvailable();
}

let counter = 0;

/** A database URL for a fresh, empty farm. */
export async function freshDatabase(backend: Backend): Promise<{ url: string; cleanup: () => void }> {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'corral-sched-'));
    return { url: `sqlite://${join(dir, 'farm.db')}`, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  }
  const cluster = await sharedPostgres();
  return { url: await cluster.createDatabase(`sched_${process.pid}_${++counter}`), cleanup: () => {} };
}

/** Opens a fresh farm; close it with `done()`. */
export async function openFarm(
  backend: Backend,
  options: Omit<FarmOptions, 'database'> = {},
): Promise<{ farm: Farm; url: string; done: () => Promise<void> }> {
  const { url, cleanup } = await freshDatabase(backend);
  const farm = await Farm.open({ database: url, ...options });
  return {
    farm,
    url,
    done: async () => {
      await assertCountersExact(farm);
      await farm.close();
      cleanup();
    },
  };
}

/** The counters kept on jobs and steps must equal what the task rows say. */
export async function assertCountersExact(farm: Farm): Promise<void> {
  const actual = await farm.db
    .selectFrom('tasks')
    .select(['job_id', 'step_id', 'state', farm.db.fn.countAll<number>().as('n')])
    .groupBy(['job_id', 'step_id', 'state'])
    .execute();
  const byStep = new Map<number, Record<string, number>>();
  const byJob = new Map<number, Record<string, number>>();
  for (const row of actual) {
    for (const [map, key] of [
      [byStep, row.step_id],
      [byJob, row.job_id],
    ] as const) {
      const counts = map.get(key) ?? {};
      counts[row.state] = (counts[row.state] ?? 0) + Number(row.n);
      map.set(key, counts);
    }
  }
  const states = ['pending', 'ready', 'assigned', 'running', 'succeeded', 'failed', 'canceled'] as const;
  for (const [table, map] of [
    ['steps', byStep],
    ['jobs', byJob],
  ] as const) {
    const rows = await farm.db.selectFrom(table).selectAll().execute();
    for (const row of rows) {
      const counts = map.get(row.id) ?? {};
      for (const state of states) {
        assert.equal(
          row[`${state}_count`],
          counts[state] ?? 0,
          `${table} ${row.id}: ${state}_count ${row[`${state}_count`]} but ${counts[state] ?? 0} tasks are ${state}`,
        );
      }
    }
  }
}

/** A scripted worker: keeps its sequence number and session, reports what it was given. */
export class ScriptedWorker {
  seq = 0;
  session: SyncRequest['session'];
  held: number[] = [];
  constructor(
    readonly farm: Farm,
    readonly workerId: number,
  ) {}

  static async register(farm: Farm, name: string, capabilities = { amounts: {}, attributes: {} }) {
    const { workerId } = await farm.registerWorker({ name, host: 'test', capabilities }, 'test');
    return new ScriptedWorker(farm, workerId);
  }

  /** One sync: `finish` maps held task ids to their results; they are reported started and finished. */
  async sync(
    options: {
      finish?: Record<number, 'succeeded' | 'failed' | 'canceled'>;
      wantWork?: number;
      running?: number[];
      extra?: Partial<SyncRequest>;
    } = {},
  ): Promise<SyncReply> {
    const now = Date.now();
    const finish = options.finish ?? {};
    const events: SyncRequest['events'] = Object.entries(finish).flatMap(([id, state]) => [
      { kind: 'taskStarted', taskId: Number(id), time: now },
      { kind: 'taskFinished', taskId: Number(id), state, ...(state === 'failed' ? { exitCode: 1 } : {}), time: now },
    ]);
    const finished = new Set(Object.keys(finish).map(Number));
    const running = options.running ?? this.held.filter((id) => !finished.has(id));
    const reply = await this.farm.sync(this.workerId, {
      seq: ++this.seq,
      state: 'idle',
      running,
      events,
      logs: [],
      wantWork: options.wantWork ?? 1,
      ...(this.session ? { session: this.session } : {}),
      ...options.extra,
    });
    this.held = [...running, ...reply.assignments.map((a) => a.taskId)];
    const first = reply.assignments[0];
    if (first) this.session = { id: first.sessionId, jobId: first.jobId, envKey: first.envKey };
    return reply;
  }

  /** Runs everything it gets until there is nothing more, succeeding each task. */
  async runAll(limit = 10_000): Promise<number[]> {
    const done: number[] = [];
    let reply = await this.sync();
    for (let i = 0; i < limit; i++) {
      if (reply.assignments.length === 0 && this.held.length === 0) break;
      const finish = Object.fromEntries(this.held.map((id) => [id, 'succeeded' as const]));
      done.push(...this.held);
      reply = await this.sync({ finish, running: [] });
    }
    return done;
  }
}

export const job = (body: string) => `specificationVersion: jobtemplate-2023-09\n${body}`;
