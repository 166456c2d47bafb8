/**
 * `corral worker` end to end over HTTP: the daemon entry (configuration, pidfile, signals) with the real client
 * against the real server, every reply checked against the API's schemas.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SignalTarget } from '../../../src/farm/daemon/signals.js';
import { runWorkerDaemon } from '../../../src/farm/worker/daemon.js';
import { startFarm, type TestFarm } from '../server/helpers.js';
import { waitFor } from './helpers.js';

const JOB = `specificationVersion: jobtemplate-2023-09
name: Over HTTP
jobEnvironments:
- name: Env
  script:
    actions:
      onEnter: {command: bash, args: ["-c", "echo in"]}
      onExit: {command: bash, args: ["-c", "echo out"]}
steps:
- name: S
  parameterSpace:
    taskParameterDefinitions: [{name: N, type: INT, range: "1-4"}]
  script:
    actions:
      onRun: {command: bash, args: ["-c", "echo 'openjd_progress: 30'; echo frame {{Task.Param.N}}"]}
`;

let test: TestFarm;
const dirs: string[] = [];
before(async () => {
  test = await startFarm();
});
after(async () => {
  await test.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'corral-worker-http-'));
  dirs.push(dir);
  return dir;
};

function daemon(flags: Record<string, string>, env: NodeJS.ProcessEnv = {}, configFile?: string) {
  const signals = new EventEmitter();
  const printed: string[] = [];
  let ready: { workerId: number } | undefined;
  const code = runWorkerDaemon({
    ...(configFile !== undefined ? { configFile } : {}),
    flags: { logLevel: 'silent', pollWait: '5s', heartbeatInterval: '200ms', syncInterval: '50ms', ...flags },
    env,
    print: (line) => printed.push(line),
    signals: signals as unknown as SignalTarget,
    onReady: (info) => {
      ready = info;
    },
  });
  return { code, signals, printed, ready: () => ready };
}

describe('corral worker over HTTP', () => {
  it('registers, runs a job, refuses a second agent on its data directory, and stops on SIGTERM', async () => {
    const dataDir = tempDir();
    const worker = daemon({ server: test.url, token: test.tokens.agent, name: 'http-worker', dataDir });
    await waitFor(() => worker.ready(), 'registration');
    const identity = JSON.parse(readFileSync(join(dataDir, 'worker.json'), 'utf8'));
    assert.equal(identity.workerId, worker.ready()!.workerId);
    assert.equal(statSync(join(dataDir, 'worker.json')).mode & 0o777, 0o600);
    assert.ok(existsSync(join(dataDir, 'worker.pid')));

    const second = daemon({ server: test.url, token: test.tokens.agent, name: 'other', dataDir });
    assert.equal(await second.code, 75);
    assert.match(second.printed.join('\n'), /Another daemon is running.*give each agent its own --data-dir/s);

    // Submitted while the worker long-polls: the server wakes it.
    const client = test.client(test.tokens.user);
    const { jobId } = await client.submitJob({ template: JOB });
    await waitFor(async () => (await client.getJob({ jobId })).state === 'succeeded', 'the job to succeed');
    // The job is over, so the server names the session in endSessions: the worker exits its environments.
    const lines = async () => (await client.readLogs({ jobId })).flatMap((c) => c.lines.map((l) => l.text));
    await waitFor(async () => (await lines()).includes('out'), 'the session to end');
    assert.deepEqual(
      (await lines()).filter((l) => /^(in|out|frame \d)$/.test(l)),
      ['in', 'frame 1', 'frame 2', 'frame 3', 'frame 4', 'out'],
      'one session, environments entered once',
    );

    worker.signals.emit('SIGTERM', 'SIGTERM');
    assert.equal(await worker.code, 0);
    assert.ok(!existsSync(join(dataDir, 'worker.pid')), 'the pidfile is released');
    const { workers } = await test.client().listWorkers();
    const me = workers.find((w) => w.name === 'http-worker')!;
    assert.equal(me.state, 'offline');
    assert.deepEqual(me.capabilities.attributes['attr.worker.os.family'], ['linux']);
    assert.ok(me.metrics?.memoryTotalMiB && me.metrics.memoryTotalMiB > 0);
    assert.deepEqual(test.problems, [], 'every reply matched its schema');

    // Started again: the same identity, no new registration needed (the agent token is not even given).
    const again = daemon({ server: test.url, name: 'http-worker', dataDir });
    await waitFor(() => again.ready(), 'resuming');
    assert.equal(again.ready()!.workerId, identity.workerId);
    again.signals.emit('SIGINT', 'SIGINT');
    assert.equal(await again.code, 0);
  });

  it('reloads its configuration on SIGHUP without interrupting work', async () => {
    const dir = tempDir();
    const config = join(dir, 'worker.yaml');
    writeFileSync(config, 'capabilities:\n  attributes: [attr.site=paris]\nlogLevel: silent\n');
    const worker = daemon({ server: test.url, token: test.tokens.agent, name: 'reloader', dataDir: dir }, {}, config);
    await waitFor(() => worker.ready(), 'registration');
    const site = async () =>
      (await test.client().listWorkers()).workers.find((w) => w.name === 'reloader')?.capabilities.attributes[
        'attr.site'
      ];
    assert.deepEqual(await site(), ['paris']);
    const client = test.client(test.tokens.user);
    const { jobId } = await client.submitJob({
      template: `specificationVersion: jobtemplate-2023-09
name: Through a reload
steps:
- name: S
  script: {actions: {onRun: {command: bash, args: ["-c", "echo begun; sleep 0.8; echo ended"]}}}
`,
    });
    await waitFor(async () => (await client.getJob({ jobId })).state === 'running', 'the task to run');
    writeFileSync(config, 'capabilities:\n  attributes: [attr.site=london, attr.site=lyon]\nlogLevel: silent\n');
    worker.signals.emit('SIGHUP', 'SIGHUP');
    await waitFor(async () => JSON.stringify(await site()) === '["london","lyon"]', 'the new capabilities');
    await waitFor(async () => (await client.getJob({ jobId })).state === 'succeeded', 'the job to succeed');
    // A broken file is refused; the worker keeps running with what it had.
    writeFileSync(config, 'capabilities: [oops\n');
    worker.signals.emit('SIGHUP', 'SIGHUP');
    worker.signals.emit('SIGTERM', 'SIGTERM');
    assert.equal(await worker.code, 0);
    assert.deepEqual(await site(), ['london', 'lyon']);
  });

  it('exits 78 when the server refuses its token or the configuration is wrong', async () => {
    const refused = daemon({ server: test.url, token: test.tokens.user, name: 'not-an-agent', dataDir: tempDir() });
    assert.equal(await refused.code, 78);
    assert.match(refused.printed.join('\n'), /refused to register the worker 'not-an-agent'/);

    const bad = daemon({ server: test.url, dataDir: tempDir() }, { CORRAL_CAPABILITIES__AMOUNTS: 'amount.gpu' });
    assert.equal(await bad.code, 78);
    assert.match(bad.printed.join('\n'), /'amount\.gpu' is not amount\.name=NUMBER/);

    const unknown = daemon({ server: test.url, dataDir: tempDir(), drainGrase: '1s' });
    assert.equal(await unknown.code, 78);
    assert.match(unknown.printed.join('\n'), /did you mean --drain-grace/);
  });
});
