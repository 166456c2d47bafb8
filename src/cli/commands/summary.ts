/**
 * @module `corral summary <template>`: what a template creates with the given parameter values — its parameters
 * with resolved values, steps with task counts, dependencies and environments. Like `openjd summary`.
 */
import type { Job, JobStep } from '../../model/create-job.js';
import { CorralError } from '../../model/errors.js';
import { IntRangeExpr } from '../../model/range-expr.js';
import { CliErrorCode } from '../files.js';
import { type LoadJobOptions, loadJob } from '../load-job.js';
import { ExitCode } from '../main.js';
import { type OutputFormat, printError, printStructured, stdout } from '../output.js';

export interface SummaryOptions extends LoadJobOptions {
  readonly step?: string;
  readonly output: OutputFormat;
}

export async function runSummary(options: SummaryOptions): Promise<number> {
  try {
    const { job, environmentTemplates } = loadJob(options);
    const externalFrom = (options.environments ?? []).map((file, i) => file ?? `environment template ${i + 1}`);
    if (options.step !== undefined) {
      const step = job.steps.find((s) => s.name === options.step);
      if (!step) {
        throw new CorralError(
          CliErrorCode.BadArgument,
          `The job has no step named '${options.step}'; its steps are ${job.steps.map((s) => `'${s.name}'`).join(', ')}.`,
        );
      }
      const result = stepSummary(step);
      if (options.output === 'human-readable') printStep(job, step, result);
      else
        printStructured(options.output, { status: 'success', message: `Summary for step '${step.name}'`, ...result });
      return ExitCode.Ok;
    }
    const result = jobSummary(job, externalFrom);
    if (options.output === 'human-readable') printJob(job, result);
    else printStructured(options.output, { status: 'success', message: `Summary for '${job.name}'`, ...result });
    void environmentTemplates;
    return ExitCode.Ok;
  } catch (error) {
    printError(options.output, error);
    return ExitCode.Failed;
  }
}

interface EnvironmentSummary {
  name: string;
  description?: string;
  parent: string;
}

function environmentsOf(job: Job, externalFrom: readonly string[]): EnvironmentSummary[] {
  const describe = (env: { name: string; description?: string }, parent: string): EnvironmentSummary => ({
    name: env.name,
    ...(env.description ? { description: env.description } : {}),
    parent,
  });
  return [
    ...job.externalEnvironments.map((env, i) => describe(env, `environment template '${externalFrom[i]}'`)),
    ...job.jobEnvironments.map((env) => describe(env, 'root')),
    ...job.steps.flatMap((step) => step.stepEnvironments.map((env) => describe(env, step.name))),
  ];
}

function stepSummary(step: JobStep) {
  const space = step.parameterSpace;
  const chunked = space.chunkParameter;
  return {
    name: step.name,
    ...(step.description ? { description: step.description } : {}),
    parameter_definitions: space.parameters.map((p) => ({
      name: p.name,
      type: p.type,
      range: p.values instanceof IntRangeExpr ? p.values.toString() : [...p.values].map(String),
      ...(p.chunks ? { chunks: p.chunks } : {}),
    })),
    ...(space.parameters.length > 1 ? { combination: space.combination } : {}),
    total_tasks: space.taskCount,
    ...(chunked ? { total_chunks: space.chunkCount() } : {}),
    environments: step.stepEnvironments.map((env) => ({
      name: env.name,
      ...(env.description ? { description: env.description } : {}),
    })),
    dependencies: step.dependsOn.map((name) => ({ step_name: name })),
    ...(step.hostRequirements ? { host_requirements: step.hostRequirements } : {}),
  };
}

function jobSummary(job: Job, externalFrom: readonly string[]) {
  const steps = job.steps.map(stepSummary);
  const environments = environmentsOf(job, externalFrom);
  return {
    name: job.name,
    ...(job.description ? { description: job.description } : {}),
    parameter_definitions: job.parameterDefinitions.map((def) => ({
      name: def.name,
      ...(def.description ? { description: def.description } : {}),
      type: def.type,
      value: job.parameters[def.name]?.value,
    })),
    total_steps: steps.length,
    total_tasks: steps.reduce((sum, s) => sum + s.total_tasks, 0),
    total_environments: environments.length,
    root_environments: environments.filter((e) => !job.steps.some((s) => s.name === e.parent)),
    steps,
  };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

function taskLine(step: ReturnType<typeof stepSummary>): string {
  const tasks = plural(step.total_tasks, 'task');
  return step.total_chunks === undefined ? tasks : `${tasks} in ${plural(step.total_chunks, 'chunk')}`;
}

function printJob(job: Job, summary: ReturnType<typeof jobSummary>): void {
  const out: string[] = [`--- Summary for '${job.name}' ---`, ''];
  if (job.description) out.push(job.description, '');
  if (summary.parameter_definitions.length > 0) {
    out.push('Parameters:');
    for (const p of summary.parameter_definitions) out.push(`  - ${p.name} (${p.type}): ${p.value}`);
    out.push('');
  }
  out.push(`Total steps: ${summary.total_steps}`, `Total tasks: ${summary.total_tasks.toLocaleString('en-US')}`);
  out.push(`Total environments: ${summary.total_environments}`, '', `--- Steps in '${job.name}' ---`, '');
  summary.steps.forEach((step, i) => {
    out.push(`${i + 1}. '${step.name}'`);
    const params = step.parameter_definitions;
    out.push(
      `    ${plural(params.length, 'task parameter')}${params.length > 0 ? ` (${params.map((p) => p.name).join(', ')})` : ''}`,
    );
    out.push(`    ${taskLine(step)}`);
    out.push(`    ${plural(step.environments.length, 'environment')}`);
    out.push(
      step.dependencies.length === 0
        ? '    no dependencies'
        : `    depends on ${step.dependencies.map((d) => `'${d.step_name}'`).join(', ')}`,
    );
  });
  if (summary.total_environments > 0) {
    out.push('', `--- Environments in '${job.name}' ---`, '');
    const environments = [
      ...summary.root_environments,
      ...summary.steps.flatMap((s) => s.environments.map((e) => ({ ...e, parent: s.name }))),
    ];
    for (const env of environments)
      out.push(
        `  - ${env.name} (from ${env.parent === 'root' ? "'root'" : env.parent.startsWith('environment template') ? env.parent : `'${env.parent}'`})`,
      );
  }
  stdout(`${out.join('\n')}\n`);
}

function printStep(job: Job, step: JobStep, summary: ReturnType<typeof stepSummary>): void {
  const out: string[] = [`--- Summary for step '${step.name}' of '${job.name}' ---`, ''];
  if (step.description) out.push(step.description, '');
  out.push(`Total tasks: ${taskLine(summary)}`);
  out.push(`Total task parameters: ${summary.parameter_definitions.length}`);
  out.push(`Total environments: ${summary.environments.length}`);
  out.push('', `Dependencies (${summary.dependencies.length}):`);
  for (const d of summary.dependencies) out.push(`  - '${d.step_name}'`);
  if (summary.parameter_definitions.length > 0) {
    out.push('', 'Task parameters:');
    for (const p of summary.parameter_definitions) {
      const range = Array.isArray(p.range) ? p.range.join(', ') : p.range;
      out.push(
        `  - ${p.name} (${p.type}): ${range}${p.chunks ? ` (chunks of ${p.chunks.defaultTaskCount}, ${p.chunks.rangeConstraint})` : ''}`,
      );
    }
  }
  if (summary.combination !== undefined) out.push(`  combination: ${summary.combination}`);
  if (summary.environments.length > 0) {
    out.push('', 'Environments:');
    for (const env of summary.environments) out.push(`  - ${env.name}`);
  }
  const host = step.hostRequirements;
  if (host && (host.amounts.length > 0 || host.attributes.length > 0)) {
    out.push('', 'Host requirements:');
    for (const a of host.amounts)
      out.push(`  - ${a.name}: ${a.min ?? 0}${a.max !== undefined ? ` to ${a.max}` : ' or more'}`);
    for (const a of host.attributes) {
      out.push(
        `  - ${a.name}: ${[a.anyOf ? `any of ${a.anyOf.join(', ')}` : '', a.allOf ? `all of ${a.allOf.join(', ')}` : ''].filter(Boolean).join('; ')}`,
      );
    }
  }
  stdout(`${out.join('\n')}\n`);
}
