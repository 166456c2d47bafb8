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
