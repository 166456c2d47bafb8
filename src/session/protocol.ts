/**
 * @module The `openjd_*` stdout protocol: lines an action prints to talk to the runtime.
 *
 * Messages match whole lines: a lower-case `openjd_<kind>: ` prefix (exactly one space) and a payload. Progress,
 * status and fail messages that do not parse are ignored. Environment messages that look like one but do not parse
 * (`openjd_env:X=1`, `OPENJD_ENV: X=1`, a bad variable name) are an error: the action is canceled and failed, since
 * the environment it meant to set up is not what it asked for.
 */

export type ProtocolMessage =
  | { readonly kind: 'progress'; readonly percent: number }
  | { readonly kind: 'status'; readonly message: string }
  | { readonly kind: 'fail'; readonly message: string }
  | { readonly kind: 'env'; readonly name: string; readonly value: string; readonly redacted: boolean }
  | { readonly kind: 'unset_env'; readonly name: string }
  | { readonly kind: 'malformed_env'; readonly reason: string }
  | { readonly kind: 'invalid'; readonly reason: string };

const MESSAGE = /^openjd_(progress|status|fail|env|unset_env|redacted_env): (.+)$/s;
const ENV_LIKE = /^openjd_(env|unset_env|redacted_env)\b/i;
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Cheap test for the hot path: only lines starting with `o`/`O` can be protocol messages. */
export function mayBeMessage(line: string): boolean {
  const c = line.charCodeAt(0);
  return (c === 0x6f || c === 0x4f) && (line.startsWith('openjd_') || ENV_LIKE.test(line));
}

/** Parses one output line; undefined when it is ordinary output. */
export function parseMessage(line: string): ProtocolMessage | undefined {
  const match = MESSAGE.exec(line);
  if (!match) {
    if (ENV_LIKE.test(line)) {
      return {
        kind: 'malformed_env',
        reason: `'${line.slice(0, 80)}' is not 'openjd_env: NAME=VALUE' (lower-case, one space after the colon)`,
      };
    }
    return undefined;
  }
  const kind = match[1]!;
  const payload = match[2]!;
  switch (kind) {
    case 'progress': {
      const percent = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(payload) ? Number(payload) : Number.NaN;
      if (!(percent >= 0 && percent <= 100))
        return { kind: 'invalid', reason: `progress must be a number from 0 to 100, got '${payload}'` };
      return { kind: 'progress', percent };
    }
    case 'status':
      return { kind: 'status', message: payload };
    case 'fail':
      return { kind: 'fail', message: payload };
    case 'unset_env': {
      const name = payload.trim();
      return VARIABLE.test(name)
        ? { kind: 'unset_env', name }
        : { kind: 'malformed_env', reason: `'${name}' is not a variable name` };
    }
    default:
      return parseAssignment(payload, kind === 'redacted_env');
  }
}

function parseAssignment(payload: string, redacted: boolean): ProtocolMessage {
  let text = payload;
  // A JSON string literal carries values with newlines or other escapes: openjd_env: "NAME=line1\nline2".
  if (text.startsWith('"')) {
    try {
      const decoded: unknown = JSON.parse(text);
      if (typeof decoded !== 'string') throw new Error('not a string');
      text = decoded;
    } catch {
      return { kind: 'malformed_env', reason: `'${payload.slice(0, 80)}' is not a valid JSON string` };
    }
  }
  const eq = text.indexOf('=');
  const name = eq === -1 ? text : text.slice(0, eq);
  if (eq === -1 || !VARIABLE.test(name)) {
    return { kind: 'malformed_env', reason: `'${text.slice(0, 80)}' is not NAME=VALUE with a valid variable name` };
  }
  return { kind: 'env', name, value: text.slice(eq + 1), redacted };
}
