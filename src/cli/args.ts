/**
 * @module Command-line parsing for `corral`: commands declared as data, parsed without dependencies.
 *
 * Why not commander: importing it costs ~20 ms (it pulls in child_process and friends), a large share of a
 * `corral check`, and the reference CLI's spellings (`-tp`) need multi-letter short flags it cannot declare.
 * Options take `--name value`, `--name=value` or a declared short form (`-p value`); booleans take `--name` and,
 * when declared, `--no-name`; `--` ends options.
 */

import { closest } from '../model/suggest.js';

export type OptionKind = 'string' | 'list' | 'boolean';

export interface OptionSpec {
  /** Long name without dashes (`job-param`); the parsed value's key is its camel case (`jobParam`). */
  readonly name: string;
  readonly kind: OptionKind;
  readonly description: string;
  /** Other spellings, with their dashes (`-p`, `-tp`, `--parameter`). */
  readonly aliases?: readonly string[];
  /** Shown as `--name <valueName>`. */
  readonly valueName?: string;
  readonly choices?: readonly string[];
  readonly default?: string | boolean;
  /** For booleans: also accept `--no-name`. */
  readonly negatable?: boolean;
}

export interface CommandSpec {
  readonly name: string;
  readonly description: string;
  /** Positional arguments, in order. */
  readonly args?: readonly { readonly name: string; readonly description: string; readonly optional?: boolean }[];
  readonly options?: readonly OptionSpec[];
  /** Sub-commands (`corral queue create`). */
  readonly commands?: readonly CommandSpec[];
  /** With sub-commands: the command also runs on its own (`corral queues` lists them) instead of showing help. */
  readonly runnable?: boolean;
}

export interface ParsedCommand {
  /** The command path (`['queue', 'create']`). */
  readonly path: readonly string[];
  readonly args: Readonly<Record<string, string | undefined>>;
  readonly options: Readonly<Record<string, string | string[] | boolean | undefined>>;
}

/** A command line that cannot be parsed; its message says what is wrong and `usage` how to do it right. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Asked for help: `text` is what to print. */
export class HelpRequest {
  constructor(readonly text: string) {}
}

const camel = (name: string) => name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/**
 * Parses `argv` (without node and script) against the command tree `root`.
 * @throws {UsageError} for unknown commands or options, missing values, bad choices, missing arguments.
 * @returns the parsed command, or a {@link HelpRequest} for `--help`, `-h` or `help [command]`.
 */
export function parseCommandLine(root: CommandSpec, argv: readonly string[]): ParsedCommand | HelpRequest {
  const path: string[] = [];
  let command = root;
  let i = 0;
  if (argv[0] === 'help') {
    let target = root;
    for (const name of argv.slice(1)) {
      const next = target.commands?.find((c) => c.name === name);
      if (!next) break;
      target = next;
      path.push(name);
    }
    return new HelpRequest(helpText(root, target, path));
  }
  while (i < argv.length && command.commands && !argv[i]!.startsWith('-')) {
    const name = argv[i]!;
    const next = command.commands.find((c) => c.name === name);
    if (!next) {
      const hint = closest(
        name,
        command.commands.map((c) => c.name),
        2,
      );
      throw new UsageError(
        `unknown command '${name}'${hint ? ` (did you mean '${hint}'?)` : ''}`,
        helpText(root, command, path),
      );
    }
    command = next;
    path.push(name);
    i++;
  }
  const usage = () => helpText(root, command, path);
  if (command.commands && !command.args && !command.runnable && i >= argv.length) {
    if (argv.length === 0 || path.length > 0) return new HelpRequest(usage());
  }

  const specs = command.options ?? [];
  const byFlag = new Map<string, { spec: OptionSpec; negated: boolean }>();
  for (const spec of specs) {
    byFlag.set(`--${spec.name}`, { spec, negated: false });
    for (const alias of spec.aliases ?? []) byFlag.set(alias, { spec, negated: false });
    if (spec.kind === 'boolean' && spec.negatable) byFlag.set(`--no-${spec.name}`, { spec, negated: true });
  }
  const options: Record<string, string | string[] | boolean | undefined> = {};
  for (const spec of specs) {
    options[camel(spec.name)] =
      spec.kind === 'list' ? [] : spec.kind === 'boolean' ? (spec.default ?? false) : spec.default;
  }
  const positionals: string[] = [];
  let endOfOptions = false;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (endOfOptions || !arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    if (arg === '--') {
      endOfOptions = true;
      continue;
    }
    if (arg === '--help' || arg === '-h') return new HelpRequest(usage());
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const found = byFlag.get(flag);
    if (!found) {
      const hint = closest(flag, [...byFlag.keys()], 2);
      throw new UsageError(`unknown option '${flag}'${hint ? ` (did you mean '${hint}'?)` : ''}`, usage());
    }
    const { spec, negated } = found;
    const key = camel(spec.name);
    if (spec.kind === 'boolean') {
      if (eq !== -1) throw new UsageError(`option '${flag}' takes no value`, usage());
      options[key] = !negated;
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined) throw new UsageError(`option '${flag}' needs a value`, usage());
      i++;
    }
    if (spec.choices && !spec.choices.includes(value)) {
      throw new UsageError(
        `option '${flag}' must be one of ${spec.choices.join(', ')}, got '${value}'. Allowed choices are ${spec.choices.join(', ')}.`,
        usage(),
      );
    }
    if (spec.kind === 'list') (options[key] as string[]).push(value);
    else options[key] = value;
  }

  const declared = command.args ?? [];
  const args: Record<string, string | undefined> = {};
  declared.forEach((arg, index) => {
    const key = camel(arg.name);
    args[key] = positionals[index];
    if (args[key] === undefined && !arg.optional) throw new UsageError(`missing argument <${arg.name}>`, usage());
  });
  if (positionals.length > declared.length) {
    throw new UsageError(`unexpected argument '${positionals[declared.length]}'`, usage());
  }
  if (command.commands && (path.length === 0 || command.runnable) && positionals.length > 0) {
    throw new UsageError(`unknown command '${positionals[0]}'`, usage());
  }
  return { path, args, options };
}

/** The help text of a command: usage line, description, arguments, options, sub-commands. */
export function helpText(root: CommandSpec, command: CommandSpec, path: readonly string[]): string {
  const name = [root.name, ...path].join(' ');
  const args = (command.args ?? []).map((a) => (a.optional ? `[${a.name}]` : `<${a.name}>`)).join(' ');
  const lines = [
    `Usage: ${name}${command.commands ? ' <command>' : ''}${command.options?.length ? ' [options]' : ''}${args ? ` ${args}` : ''}`,
    '',
  ];
  lines.push(command.description, '');
  const table = (rows: [string, string][]) => {
    const width = Math.min(38, Math.max(...rows.map(([left]) => left.length)) + 2);
    for (const [left, right] of rows) lines.push(`  ${left.padEnd(width)}${right}`);
    lines.push('');
  };
  if (command.args?.length) {
    lines.push('Arguments:');
    table(command.args.map((a) => [a.name, a.description]));
  }
  if (command.options?.length) {
    lines.push('Options:');
    table(
      command.options.map((o) => {
        const flags = [...(o.aliases ?? []).filter((a) => !a.startsWith('--')), `--${o.name}`].join(', ');
        const value = o.kind === 'boolean' ? '' : ` <${o.valueName ?? 'value'}>`;
        const extra = [
          o.choices ? `one of: ${o.choices.join(', ')}` : '',
          o.default !== undefined && o.default !== false ? `default: ${o.default}` : '',
          o.kind === 'list' ? 'repeatable' : '',
        ]
          .filter(Boolean)
          .join('; ');
        return [`${flags}${value}`, `${o.description}${extra ? ` (${extra})` : ''}`];
      }),
    );
  }
  if (command.commands?.length) {
    lines.push('Commands:');
    table(command.commands.map((c) => [c.name, c.description]));
    lines.push(`Run '${name} help <command>' or '${name} <command> --help' for a command's options.`);
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
