/**
 * The session runtime with real processes: the stdout protocol, redaction, cancelation and timeouts, environment
 * rules, embedded files, path mapping, cleanup, and hostile output.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createJob, type Job } from '../../src/model/create-job.js';
import { decodeJobTemplate } from '../../src/model/decode.js';
import { Session, type SessionOptions } from '../../src/session/session.js';
import { ActionState, type ActionStatus, type LogSink, SessionState } from '../../src/session/types.js';
import { groupMembers } from './launcher-helpers.js';

/** A log sink that keeps everything. */
function memoryLog() {
  const lines: string[] = [];
  const messages: string[] = [];
  const sink: LogSink = {
    output: (line) => lines.push(line),
    info: (message) => messages.push(message),
  };
  return { sink, lines, messages };
}

function job(yaml: string, parameterValues: Record<string, unknown> = {}): Job {
  return createJob({
    template: decodeJobTemplate({ text: `specificationVersion: jobtemplate-2023-09\nname: T\n${yaml}` }),
    parameterValues,
    templateDirectory: '/tmp',
    currentWorkingDirectory: '/tmp',
  });
}

async function withSession<T>(
  options: Partial<SessionOptions> & { job?: Job },
  body: (session: Session, log: ReturnType<typeof memoryLog>, statuses: ActionStatus[]) => Promise<T>,
): Promise<T> {
  const log = memoryLog();
  const statuses: ActionStatus[] = [];
  const session = await Session.create({
    sessionId: 'test',
    jobParameters: options.job?.parameters ?? {},
    logSink: log.sink,
    onActionStatus: (s) => statuses.push(s),
    ...options,
  });
  try {
    return await body(session, log, statuses);
  } finally {
    await session.cleanup();
  }
}

const step = (script: string, extra = '') =>
  job(`steps:
- name: S
${extra}  script:
    actions:
      onRun: {command: bash, args: ["-c", ${JSON.stringify(script)}]}
`).steps[0]!;

/** PIDs of live (non-zombie) processes whose process group is `pgid`. */
const processesInGroup = (pgid: number) => groupMembers(pgid, false).map((p) => p.pid);

describe('Session: tasks and the stdout protocol', () => {
  it('runs a task, reporting progress, status and the exit code', async () => {
    const s = step("echo hello; echo 'openjd_progress: 42.5'; echo 'openjd_status: halfway'; echo bye");
    await withSession({}, async (session, log, statuses) => {
      const status = await session.runTask({ stepName: 'S', script: s.script });
      assert.equal(status.state, ActionState.Success);
      assert.equal(status.exitCode, 0);
      assert.equal(status.progress, 42.5);
      assert.equal(status.statusMessage, 'halfway');
      assert.deepEqual(log.lines, ['hello', 'openjd_progress: 42.5', 'openjd_status: halfway', 'bye']);
      assert.ok(log.messages.some((m) => /^Process pid \d+ exited with code: 0$/.test(m)));
      assert.deepEqual(
        statuses.map((x) => x.state),
        ['RUNNING', 'RUNNING', 'RUNNING', 'SUCCESS'],
      );
      assert.equal(session.state, SessionState.Ready);
    });
  });

  it('fails on a non-zero exit, with openjd_fail as the reason, and ends the session', async () => {
    const s = step("echo 'openjd_fail: the renderer crashed' >&2; exit 3");
    await withSession({}, async (session) => {
      const status = await session.runTask({ stepName: 'S', script: s.script });
      assert.equal(status.state, ActionState.Failed);
      assert.equal(status.exitCode, 3);
      assert.equal(status.failMessage, 'the renderer crashed');
      assert.equal(session.state, SessionState.ReadyEnding);
      await assert.rejects(session.runTask({ stepName: 'S', script: s.script }), { code: 'CORRAL_E_SESSION_STATE' });
    });
  });

  it('ignores malformed progress and keeps stdout and stderr in order', async () => {
    const s = step(
      "echo 'openjd_progress: 150'; echo 'openjd_progress:5'; for i in 1 2 3; do echo out$i; echo err$i >&2; done",
    );
    await withSession({}, async (session, log) => {
      const status = await session.runTask({ stepName: 'S', script: s.script });
      assert.equal(status.progress, undefined);
      assert.deepEqual(log.lines.slice(2), ['out1', 'err1', 'out2', 'err2', 'out3', 'err3']);
    });
  });

  it('reports a command that does not exist', async () => {
    const j = job('steps:\n- name: S\n  script: {actions: {onRun: {command: no-such-program-anywhere}}}\n');
    await withSession({}, async (session) => {
      const status = await session.runTask({ stepName: 'S', script: j.steps[0]!.script });
      assert.equal(status.state, ActionState.Failed);
      assert.equal(status.exitCode, 127);
      assert.match(status.failMessage ?? '', /no-such-program-anywhere|not found|No such file/i);
    });
  });

  it('resolves task parameters, files and session values, mapping PATH values', async () => {
    const j = job(
      `parameterDefinitions: [{name: In, type: PATH}]
steps:
- name: S
  parameterSpace:
    taskParameterDefinitions:
    - {name: F, type: INT, range: [7]}
    - {name: P, type: PATH, range: ["/src/shots/a"]}
  script:
    actions: {onRun: {command: bash, args: ["{{Task.File.run}}", "{{Param.In}}", "{{RawParam.In}}", "{{Task.Param.P}}", "{{Task.RawParam.P}}"]}}
    embeddedFiles:
    - name: run
      type: TEXT
      filename: run.sh
      data: |
        echo "frame={{Task.Param.F}} args=$* wd={{Session.WorkingDirectory}} rules={{Session.HasPathMappingRules}}"
        echo "cwd=$(pwd) env=$OPENJD_SESSION_WORKING_DIR self={{Task.File.run}}"
        cat "{{Session.PathMappingRulesFile}}" | tr -d ' \\n'; echo
`,
      { In: '/src/in.exr' },
    );
    const space = j.steps[0]!.parameterSpace;
    await withSession(
      { job: j, pathMappingRules: [{ sourcePathFormat: 'POSIX', sourcePath: '/src', destinationPath: '/mnt/dst' }] },
      async (session, log) => {
        const status = await session.runTask({
          stepName: 'S',
          script: j.steps[0]!.script,
          taskParameters: space.taskAt(0),
        });
        assert.equal(status.state, ActionState.Success, log.messages.join('\n'));
        const wd = session.workingDirectory;
        assert.deepEqual(log.lines, [
          `frame=7 args=/mnt/dst/in.exr /src/in.exr /mnt/dst/shots/a /src/shots/a wd=${wd} rules=true`,
          `cwd=${wd} env=${wd} self=${log.lines[1]!.split('self=')[1]}`,
          '{"version":"pathmapping-1.0","path_mapping_rules":[{"source_path_format":"POSIX","source_path":"/src","destination_path":"/mnt/dst"}]}',
        ]);
        assert.ok(log.lines[1]!.endsWith('/run.sh'));
      },
    );
  });

  it('writes embedded files private, runnable when asked, with the line endings asked for', async () => {
    const j = job(`extensions: [FEATURE_BUNDLE_1]
steps:
- name: S
  script:
    actions: {onRun: {command: "{{Task.File.tool}}"}}
    embeddedFiles:
    - {name: tool, type: TEXT, runnable: true, data: "#!/bin/sh\\nod -c {{Task.File.crlf}} | head -1\\n"}
    - {name: crlf, type: TEXT, endOfLine: CRLF, data: "a\\nb\\n"}
`);
    await withSession({}, async (session, log) => {
      const status = await session.runTask({ stepName: 'S', script: j.steps[0]!.script });
      assert.equal(status.state, ActionState.Success, log.lines.join('\n'));
      assert.match(log.lines[0]!, /a\s+\\r\s+\\n\s+b\s+\\r\s+\\n/);
      const files = readdirSync(`${session.workingDirectory}/.corral-files`, {
        recursive: true,
        withFileTypes: true,
      }).filter((e) => e.isFile());
      const modes = Object.fromEntries(files.map((f) => [f.name, statSync(`${f.parentPath}/${f.name}`).mode & 0o777]));
      assert.deepEqual(modes, { tool: 0o700, crlf: 0o600 });
    });
  });
});

describe('Session: environments', () => {
  const envJob = job(`jobEnvironments:
- name: Outer
  variables: {LEVEL: outer, KEEP: "{{Session.WorkingDirectory}}"}
  script:
    actions:
      onEnter: {command: bash, args: ["-c", "echo 'openjd_env: FROM_OUTER=1'; echo 'openjd_env: \\"MULTI=a\\\\nb\\"'; echo 'openjd_env: GONE=x'; echo 'openjd_unset_env: GONE'"]}
      onExit: {command: bash, args: ["-c", "echo exit-outer $LEVEL $FROM_OUTER"]}
- name: Inner
  variables: {LEVEL: inner}
  script:
    actions:
      onEnter: {command: bash, args: ["-c", "echo enter-inner $LEVEL $FROM_OUTER"]}
steps:
- name: S
  script:
    actions: {onRun: {command: bash, args: ["-c", "echo task $LEVEL $FROM_OUTER \${GONE-unset} \\"$MULTI\\"; echo 'openjd_env: TASK_SET=1'"]}}
`);

  it('layers variables and openjd_env in order, and drops them on exit', async () => {
    await withSession({ job: envJob }, async (session, log) => {
      for (const environment of envJob.jobEnvironments) {
        assert.equal((await session.enterEnvironment({ environment })).state, ActionState.Success);
      }
      await session.runTask({ stepName: 'S', script: envJob.steps[0]!.script });
      await session.runTask({ stepName: 'S', script: envJob.steps[0]!.script });
      await assert.rejects(session.exitEnvironment({ identifier: 'Outer' }), { code: 'CORRAL_E_ENVIRONMENT_ORDER' });
      await session.exitEnvironment({ identifier: 'Inner' });
      await session.exitEnvironment({ identifier: 'Outer' });
      const printed = log.lines.filter((l) => !l.startsWith('openjd_'));
      assert.deepEqual(printed, [
        'enter-inner inner 1',
        'task inner 1 unset a',
        'b',
        'task inner 1 unset a',
        'b',
        'exit-outer outer 1',
      ]);
      assert.deepEqual(session.environments, []);
    });
  });

  it('exits an environment whose onEnter failed, and allows only exits afterwards', async () => {
    const j = job(`jobEnvironments:
- name: Broken
  script:
    actions:
      onEnter: {command: bash, args: ["-c", "exit 4"]}
      onExit: {command: bash, args: ["-c", "echo cleaned up"]}
steps: [{name: S, script: {actions: {onRun: {command: "true"}}}}]
`);
    await withSession({ job: j }, async (session, log) => {
      const entered = await session.enterEnvironment({ environment: j.jobEnvironments[0]! });
      assert.equal(entered.state, ActionState.Failed);
      assert.equal(session.state, SessionState.ReadyEnding);
      assert.deepEqual(session.environments, ['Broken']);
      await assert.rejects(session.runTask({ stepName: 'S', script: j.steps[0]!.script }), {
        code: 'CORRAL_E_SESSION_STATE',
      });
      const exited = await session.exitEnvironment({ identifier: 'Broken' });
      assert.equal(exited.state, ActionState.Success);
      assert.equal(session.state, SessionState.ReadyEnding, 'a successful exit does not make a failed session ready');
      assert.ok(log.lines.includes('cleaned up'));
    });
  });

  it('cancels and fails an onEnter that prints a malformed env directive', async () => {
    for (const bad of [
      'openjd_env:NOSPACE=1',
      'OPENJD_ENV: X=1',
      'openjd_env: 1BAD=x',
      'openjd_unset_env: not valid',
    ]) {
      const j = job(`jobEnvironments:
- name: E
  script: {actions: {onEnter: {command: bash, args: ["-c", ${JSON.stringify(`echo '${bad}'; sleep 30; echo never`)}]}}}
steps: [{name: S, script: {actions: {onRun: {command: "true"}}}}]
`);
      await withSession({ job: j }, async (session, log) => {
        const started = Date.now();
        const status = await session.enterEnvironment({ environment: j.jobEnvironments[0]! });
        assert.equal(status.state, ActionState.Failed, bad);
        assert.match(status.failMessage ?? '', /incorrectly formatted openjd env command/);
        assert.ok(Date.now() - started < 10_000, 'canceled at once, not after the sleep');
        assert.ok(!log.lines.includes('never'));
      });
    }
  });
});

describe('Session: redaction', () => {
  it('redacts a secret in its own line and all later output, even from tasks and runtime messages', async () => {
    const j = job(`jobEnvironments:
- name: Secrets
  script:
    actions:
      onEnter: {command: bash, args: ["-c", "echo 'openjd_redacted_env: TOKEN=s3cr3t-value'; echo 'openjd_redacted_env: \\"MULTI=line one\\\\nline two\\"'"]}
steps:
- name: S
  script: {actions: {onRun: {command: bash, args: ["-c", "echo token=$TOKEN; echo \\"$MULTI\\"; echo 'openjd_status: using s3cr3t-value'"]}}}
`);
    await withSession({ job: j }, async (session, log) => {
      await session.enterEnvironment({ environment: j.jobEnvironments[0]! });
      const status = await session.runTask({ stepName: 'S', script: j.steps[0]!.script });
      assert.deepEqual(log.lines, [
        'openjd_redacted_env: TOKEN=********',
        'openjd_redacted_env: "MULTI=********\\n********"',
        'token=********',
        '********',
        '********',
        'openjd_status: using ********',
      ]);
      assert.equal(status.statusMessage, 'using ********');
      // Only the debug line of the announcing command itself (logged before the secret was known) may show it.
      const later = log.messages.filter((m) => !m.startsWith(`Command line: bash -c 'echo '\\''openjd_redacted_env`));
      assert.ok(!later.join('\n').includes('s3cr3t'), later.join('\n'));
    });
  });
});

describe('Session: cancelation and timeouts', () => {
  it('TERMINATE kills the whole process group at once, grandchildren included', async () => {
    const s = step('sleep 300 & sleep 300 & (sleep 300 &) ; echo started; wait');
    await withSession({}, async (session, log) => {
      const running = session.runTask({ stepName: 'S', script: s.script });
      while (!log.lines.includes('started')) await new Promise((r) => setTimeout(r, 20));
      const pid = Number(/started as pid (\d+)/.exec(log.messages.join('\n'))?.[1] ?? 0);
      assert.ok(processesInGroup(pid).length >= 3);
      session.cancelAction();
      assert.equal(session.state, SessionState.Canceling);
      const status = await running;
      assert.equal(status.state, ActionState.Canceled);
      assert.deepEqual(processesInGroup(pid), []);
      assert.equal(session.state, SessionState.ReadyEnding);
    });
  });

  it('NOTIFY_THEN_TERMINATE writes cancel_info.json, sends SIGTERM, and lets the action finish', async () => {
    const s = step(
      `trap 'echo got TERM; cat "$OPENJD_SESSION_WORKING_DIR/cancel_info.json"; echo; exit 0' TERM; echo ready; while true; do sleep 0.05; done`,
      '',
    );
    const script = {
      ...s.script,
      actions: {
        onRun: {
          ...s.script.actions.onRun,
          cancelation: { mode: 'NOTIFY_THEN_TERMINATE' as const, notifyPeriodInSeconds: 30 },
        },
      },
    };
    await withSession({}, async (session, log) => {
      const running = session.runTask({ stepName: 'S', script });
      while (!log.lines.includes('ready')) await new Promise((r) => setTimeout(r, 20));
      const before = Date.now();
      session.cancelAction();
      const status = await running;
      assert.equal(status.state, ActionState.Canceled);
      assert.ok(Date.now() - before < 5000);
      const info = JSON.parse(log.lines[log.lines.indexOf('got TERM') + 1]!);
      assert.match(info.NotifyEnd, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const end = Date.parse(info.NotifyEnd);
      assert.ok(end > before + 25_000 && end < before + 35_000, 'NotifyEnd is the end of the 30 s notify period');
    });
  });

  it('kills an action that ignores SIGTERM when the notify period ends, and a second cancel can shorten it', async () => {
    const s = step(`trap '' TERM; echo ready; while true; do sleep 0.05; done`);
    const script = {
      ...s.script,
      actions: {
        onRun: {
          ...s.script.actions.onRun,
          cancelation: { mode: 'NOTIFY_THEN_TERMINATE' as const, notifyPeriodInSeconds: 1 },
        },
      },
    };
    await withSession({}, async (session, log) => {
      const running = session.runTask({ stepName: 'S', script });
      while (!log.lines.includes('ready')) await new Promise((r) => setTimeout(r, 20));
      const before = Date.now();
      session.cancelAction();
      const status = await running;
      assert.equal(status.state, ActionState.Canceled);
      assert.ok(Date.now() - before >= 900, 'waited for the notify period');
      assert.equal(status.exitCode, -9);
    });
    const long = {
      ...script,
      actions: {
        onRun: {
          ...script.actions.onRun,
          cancelation: { mode: 'NOTIFY_THEN_TERMINATE' as const, notifyPeriodInSeconds: 600 },
        },
      },
    };
    await withSession({}, async (session, log) => {
      const running = session.runTask({ stepName: 'S', script: long });
      while (!log.lines.includes('ready')) await new Promise((r) => setTimeout(r, 20));
      session.cancelAction();
      await new Promise((r) => setTimeout(r, 200));
      const before = Date.now();
      session.cancelAction({ timeLimitSeconds: 0, markFailed: true });
      const status = await running;
      assert.equal(status.state, ActionState.Failed, 'markFailed turns the cancel into a failure');
      assert.ok(Date.now() - before < 3000);
    });
  });

  it('times an action out with its own cancel method', async () => {
    const s = step('echo start; sleep 30; echo never');
    const script = { ...s.script, actions: { onRun: { ...s.script.actions.onRun, timeout: 1 } } };
    await withSession({}, async (session, log) => {
      const before = Date.now();
      const status = await session.runTask({ stepName: 'S', script });
      assert.equal(status.state, ActionState.Timeout);
      assert.match(status.failMessage ?? '', /timed out after 1 s/);
      assert.ok(Date.now() - before < 5000);
      assert.ok(!log.lines.includes('never'));
      assert.equal(session.state, SessionState.ReadyEnding);
    });
  });

  it('leaves no process behind when a child double-forks and keeps running', async () => {
    const s = step('(setsid_not=1; (sleep 300; echo late) & ) ; echo main done');
    await withSession({}, async (session, log) => {
      const status = await session.runTask({ stepName: 'S', script: s.script });
      assert.equal(status.state, ActionState.Success);
      const pid = Number(/started as pid (\d+)/.exec(log.messages.join('\n'))?.[1] ?? 0);
      assert.deepEqual(processesInGroup(pid), []);
    });
  });

  it('cleanup cancels a running action and removes the working directory', async () => {
    const s = step('echo up; sleep 300');
    const log = memoryLog();
    const session = await Session.create({ sessionId: 'cleanup', logSink: log.sink });
    const running = session.runTask({ stepName: 'S', script: s.script });
    while (!log.lines.includes('up')) await new Promise((r) => setTimeout(r, 20));
    const directory = session.workingDirectory;
    await session.cleanup();
    assert.equal((await running).state, ActionState.Canceled);
    assert.equal(session.state, SessionState.Ended);
    assert.equal(existsSync(directory), false);
  });

  it('keeps the working directory when asked', async () => {
    const session = await Session.create({ sessionId: 'keep', retainWorkingDirectory: true });
    await session.cleanup();
    assert.ok(existsSync(session.workingDirectory));
  });
});

describe('Session: hostile output', () => {
  it('handles huge lines, binary output and floods without unbounded memory', async () => {
    const s = step(
      "head -c 1000000 /dev/zero | tr '\\0' x; echo; head -c 20000 /dev/urandom; printf '\\xff\\xfe bad utf8\\n'; seq 1 200000 | sed 's/^/line /'",
    );
    await withSession({}, async (session, log) => {
      const status = await session.runTask({ stepName: 'S', script: s.script });
      assert.equal(status.state, ActionState.Success);
      assert.ok(
        log.lines.every((line) => line.length <= 64 * 1024),
        'lines are cut at 64 KiB',
      );
      assert.equal(log.lines.slice(0, 16).join('').length, 1_000_000, 'a long line arrives whole, in pieces');
      assert.ok(log.lines.some((line) => line.includes('\uFFFD\uFFFD bad utf8')));
      assert.equal(log.lines[log.lines.length - 1], 'line 200000');
    });
  });

  it('takes 100,000 env directives from one onEnter', async () => {
    const j = job(`jobEnvironments:
- name: Many
  script: {actions: {onEnter: {command: bash, args: ["-c", "for i in $(seq 1 100000); do echo \\"openjd_env: V$i=$i\\"; done"]}}}
steps: [{name: S, script: {actions: {onRun: {command: bash, args: ["-c", "echo $V1 $V100000"]}}}}]
`);
    await withSession({ job: j }, async (session, log) => {
      assert.equal((await session.enterEnvironment({ environment: j.jobEnvironments[0]! })).state, ActionState.Success);
      await session.runTask({ stepName: 'S', script: j.steps[0]!.script });
      assert.equal(log.lines[log.lines.length - 1], '1 100000');
    });
  });
});
