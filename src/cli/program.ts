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
    case 'schema': {
      const { runSchema } = await import('./commands/schema.js');
      return runSchema({ version: options.version as 'jobtemplate-2023-09', output: outputOf(options) });
    }
    default:
      throw new Error(`no handler for '${command.path.join(' ')}'`);
  }
}
