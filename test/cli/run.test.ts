/**
 * `corral run` as a user runs it: step selection, task selection, failures, signals, output formats, the terminal
 * progress line.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { corralBin, runCorral } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'corral-run-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const pipeline = file(
  'pipeline.yaml',
  `specificationVersion: jobtemplate-2023-09
name: Pipeline
parameterDefinitions: [{name: FailAt, type: INT, default: 0}]
jobEnvironments:
- name: Farm
  script:
    actions:
      onEnter: {command: bash, args: ["-c", "echo enter farm"]}
      onExit: {command: bash, args: ["-c", "echo exit farm"]}
steps:
- name: Encode
  dependencies: [{dependsOn: Render}]
  script: {actions: {onRun: {command: bash, args: ["-c", "echo encode"]}}}
- name: Render
  stepEnvironments: [{name: Gpu, script: {actions: {onEnter: {command: bash, args: ["-c", "echo enter gpu"]}, onExit: {command: bash, args: ["-c", "echo exit gpu"]}}}}]
  parameterSpace:
    taskParameterDefinitions: [{name: Frame, type: INT, range: "1-4"}]
  script: {actions: {onRun: {command: bash, args: ["-c", "echo frame {{Task.Param.Frame}}; [ {{Task.Param.Frame}} != {{Param.FailAt}} ] || exit 7"]}}}
- name: Report
  script: {actions: {onRun: {command: bash, args: ["-c", "echo report"]}}}
`,
);

/** Output lines without their timestamps, runtime chatter removed. */
function printed(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((line) => line.replace(/^\d+:\d\d:\d\d\.\d{3} /, ''))
    .filter((line) => /^(enter|exit|encode|frame|report)/.test(line));
}

describe('corral run', () => {
  it('runs every step in dependency order, entering and exiting environments around them', async () => {
    const result = await runCorral(['run', pipeline]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(printed(result.stdout), [
      'enter farm',
      'enter gpu',
      'frame 1',
      'frame 2',
      'frame 3',
      'frame 4',
      'exit gpu',
      'encode',
      'report',
      'exit farm',
    ]);
    assert.match(
      result.stdout,
      /--- Results of local session ---\n\nSession ended successfully\nJob: Pipeline\nSteps: Render, Encode, Report\nDuration: [\d.]+ seconds\nTasks run: 6\n$/,
    );
    assert.equal((result.stdout.match(/exited with code: 0/g) ?? []).length, 10);
  });

  it('stops at a failing task, still exits every environment, and exits 1', async () => {
    const result = await runCorral(['run', pipeline, '-p', 'FailAt=2']);
    assert.equal(result.code, 1);
    assert.deepEqual(printed(result.stdout), [
      'enter farm',
      'enter gpu',
      'frame 1',
      'frame 2',
      'exit gpu',
      'exit farm',
    ]);
    assert.match(result.stdout, /exited with code: 7/);
    assert.match(result.stdout, /Session ended with errors; see the task logs above\nFailure: exited with code 7\n/);
  });

  it('runs one step, or one step with its dependencies', async () => {
    const one = await runCorral(['run', pipeline, '--step', 'Encode']);
    assert.deepEqual(printed(one.stdout), ['enter farm', 'encode', 'exit farm']);
    const withDeps = await runCorral(['run', pipeline, '--step', 'Encode', '--run-dependencies']);
    assert.deepEqual(printed(withDeps.stdout).slice(0, 3), ['enter farm', 'enter gpu', 'frame 1']);
    assert.match(withDeps.stdout, /Steps: Render, Encode\n/);
  });

  it('runs the tasks asked for with --task-param, -tp, --tasks and --maximum-tasks', async () => {
    const tp = await runCorral(['run', pipeline, '--step', 'Render', '-tp', 'Frame=3']);
    assert.deepEqual(printed(tp.stdout), ['enter farm', 'enter gpu', 'frame 3', 'exit gpu', 'exit farm']);
    const tasksFile = file('tasks.yaml', '- {Frame: 4}\n- {Frame: "1"}\n');
    const tasks = await runCorral(['run', pipeline, '--step', 'Render', '--tasks', `file://${tasksFile}`]);
    assert.deepEqual(
      printed(tasks.stdout).filter((l) => l.startsWith('frame')),
      ['frame 4', 'frame 1'],
    );
    const json = await runCorral(['run', pipeline, '--step', 'Render', '--tasks', '[{"Frame": 2}]']);
    assert.deepEqual(
      printed(json.stdout).filter((l) => l.startsWith('frame')),
      ['frame 2'],
    );
    const max = await runCorral(['run', pipeline, '--maximum-tasks', '2']);
    assert.deepEqual(
      printed(max.stdout).filter((l) => l.startsWith('frame')),
      ['frame 1', 'frame 2'],
    );
  });

  it('explains task parameters that are not a task of the step', async () => {
    const wrong = await runCorral([
      'run',
      pipeline,
      '--step',
      'Render',
      '--task-param',
      'Frame=9',
      '--task-param',
      'Nope=1',
    ]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /'Nope' is not a task parameter of 'Render'/);
    const twice = await runCorral(['run', pipeline, '--step', 'Render', '-tp', 'Frame=1', '-tp', 'Frame=2']);
    assert.match(twice.stderr, /Task parameter 'Frame' has been defined more than once/);
    const outside = await runCorral(['run', pipeline, '--step', 'Render', '-tp', 'Frame=9']);
    assert.match(outside.stderr, /\{"Frame":"9"\} is not a task of step 'Render'/);
    const mixed = await runCorral(['run', pipeline, '--step', 'Render', '-tp', 'Frame=1', '--maximum-tasks', '1']);
    assert.match(mixed.stderr, /cannot be combined/);
  });

  it('sizes chunks adaptively toward targetRuntimeSeconds', async () => {
    const chunked = file(
      'adaptive.yaml',
      `specificationVersion: jobtemplate-2023-09
extensions: [TASK_CHUNKING]
name: Adaptive
steps:
- name: S
  parameterSpace:
    taskParameterDefinitions:
    - name: F
      type: CHUNK[INT]
      range: "1-400"
      chunks: {defaultTaskCount: 2, targetRuntimeSeconds: 1, rangeConstraint: CONTIGUOUS}
  script: {actions: {onRun: {command: bash, args: ["-c", "echo chunk {{Task.Param.F}}; sleep 0.1"]}}}
`,
    );
    const result = await runCorral(['run', chunked]);
    assert.equal(result.code, 0, result.stderr);
    const sizes = [...result.stdout.matchAll(/chunk (\d+)-(\d+)/g)].map((m) => Number(m[2]) - Number(m[1]) + 1);
    assert.equal(
      sizes.reduce((a, b) => a + b, 0),
      400,
      'every frame runs once',
    );
    assert.equal(sizes[0], 2);
    assert.ok(sizes[3]! > sizes[0]!, `chunks grow when tasks are fast: ${sizes.join(',')}`);
    assert.match(result.stdout, /Chunks run: \d+ \(400 tasks\)/);
  });

  it('prints JSON on stdout and the log on stderr with --output json; utc stamps on request', async () => {
    const result = await runCorral([
      'run',
      pipeline,
      '--step',
      'Report',
      '--output',
      'json',
      '--timestamp-format',
      'utc',
    ]);
    const json = JSON.parse(result.stdout);
    assert.equal(json.status, 'success');
    assert.deepEqual(json.step_names, ['Report']);
    assert.equal(json.tasks_run, 1);
    assert.match(result.stderr, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ==== Entering environment: Farm$/m);
  });

  it('keeps the working directory with --preserve', async () => {
    const result = await runCorral(['run', pipeline, '--step', 'Report', '--preserve']);
    const where = /Working directory preserved at: (\S+)/.exec(result.stdout)?.[1];
    assert.ok(where && readdirSync(where).includes('path-mapping.json'));
  });

  it('applies path mapping rules given inline or from a file', async () => {
    const template = file(
      'paths.yaml',
      `specificationVersion: jobtemplate-2023-09
name: Paths
parameterDefinitions: [{name: Scene, type: PATH}]
steps: [{name: S, script: {actions: {onRun: {command: echo, args: ["mapped={{Param.Scene}}", "raw={{RawParam.Scene}}"]}}}}]
`,
    );
    const rules = JSON.stringify({
      version: 'pathmapping-1.0',
      path_mapping_rules: [{ source_path_format: 'WINDOWS', source_path: 'Z:\\proj', destination_path: '/mnt/proj' }],
    });
    const inline = await runCorral(['run', template, '-p', 'Scene=/home/a/b', '--path-mapping-rules', rules]);
    assert.match(inline.stdout, /mapped=\/home\/a\/b raw=\/home\/a\/b/);
    const posix = file(
      'rules.json',
      JSON.stringify({
        version: 'pathmapping-1.0',
        path_mapping_rules: [{ source_path_format: 'POSIX', source_path: '/home/a', destination_path: '/mnt/a' }],
      }),
    );
    const fromFile = await runCorral([
      'run',
      template,
      '-p',
      'Scene=/home/a/b',
      '--path-mapping-rules',
      `file://${posix}`,
    ]);
    assert.match(fromFile.stdout, /mapped=\/mnt\/a\/b raw=\/home\/a\/b/);
    const bad = await runCorral(['run', template, '-p', 'Scene=/x', '--path-mapping-rules', '{"version": "2"}']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Invalid path mapping rules: "version" must be "pathmapping-1.0"/);
  });
});

const slow = file(
  'slow.yaml',
  `specificationVersion: jobtemplate-2023-09
name: Slow
parameterDefinitions: [{name: OnTerm, type: STRING, default: "echo got TERM, ignoring it"}]
jobEnvironments:
- name: Env
  script:
    actions:
      onEnter: {command: bash, args: ["-c", "echo entered"]}
      onExit: {command: bash, args: ["-c", "echo exit ran"]}
steps:
- name: S
  script:
    actions:
      onRun:
        command: bash
        args: ["-c", "trap '{{Param.OnTerm}}' TERM; echo task started; while true; do sleep 0.05; done"]
        cancelation: {mode: NOTIFY_THEN_TERMINATE, notifyPeriodInSeconds: 60}
`,
);

/** Starts `corral run`, waits for `marker` in its output, then sends the signals with the given gaps. */
async function interrupt(
  signals: NodeJS.Signals[],
  gapMs: number,
  args: string[] = [],
): Promise<{ code: number | null; output: string; ms: number }> {
  const child = spawn(process.execPath, [corralBin, 'run', slow, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  let output = '';
  const started = new Promise<void>((resolve) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('task started')) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
  await started;
  const t0 = Date.now();
  for (const signal of signals) {
    child.kill(signal);
    await new Promise((r) => setTimeout(r, gapMs));
  }
  const code = await closed;
  return { code, output, ms: Date.now() - t0 };
}

describe('corral run under signals', () => {
  it('on Ctrl-C cancels the task with its own mode (SIGTERM first), exits the environments, and exits 130', async () => {
    const { code, output, ms } = await interrupt(['SIGINT'], 0, ['-p', 'OnTerm=echo stopping cleanly; exit 0']);
    assert.equal(code, 130);
    assert.ok(ms < 10_000, `finished in ${ms} ms`);
    assert.match(output, /Interruption signal received \(SIGINT\)/);
    assert.match(output, /stopping cleanly/);
    assert.match(output, /exit ran/);
    assert.match(output, /Session interrupted/);
  });

  it('a second Ctrl-C kills the task at once, and the environment exit still runs', async () => {
    const { code, output, ms } = await interrupt(['SIGINT', 'SIGINT'], 700);
    assert.equal(code, 130);
    assert.ok(ms < 15_000, `finished in ${ms} ms`);
    assert.match(output, /Interruption signal received \(SIGINT\)/);
    assert.match(output, /got TERM, ignoring it/);
    assert.match(output, /Interruption signal received again/);
    assert.match(output, /exit ran/);
    assert.match(output, /Session interrupted/);
  });

  it('handles SIGTERM the same way', async () => {
    const { code, output } = await interrupt(['SIGTERM', 'SIGTERM'], 700);
    assert.equal(code, 130);
    assert.match(output, /Interruption signal received \(SIGTERM\)/);
    assert.match(output, /exit ran/);
  });
});

describe('corral run progress line', () => {
  it('shows live progress on a terminal and nothing of the kind otherwise', () => {
    const hello = join(import.meta.dirname, '../../examples/hello.yaml');
    const tty = spawnSync('script', ['-qec', `${process.execPath} ${corralBin} run ${hello}`, '/dev/null'], {
      encoding: 'utf8',
    });
    assert.equal(tty.status, 0, tty.stderr);
    assert.match(tty.stdout, /\r\x1b\[KGreet: 3\/3 tasks/);
    const piped = spawnSync(process.execPath, [corralBin, 'run', hello], { encoding: 'utf8' });
    assert.ok(!piped.stdout.includes('\x1b[K') && !piped.stderr.includes('\x1b[K'));
    assert.ok(readFileSync(hello, 'utf8').length > 0);
  });
});
