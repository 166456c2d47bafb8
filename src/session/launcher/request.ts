/** @module Checks that a launch request can be handed to execve, the same way for both launcher kinds. */

import { CorralError, ModelErrorCode } from '../../model/errors.js';
import type { LaunchRequest } from './types.js';

/** A string execve can carry unchanged: no NUL byte (it would end the string early). */
function checkText(value: unknown, what: string): void {
  if (typeof value !== 'string') throw invalid(`${what} must be a string`);
  if (value.includes('\0')) throw invalid(`${what} contains a NUL byte, which a process argument cannot carry`);
}

function invalid(message: string): CorralError {
  return new CorralError(ModelErrorCode.InvalidArgument, `cannot launch: ${message}`);
}

/**
 * Throws `CORRAL_E_INVALID_ARGUMENT` unless every string of the request can be passed to a process unchanged
 * (NUL bytes would be truncated silently by execve; a `=` in a variable name would change its meaning).
 */
export function checkLaunchRequest(request: LaunchRequest): void {
  checkText(request.command, 'command');
  checkText(request.cwd, 'cwd');
  if (request.cwd === '') throw invalid('cwd is empty');
  if (!Array.isArray(request.args)) throw invalid('args must be an array');
  for (let i = 0; i < request.args.length; i++) checkText(request.args[i], `args[${i}]`);
  if (typeof request.env !== 'object' || request.env === null) throw invalid('env must be an object');
  // Sessions hand the same environment object to action after action; checking it once is enough (requests are
  // read-only by contract).
  if (checkedEnvironments.has(request.env)) return;
  for (const name of Object.keys(request.env)) {
    checkText(name, 'an environment variable name');
    if (name === '' || name.includes('=')) throw invalid(`environment variable name ${JSON.stringify(name)}`);
    checkText(request.env[name], `environment variable ${name}`);
  }
  checkedEnvironments.add(request.env);
}

const checkedEnvironments = new WeakSet<object>();
