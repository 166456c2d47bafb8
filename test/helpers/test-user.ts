/**
 * @module The OS user the run-as-user tests run actions as: created when missing (as root), and checked to be
 * reachable through passwordless sudo.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

export const TEST_USER = 'corral-test-user';

/** Makes sure TEST_USER can be used; returns why not (for `skip`), or undefined when it can. */
export function prepareTestUser(): string | undefined {
  if (spawnSync('sudo', ['-V'], { stdio: 'ignore' }).error) return 'sudo is not installed (apt-get install -y sudo)';
  if (spawnSync('id', ['-u', TEST_USER], { stdio: 'ignore' }).status !== 0) {
    if (process.getuid?.() !== 0) return `user ${TEST_USER} is missing and only root can create it`;
    const made = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', TEST_USER], {
      encoding: 'utf8',
    });
    // Another test process may have created it meanwhile (exit 9: the user exists).
    assert.ok(made.status === 0 || made.status === 9, made.stderr);
  }
  const allowed = spawnSync('sudo', ['-n', '-u', TEST_USER, '--', 'true'], { encoding: 'utf8' });
  return allowed.status === 0
    ? undefined
    : `sudo does not let us run commands as ${TEST_USER}: ${allowed.stderr.trim()}`;
}
