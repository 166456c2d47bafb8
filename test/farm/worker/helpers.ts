/**
 * @module The worker's test harness: a real farm (the scheduler over SQLite in a temporary directory) behind an
 * in-process {@link FarmConnection} that can fail like a network (before applying a sync, or after applying it and
 * losing the reply), and agents with fast timings.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { SyncReply, SyncRequest } from '../../../src/farm/api/types.js';
import { FarmErrorCode } from '../../../src/farm/errors.js';
import { Farm, type FarmOptions } from '../../../src/farm/scheduler/farm.js';
import { type AgentExit, type AgentSettings, WorkerAgent } from '../../../src/farm/worker/agent.js';
import type { FarmConnection } from '../../../src/farm/worker/connection.js';
import { CorralError } from '../../../src/model/errors.js';

export interface TestFarm {
  readonly farm: Farm;
  readonly dir: string;
  close(): Promise<void>;
}

export async function openTestFarm(options: Omit<FarmOptions, 'database'> = {}): Promise<TestFarm> {
  const dir = mkdtempSync(join(tmpdir(), 'corral-worker-'));
  const farm = await Farm.open({ database: `sqlite://${join(dir, 'farm.db')}`, ...options });
  return {
    farm,
    dir,
    close: async () => {
      await farm.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The farm as the agent sees it, with faults on demand. */
export class FarmAdapter implements FarmConnection {
  readonly farm: Farm;
  /** Every sync fails before reaching the farm (the server cannot be reached). */
  down = false;
  /** The next this-many syncs are applied, but their replies are lost. */
  loseReplies = 0;
  readonly requests: SyncRequest[] = [];
  readonly applied: SyncRequest[] = [];
  /** Replies, by the index of the applied request. */
  readonly replies: SyncReply[] = [];
  registrations = 0;

  constructor(farm: Farm) {
    this.farm = farm;
  }

  async register(request: Parameters<FarmConnection['register']>[0]) {
    if (this.down) throw new CorralError(FarmErrorCode.ServerUnavailable, 'Cannot reach the server: ECONNREFUSED.');
    this.registrations++;
    return this.farm.registerWorker(request, 'agent:test');
  }

  async sync(options: Parameters<FarmConnection['sync']>[0]): Promise<SyncReply> {
    this.requests.push(options.request);
    if (this.down) throw new CorralError(FarmErrorCode.ServerUnavailable, 'Cannot reach the server: ECONNREFUSED.');
    const identity = await this.farm.authenticate(options.token);
    if (!identity) throw new CorralError(FarmErrorCode.Unauthorized, 'The token is unknown or has been revoked.');
    if (identity.workerId !== options.workerId)
      throw new CorralError(FarmErrorCode.Forbidden, 'A worker token may only sync its own worker.');
    const reply = await this.farm.sync(options.workerId, options.request, options.signal);
    this.applied.push(options.request);
    this.replies.push(reply);
    if (this.loseReplies > 0) {
      this.loseReplies--;
      throw new CorralError(FarmErrorCode.ServerUnavailable, 'The connection was reset: ECONNRESET.');
    }
    return reply;
  }
}

/** Fast timings for tests. */
export const FAST: Partial<AgentSettings> = {
  pollWaitMs: 2000,
  syncIntervalMs: 50,
  heartbeatIntervalMs: 100,
  sessionIdleTimeoutMs: 5000,
  flushTimeoutMs: 2000,
  backoffBaseMs: 20,
  backoffCapMs: 100,
};

export interface TestAgent {
  readonly agent: WorkerAgent;
  readonly dataDir: string;
  /** Resolves when `run()` does. */
  readonly done: Promise<AgentExit>;
  /** Stops (if not yet), waits for run() and closes. */
  stop(): Promise<AgentExit>;
}

const running = new Set<TestAgent>();
const dataDirs: string[] = [];

/** Removes the data directories `startAgent` made. */
export function removeAgentDirs(): void {
  for (const dir of dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Stops every agent a test left running (after a failure). */
export async function stopAgents(): Promise<void> {
  await Promise.all([...running].map((a) => a.stop().catch(() => {})));
}

const logger = () =>
  pino({ level: process.env.CORRAL_TEST_WORKER_LOG ?? 'silent' }, pino.destination({ dest: 2, sync: true }));

export function startAgent(options: {
  readonly connection: FarmConnection;
  readonly dataDir?: string;
  readonly name?: string;
  readonly settings?: Partial<AgentSettings>;
  readonly environment?: Record<string, string | undefined>;
}): TestAgent {
  let dataDir = options.dataDir;
  if (dataDir === undefined) {
    dataDir = mkdtempSync(join(tmpdir(), 'corral-agent-'));
    dataDirs.push(dataDir);
  }
  const agent = WorkerAgent.open({
    connection: options.connection,
    dataDir,
    logger: logger(),
    settings: {
      name: options.name ?? 'test-worker',
      serverUrl: 'http://farm.test',
      capabilities: { amounts: { 'amount.worker.vcpu': 2 }, attributes: {} },
      ...FAST,
      ...options.settings,
    },
    outbox: { fsyncMs: 20 },
    ...(options.environment ? { environment: options.environment } : {}),
  });
  const done = agent.run();
  done.catch(() => {});
  const test: TestAgent = {
    agent,
    dataDir,
    done,
    async stop() {
      running.delete(test);
      agent.stop();
      const exit = await done;
      await agent.close();
      return exit;
    },
  };
  running.add(test);
  return test;
}

/** Polls `check` until it returns something truthy. */
export async function waitFor<T>(
  check: () => Promise<T> | T,
  what: string,
  timeoutMs = 15_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function submit(farm: Farm, template: string, extra: Record<string, unknown> = {}): Promise<number> {
  const { jobId } = await farm.submitJob({ template, ...extra }, 'user:test');
  return jobId;
}

export async function jobState(farm: Farm, jobId: number): Promise<string> {
  return (await farm.getJob(jobId)).state;
}

/** Every log line of a job, in the order stored. */
export async function logLines(farm: Farm, jobId: number): Promise<string[]> {
  const chunks = await farm.readLogs(jobId, { limit: 5000 });
  return chunks.flatMap((c) => c.lines.map((l) => l.text));
}

export async function actions(farm: Farm, jobId: number) {
  return farm.db
    .selectFrom('actions')
    .select(['session_id', 'worker_action', 'kind', 'name', 'state', 'task_id'])
    .where('job_id', '=', jobId)
    .orderBy('session_id')
    .orderBy('worker_action')
    .execute();
}

export async function sessions(farm: Farm, jobId: number) {
  return farm.db.selectFrom('sessions').select(['id', 'state']).where('job_id', '=', jobId).orderBy('id').execute();
}

/** Whether any process has `marker` in its command line. */
export function processWith(marker: string): boolean {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) return true;
    } catch {}
  }
  return false;
}
