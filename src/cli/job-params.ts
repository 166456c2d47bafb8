/**
 * @module Job parameter values from the command line, as the reference `openjd` CLI accepts them:
 * `-p NAME=VALUE`, `-p file://values.yaml` (or `.json`), or `-p '{"NAME": "VALUE"}'`. Later values win.
 */
import { parseDocument } from '../model/document.js';
import { CorralError } from '../model/errors.js';
import { CliErrorCode, formatOf, readUserFile } from './files.js';

/**
 * Reads every `-p` argument into one map of values.
 * @throws {CorralError} `CORRAL_E_BAD_ARGUMENT` for a malformed argument; `CORRAL_E_FILE_UNREADABLE` or
 *   `CORRAL_E_TEMPLATE_SYNTAX` for a values file that cannot be read or parsed.
 */
export function parseJobParameterArgs(args: readonly string[]): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const arg of args) Object.assign(values, parseOne(arg));
  return values;
}

function parseOne(arg: string): Record<string, unknown> {
  if (arg.startsWith('file://')) {
    const path = arg.slice('file://'.length);
    const text = readUserFile(path, 'parameter values file');
    const format = formatOf(path);
    return asMapping(parseDocument({ text, source: path, ...(format ? { format } : {}) }).value, arg);
  }
  const trimmed = arg.trimStart();
  if (trimmed.startsWith('{')) {
    return asMapping(parseDocument({ text: trimmed, format: 'json', source: 'the -p argument' }).value, arg);
  }
  const eq = arg.indexOf('=');
  if (eq <= 0) {
    throw new CorralError(
      CliErrorCode.BadArgument,
      `The job parameter '${arg}' is not NAME=VALUE, file://FILE or a JSON object.`,
    );
  }
  return { [arg.slice(0, eq)]: arg.slice(eq + 1) };
}

function asMapping(value: unknown, arg: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CorralError(
      CliErrorCode.BadArgument,
      `The job parameters in '${arg}' must be a mapping of names to values.`,
    );
  }
  return value as Record<string, unknown>;
}
