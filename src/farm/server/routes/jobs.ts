/**
 * @module Job routes: submit, read (jobs, tasks, logs, the submitted template), steer (cancel, suspend, resume,
 * requeue, priority) and delete.
 */
import type { JobTarget, SubmitJobRequest } from '../../api/types.js';
import { route } from '../context.js';
import { checkTemplates } from '../limits.js';
import * as S from '../schemas.js';

const tag = 'jobs';
type JobParams = { jobId: number };
const list = (value: string | undefined) => (value ? value.split(',') : undefined);

const control = (action: 'cancel' | 'suspend' | 'resume', summary: string, reply: S.JsonSchema) =>
  route<JobParams, Record<string, never>, JobTarget>({
    method: 'POST',
    url: `/api/v1/jobs/:jobId/${action}`,
    access: 'user',
    name: action,
    summary,
    tag,
    schema: { params: S.JobParams, body: S.JobTarget, response: { 200: reply } },
    handler: async ({ ctx, params, body, identity }) =>
      (await ctx.farm[action](params.jobId, body, identity.actor)) ?? {},
  });

const counted = (field: string) => S.objectOf({ [field]: { type: 'integer', minimum: 0 } }, [field]);

export const jobRoutes = [
  route<Record<string, never>, Record<string, never>, SubmitJobRequest>({
    method: 'POST',
    url: '/api/v1/jobs',
    access: 'user',
    name: 'submitJob',
    summary: 'Submit a job: a template, its parameter values and options.',
    tag,
    takesTemplates: true,
    schema: { body: S.SubmitJobRequest, response: { 201: S.SubmitJobReply } },
    handler: async ({ ctx, body, identity, reply }) => {
      checkTemplates(ctx.settings, [
        { what: 'job template', text: body.template },
        ...(body.environmentTemplates ?? []).map((env) => ({
          what: `environment template '${env.name}'`,
          text: env.text,
        })),
      ]);
      const result = await ctx.farm.submitJob(body, identity.actor);
      reply.code(201);
      return result;
    },
  }),
  route<Record<string, never>, { state?: string; queue?: string; search?: string; limit?: number; before?: number }>({
    method: 'GET',
    url: '/api/v1/jobs',
    access: 'user',
    name: 'listJobs',
    summary: 'Jobs, newest first; filter by state (comma-separated), queue or a name/id search; page with before.',
    tag,
    schema: { querystring: S.JobListQuery, response: { 200: S.objectOf({ jobs: S.listOf(S.JobSummary) }, ['jobs']) } },
    handler: async ({ ctx, query }) => {
      const { state, ...rest } = query;
      const states = list(state);
      return { jobs: await ctx.farm.listJobs({ ...rest, ...(states ? { states } : {}) }) };
    },
  }),
  route<JobParams>({
    method: 'GET',
    url: '/api/v1/jobs/:jobId',
    access: 'user',
    name: 'getJob',
    summary: 'A job with its steps and task counts.',
    tag,
    schema: { params: S.JobParams, response: { 200: S.JobDetail } },
    handler: ({ ctx, params }) => ctx.farm.getJob(params.jobId),
  }),
  route<JobParams>({
    method: 'GET',
    url: '/api/v1/jobs/:jobId/template',
    access: 'user',
    name: 'getJobSource',
    summary: 'The job as submitted: template, environment templates, parameter values.',
    tag,
    schema: { params: S.JobParams, response: { 200: S.JobSource } },
    handler: ({ ctx, params }) => ctx.farm.getJobSource(params.jobId),
  }),
  route<JobParams, { step?: string; state?: string; offset?: number; limit?: number }>({
    method: 'GET',
    url: '/api/v1/jobs/:jobId/tasks',
    access: 'user',
    name: 'listTasks',
    summary: "A job's tasks in step and index order, by position (offset, limit); total counts the matches.",
    tag,
    schema: {
      params: S.JobParams,
      querystring: S.TaskListQuery,
      response: { 200: S.objectOf({ tasks: S.listOf(S.Task), total: { type: 'integer' } }, ['tasks', 'total']) },
    },
    handler: ({ ctx, params, query }) => {
      const { state, ...rest } = query;
      const states = list(state);
      return ctx.farm.listTasks(params.jobId, { ...rest, ...(states ? { states } : {}) });
    },
  }),
  route<JobParams & { taskId: number }>({
    method: 'GET',
    url: '/api/v1/jobs/:jobId/tasks/:taskId',
    access: 'user',
    name: 'getTask',
    summary: 'One task.',
    tag,
    schema: { params: S.TaskParams, response: { 200: S.Task } },
    handler: ({ ctx, params }) => ctx.farm.getTask(params.jobId, params.taskId),
  }),
  route<JobParams, { step?: string; taskId?: number; after?: number; limit?: number }>({
    method: 'GET',
    url: '/api/v1/jobs/:jobId/logs',
    access: 'user',
    name: 'readLogs',
    summary: "Log chunks of a job, a step or a task, oldest first; pass the last chunk's cursor as after to read on.",
    tag,
    schema: { params: S.JobParams, querystring: S.LogQuery, response: { 200: S.listOf(S.LogChunk) } },
    handler: ({ ctx, params, query }) => ctx.farm.readLogs(params.jobId, query),
  }),
  route<JobParams>({
    method: 'DELETE',
    url: '/api/v1/jobs/:jobId',
    access: 'user',
    name: 'deleteJob',
    summary: 'Delete a finished job with its tasks, logs and events (an unfinished one must be canceled first).',
    tag,
    schema: { params: S.JobParams, response: { 200: S.Empty } },
    handler: async ({ ctx, params, identity }) => {
      await ctx.farm.deleteJob(params.jobId, identity.actor);
      return {};
    },
  }),
  control('cancel', 'Cancel unfinished work: the job, a step or a task.', counted('canceled')),
  control(
    'suspend',
    'Suspend the job or a step: its tasks wait; running ones stop and run again on resume.',
    counted('suspended'),
  ),
  control('resume', 'Resume a suspended job or step.', S.Empty),
  route<JobParams, Record<string, never>, JobTarget & { includeSucceeded?: boolean }>({
    method: 'POST',
    url: '/api/v1/jobs/:jobId/requeue',
    access: 'user',
    name: 'requeue',
    summary: 'Run failed and canceled work again (succeeded too with includeSucceeded, or for one task).',
    tag,
    schema: { params: S.JobParams, body: S.RequeueTarget, response: { 200: counted('requeued') } },
    handler: ({ ctx, params, body, identity }) => ctx.farm.requeue(params.jobId, body, identity.actor),
  }),
  route<JobParams, Record<string, never>, { priority: number }>({
    method: 'PUT',
    url: '/api/v1/jobs/:jobId/priority',
    access: 'user',
    name: 'setPriority',
    summary: "Change a job's priority (0–100, higher first).",
    tag,
    schema: { params: S.JobParams, body: S.PriorityRequest, response: { 200: S.Empty } },
    handler: async ({ ctx, params, body, identity }) => {
      await ctx.farm.setPriority(params.jobId, body.priority, identity.actor);
      return {};
    },
  }),
];
