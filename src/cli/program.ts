/**
 * @module The command tree of `corral`. Each action imports its command module when it runs.
 */
import { Command, Option } from 'commander';
import { corralVersion } from './main.js';

const collect = (value: string, previous: string[]) => [...previous, value];

const outputOption = () =>
  new Option('--output <format>', 'how to print the result')
    .choices(['human-readable', 'json', 'yaml'])
    .default('human-readable');

const extensionsOption = () =>
  new Option(
    '--extensions <names>',
    'comma-separated extensions to allow (default: all Corral supports: TASK_CHUNKING, REDACTED_ENV_VARS, FEATURE_BUNDLE_1)',
  );

export function buildProgram(options: { setExitCode: (code: number) => void }): Command {
  const program = new Command('corral')
    .description('Corral: an Open Job Description job farm. Describe jobs, run them here, or across many machines.')
    .version(corralVersion(), '-V, --version')
    // Program options only before the command, so `corral schema --version V` reaches the command.
    .enablePositionalOptions()
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('check')
    .description('check that a job template or environment template is valid')
    .argument('<template>', 'template file (YAML or JSON)')
    .addOption(extensionsOption())
    .addOption(outputOption())
    .action(async (template: string, opts) => {
      const { runCheck } = await import('./commands/check.js');
      options.setExitCode(await runCheck({ template, extensions: opts.extensions, output: opts.output }));
    });

  program
    .command('summary')
    .description('show what a job template creates: parameters, steps, tasks, environments')
    .argument('<template>', 'job template file (YAML or JSON)')
    .option(
      '-p, --job-param <value>',
      'a job parameter: NAME=VALUE, file://values.yaml|json, or a JSON object; repeatable, later ones win',
      collect,
      [],
    )
    .option('--step <name>', 'summarise only this step')
    .option('--env <file>', 'an environment template to apply (repeatable; also --environment)', collect, [])
    .addOption(extensionsOption())
    .addOption(outputOption())
    .action(async (template: string, opts) => {
      const { runSummary } = await import('./commands/summary.js');
      options.setExitCode(
        await runSummary({
          template,
          jobParams: opts.jobParam,
          step: opts.step,
          environments: opts.env,
          extensions: opts.extensions,
          output: opts.output,
        }),
      );
    });

  program
    .command('run')
    .description("run a job here, in one session: environments, then each step's tasks, then environment exits")
    .argument('<template>', 'job template file (YAML or JSON)')
    .option('--step <name>', 'run only this step (default: every step, in dependency order)')
    .option(
      '-p, --job-param <value>',
      'a job parameter: NAME=VALUE, file://values.yaml|json, or a JSON object; repeatable',
      collect,
      [],
    )
    .option(
      '-t, --task-param <name=value>',
      'run only the task with these values (repeat for each task parameter; also -tp)',
      collect,
      [],
    )
    .option('--tasks <list>', 'run these tasks: a JSON list of {name: value} maps, or file://tasks.json|yaml')
    .option('--maximum-tasks <n>', 'run at most this many tasks (or chunks) per step')
    .option('--run-dependencies', 'with --step, first run the steps it depends on', false)
    .option('--no-run-dependencies', 'with --step, run only that step (the default)')
    .option('--path-mapping-rules <rules>', 'path mapping rules: a pathmapping-1.0 JSON document, or file://rules.json')
    .option('--env <file>', 'an environment template to enter first (repeatable; also --environment)', collect, [])
    .option('--preserve', "keep the session's working directory", false)
    .option('--verbose', 'also show full command lines and other details', false)
    .addOption(
      new Option('--timestamp-format <format>', 'how log lines are stamped')
        .choices(['relative', 'local', 'utc'])
        .default('relative'),
    )
    .addOption(extensionsOption())
    .addOption(outputOption())
    .action(async (template: string, opts) => {
      const { runRun } = await import('./commands/run.js');
      options.setExitCode(
        await runRun({
          template,
          jobParams: opts.jobParam,
          environments: opts.env,
          extensions: opts.extensions,
          step: opts.step,
          taskParams: opts.taskParam,
          tasks: opts.tasks,
          maximumTasks: opts.maximumTasks,
          runDependencies: opts.runDependencies,
          pathMappingRules: opts.pathMappingRules,
          preserve: opts.preserve,
          verbose: opts.verbose,
          timestampFormat: opts.timestampFormat,
          output: opts.output,
        }),
      );
    });

  program
    .command('schema')
    .description('print the JSON Schema of a template kind, for editors that validate as you type')
    .addOption(
      new Option('--version <version>', 'which template kind')
        .choices(['jobtemplate-2023-09', 'environment-2023-09'])
        .default('jobtemplate-2023-09'),
    )
    .addOption(outputOption())
    .action(async (opts) => {
      const { runSchema } = await import('./commands/schema.js');
      options.setExitCode(await runSchema({ version: opts.version, output: opts.output }));
    });

  return program;
}
