/**
 * End to end with real processes: `corral up` (a server and two workers), jobs running real commands, submitted and
 * followed with the real CLI. A 3-step job with dependencies, host requirements and chunking; environments entered
 * once per worker session rather than once per task; a worker killed with SIGKILL mid-task, whose task another
 * worker completes; Ctrl-C that stops everything and leaves no process behind.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClient } from '../../src/farm/client/index.js';
import { corralBin, repoRoot, runCorral } from '../helpers/cli.js';
import { descendantsMatching, isAlive, processesMatching } from '../helpers/processes.js';
import { prepareTestUser, TEST_USER } from '../helpers/test-user.js';

const THREE_STEPS = `specificationVersion: jobtemplate-2023-09
extensions: [TASK_CHUNKING]
name: Three steps
jobEnvironments:
- name: Studio
  script:
    actions:
      onEnter: {command: echo, args: ["entering studio"]}
      onExit: {command: echo, args: ["leaving studio"]}
steps:
- name: Render
  parameterSpace:
    taskParameterDefinitions:
    - name: Frame
      type: CHUNK[INT]
      range: "1-12"
      chunks: {defaultTaskCount: 3, rangeConstraint: CONTIGUOUS}
  hostRequirements:
    amounts: [{name: amount.worker.vcpu, min: 1}]
    attributes: [{name: attr.worker.os.family, anyOf: [linux, macos]}]
  script: {actions: {onRun: {command: echo, args: ["frames {{Task.Param.Frame}}"]}}}
- name: Denoise
  dependencies: [{dependsOn: Render}]
  parameterSpace:
    taskParameterDefinitions: [{name: Pass, type: INT, range: "1-4"}]
  script: {actions: {onRun: {command: echo, args: ["pass {{Task.Param.Pass}}"]}}}
- name: Encode
  dependencies: [{dependsOn: Denoise}]
  script: {actions: {onRun: {command: echo, args: ["encoded"]}}}
`;

const SLOW = `specificationVersion: jobtemplate-2023-09
name: Slow
steps:
- name: Sleep
  parameterSpace:
    taskParameterDefinitions: [{name: N, type: INT, range: "1-2"}]
  script: {actions: {onRun: {command: sleep, args: ["3"]}}}
`;

const processesUnder = (dataDir: string) => processesMatching((commandLine) => commandLine.includes(dataDir));

describe('corral up: a farm on one machine', { timeout: 180_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'corral-e2e-'));
  const env = {
    ...process.env,
    CORRAL_DATA_DIR: dataDir,
    CORRAL_SERVER: '',
    CORRAL_TOKEN: '',
    CORRAL_WORKER_TIMEOUT: '4s',
  };
  let up: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;
  const corral = (args: string[]) => runCorral(args, { env, timeoutMs: 120_000 });

  before(async () => {
    up = spawn(
      process.execPath,
      [corralBin, 'up', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--workers', '2'],
      {
        cwd: repoRoot,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    up.stdout!.setEncoding('utf8').on('data', (d: string) => {
      output += d;
    });
    up.stderr!.setEncoding('utf8').on('data', (d: string) => {
      output += d;
    });
    exited = new Promise((resolve) => up.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while (!output.includes('Corral farm up') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(output, /Corral farm up: http:\/\/127\.0\.0\.1:\d+ with 2 workers/);
  });
  after(() => {
    if (up.exitCode === null) up.kill('SIGKILL');
    for (const pid of processesUnder(dataDir)) process.kill(pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs a 3-step job with dependencies, host requirements and chunks, entering environments once per session', async () => {
    const file = join(dataDir, 'three.yaml');
    writeFileSync(file, THREE_STEPS);
    const result = await corral(['submit', file, '--wait', '--output', 'json']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const { jobId, job } = JSON.parse(result.stdout) as {
      jobId: number;
      job: { state: string; counts: { total: number } };
    };
    assert.equal(job.state, 'succeeded');
    assert.equal(job.counts.total, 4 + 4 + 1);
    const logs = (await corral(['logs', String(jobId)])).stdout;
    assert.match(logs, /frames 1-3/);
    assert.match(logs, /pass 4/);
    assert.match(logs, /encoded/);
    // Nine tasks on two workers: the job environment is entered once per session, not once per task.
    const entered = logs.split('\n').filter((l) => l.includes('entering studio')).length;
    assert.ok(entered >= 1 && entered <= 4, `entered ${entered} times`);
    const workers = JSON.parse((await corral(['workers', '--output', 'json'])).stdout) as { workers: unknown[] };
    assert.equal(workers.workers.length, 2);
    // The workers found the admin token in its file: no command line (readable by every user) holds it.
    const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
    assert.deepEqual(
      processesMatching((commandLine) => commandLine.includes(token)),
      [],
    );
  });

  it('gives the task of a worker killed with SIGKILL to the other, within the worker timeout', async () => {
    const file = join(dataDir, 'slow.yaml');
    writeFileSync(file, SLOW);
    const submitted = JSON.parse((await corral(['submit', file, '--output', 'json'])).stdout) as { jobId: number };
    const url = (JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')) as { url: string }).url;
    const client = createClient({ url, token: readFileSync(join(dataDir, 'admin.token'), 'utf8').trim() });
    // Wait until a worker runs a task, then kill that worker's agent outright.
    let victim: { name: string } | undefined;
    const deadline = Date.now() + 20_000;
    while (!victim && Date.now() < deadline) {
      const { workers } = await client.listWorkers();
      victim = workers.find((w) => w.tasks.some((t) => t.jobId === submitted.jobId && t.state === 'running'));
      if (!victim) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(victim, 'a worker started a task');
    const index = victim.name.split('-').pop()!;
    const pid = Number(readFileSync(join(dataDir, 'workers', index, 'worker.pid'), 'utf8'));
    const actions = descendantsMatching(pid, (commandLine) => commandLine.startsWith('sleep\0'));
    assert.ok(actions.length > 0, "the worker's action process was found");
    process.kill(pid, 'SIGKILL');
    const started = Date.now();
    // Its action does not outlive it: the launcher sees the worker's end of its pipe close and kills the group.
    while (actions.some(isAlive) && Date.now() - started < 5000) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(actions.filter(isAlive), [], "the killed worker's action processes are gone");
    const result = await corral(['job', String(submitted.jobId), '--watch', '--output', 'json']);
    const job = (JSON.parse(result.stdout) as { job: { state: string; counts: { succeeded: number } } }).job;
    assert.equal(job.state, 'succeeded');
    assert.equal(job.counts.succeeded, 2);
    assert.ok(Date.now() - started < 60_000);
  });

  it('survives the server killed with SIGKILL mid-job: restarted, workers reconnect, nothing runs twice or is lost', async () => {
    const file = join(dataDir, 'steady.yaml');
    writeFileSync(
      file,
      `specificationVersion: jobtemplate-2023-09
name: Steady
steps:
- name: Tick
  parameterSpace:
    taskParameterDefinitions: [{name: N, type: INT, range: "1-12"}]
  script: {actions: {onRun: {command: sh, args: ["-c", "sleep 0.3; echo tick {{Task.Param.N}}"]}}}
`,
    );
    const { jobId } = JSON.parse((await corral(['submit', file, '--output', 'json'])).stdout) as { jobId: number };
    const url = (JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')) as { url: string }).url;
    const client = createClient({ url, token: readFileSync(join(dataDir, 'admin.token'), 'utf8').trim() });
    while ((await client.getJob({ jobId })).counts.succeeded < 3) await new Promise((r) => setTimeout(r, 50));
    const serverPid = Number(readFileSync(join(dataDir, 'server.pid'), 'utf8'));
    process.kill(serverPid, 'SIGKILL');
    // `corral up` starts it again; the farm commands find it through server.json.
    const result = await corral(['job', String(jobId), '--watch', '--output', 'json']);
    assert.ok(result.stdout, `corral job --watch printed nothing: ${result.stderr} (exit ${result.code})`);
    const job = (JSON.parse(result.stdout) as { job: { state: string; counts: { succeeded: number } } }).job;
    assert.equal(job.state, 'succeeded');
    assert.equal(job.counts.succeeded, 12);
    const tasks = JSON.parse((await corral(['jobs', '--output', 'json'])).stdout) as unknown;
    assert.ok(tasks);
    const logs = (await corral(['logs', String(jobId)])).stdout;
    for (let n = 1; n <= 12; n++) {
      const lines = logs.split('\n').filter((l) => l.endsWith(`tick ${n}`));
      assert.equal(lines.length, 1, `task ${n} printed ${lines.length} times`);
    }
  });

  it('runs the jobs of a queue as its OS user', { skip: prepareTestUser() }, async () => {
    assert.equal((await corral(['queues', 'create', 'asuser', '--run-as-user', TEST_USER])).code, 0);
    const file = join(dataDir, 'whoami.yaml');
    writeFileSync(
      file,
      `specificationVersion: jobtemplate-2023-09
name: Who
steps:
- name: Who
  script: {actions: {onRun: {command: sh, args: ["-c", "echo user=$(id -un); env | grep -c '^CORRAL_' || true"]}}}
`,
    );
    const result = await corral(['submit', file, '--queue', 'asuser', '--wait', '--output', 'json']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const { jobId } = JSON.parse(result.stdout) as { jobId: number };
    const logs = (await corral(['logs', String(jobId)])).stdout;
    assert.match(logs, new RegExp(`user=${TEST_USER}$`, 'm'));
    // None of the worker's CORRAL_* settings (its token among them) reach the job.
    assert.match(logs, /^\[Who#0\] 0$/m);
  });

  it('stops everything on Ctrl-C and leaves no process behind', async () => {
    up.kill('SIGINT');
    assert.equal(await exited, 0);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(processesUnder(dataDir), []);
  });
});
