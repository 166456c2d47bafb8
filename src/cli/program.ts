/**
 * @module The command tree of `corral`, as data. Each command's module is loaded only when that command runs.
 */
import type { CommandSpec, OptionSpec, ParsedCommand } from './args.js';
import type { OutputFormat } from './output.js';

const output: OptionSpec = {
  name: 'output',
  kind: 'string',
  valueName: 'format',
  description: 'how to print the result',
  choices: ['human-readable', 'json', 'yaml'],
  default: 'human-readable',
};

const extensions: OptionSpec = {
  name: 'extensions',
  kind: 'string',
  valueName: 'names',
  description: 'comma-separated extensions to allow (default: all Corral supports)',
};

const jobParam: OptionSpec = {
  name: 'job-param',
  kind: 'list',
  aliases: ['-p', '--parameter'],
  valueName: 'value',
  description: 'a job parameter: NAME=VALUE, file://values.yaml|json, or a JSON object; later ones win',
};

const environment: OptionSpec = {
  name: 'env',
  kind: 'list',
  aliases: ['--environment'],
  valueName: 'file',
  description: "an environment template to apply before the job's own environments",
};

const template = { name: 'template', description: 'template file (YAML or JSON)' };

// Options every farm command takes: which server, as whom.
const connection: readonly OptionSpec[] = [
  {
    name: 'server',
    kind: 'string',
    valueName: 'url',
    description: "the farm server (default: $CORRAL_SERVER, the data directory's running server, or 127.0.0.1:8470)",
  },
  {
    name: 'token',
    kind: 'string',
    valueName: 'token',
    description: "the API token (default: $CORRAL_TOKEN, or the data directory's admin token)",
  },
  {
    name: 'data-dir',
    kind: 'string',
    valueName: 'dir',
    description: 'the local farm directory to find the server and token in (default: $CORRAL_DATA_DIR or .corral)',
  },
  output,
];

const jobArg = { name: 'job', description: 'the job id' };
const target: readonly OptionSpec[] = [
  { name: 'step', kind: 'string', valueName: 'name', description: 'only this step' },
  { name: 'task', kind: 'string', valueName: 'id', description: 'only this task' },
];

const daemonOptions: readonly OptionSpec[] = [
  {
    name: 'config',
    kind: 'string',
    valueName: 'file',
    description: 'YAML configuration file (flags and CORRAL_* variables override it)',
  },
  { name: 'data-dir', kind: 'string', valueName: 'dir', description: 'data directory (default: .corral)' },
  { name: 'pid-file', kind: 'string', valueName: 'file', description: 'pidfile, held with a lock while running' },
  { name: 'log-file', kind: 'string', valueName: 'file', description: 'log file (default: standard error)' },
  {
    name: 'log-level',
    kind: 'string',
    valueName: 'level',
    description: 'log level',
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
  },
];

/** `queues create` and `queues configure` take the same settings. */
const queueCommand = (name: string, description: string, environmentHelp: string): CommandSpec => ({
  name,
  description,
  args: [{ name: 'name', description: "the queue's name" }],
  options: [
    { name: 'description', kind: 'string', valueName: 'text', description: 'what the queue is for' },
    { name: 'run-as-user', kind: 'string', valueName: 'user', description: 'OS user its jobs run as on the workers' },
    { ...environment, description: environmentHelp },
    ...connection,
  ],
});

const controlCommand = (name: string, description: string, extra: readonly OptionSpec[] = []): CommandSpec => ({
  name,
  description,
  args: [jobArg],
  options: [...target, ...extra, ...connection],
});

export const PROGRAM: CommandSpec = {
  name: 'corral',
  description: 'Corral: an Open Job Description job farm. Describe jobs, run them here, or across many machines.',
  commands: [
    {
      name: 'check',
      description: 'Check that a job template or environment template is valid.',
      args: [template],
      options: [extensions, output],
    },
    {
      name: 'summary',
      description: 'Show what a job template creates: parameters, steps, tasks, environments.',
      args: [template],
      options: [
        jobParam,
        { name: 'step', kind: 'string', valueName: 'name', description: 'summarise only this step' },
        environment,
        extensions,
        output,
      ],
    },
    {
      name: 'run',
      description: "Run a job here, in one session: environments, then each step's tasks, then environment exits.",
      args: [template],
      options: [
        {
          name: 'step',
          kind: 'string',
          valueName: 'name',
          description: 'run only this step (default: every step, in dependency order)',
        },
        jobParam,
        {
          name: 'task-param',
          kind: 'list',
          aliases: ['-t', '-tp'],
          valueName: 'name=value',
          description: 'run only the task with these values (one per task parameter)',
        },
        {
          name: 'tasks',
          kind: 'string',
          valueName: 'list',
          description: 'run these tasks: a JSON list of {name: value} maps, or file://tasks.json|yaml',
        },
        {
          name: 'maximum-tasks',
          kind: 'string',
          valueName: 'n',
          description: 'run at most this many tasks (or chunks) per step',
        },
        {
          name: 'run-dependencies',
          kind: 'boolean',
          negatable: true,
          description: 'with --step, first run the steps it depends on',
        },
        {
          name: 'path-mapping-rules',
          kind: 'string',
          valueName: 'rules',
          description: 'path mapping rules: a pathmapping-1.0 JSON document, or file://rules.json',
        },
        environment,
        { name: 'preserve', kind: 'boolean', description: "keep the session's working directory" },
        { name: 'verbose', kind: 'boolean', description: 'also show full command lines and other details' },
        {
          name: 'timestamp-format',
          kind: 'string',
          valueName: 'format',
          description: 'how log lines are stamped',
          choices: ['relative', 'local', 'utc'],
          default: 'relative',
        },
        extensions,
        output,
      ],
    },
    {
      name: 'server',
      description: 'Run the farm server: HTTP API, scheduler and dashboard over SQLite (default) or PostgreSQL.',
      options: [
        ...daemonOptions,
        {
          name: 'db',
          kind: 'string',
          valueName: 'url',
          description: 'database: postgres://… or sqlite:///path (default: SQLite in the data directory)',
        },
        {
          name: 'listen',
          kind: 'string',
          valueName: 'host:port',
          description: 'address to listen on (default: 127.0.0.1:8470)',
        },
      ],
    },
    {
      name: 'worker',
      description: 'Run a worker agent: takes tasks from a farm server and runs them as OpenJD sessions.',
      options: [
        { name: 'server', kind: 'string', valueName: 'url', description: 'the farm server (default: $CORRAL_SERVER)' },
        {
          name: 'token',
          kind: 'string',
          valueName: 'token',
          description: 'an agent or admin token to register with (default: $CORRAL_TOKEN)',
        },
        {
          name: 'token-file',
          kind: 'string',
          valueName: 'file',
          description: 'a file holding that token, kept off the command line (default: $CORRAL_TOKEN_FILE)',
        },
        { name: 'name', kind: 'string', valueName: 'name', description: "the worker's name (default: the host name)" },
        ...daemonOptions,
      ],
    },
    {
      name: 'up',
      description: 'Run a whole farm here: a server on SQLite and local workers. Ctrl-C stops it cleanly.',
      options: [
        {
          name: 'data-dir',
          kind: 'string',
          valueName: 'dir',
          description: 'where the farm keeps its state (default: .corral)',
        },
        {
          name: 'listen',
          kind: 'string',
          valueName: 'host:port',
          description: 'server address (default: 127.0.0.1:8470)',
        },
        { name: 'workers', kind: 'string', valueName: 'n', description: 'local workers to run (default: one per CPU)' },
        daemonOptions[4]!,
      ],
    },
    {
      name: 'submit',
      description: 'Submit a job to the farm.',
      args: [template],
      options: [
        jobParam,
        environment,
        { name: 'queue', kind: 'string', valueName: 'name', description: 'queue to submit to (default: default)' },
        { name: 'priority', kind: 'string', valueName: 'n', description: '0 to 100, higher runs first (default: 50)' },
        { name: 'name', kind: 'string', valueName: 'name', description: "the job's name (default: the template's)" },
        {
          name: 'max-retries',
          kind: 'string',
          valueName: 'n',
          description: 'runs a failed task gets again (default: 2)',
        },
        {
          name: 'continue-on-failure',
          kind: 'boolean',
          description: 'keep running other tasks when one fails for good',
        },
        { name: 'wait', kind: 'boolean', description: 'follow the job and exit 0 only if it succeeds' },
        extensions,
        ...connection,
      ],
    },
    {
      name: 'jobs',
      description: "List the farm's jobs, newest first.",
      options: [
        {
          name: 'state',
          kind: 'string',
          valueName: 'states',
          description: 'only jobs in these states (comma-separated)',
        },
        { name: 'queue', kind: 'string', valueName: 'name', description: 'only jobs of this queue' },
        { name: 'search', kind: 'string', valueName: 'text', description: 'only jobs whose name contains this' },
        { name: 'limit', kind: 'string', valueName: 'n', description: 'at most this many (default: 100)' },
        ...connection,
      ],
    },
    {
      name: 'job',
      description: 'Show a job: its state and the progress of each step.',
      args: [jobArg],
      options: [{ name: 'watch', kind: 'boolean', description: 'follow it live until it finishes' }, ...connection],
    },
    {
      name: 'logs',
      description: "Print a job's output, marked with the step and task of each line.",
      args: [jobArg],
      options: [
        ...target,
        {
          name: 'follow',
          kind: 'boolean',
          aliases: ['-f'],
          description: 'keep printing new lines until the job finishes',
        },
        ...connection,
      ],
    },
    controlCommand(
      'cancel',
      'Cancel a job, a step or a task; running actions are canceled with their own cancel mode.',
    ),
    controlCommand(
      'suspend',
      'Suspend a job or a step: no new tasks start; running ones are stopped and run again on resume.',
    ),
    controlCommand('resume', 'Resume a suspended job or step.'),
    controlCommand('requeue', 'Run failed and canceled tasks of a job, step or task again.', [
      { name: 'include-succeeded', kind: 'boolean', description: 'also run succeeded tasks again' },
    ]),
    {
      name: 'delete',
      description: 'Delete a finished job with its tasks, logs and events (cancel an unfinished one first).',
      args: [jobArg],
      options: connection,
    },
    {
      name: 'priority',
      description: "Change a job's priority (0 to 100, higher runs first).",
      args: [jobArg, { name: 'priority', description: 'the new priority' }],
      options: connection,
    },
    {
      name: 'workers',
      description: "List the farm's workers with their state, tasks and host metrics.",
      runnable: true,
      options: connection,
      commands: [
        {
          name: 'drain',
          description: 'Ask a worker to finish its work and take no more.',
          args: [{ name: 'worker', description: 'the worker id' }],
          options: connection,
        },
        {
          name: 'undrain',
          description: 'Let a draining worker take work again.',
          args: [{ name: 'worker', description: 'the worker id' }],
          options: connection,
        },
      ],
    },
    {
      name: 'queues',
      description: "List the farm's queues.",
      runnable: true,
      options: connection,
      commands: [
        queueCommand('create', 'Create a queue.', 'an environment template entered before every job of the queue'),
        queueCommand(
          'configure',
          "Change a queue's settings (an empty value clears one).",
          'the environment templates entered before every job (replaces the list)',
        ),
      ],
    },
    {
      name: 'tokens',
      description: "List the farm's API tokens (admin).",
      runnable: true,
      options: connection,
      commands: [
        {
          name: 'create',
          description: 'Create a token and print it (only its hash is kept).',
          args: [{ name: 'name', description: 'who or what it is for' }],
          options: [
            {
              name: 'kind',
              kind: 'string',
              valueName: 'kind',
              description: 'admin, user (submit, read, steer jobs) or agent (register workers)',
              choices: ['admin', 'user', 'agent'],
              default: 'user',
            },
            ...connection,
          ],
        },
        {
          name: 'revoke',
          description: 'Revoke a token.',
          args: [{ name: 'id', description: 'the token id' }],
          options: connection,
        },
      ],
    },
    {
      name: 'schema',
      description: 'Print the JSON Schema of a template kind, for editors that validate as you type.',
      options: [
        {
          name: 'version',
          kind: 'string',
          valueName: 'version',
          description: 'which template kind',
          choices: ['jobtemplate-2023-09', 'environment-2023-09'],
          default: 'jobtemplate-2023-09',
        },
        output,
      ],
    },
  ],
};

type Options = ParsedCommand['options'];
const str = (options: Options, key: string) => options[key] as string | undefined;
const list = (options: Options, key: string) => (options[key] as string[] | undefined) ?? [];
const outputOf = (options: Options) => options.output as OutputFormat;
const conn = (options: Options) => ({
  server: str(options, 'server'),
  token: str(options, 'token'),
  dataDir: str(options, 'dataDir'),
  output: outputOf(options),
});
/** A daemon's flags by configuration key; unset flags are left out so the file and environment apply. */
function daemonFlags(options: Options, extra: readonly string[]): Record<string, string> {
  const flags: Record<string, string> = {};
  for (const key of ['dataDir', 'pidFile', 'logFile', 'logLevel', ...extra]) {
    const value = str(options, key);
    if (value !== undefined) flags[key] = value;
  }
  return flags;
}

/** Runs a parsed command; resolves to its exit status. */
export async function dispatch(command: ParsedCommand): Promise<number> {
  const { options, args } = command;
  switch (command.path.join(' ')) {
    case 'check': {
      const { runCheck } = await import('./commands/check.js');
      return runCheck({ template: args.template!, extensions: str(options, 'extensions'), output: outputOf(options) });
    }
    case 'summary': {
      const { runSummary } = await import('./commands/summary.js');
      return runSummary({
        template: args.template!,
        jobParams: list(options, 'jobParam'),
        step: str(options, 'step'),
        environments: list(options, 'env'),
        extensions: str(options, 'extensions'),
        output: outputOf(options),
      });
    }
    case 'run': {
      const { runRun } = await import('./commands/run.js');
      return runRun({
        template: args.template!,
        jobParams: list(options, 'jobParam'),
        environments: list(options, 'env'),
        extensions: str(options, 'extensions'),
        step: str(options, 'step'),
        taskParams: list(options, 'taskParam'),
        tasks: str(options, 'tasks'),
        maximumTasks: str(options, 'maximumTasks'),
        runDependencies: options.runDependencies === true,
        pathMappingRules: str(options, 'pathMappingRules'),
        preserve: options.preserve === true,
        verbose: options.verbose === true,
        timestampFormat: options.timestampFormat as 'relative' | 'local' | 'utc',
        output: outputOf(options),
      });
    }
    case 'server': {
      const { runServerCommand } = await import('./commands/server.js');
      return runServerCommand({ config: str(options, 'config'), flags: daemonFlags(options, ['db', 'listen']) });
    }
    case 'worker': {
      const { runWorker } = await import('./commands/worker.js');
      return runWorker({
        config: str(options, 'config'),
        flags: daemonFlags(options, ['server', 'token', 'tokenFile', 'name']),
      });
    }
    case 'up': {
      const { runUp } = await import('./commands/up.js');
      return runUp({
        dataDir: str(options, 'dataDir'),
        listen: str(options, 'listen'),
        workers: str(options, 'workers'),
        logLevel: str(options, 'logLevel'),
      });
    }
    case 'submit': {
      const { runSubmit } = await import('./commands/submit.js');
      return runSubmit({
        ...conn(options),
        template: args.template!,
        jobParams: list(options, 'jobParam'),
        environments: list(options, 'env'),
        extensions: str(options, 'extensions'),
        queue: str(options, 'queue'),
        priority: str(options, 'priority'),
        name: str(options, 'name'),
        maxRetries: str(options, 'maxRetries'),
        continueOnFailure: options.continueOnFailure === true,
        wait: options.wait === true,
      });
    }
    case 'jobs': {
      const { runJobs } = await import('./commands/job.js');
      return runJobs({
        ...conn(options),
        states: str(options, 'state'),
        queue: str(options, 'queue'),
        search: str(options, 'search'),
        limit: str(options, 'limit'),
      });
    }
    case 'job': {
      const { runJob } = await import('./commands/job.js');
      return runJob({ ...conn(options), jobId: args.job!, watch: options.watch === true });
    }
    case 'logs': {
      const { runLogs } = await import('./commands/logs.js');
      return runLogs({
        ...conn(options),
        jobId: args.job!,
        step: str(options, 'step'),
        task: str(options, 'task'),
        follow: options.follow === true,
      });
    }
    case 'cancel':
    case 'suspend':
    case 'resume':
    case 'requeue': {
      const { runControl } = await import('./commands/control.js');
      return runControl({
        ...conn(options),
        action: command.path[0] as 'cancel',
        jobId: args.job!,
        step: str(options, 'step'),
        task: str(options, 'task'),
        includeSucceeded: options.includeSucceeded === true,
      });
    }
    case 'delete': {
      const { runDelete } = await import('./commands/control.js');
      return runDelete({ ...conn(options), jobId: args.job! });
    }
    case 'priority': {
      const { runPriority } = await import('./commands/control.js');
      return runPriority({ ...conn(options), jobId: args.job!, priority: args.priority! });
    }
    case 'workers':
    case 'workers drain':
    case 'workers undrain': {
      const { runWorkers } = await import('./commands/admin.js');
      const action = command.path[1] as 'drain' | 'undrain' | undefined;
      return runWorkers({ ...conn(options), ...(action ? { action, workerId: args.worker! } : {}) });
    }
    case 'queues':
    case 'queues create':
    case 'queues configure': {
      const { runQueues } = await import('./commands/admin.js');
      const action = command.path[1] as 'create' | 'configure' | undefined;
      return runQueues({
        ...conn(options),
        ...(action ? { action, name: args.name! } : {}),
        description: str(options, 'description'),
        runAsUser: str(options, 'runAsUser'),
        environments: list(options, 'env'),
      });
    }
    case 'tokens':
    case 'tokens create':
    case 'tokens revoke': {
      const { runTokens } = await import('./commands/admin.js');
      const action = command.path[1] as 'create' | 'revoke' | undefined;
      return runTokens({
        ...conn(options),
        ...(action === 'create' ? { action, name: args.name!, kind: str(options, 'kind') ?? 'user' } : {}),
        ...(action === 'revoke' ? { action, tokenId: args.id! } : {}),
      });
    }
    case 'schema': {
      const { runSchema } = await import('./commands/schema.js');
      return runSchema({ version: options.version as 'jobtemplate-2023-09', output: outputOf(options) });
    }
    default:
      throw new Error(`no handler for '${command.path.join(' ')}'`);
  }
}
