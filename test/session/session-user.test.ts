/**
 * A session whose actions run as another OS user (through sudo): who runs, what the user can read and write in the
 * working directory, cancelation delivered as that user, and cleanup of files the user made.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createJob } from '../../src/model/create-job.js';
import { decodeJobTemplate } from '../../src/model/decode.js';
import { Session } from '../../src/session/session.js';
import { ActionState, type LogSink } from '../../src/session/types.js';
import { prepareTestUser, TEST_USER } from '../helpers/test-user.js';
import { groupMembers, procUid } from './launcher-helpers.js';

const USER = TEST_USER;

const groupAlive = (pgid: number) => groupMembers(pgid, false).length > 0;

const job = createJob({
  template: decodeJobTemplate({
    text: `specificationVersion: jobtemplate-2023-09
name: AsUser
steps:
- name: Who
  script:
    actions: {onRun: {command: bash, args: ["{{Task.File.run}}"]}}
    embeddedFiles:
    - name: run
      type: TEXT
      data: |
        echo "user=$(id -un)"
        echo made > "$OPENJD_SESSION_WORKING_DIR/made-by-user.txt"
        mkdir -p "$OPENJD_SESSION_WORKING_DIR/deep/er" && echo x > "$OPENJD_SESSION_WORKING_DIR/deep/er/file"
        if (echo hack > "{{Task.File.run}}") 2>/dev/null; then echo "could overwrite"; else echo "embedded file is read-only"; fi
- name: Sleep
  script:
    actions:
      onRun:
        command: bash
        args: ["-c", "trap 'echo term as $(id -un); exit 0' TERM; echo ready; while true; do sleep 0.05; done"]
        cancelation: {mode: NOTIFY_THEN_TERMINATE, notifyPeriodInSeconds: 30}
`,
  }),
});

const unavailable = prepareTestUser();

describe(`Session running actions as ${USER}`, { skip: unavailable }, () => {
  it('runs as the user, shares the working directory, cancels as the user and cleans up', async () => {
    const lines: string[] = [];
    const messages: string[] = [];
    const sink: LogSink = { output: (line) => lines.push(line), info: (message) => messages.push(message) };
    const uid = Number(spawnSync('id', ['-u', USER], { encoding: 'utf8' }).stdout);
    const session = await Session.create({ sessionId: 'as-user', user: USER, logSink: sink });
    const directory = session.workingDirectory;
    try {
      assert.equal(statSync(directory).mode & 0o777, 0o770);
      const who = await session.runTask({ stepName: 'Who', script: job.steps[0]!.script });
      assert.equal(who.state, ActionState.Success, messages.join('\n'));
      assert.deepEqual(lines, [`user=${USER}`, 'embedded file is read-only']);
      assert.equal(statSync(`${directory}/made-by-user.txt`).uid, uid);

      const running = session.runTask({ stepName: 'Sleep', script: job.steps[1]!.script });
      while (!lines.includes('ready')) await new Promise((r) => setTimeout(r, 20));
      const pid = Number(
        /started as pid (\d+)/.exec(messages.filter((m) => m.includes('started as pid')).at(-1)!)?.[1],
      );
      assert.equal(procUid(pid), uid, 'the action runs as the user');
      session.cancelAction();
      const canceled = await running;
      assert.equal(canceled.state, ActionState.Canceled);
      assert.ok(lines.includes(`term as ${USER}`), 'SIGTERM reached the action');
      assert.equal(groupAlive(pid), false);
    } finally {
      await session.cleanup();
    }
    assert.equal(existsSync(directory), false, 'files the user made are removed too');
  });
});
