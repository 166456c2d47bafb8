/**
 * @module `corral run <template>`: runs a job here, in one session, with the flags of `openjd run`.
 *
 * Ctrl-C or SIGTERM cancels the running action with its own cancel mode and then exits every entered environment;
 * each further Ctrl-C kills whatever action runs at that moment (a slow onExit, say) but never skips the exits that
 * remain.
 */
import type { JobStep } from '../../model/create-job.js';
import { parseDocument } from '../../model/document.js';
import { CorralError, ModelErrorCode } from '../../model/errors.js';
import type { TaskParameterSet } from '../../model/parameter-space.js';
import { stepsInRunOrder } from '../../model/step-order.js';
import { type PathMappingRule, parsePathMappingDocument } from '../../session/path-mapping.js';
import { Session } from '../../session/session.js';
import { CliErrorCode, formatOf, readUserFile } from '../files.js';
import { type LoadJobOptions, loadJob } from '../load-job.js';
import { type LocalRunResult, runLocally, type TaskSelection } from '../local-run.js';
import { ExitCode } from '../main.js';
import { type OutputFormat, printError, printStructured } from '../output.js';
import { TerminalLog, type TimestampFormat } from '../terminal-log.js';

export interface RunOptions extends LoadJobOptions {
  readonly step?: string;
  readonly taskParams: readonly string[];
  readonly tasks?: string;
  readonly maximumTasks?: string;
  readonly runDependencies: boolean;
  readonly pathMappingRules?: string;
  readonly preserve: boolean;
  readonly verbose: boolean;
  readonly timestampFormat: TimestampFormat;
  readonly output: OutputFormat;
}

const badArgument = (message: string) => new CorralError(CliErrorCode.BadArgument, message);

export async function runRun(options: RunOptions): Promise<number> {
  const started = Date.now();
  const machine = options.output !== 'human-readable';
  // With --output json/yaml the log goes to stderr so that stdout holds only the result.
  const log = new TerminalLog({
    fd: machine ? 2 : 1,
    timestampFormat: options.timestampFormat,
    verbose: options.verbose,
    start: started,
  });
  let interrupted = 0;
  let session: Session | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted++;
    log.info(
      interrupted === 1
        ? `Interruption signal received (${signal}): canceling the running action, then exiting the environments.`
        : `Interruption signal received again: stopping the running action now; environment exits still run.`,
      Date.now(),
      'warn',
    );
    log.flush();
    session?.cancelAction(interrupted === 1 ? {} : { timeLimitSeconds: 0 });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const { job } = loadJob(options);
    const steps = stepsInRunOrder(job.steps, {
      ...(options.step !== undefined ? { step: options.step } : {}),
      withDependencies: options.runDependencies,
    });
    const selection = taskSelection(options, steps);
    const rules = pathMappingRules(options.pathMappingRules);
    session = await Session.create({
      sessionId: `corral-run-${process.pid}`,
      jobParameters: job.parameters,
      pathMappingRules: rules,
      retainWorkingDirectory: options.preserve,
      logSink: log,
    });
    const result = await runLocally({
      session,
      job,
      steps,
      selection,
      interrupted: () => interrupted > 0,
      onProgress: (step, done, total, unit) => log.progress(`${step.name}: ${done}/${total} ${unit}`),
    });
    await session.cleanup();
    return report(options, log, started, job.name, steps, result, interrupted > 0);
  } catch (error) {
    if (session) await session.cleanup().catch(() => {});
    log.close();
    printError(options.output, error);
    return ExitCode.Failed;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function report(
  options: RunOptions,
  log: TerminalLog,
  started: number,
  jobName: string,
  steps: readonly JobStep[],
  result: LocalRunResult,
  interrupted: boolean,
): number {
  const seconds = (Date.now() - started) / 1000;
  const message = interrupted
    ? 'Session interrupted; the running action was canceled and every environment exited'
    : result.succeeded
      ? 'Session ended successfully'
      : 'Session ended with errors; see the task logs above';
  const chunked = result.taskValuesRun !== result.tasksRun;
  if (options.output !== 'human-readable') {
    log.close();
    printStructured(options.output, {
      status: result.succeeded ? 'success' : 'error',
      message,
      job_name: jobName,
      step_names: steps.map((s) => s.name),
      duration_seconds: Number(seconds.toFixed(3)),
      tasks_run: result.tasksRun,
      ...(chunked ? { task_values_run: result.taskValuesRun } : {}),
      ...(result.failure?.failMessage ? { failure: result.failure.failMessage } : {}),
    });
  } else {
    log.plain('');
    log.plain('--- Results of local session ---');
    log.plain('');
    log.plain(message);
    if (result.failure?.failMessage) log.plain(`Failure: ${result.failure.failMessage}`);
    log.plain(`Job: ${jobName}`);
    log.plain(`${steps.length === 1 ? 'Step' : 'Steps'}: ${steps.map((s) => s.name).join(', ')}`);
    log.plain(`Duration: ${seconds.toFixed(3)} seconds`);
    log.plain(
      `${chunked ? 'Chunks' : 'Tasks'} run: ${result.tasksRun}${chunked ? ` (${result.taskValuesRun} tasks)` : ''}`,
    );
    log.close();
  }
  if (interrupted) return ExitCode.Interrupted;
  return result.succeeded ? ExitCode.Ok : ExitCode.Failed;
}

function pathMappingRules(arg: string | undefined): PathMappingRule[] {
  if (arg === undefined) return [];
  const text = arg.startsWith('file://') ? readUserFile(arg.slice(7), 'path mapping rules file') : arg;
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw badArgument(`The path mapping rules are not valid JSON: ${(error as Error).message}.`);
  }
  return parsePathMappingDocument(document);
}

/** Parses `--task-param`, `--tasks` and `--maximum-tasks` into which tasks to run. */
function taskSelection(options: RunOptions, steps: readonly JobStep[]): TaskSelection {
  const given = [options.taskParams.length > 0, options.tasks !== undefined, options.maximumTasks !== undefined].filter(
    Boolean,
  );
  if (given.length > 1) throw badArgument('--task-param, --tasks and --maximum-tasks cannot be combined.');
  if (options.maximumTasks !== undefined) {
    const maximum = Number(options.maximumTasks);
    if (!Number.isInteger(maximum) || maximum < -1)
      throw badArgument(`--maximum-tasks must be a whole number, got '${options.maximumTasks}'.`);
    return maximum < 0 ? { kind: 'all' } : { kind: 'all', maximum };
  }
  if (options.taskParams.length === 0 && options.tasks === undefined) return { kind: 'all' };
  if (steps.length !== 1 || (options.step === undefined && options.runDependencies)) {
    throw badArgument('Choose one step with --step to run particular tasks (--task-param or --tasks).');
  }
  const step = steps[0]!;
  const sets: Record<string, unknown>[] = [];
  if (options.taskParams.length > 0) {
    const set: Record<string, string> = {};
    const problems: string[] = [];
    for (const arg of options.taskParams) {
      const eq = arg.indexOf('=');
      if (eq <= 0) {
        problems.push(`'${arg}' is not NAME=VALUE`);
        continue;
      }
      const name = arg.slice(0, eq);
      if (name in set) problems.push(`Task parameter '${name}' has been defined more than once.`);
      set[name] = arg.slice(eq + 1);
    }
    if (problems.length > 0) throw badArgument(problems.join(' '));
    sets.push(set);
  } else {
    const text = options.tasks!.startsWith('file://')
      ? readUserFile(options.tasks!.slice(7), 'tasks file')
      : options.tasks!;
    const format = options.tasks!.startsWith('file://') ? (formatOf(options.tasks!) ?? 'yaml') : 'json';
    const value = parseDocument({ text, format, source: '--tasks' }).value;
    if (!Array.isArray(value)) throw badArgument('--tasks must be a list of {name: value} mappings.');
    for (const item of value) {
      if (item === null || typeof item !== 'object' || Array.isArray(item))
        throw badArgument('--tasks must be a list of {name: value} mappings.');
      sets.push(item as Record<string, unknown>);
    }
  }
  return { kind: 'list', tasks: sets.map((set) => resolveTask(step, set)) };
}

/** Checks user-given task values against a step's parameter space; returns them typed. */
function resolveTask(step: JobStep, raw: Record<string, unknown>): TaskParameterSet {
  const space = step.parameterSpace;
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) values[name] = typeof value === 'string' ? value : String(value);
  const names = space.parameters.map((p) => p.name);
  const problems: string[] = [];
  for (const name of Object.keys(values))
    if (!names.includes(name)) problems.push(`'${name}' is not a task parameter of '${step.name}'`);
  for (const name of names) if (!(name in values)) problems.push(`no value for task parameter '${name}'`);
  if (problems.length === 0 && space.find(values) === -1) {
    problems.push(`${JSON.stringify(values)} is not a task of step '${step.name}'`);
  }
  if (problems.length > 0) {
    throw new CorralError(ModelErrorCode.TaskParameterInvalid, `Invalid task parameters: ${problems.join('; ')}.`);
  }
  return Object.fromEntries(space.parameters.map((p) => [p.name, { type: p.type, value: values[p.name]! }]));
}
