/**
 * @module Tests of the process launchers with real processes: every case runs against both the native launcher and
 * the Node fallback.
 */

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CorralError, ModelErrorCode } from '../../src/model/errors.js';
import {
  createLauncher,
  type Launcher,
  LauncherErrorCode,
  NATIVE_LAUNCHER_PATH,
  NativeLauncher,
} from '../../src/session/launcher/index.js';
import { encodeLaunch } from '../../src/session/launcher/protocol.js';
import {
  assertOwnerDeathCleansUp,
  ENV,
  eventually,
  fixture,
  groupMembers,
  KINDS,
  type Kind,
  nativeSkipReason,
  procStat,
  run,
  sleep,
  start,
} from './launcher-helpers.js';

/** Short enough to keep the drain tests quick, long enough for a loaded machine to deliver output. */
const DRAIN_GRACE_MS = 600;

interface Context {
  readonly kind: Kind;
  /** The launcher shared by the cases of this kind. */
  readonly launcher: Launcher;
  /** A private scratch directory. */
  readonly dir: string;
}

interface Case {
  readonly name: string;
  /** Only for this kind, with the reason the other kind cannot do it. */
  readonly only?: { kind: Kind; reason: string };
  run(context: Context): Promise<void>;
}

/** Length and digest of `seq 6500000` (~51 MB), computed once for both launcher kinds. */
let seqDigest: { length: number; sha256: string } | undefined;
function expectedSeq(): { length: number; sha256: string } {
  if (seqDigest === undefined) {
    const out = spawnSync('seq', ['6500000'], { maxBuffer: 64 << 20 }).stdout;
    seqDigest = { length: out.length, sha256: createHash('sha256').update(out).digest('hex') };
  }
  return seqDigest;
}

/** After `exit` resolved, nothing may be left in the group (the fallback cannot reap zombies, see its docs). */
function assertGroupGone(kind: Kind, pgid: number): void {
  assert.ok(pgid > 0, 'a started process has a pid');
  assert.deepEqual(groupMembers(pgid, kind === 'native'), [], `process group ${pgid} is empty`);
}

const CASES: Case[] = [
  {
    name: 'reports exit codes 0, 1 and 255',
    async run({ launcher, kind }) {
      for (const code of [0, 1, 255]) {
        const result = await run(launcher, { command: 'sh', args: ['-c', `exit ${code}`] });
        assert.deepEqual(result.exit, { exitCode: code, signal: null });
        assertGroupGone(kind, result.pid);
      }
    },
  },
  {
    name: 'reports death by a signal',
    async run({ launcher }) {
      const killed = await run(launcher, { command: 'sh', args: ['-c', 'kill -KILL $$'] });
      assert.deepEqual(killed.exit, { exitCode: null, signal: 'SIGKILL' });
      const terminated = await run(launcher, { command: 'sh', args: ['-c', 'kill -TERM $$'] });
      assert.deepEqual(terminated.exit, { exitCode: null, signal: 'SIGTERM' });
    },
  },
  {
    name: 'a missing program is a start error with exit code 127',
    async run({ launcher }) {
      for (const command of ['/nonexistent/program', 'corral-no-such-command', '']) {
        const result = await run(launcher, { command });
        assert.equal(result.pid, 0);
        assert.equal(result.exit.exitCode, 127, `exit code for ${JSON.stringify(command)}`);
        assert.equal(result.exit.signal, null);
        assert.match(result.exit.startError ?? '', /No such file or directory/);
        assert.equal(result.text, '');
      }
    },
  },
  {
    name: 'a program that is not executable is a start error with exit code 126',
    async run({ launcher, dir }) {
      const file = join(dir, 'not-executable');
      writeFileSync(file, '#!/bin/sh\necho never\n', { mode: 0o644 });
      const byPath = await run(launcher, { command: file });
      assert.equal(byPath.exit.exitCode, 126);
      assert.match(byPath.exit.startError ?? '', /Permission denied/);
      const aDirectory = await run(launcher, { command: dir });
      assert.equal(aDirectory.exit.exitCode, 126);
      assert.ok(aDirectory.exit.startError);
    },
  },
  {
    name: 'a missing working directory is a start error',
    async run({ launcher }) {
      const result = await run(launcher, { command: 'true', cwd: '/nonexistent/dir' });
      assert.equal(result.exit.exitCode, 127);
      assert.match(result.exit.startError ?? '', /cannot change directory to '\/nonexistent\/dir'/);
    },
  },
  {
    name: 'a bare command name is looked up in the PATH of the given environment',
    async run({ launcher, dir }) {
      const program = join(dir, 'corral-fixture-hello');
      writeFileSync(program, '#!/bin/sh\necho "hello from $0"\n', { mode: 0o755 });
      const found = await run(launcher, { command: 'corral-fixture-hello', env: { PATH: `/nonexistent:${dir}` } });
      assert.deepEqual(found.exit, { exitCode: 0, signal: null });
      assert.equal(found.text, `hello from ${program}\n`);
      const notFound = await run(launcher, { command: 'corral-fixture-hello', env: { PATH: '/usr/bin:/bin' } });
      assert.equal(notFound.exit.exitCode, 127);
      // Not in our own PATH, but in the child's: `true` is in /bin, and the child has no PATH at all → default.
      const defaultPath = await run(launcher, { command: 'true', env: {} });
      assert.deepEqual(defaultPath.exit, { exitCode: 0, signal: null });
    },
  },
  {
    name: 'passes arguments exactly: spaces, quotes, unicode, empty strings, newlines, glob and shell characters',
    async run({ launcher }) {
      const args = [
        'a b',
        '"double"',
        "'single'",
        'ünïcödé ✓ 日本',
        '',
        '  ',
        '$HOME',
        '*',
        '\\n',
        'multi\nline',
        '-',
        '--x=y',
      ];
      const result = await run(launcher, { command: '/bin/sh', args: ['-c', 'printf "%s\\0" "$@"', 'argv0', ...args] });
      assert.deepEqual(result.exit, { exitCode: 0, signal: null });
      assert.deepEqual(result.text.split('\0').slice(0, -1), args);
    },
  },
  {
    name: 'passes exactly the given environment and nothing else',
    async run({ launcher }) {
      const env = { PATH: '/usr/bin:/bin', A: '1', B: 'two words', C: 'ünï=cöde', EMPTY: '', 'WEIRD NAME': 'x\ny' };
      const result = await run(launcher, { command: 'env', args: ['-0'], env });
      assert.deepEqual(result.exit, { exitCode: 0, signal: null });
      const seen = result.text.split('\0').slice(0, -1).sort();
      assert.deepEqual(
        seen,
        Object.entries(env)
          .map(([k, v]) => `${k}=${v}`)
          .sort(),
      );
    },
  },
  {
    name: 'runs in the given working directory',
    async run({ launcher, dir }) {
      const result = await run(launcher, { command: '/bin/pwd', args: ['-P'], cwd: dir });
      assert.equal(result.text, `${realpathSync(dir)}\n`);
    },
  },
  {
    name: 'runs in its own session and process group, without a terminal, stdin from /dev/null',
    async run({ launcher }) {
      const result = await run(launcher, {
        command: 'sh',
        args: ['-c', 'cat /proc/$$/stat; readlink /proc/$$/fd/0; cat; echo stdin-eof'],
      });
      const [stat, stdin, eof] = result.text.split('\n');
      const fields = stat!.slice(stat!.lastIndexOf(')') + 2).split(' ');
      assert.equal(Number(fields[2]), result.pid, 'pgid == pid');
      assert.equal(Number(fields[3]), result.pid, 'sid == pid');
      assert.equal(Number(fields[4]), 0, 'no controlling terminal');
      assert.equal(stdin, '/dev/null');
      assert.equal(eof, 'stdin-eof');
    },
  },
  {
    name: 'merges stdout and stderr in exactly the order written',
    async run({ launcher }) {
      const lines = 500;
      const result = await run(launcher, { command: '/bin/sh', args: [fixture('interleave.sh'), String(lines)] });
      const expected: string[] = [];
      for (let i = 1; i <= lines; i++) expected.push(`out ${i}`, `err ${i}`);
      assert.equal(result.text, `${expected.join('\n')}\n`);
    },
  },
  {
    name: 'delivers 50 MB of output completely and in order',
    async run({ launcher }) {
      const hash = createHash('sha256');
      let bytes = 0;
      const launched = await launcher.launch(
        { command: 'seq', args: ['6500000'], cwd: '/', env: ENV },
        {
          onOutput(chunk) {
            bytes += chunk.length;
            hash.update(chunk);
          },
        },
      );
      assert.deepEqual(await launched.exit, { exitCode: 0, signal: null });
      const expected = expectedSeq();
      assert.equal(bytes, expected.length);
      assert.ok(bytes > 50_000_000);
      assert.equal(hash.digest('hex'), expected.sha256);
    },
  },
  {
    name: 'SIGTERM reaches the group; a process that traps it and exits 0 reports exit code 0',
    async run({ launcher, kind }) {
      const started = await start(launcher, { command: '/bin/sh', args: [fixture('trap-term.sh')] });
      await started.waitFor('ready\n');
      started.process.signal('SIGTERM');
      assert.deepEqual(await started.process.exit, { exitCode: 0, signal: null });
      assert.match(started.text(), /got TERM/);
      assertGroupGone(kind, started.process.pid);
    },
  },
  {
    name: 'SIGKILL ends a process that ignores SIGTERM',
    async run({ launcher, kind }) {
      const started = await start(launcher, { command: '/bin/sh', args: [fixture('ignore-term.sh')] });
      await started.waitFor('ready\n');
      started.process.signal('SIGTERM');
      await sleep(300);
      assert.equal(procStat(started.process.pid)?.state !== undefined, true, 'still running after SIGTERM');
      started.process.signal('SIGKILL');
      assert.deepEqual(await started.process.exit, { exitCode: null, signal: 'SIGKILL' });
      assertGroupGone(kind, started.process.pid);
      // Idempotent after exit: nothing happens, nothing throws.
      started.process.signal('SIGKILL');
      started.process.signal('SIGTERM');
    },
  },
  {
    name: 'kills a double-forked grandchild left in the group once the main process exits',
    async run({ launcher, kind }) {
      const began = Date.now();
      const result = await run(launcher, { command: '/bin/sh', args: [fixture('double-fork.sh')] });
      assert.deepEqual(result.exit, { exitCode: 0, signal: null });
      assert.ok(Date.now() - began < DRAIN_GRACE_MS, 'output ended at once: no drain wait');
      const grandchild = Number(/grandchild (\d+)/.exec(result.text)?.[1]);
      assert.ok(grandchild > 0, result.text);
      const stat = procStat(grandchild);
      assert.ok(stat === undefined || stat.pgid !== result.pid || (kind === 'node' && stat.state === 'Z'));
      assertGroupGone(kind, result.pid);
    },
  },
  {
    name: 'stops waiting for output after the drain grace when a grandchild holds the pipe open',
    async run({ launcher, kind }) {
      const began = Date.now();
      const result = await run(launcher, { command: '/bin/sh', args: [fixture('double-fork.sh'), 'hold'] });
      const took = Date.now() - began;
      assert.deepEqual(result.exit, { exitCode: 0, signal: null });
      assert.match(result.text, /grandchild \d+\nparent done\n/);
      assert.ok(took >= DRAIN_GRACE_MS - 50, `waited the drain grace (${took} ms)`);
      assert.ok(took < DRAIN_GRACE_MS + 3000, `but not much longer (${took} ms)`);
      assertGroupGone(kind, result.pid);
    },
  },
  {
    name: 'runs 50 launches concurrently, each with its own output and exit',
    async run({ launcher, kind }) {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          run(launcher, {
            command: 'sh',
            args: ['-c', 'echo "start $0"; sleep 0.2; echo "end $0"; exit $(($0 % 7))', String(i)],
          }),
        ),
      );
      results.forEach((result, i) => {
        assert.equal(result.text, `start ${i}\nend ${i}\n`);
        assert.deepEqual(result.exit, { exitCode: i % 7, signal: null });
        assertGroupGone(kind, result.pid);
      });
      assert.equal(new Set(results.map((r) => r.pid)).size, 50);
    },
  },
  {
    name: 'rejects requests a process cannot receive',
    async run({ launcher }) {
      const bad = [
        { command: 'echo', args: ['a\0b'], cwd: '/', env: ENV },
        { command: 'echo', args: [], cwd: '/', env: { 'A=B': 'x' } },
        { command: 'echo', args: [], cwd: '/', env: { A: 'x\0y' } },
        { command: 'echo', args: [], cwd: '', env: ENV },
      ];
      for (const request of bad) {
        await assert.rejects(launcher.launch(request, { onOutput() {} }), (error: unknown) => {
          assert.ok(error instanceof CorralError);
          assert.equal(error.code, ModelErrorCode.InvalidArgument);
          return true;
        });
      }
    },
  },
  {
    name: 'close() kills running groups, their exits report SIGKILL, and later launches are refused',
    async run({ kind }) {
      const launcher = await createLauncher({ prefer: kind, drainGraceMs: DRAIN_GRACE_MS });
      const sleeper = await start(launcher, { command: 'sh', args: ['-c', 'sleep 1000 & sleep 1000; echo never'] });
      const stubborn = await start(launcher, { command: '/bin/sh', args: [fixture('ignore-term.sh')] });
      await stubborn.waitFor('ready\n');
      await eventually(() => groupMembers(sleeper.process.pid).length >= 3, 5000, 'the sleepers');
      await launcher.close();
      assert.deepEqual(await sleeper.process.exit, { exitCode: null, signal: 'SIGKILL' });
      assert.deepEqual(await stubborn.process.exit, { exitCode: null, signal: 'SIGKILL' });
      assertGroupGone(kind, sleeper.process.pid);
      assertGroupGone(kind, stubborn.process.pid);
      await launcher.close(); // idempotent
      await assert.rejects(launcher.launch({ command: 'true', args: [], cwd: '/', env: ENV }, { onOutput() {} }), {
        code: LauncherErrorCode.Unavailable,
      });
    },
  },
  {
    name: 'the launcher killed with SIGKILL: pending exits reject as crashed, close() still works',
    only: { kind: 'native', reason: 'the Node fallback has no launcher process to kill' },
    async run() {
      const launcher = await createLauncher({ prefer: 'native', drainGraceMs: DRAIN_GRACE_MS });
      assert.ok(launcher instanceof NativeLauncher);
      const sleeper = await start(launcher, { command: 'sleep', args: ['1000'] });
      process.kill(launcher.processId, 'SIGKILL');
      await assert.rejects(sleeper.process.exit, { code: LauncherErrorCode.Crashed });
      await assert.rejects(launcher.launch({ command: 'true', args: [], cwd: '/', env: ENV }, { onOutput() {} }), {
        code: LauncherErrorCode.Crashed,
      });
      await launcher.close();
      await launcher.close();
      // The Node side kills the orphaned group as a last resort (it is re-parented away from the dead launcher).
      await eventually(() => groupMembers(sleeper.process.pid, false).length === 0, 5000, 'the orphaned group to die');
    },
  },
  {
    name: 'when the owning Node process dies, the launcher kills its groups and exits',
    only: { kind: 'native', reason: 'the Node fallback has no process that outlives its owner to clean up' },
    async run() {
      await assertOwnerDeathCleansUp();
    },
  },
  {
    name: 'backpressure: while Node does not read, the launcher stops reading instead of buffering',
    only: { kind: 'native', reason: 'the fallback has no buffer between the child and Node' },
    async run() {
      // Speak the protocol directly so that nobody reads the launcher's stdout.
      const launcher = spawn(NATIVE_LAUNCHER_PATH, [], { stdio: ['pipe', 'pipe', 'inherit'] });
      launcher.stdin.write(encodeLaunch(1, { command: 'yes', args: ['0123456789'], cwd: '/', env: ENV }, 0));
      const rss = () => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${launcher.pid}/status`, 'utf8'))?.[1]);
      await sleep(1000);
      const first = rss();
      await sleep(500);
      const second = rss();
      assert.ok(second < 24 * 1024, `the launcher stays small while its reader stalls: ${second} kB`);
      assert.ok(second - first < 1024, `and does not grow: ${first} kB then ${second} kB`);
      // Reading again resumes the flow; EOF on stdin then ends everything.
      let received = 0;
      launcher.stdout.on('data', (chunk: Buffer) => {
        received += chunk.length;
      });
      await eventually(() => received > 20 << 20, 10_000, 'output to flow again');
      launcher.stdin.end();
      const code = await new Promise((resolve) => launcher.on('exit', resolve));
      assert.equal(code, 0);
    },
  },
  {
    name: 'a real pipe: /dev/stdout and /dev/stderr can be opened',
    only: { kind: 'native', reason: "Node's child stdio are sockets, which open(2) of /dev/stdout refuses (ENXIO)" },
    async run({ launcher }) {
      const result = await run(launcher, {
        command: 'sh',
        args: ['-c', 'echo one > /dev/stdout; echo two > /dev/stderr'],
      });
      assert.equal(result.text, 'one\ntwo\n');
      assert.deepEqual(result.exit, { exitCode: 0, signal: null });
    },
  },
  {
    name: 'a script without #! runs under /bin/sh, like execvp',
    only: { kind: 'native', reason: 'libuv reports ENOEXEC instead of falling back to /bin/sh' },
    async run({ launcher, dir }) {
      const script = join(dir, 'no-shebang');
      writeFileSync(script, 'echo "no shebang: $1"\n', { mode: 0o755 });
      const result = await run(launcher, { command: script, args: ['ok'] });
      assert.equal(result.text, 'no shebang: ok\n');
    },
  },
];

for (const kind of KINDS) {
  const skip = kind === 'native' ? nativeSkipReason() : undefined;
  describe(`${kind} launcher`, { skip }, () => {
    let launcher: Launcher;
    let dir: string;
    before(async () => {
      launcher = await createLauncher({ prefer: kind, drainGraceMs: DRAIN_GRACE_MS });
      assert.equal(launcher.kind, kind);
      dir = mkdtempSync(join(tmpdir(), `corral-launcher-test-${kind}-`));
      chmodSync(dir, 0o755);
    });
    after(async () => {
      await launcher?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });
    for (const testCase of CASES) {
      const skipCase = testCase.only && testCase.only.kind !== kind ? testCase.only.reason : undefined;
      it(testCase.name, { skip: skipCase, timeout: 30_000 }, () => testCase.run({ kind, launcher, dir }));
    }
  });
}

describe('createLauncher', () => {
  it('rejects bad options', async () => {
    await assert.rejects(createLauncher({ drainGraceMs: -1 }), { code: ModelErrorCode.InvalidArgument });
    await assert.rejects(createLauncher({ user: '-rf' }), { code: ModelErrorCode.InvalidArgument });
  });
  it('picks the native launcher by default when it is built', { skip: nativeSkipReason() }, async () => {
    const launcher = await createLauncher();
    assert.equal(launcher.kind, 'native');
    await launcher.close();
  });
});
