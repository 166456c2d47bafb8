/**
 * @module Tests of running actions as another OS user through sudo, against both launcher kinds. Needs root (to
 * create the test user and to be allowed by sudo) and sudo itself (`apt-get install -y sudo`).
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createLauncher, type Launcher, LauncherErrorCode, NativeLauncher } from '../../src/session/launcher/index.js';
import {
  assertOwnerDeathCleansUp,
  eventually,
  fixture,
  groupMembers,
  KINDS,
  nativeSkipReason,
  procUid,
  run,
  sleep,
  start,
} from './launcher-helpers.js';

const USER = 'corral-test-user';

/** Makes sure sudo and the test user exist; returns why the tests cannot run, or undefined. */
function prepare(): string | undefined {
  if (spawnSync('sudo', ['-V'], { stdio: 'ignore' }).error) {
    return 'sudo is not installed (apt-get install -y sudo)';
  }
  if (spawnSync('id', ['-u', USER], { stdio: 'ignore' }).status !== 0) {
    if (process.getuid?.() !== 0) return `user ${USER} is missing and only root can create it`;
    const created = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', USER], {
      encoding: 'utf8',
    });
    assert.equal(created.status, 0, `useradd ${USER}: ${created.stderr}`);
  }
  const allowed = spawnSync('sudo', ['-n', '-u', USER, '--', 'true'], { encoding: 'utf8' });
  if (allowed.status !== 0) return `sudo does not let us run commands as ${USER}: ${allowed.stderr.trim()}`;
  return undefined;
}

const unavailable = prepare();
const uid = unavailable === undefined ? Number(spawnSync('id', ['-u', USER], { encoding: 'utf8' }).stdout) : -1;
const ENV = { PATH: '/usr/bin:/bin', HOME: '/tmp', LC_ALL: 'C' };

for (const kind of KINDS) {
  const skip = unavailable ?? (kind === 'native' ? nativeSkipReason() : undefined);
  describe(`${kind} launcher as ${USER}`, { skip }, () => {
    let launcher: Launcher;
    before(async () => {
      launcher = await createLauncher({ prefer: kind, user: USER, drainGraceMs: 500 });
      assert.equal(launcher.kind, kind);
    });
    after(() => launcher?.close());

    it('runs the program as that user', async () => {
      const result = await run(launcher, { command: 'id', args: ['-un'], env: ENV });
      assert.deepEqual(result.exit, { exitCode: 0, signal: null });
      assert.equal(result.text, `${USER}\n`);
      if (launcher instanceof NativeLauncher) assert.equal(procUid(launcher.processId), uid, 'the launcher too');
    });

    it('passes arguments, environment and working directory exactly', async () => {
      const env = {
        ...ENV,
        SPACED: 'a b  c',
        QUOTED: `it's "x"`,
        EMPTY: '',
        MULTI: 'line 1\n\n 3 \\n\n',
        'WEIRD NAME': '1 x=y',
      };
      const shown = await run(launcher, { command: 'env', args: ['-0'], env });
      assert.deepEqual(
        shown.text.split('\0').slice(0, -1).sort(),
        Object.entries(env)
          .map(([k, v]) => `${k}=${v}`)
          .sort(),
      );
      const args = ['', 'a b', 'ünï', '$HOME', "'"];
      const printed = await run(launcher, { command: 'printf', args: ['[%s]', ...args], env });
      assert.equal(printed.text, args.map((a) => `[${a}]`).join(''));
      const where = await run(launcher, { command: '/bin/pwd', cwd: '/usr', env });
      assert.equal(where.text, '/usr\n');
    });

    it('keeps the environment off every command line', async () => {
      const secret = `corral-secret-${process.pid}-${Date.now()}`;
      const sleeper = await start(launcher, {
        command: 'sh',
        args: ['-c', 'echo ready; exec sleep 1000'],
        env: { ...ENV, TOKEN: secret },
      });
      await sleeper.waitFor('ready\n');
      for (const name of readdirSync('/proc')) {
        if (!/^\d+$/.test(name)) continue;
        let cmdline = '';
        try {
          cmdline = readFileSync(`/proc/${name}/cmdline`, 'latin1');
        } catch {
          continue;
        }
        assert.ok(!cmdline.includes(secret), `process ${name} shows the secret: ${cmdline.replace(/\0/g, ' ')}`);
      }
      sleeper.process.signal('SIGKILL');
      await sleeper.process.exit;
    });

    it('reports start errors', async () => {
      const missing = await run(launcher, { command: 'corral-no-such-command', env: ENV });
      assert.equal(missing.exit.exitCode, 127);
      assert.match(missing.exit.startError ?? '', /No such file or directory/);
      const noCwd = await run(launcher, { command: 'true', env: ENV, cwd: '/nonexistent' });
      assert.equal(noCwd.exit.exitCode, 127);
      assert.match(noCwd.exit.startError ?? '', /cannot change directory/);
    });

    it('cancels a process of that user: SIGTERM, then SIGKILL for one that ignores it', async () => {
      const sleeper = await start(launcher, { command: 'sh', args: ['-c', 'echo ready; exec sleep 1000'], env: ENV });
      await sleeper.waitFor('ready\n');
      const pid = sleeper.process.pid;
      assert.equal(procUid(pid), uid, 'the process belongs to the user');
      assert.ok(groupMembers(pid).length >= 1);
      sleeper.process.signal('SIGTERM');
      assert.deepEqual(await sleeper.process.exit, { exitCode: null, signal: 'SIGTERM' });
      assert.deepEqual(groupMembers(pid, kind === 'native'), []);

      const stubborn = await start(launcher, { command: '/bin/sh', args: [fixture('ignore-term.sh')], env: ENV });
      await stubborn.waitFor('ready\n');
      assert.equal(procUid(stubborn.process.pid), uid);
      stubborn.process.signal('SIGTERM');
      await sleep(300);
      assert.ok(groupMembers(stubborn.process.pid, false).length >= 1, 'SIGTERM is ignored');
      stubborn.process.signal('SIGKILL');
      assert.deepEqual(await stubborn.process.exit, { exitCode: null, signal: 'SIGKILL' });
      assert.deepEqual(groupMembers(stubborn.process.pid, kind === 'native'), []);
    });

    it('kills leftovers of the group after the main process exits', async () => {
      const result = await run(launcher, { command: '/bin/sh', args: [fixture('double-fork.sh')], env: ENV });
      assert.deepEqual(result.exit, { exitCode: 0, signal: null });
      await eventually(() => groupMembers(result.pid, kind === 'native').length === 0, 1000, 'an empty group');
    });

    it('close() kills the running groups of that user', async () => {
      const own = await createLauncher({ prefer: kind, user: USER, drainGraceMs: 500 });
      const sleeper = await start(own, { command: 'sh', args: ['-c', 'echo ready; sleep 1000'], env: ENV });
      await sleeper.waitFor('ready\n');
      await own.close();
      assert.deepEqual(await sleeper.process.exit, { exitCode: null, signal: 'SIGKILL' });
      assert.deepEqual(groupMembers(sleeper.process.pid, kind === 'native'), []);
    });

    it('when the owning Node process dies, the launcher kills the groups of that user', {
      skip: kind === 'node' ? 'the Node fallback has no process that outlives its owner to clean up' : undefined,
    }, async () => {
      await assertOwnerDeathCleansUp(USER);
    });

    it('an unknown user makes the launcher unavailable', async () => {
      await assert.rejects(createLauncher({ prefer: kind, user: 'corral-no-such-user' }), {
        code: LauncherErrorCode.Unavailable,
      });
    });
  });
}
