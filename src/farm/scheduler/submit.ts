/**
 * @module Submitting a job: the template is decoded and the job created by the model (so a bad template or value is
 * refused with the model's located errors), then the job, its steps and every task of its parameter space are
 * stored in one transaction. A chunked step stores one task per chunk.
 */
import { createHash } from 'node:crypto';
import { createJob, type Job } from '../../model/create-job.js';
import { decodeEnvironmentTemplate, decodeJobTemplate } from '../../model/decode.js';
import { CorralError } from '../../model/errors.js';
import type { EnvironmentTemplate } from '../../model/types.js';
import type { SubmitJobRequest } from '../api/types.js';
import { badRequest, FarmErrorCode, notFound } from '../errors.js';
import type { NewTask } from '../store/schema.js';
import { type Actor, type Db, recordEvent } from './transitions.js';

export interface SubmitLimits {
  /** Most tasks (chunks) one job may have. */
  readonly maxTasksPerJob: number;
}

/** Rows per INSERT: well under SQLite's variable limit, large enough that 100,000 tasks take ~200 statements. */
const TASK_BATCH = 400;

/** The key of a step's environments: steps with equal keys run in one session's step environments. */
export function environmentKey(job: Job, stepIndex: number): string {
  const step = job.steps[stepIndex]!;
  return createHash('sha256').update(JSON.stringify(step.stepEnvironments)).digest('hex').slice(0, 16);
}

/**
 * Creates and stores a job.
 * @throws {TemplateError | ParameterError | JobCreationError} from the model, with located issues.
 * @throws {CorralError} `CORRAL_E_NOT_FOUND` for an unknown queue; `CORRAL_E_BAD_REQUEST` for out-of-range options;
 *   `CORRAL_E_TOO_LARGE` for a job with more tasks than the farm accepts.
 */
export async function submitJob(
  db: Db,
  request: SubmitJobRequest,
  options: { submitter: Actor; now: number; limits: SubmitLimits },
): Promise<{ jobId: number; taskCount: number }> {
  const priority = request.priority ?? 50;
  if (!Number.isInteger(priority) || priority < 0 || priority > 100)
    throw badRequest(`priority must be a whole number from 0 to 100, got ${request.priority}`);
  const retries = request.maxRetriesPerTask ?? 2;
  if (!Number.isInteger(retries) || retries < 0 || retries > 100)
    throw badRequest(`maxRetriesPerTask must be 0–100, got ${request.maxRetriesPerTask}`);
  const workerFailures = request.maxWorkerFailures ?? 3;
  if (!Number.isInteger(workerFailures) || workerFailures < 1)
    throw badRequest(`maxWorkerFailures must be at least 1, got ${request.maxWorkerFailures}`);

  const queueName = request.queue ?? 'default';
  const queue = await db.selectFrom('queues').selectAll().where('name', '=', queueName).executeTakeFirst();
  if (!queue) throw notFound(`The queue '${queueName}'`);

  const template = decodeJobTemplate({
    text: request.template,
    source: 'template',
    ...(request.templateFormat ? { format: request.templateFormat } : {}),
  });
  const queueEnvironments = JSON.parse(queue.environments) as { name: string; text: string }[];
  const allEnvironments = [...queueEnvironments, ...(request.environmentTemplates ?? [])];
  const environmentTemplates: EnvironmentTemplate[] = allEnvironments.map((env) =>
    decodeEnvironmentTemplate({ text: env.text, source: env.name }),
  );
  const job = createJob({
    template,
    environmentTemplates,
    environmentTemplateNames: allEnvironments.map((e) => e.name),
    parameterValues: request.parameters ?? {},
    templateDirectory: request.templateDirectory ?? '/',
    currentWorkingDirectory: request.currentWorkingDirectory ?? '/',
  });

  const stepTasks = job.steps.map((step) =>
    step.parameterSpace.chunkParameter ? step.parameterSpace.chunkCount() : step.parameterSpace.taskCount,
  );
  const total = stepTasks.reduce((a, b) => a + b, 0);
  if (total > options.limits.maxTasksPerJob) {
    throw new CorralError(
      FarmErrorCode.TooLarge,
      `The job has ${total.toLocaleString('en-US')} tasks; this farm accepts at most ${options.limits.maxTasksPerJob.toLocaleString('en-US')} per job.`,
    );
  }
  const { now } = options;
  const stepIndex = new Map(job.steps.map((s, i) => [s.name, i]));
  const initialState = job.steps.map((s) => (s.dependsOn.length === 0 ? 'ready' : 'pending'));
  const ready = job.steps.reduce((n, _s, i) => n + (initialState[i] === 'ready' ? stepTasks[i]! : 0), 0);

  const inserted = await db
    .insertInto('jobs')
    .values({
      queue_id: queue.id,
      name: request.name ?? job.name,
      description: job.description ?? null,
      priority,
      submitter: options.submitter,
      state: 'queued',
      template: request.template,
      template_format: request.templateFormat ?? (/^\s*\{/.test(request.template) ? 'json' : 'yaml'),
      environment_templates: JSON.stringify(request.environmentTemplates ?? []),
      parameter_values: JSON.stringify(request.parameters ?? {}),
      parameters: JSON.stringify(job.parameters),
      submission_context: JSON.stringify({
        templateDirectory: request.templateDirectory ?? null,
        currentWorkingDirectory: request.currentWorkingDirectory ?? null,
      }),
      max_retries_per_task: retries,
      max_worker_failures: workerFailures,
      continue_on_failure: request.continueOnFailure ? 1 : 0,
      task_count: total,
      pending_count: total - ready,
      ready_count: ready,
      assigned_count: 0,
      running_count: 0,
      succeeded_count: 0,
      failed_count: 0,
      canceled_count: 0,
      created_at: now,
      updated_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const jobId = inserted.id;

  for (const [i, step] of job.steps.entries()) {
    const count = stepTasks[i]!;
    const state = initialState[i]!;
    const stepRow = await db
      .insertInto('steps')
      .values({
        job_id: jobId,
        idx: i,
        name: step.name,
        state,
        depends_on: JSON.stringify(step.dependsOn.map((name) => stepIndex.get(name)!)),
        host_requirements: step.hostRequirements ? JSON.stringify(step.hostRequirements) : null,
        env_key: environmentKey(job, i),
        suspended: 0,
        task_count: count,
        pending_count: state === 'pending' ? count : 0,
        ready_count: state === 'ready' ? count : 0,
        assigned_count: 0,
        running_count: 0,
        succeeded_count: 0,
        failed_count: 0,
        canceled_count: 0,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const space = step.parameterSpace;
    const constrained = step.hostRequirements ? 1 : 0;
    let batch: NewTask[] = [];
    let idx = 0;
    for (const parameters of space.chunkParameter ? space.chunks() : space.tasks()) {
      batch.push({
        job_id: jobId,
        step_id: stepRow.id,
        idx: idx++,
        parameters: JSON.stringify(parameters),
        state,
        priority,
        ready_at: now,
        updated_at: now,
        constrained,
      });
      if (batch.length === TASK_BATCH) {
        await db.insertInto('tasks').values(batch).execute();
        batch = [];
      }
    }
    if (batch.length > 0) await db.insertInto('tasks').values(batch).execute();
  }
  await recordEvent(db, {
    kind: 'job',
    subjectId: jobId,
    jobId,
    from: null,
    to: 'queued',
    actor: options.submitter,
    reason: 'submitted',
    now,
  });
  return { jobId, taskCount: total };
}
