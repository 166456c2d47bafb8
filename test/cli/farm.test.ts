/**
 * `corral server` as a daemon and the farm commands against it, through the real `corral` command: pidfile and
 * second-server refusal, a stale pidfile after SIGKILL, SIGHUP reload, SIGTERM drain; submit/jobs/job/logs/steering/
 * queues/tokens in human and JSON output, with a scripted worker (the typed client) doing the work.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClient } from '../../src/farm/client/index.js';
import { corralBin, repoRoot, runCorral } from '../helpers/cli.js';

interface Daemon {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
}

function startServer(dataDir: string, extra: string[] = []): Daemon {
  const child = spawn(
    process.execPath,
    [corralBin, 'server', '--data-dir', dataDir, '--listen', '127.0.0.1:0', ...extra],
    { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  return { child, stderr: () => stderr, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
}

async function waitForUrl(dataDir: string, daemon: Daemon): Promise<string> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      const info = JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')) as { url: string; pid: number };
      if (info.pid === daemon.child.pid) return info.url;
    } catch {}
    if (daemon.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the server did not start: ${daemon.stderr()}`);
}

const HELLO_LINES = `specificationVersion: jobtemplate-2023-09
name: Lines
steps:
- name: Say
  parameterSpace:
    taskParameterDefinitions: [{name: N, type: INT, range: "1-2"}]
  script: {actions: {onRun: {command: echo, args: ["{{Task.Param.N}}"]}}}
`;

describe('corral server and the farm commands', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'corral-farm-cli-'));
  const configFile = join(dataDir, 'server.yaml');
  const logFile = join(dataDir, 'server.log');
  let server: Daemon;
  let url: string;
  const env = () => ({ ...process.env, CORRAL_DATA_DIR: dataDir, CORRAL_SERVER: '', CORRAL_TOKEN: '' });
  const corral = (args: string[]) => runCorral(args, { env: env() });

  before(async () => {
    writeFileSync(configFile, 'logLevel: info\n');
    server = startServer(dataDir, ['--config', configFile, '--log-file', logFile]);
    url = await waitForUrl(dataDir, server);
  });
  after(async () => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('holds its data directory: a second server refuses with exit 75', async () => {
    const second = startServer(dataDir);
    assert.equal(await second.exited, 75);
    assert.match(second.stderr(), /process \d+ holds the pidfile/);
  });

  it('submits, lists, shows, steers and reads logs, in human and JSON output', async () => {
    const templateFile = join(dataDir, 'lines.yaml');
    writeFileSync(templateFile, HELLO_LINES);
    const submitted = await corral(['submit', templateFile, '--priority', '70', '--output', 'json']);
    assert.equal(submitted.code, 0, submitted.stderr);
    const { jobId } = JSON.parse(submitted.stdout) as { jobId: number };

    const jobs = await corral(['jobs']);
    assert.equal(jobs.code, 0, jobs.stderr);
    assert.match(jobs.stdout, new RegExp(`^${jobId}\\s+Lines\\s+queued\\s+70\\s+0/2`, 'm'));

    // A scripted worker takes both tasks, reports their output, and succeeds them.
    const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
    const admin = createClient({ url, token });
    const { workerId, token: workerToken } = await admin.registerWorker({
      name: 'scripted',
      host: 'test',
      capabilities: { amounts: {}, attributes: {} },
    });
    const worker = createClient({ url, token: workerToken });
    const first = await worker.sync({
      workerId,
      request: { seq: 1, state: 'idle', running: [], events: [], logs: [], wantWork: 2 },
    });
    assert.equal(first.assignments.length, 2);
    const now = Date.now();
    await worker.sync({
      workerId,
      request: {
        seq: 2,
        state: 'idle',
        running: [],
        events: first.assignments.flatMap((a) => [
          { kind: 'taskStarted' as const, taskId: a.taskId, time: now },
          { kind: 'taskFinished' as const, taskId: a.taskId, state: 'succeeded' as const, exitCode: 0, time: now },
        ]),
        logs: first.assignments.map((a, i) => ({
          sessionId: a.sessionId,
          seq: i + 1,
          taskId: a.taskId,
          lines: [[now, `line from task ${a.parameters.N?.value ?? i}`] as const],
        })),
        wantWork: 0,
      },
    });

    const shown = await corral(['job', String(jobId)]);
    assert.match(shown.stdout, /\[succeeded\]/);
    assert.match(shown.stdout, /Say\s+succeeded\s+2\/2/);
    const logs = await corral(['logs', String(jobId)]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /^\[Say#0\] line from task/m);
    assert.equal(logs.stdout.trim().split('\n').length, 2);

    const requeued = await corral(['requeue', String(jobId), '--include-succeeded']);
    assert.match(requeued.stdout, /Requeued job \d+ \(2 tasks requeued\)/);
    const canceled = await corral(['cancel', String(jobId), '--step', 'Say', '--output', 'json']);
    assert.equal(JSON.parse(canceled.stdout).canceled, 2);
    const missing = await corral(['cancel', '9999']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Job 9999 does not exist/);
    const priority = await corral(['priority', String(jobId), '101']);
    assert.equal(priority.code, 1);
    assert.match(priority.stderr, /0 to 100/);
    // A second job: refused while it can run, deleted once canceled, and only once.
    const second = JSON.parse((await corral(['submit', templateFile, '--output', 'json'])).stdout) as { jobId: number };
    const early = await corral(['delete', String(second.jobId)]);
    assert.equal(early.code, 1);
    assert.match(early.stderr, /cancel it first/);
    assert.equal((await corral(['cancel', String(second.jobId)])).code, 0);
    const deleted = await corral(['delete', String(second.jobId), '--output', 'json']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(JSON.parse(deleted.stdout).jobId, second.jobId);
    const again = await corral(['delete', String(second.jobId)]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /does not exist/);
  });

  it('reports a bad template with its line:col before sending anything', async () => {
    const bad = join(dataDir, 'bad.yaml');
    writeFileSync(bad, 'specificationVersion: jobtemplate-2023-09\nname: Bad\nsteps:\n- name: A\n  script: {}\n');
    const result = await corral(['submit', bad]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /5:\d+ steps\[0\]\.script/);
  });

  it('manages queues and tokens', async () => {
    assert.equal((await corral(['queues', 'create', 'gpu', '--description', 'GPU nodes'])).code, 0);
    const queues = await corral(['queues', '--output', 'json']);
    assert.deepEqual((JSON.parse(queues.stdout) as { queues: { name: string }[] }).queues.map((q) => q.name).sort(), [
      'default',
      'gpu',
    ]);
    const token = await corral(['tokens', 'create', 'ci', '--kind', 'user']);
    assert.match(token.stdout, /^corral_user_/);
    // The user token can list jobs but not create tokens.
    const asUser = await runCorral(['tokens', 'create', 'x'], {
      env: { ...env(), CORRAL_TOKEN: token.stdout.trim() },
    });
    assert.equal(asUser.code, 1);
    assert.match(asUser.stderr, /admin/i);
  });

  it('reloads its configuration on SIGHUP and stops cleanly on SIGTERM', async () => {
    writeFileSync(configFile, 'logLevel: debug\n');
    server.child.kill('SIGHUP');
    const deadline = Date.now() + 5000;
    while (!readFileSync(logFile, 'utf8').includes('configuration reloaded') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.match(readFileSync(logFile, 'utf8'), /configuration reloaded.*logLevel|logLevel.*configuration reloaded/);
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    assert.equal(existsSync(join(dataDir, 'server.pid')), false);
    assert.equal(existsSync(join(dataDir, 'server.json')), false);
  });

  it('restarts over a stale pidfile after SIGKILL and keeps its jobs', async () => {
    const again = startServer(dataDir);
    await waitForUrl(dataDir, again);
    again.child.kill('SIGKILL');
    await again.exited;
    assert.equal(existsSync(join(dataDir, 'server.pid')), true);
    server = startServer(dataDir);
    url = await waitForUrl(dataDir, server);
    const jobs = await corral(['jobs', '--output', 'json']);
    assert.equal((JSON.parse(jobs.stdout) as { jobs: unknown[] }).jobs.length, 1);
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
  });
});
