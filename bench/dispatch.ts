/**
 * Dispatch throughput and latency of the farm server through its real HTTP API.
 *
 * A `corral server` runs as its own process (on SQLite in a temporary data directory, then on a private PostgreSQL
 * cluster); this process runs N scripted workers (default 100) with the typed client. Each worker loops: one sync
 * reports the task it "ran" as started and succeeded and asks for the next. The job has T tasks (default 100,000)
 * of one step. Printed per database: completions per second, and the dispatch latency (a sync that hands out a task,
 * from request to reply) at p50 and p99, over every sync and over those sent after a 5 s warm-up, beside the targets.
 *
 *   node --import tsx bench/dispatch.ts [--workers 100] [--tasks 100000] [--batch 1] [--db sqlite,postgres] [--statements]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { SyncEvent, SyncRequest } from '../src/farm/api/types.js';
import { createClient } from '../src/farm/client/index.js';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '100' },
    tasks: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '1' },
    db: { type: 'string', default: 'sqlite,postgres' },
    /** PostgreSQL: print the statements that took the database's time (pg_stat_statements). */
    statements: { type: 'boolean', default: false },
  },
});
const WORKERS = Number(values.workers);
const TASKS = Number(values.tasks);
const BATCH = Number(values.batch);
const TARGETS: Record<string, number> = { sqlite: 2000, postgres: 1000 };
const WARMUP_MS = 5000;
const root = new URL('..', import.meta.url).pathname;

const template = (tasks: number) => `specificationVersion: jobtemplate-2023-09
name: dispatch bench
steps:
- name: Trivial
  parameterSpace:
    taskParameterDefinitions: [{ name: N, type: INT, range: "1-${tasks}" }]
  script: { actions: { onRun: { command: "true" } } }
`;

async function startServer(dataDir: string, db: string | undefined): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      // BENCH_SERVER_NODE_ARGS profiles the server alone (e.g. "--cpu-prof --cpu-prof-dir=prof").
      ...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      join(root, 'bin/corral.js'),
      'server',
      '--data-dir',
      dataDir,
      '--listen',
      '127.0.0.1:0',
      '--log-level',
      'warn',
      ...(db ? ['--db', db] : []),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const info = JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')) as { url: string; pid: number };
      if (info.pid === child.pid) return { url: info.url, child };
    } catch {}
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error('the server did not start');
}

/**
 * The scripted workers' fetch: node:http over kept-alive connections. On this 2-core machine the load generator
 * shares the CPU with the server, and undici's fetch cost the 100 workers as much CPU as the server spent answering
 * them; this one costs a fraction, so the figure is the server's. The requests are the typed client's, unchanged.
 */
const agent = new Agent({ keepAlive: true });
const lightFetch: typeof fetch = (input, init) =>
  new Promise((resolve, reject) => {
    const req = httpRequest(
      String(input),
      {
        method: init?.method ?? 'GET',
        headers: init?.headers as Record<string, string>,
        agent,
        signal: init?.signal ?? undefined,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers))
            if (typeof value === 'string') headers.set(name, value);
          resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers }));
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init?.body as string | undefined);
  });

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;

async function run(kind: 'sqlite' | 'postgres'): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'corral-bench-dispatch-'));
  let stopPostgres: (() => Promise<void>) | undefined;
  let dbUrl: string | undefined;
  if (kind === 'postgres') {
    const { postgresAvailable, startPostgres } = await import('../test/helpers/postgres.js');
    const missing = postgresAvailable();
    if (missing) {
      console.log(`postgres: skipped (${missing})`);
      return;
    }
    const cluster = await startPostgres({
      name: 'bench',
      ...(values.statements
        ? { settings: ['shared_preload_libraries=pg_stat_statements', 'pg_stat_statements.max=1000'] }
        : {}),
    });
    stopPostgres = () => cluster.stop();
    dbUrl = cluster.url;
  }
  const { url, child } = await startServer(dataDir, dbUrl);
  try {
    const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
    const admin = createClient({ url, token });
    const t0 = performance.now();
    const { jobId } = await admin.submitJob({ template: template(TASKS) });
    const submitMs = performance.now() - t0;

    const latencies: number[] = [];
    // Also kept apart: syncs sent once the first WARMUP_MS are over (100 registrations, first sessions, a cold JIT).
    const steady: number[] = [];
    let completed = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: WORKERS }, async (_, i) => {
        const { workerId, token: workerToken } = await admin.registerWorker({
          name: `bench-${i}`,
          host: 'bench',
          capabilities: { amounts: {}, attributes: {} },
        });
        const client = createClient({ url, token: workerToken, fetch: lightFetch });
        let seq = 1;
        let held: number[] = [];
        let session: SyncRequest['session'];
        let idle = 0;
        for (;;) {
          const now = Date.now();
          const events: SyncEvent[] = held.flatMap((taskId) => [
            { kind: 'taskStarted', taskId, time: now } as const,
            { kind: 'taskFinished', taskId, state: 'succeeded', exitCode: 0, time: now } as const,
          ]);
          const sent = performance.now();
          const reply = await client.sync({
            workerId,
            request: {
              seq: seq++,
              state: 'idle',
              running: [],
              events,
              logs: [],
              wantWork: BATCH,
              ...(session ? { session } : {}),
            },
          });
          completed += held.length;
          held = reply.assignments.map((a) => a.taskId);
          if (held.length > 0) {
            latencies.push(performance.now() - sent);
            if (sent - started >= WARMUP_MS) steady.push(performance.now() - sent);
            const first = reply.assignments[0]!;
            session = { id: first.sessionId, jobId: first.jobId, envKey: first.envKey };
            idle = 0;
          } else if (++idle > 3) {
            break;
          }
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const job = await admin.getJob({ jobId });
    latencies.sort((a, b) => a - b);
    steady.sort((a, b) => a - b);
    const rate = completed / seconds;
    console.log(
      `${kind.padEnd(8)} ${WORKERS} workers, ${TASKS} tasks (batch ${BATCH}): ${rate.toFixed(0)} tasks/s ` +
        `(target ≥ ${TARGETS[kind]}), dispatch latency p50 ${percentile(latencies, 0.5).toFixed(1)} ms, ` +
        `p99 ${percentile(latencies, 0.99).toFixed(1)} ms (target ≤ 50 ms), after the first ${WARMUP_MS / 1000} s ` +
        `p50 ${percentile(steady, 0.5).toFixed(1)} ms, p99 ${percentile(steady, 0.99).toFixed(1)} ms; ` +
        `submit ${submitMs.toFixed(0)} ms; ` +
        `job ${job.state}, ${job.counts.succeeded}/${job.counts.total} succeeded`,
    );
    if (values.statements && dbUrl) await printStatements(dbUrl, completed);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await stopPostgres?.();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The statements PostgreSQL spent its time on, per completed task: where the database's CPU went. */
async function printStatements(dbUrl: string, completed: number): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const { rows } = await client.query<{ calls: string; total: number; mean: number; rows: string; query: string }>(
      `SELECT calls, total_exec_time AS total, mean_exec_time AS mean, rows, query FROM pg_stat_statements
       ORDER BY total_exec_time DESC LIMIT 15`,
    );
    const all = rows.reduce((sum, r) => sum + r.total, 0);
    console.log(`  top statements by execution time (${(all / completed).toFixed(3)} ms per task in these):`);
    for (const r of rows) {
      const text = r.query.replace(/\s+/g, ' ').slice(0, 110);
      console.log(
        `  ${(r.total / completed).toFixed(3).padStart(7)} ms/task ${String(r.calls).padStart(8)} calls ` +
          `${r.mean.toFixed(3).padStart(7)} ms mean  ${text}`,
      );
    }
  } finally {
    await client.end();
  }
}

for (const kind of values.db!.split(',')) await run(kind as 'sqlite' | 'postgres');
