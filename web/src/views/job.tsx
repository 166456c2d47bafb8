/**
 * @module One job: its state and actions, its steps in dependency order with progress, and tabs for its tasks (a
 * virtualised grid), its parameter values and its template as submitted.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import {
  type JobDetail,
  type JobSource,
  type StepSummary,
  TASK_STATES,
  type TaskState,
} from '../../../src/farm/client/index.js';
import { ActionButton, Loading, ProgressBar, StateBadge } from '../components.js';
import { age, count, dateTime, duration, isFinished, runTime } from '../format.js';
import { subscribe } from '../live.js';
import { messageOf, reportError } from '../notices.js';
import { navigate, search, setSearch } from '../router.js';
import { client } from '../session.js';
import { TaskTable } from './task-table.js';

/** Steps ordered so each comes after the steps it depends on (template order otherwise). */
function dependencyOrder(steps: readonly StepSummary[]): StepSummary[] {
  const placed = new Set<string>();
  const result: StepSummary[] = [];
  const remaining = [...steps];
  while (remaining.length > 0) {
    const i = remaining.findIndex((s) => s.dependsOn.every((d) => placed.has(d)));
    const [next] = remaining.splice(i === -1 ? 0 : i, 1);
    placed.add(next!.name);
    result.push(next!);
  }
  return result;
}

function StepActions({ job, step }: { job: JobDetail; step: StepSummary }) {
  const target = { jobId: job.id, step: step.name };
  const open = !isFinished(step.state);
  return (
    <span class="actions">
      {step.state === 'suspended' ? (
        <ActionButton
          label="Resume"
          run={async () => {
            await client.value.resume(target);
            return `Resumed ${step.name}.`;
          }}
        />
      ) : open ? (
        <ActionButton
          label="Suspend"
          run={async () => `Suspended ${(await client.value.suspend(target)).suspended} tasks of ${step.name}.`}
        />
      ) : null}
      {open ? (
        <ActionButton
          label="Cancel"
          danger
          confirm={`Cancel step ${step.name}?`}
          run={async () => `Canceled ${(await client.value.cancel(target)).canceled} tasks of ${step.name}.`}
        />
      ) : null}
      {step.counts.failed + step.counts.canceled > 0 ? (
        <ActionButton
          label="Requeue failed"
          run={async () => `Requeued ${(await client.value.requeue(target)).requeued} tasks of ${step.name}.`}
        />
      ) : null}
    </span>
  );
}

function JobActions({ job, reload }: { job: JobDetail; reload: () => void }) {
  const [priority, setPriority] = useState(String(job.priority));
  useEffect(() => setPriority(String(job.priority)), [job.priority]);
  const jobId = job.id;
  const finished = isFinished(job.state);
  const after = (message: string) => {
    reload();
    return message;
  };
  return (
    <div class="toolbar" role="toolbar" aria-label="Job actions">
      {job.state === 'suspended' ? (
        <ActionButton
          label="Resume"
          run={async () => {
            await client.value.resume({ jobId });
            return after('Resumed.');
          }}
        />
      ) : !finished ? (
        <ActionButton
          label="Suspend"
          run={async () => after(`Suspended ${(await client.value.suspend({ jobId })).suspended} tasks.`)}
        />
      ) : null}
      {!finished ? (
        <ActionButton
          label="Cancel job"
          danger
          confirm="Cancel this job?"
          run={async () => after(`Canceled ${(await client.value.cancel({ jobId })).canceled} tasks.`)}
        />
      ) : null}
      {job.counts.failed + job.counts.canceled > 0 ? (
        <ActionButton
          label="Requeue failed"
          run={async () => after(`Requeued ${(await client.value.requeue({ jobId })).requeued} tasks.`)}
        />
      ) : null}
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
        }}
      >
        <label for="job-priority">Priority</label>
        <input
          id="job-priority"
          type="number"
          min={0}
          max={100}
          value={priority}
          onInput={(e) => setPriority(e.currentTarget.value)}
        />
        <ActionButton
          label="Set"
          disabled={priority === String(job.priority)}
          run={async () => {
            await client.value.setPriority({ jobId, priority: Number(priority) });
            return after(`Priority ${priority}.`);
          }}
        />
      </form>
      {finished ? (
        <ActionButton
          label="Delete"
          danger
          confirm="Delete this job, its logs and history?"
          run={async () => {
            await client.value.deleteJob({ jobId });
            navigate('/jobs');
            return `Deleted job ${jobId}.`;
          }}
        />
      ) : null}
    </div>
  );
}

function Parameters({ job }: { job: JobDetail }) {
  const entries = Object.entries(job.parameters);
  if (entries.length === 0) return <p class="empty">This job has no parameters.</p>;
  return (
    <table class="kv">
      <tbody>
        {entries.map(([name, v]) => (
          <tr key={name}>
            <th scope="row">{name}</th>
            <td class="muted small">{v.type}</td>
            <td>
              <code>{typeof v.value === 'string' ? v.value : JSON.stringify(v.value)}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Template({ jobId }: { jobId: number }) {
  const [source, setSource] = useState<JobSource>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    client.value.getJobSource({ jobId }).then(setSource, (e) => setError(messageOf(e)));
  }, [jobId]);
  if (error) return <p class="error">{error}</p>;
  if (!source) return <Loading what="the template" />;
  return (
    <div class="sources">
      <h3>Job template</h3>
      <pre class="code">{source.template}</pre>
      {source.environmentTemplates.map((env) => (
        <div key={env.name}>
          <h3>Environment {env.name}</h3>
          <pre class="code">{env.text}</pre>
        </div>
      ))}
    </div>
  );
}

export function JobView({ jobId, tab }: { jobId: number; tab: 'tasks' | 'parameters' | 'template' }) {
  const [job, setJob] = useState<JobDetail>();
  const [missing, setMissing] = useState<string>();
  const params = search.value;
  const step = params.get('step') ?? undefined;
  const states = (params.get('state') ?? '')
    .split(',')
    .filter((s): s is TaskState => TASK_STATES.includes(s as TaskState));

  const reload = useCallback(() => {
    client.value.getJob({ jobId }).then(setJob, (error) => {
      if (error?.code === 'CORRAL_E_NOT_FOUND') setMissing(messageOf(error));
      else reportError(error, 'Loading the job');
    });
  }, [jobId]);
  useEffect(reload, [reload]);
  useEffect(
    () =>
      subscribe((c) => (c.kind === 'job' || c.kind === 'tasks') && (c.jobId === jobId || c.jobId === -1), reload, 300),
    [jobId, reload],
  );

  if (missing) {
    return (
      <section>
        <h1>Job {jobId}</h1>
        <p class="error">{missing}</p>
        <a href="/jobs">Back to the jobs</a>
      </section>
    );
  }
  if (!job) return <Loading what={`job ${jobId}`} />;
  const ran = runTime(job);
  const toggleState = (state: TaskState) => {
    const next = states.includes(state) ? states.filter((s) => s !== state) : [...states, state];
    setSearch({ state: next.join(',') });
  };
  const tabLink = (name: typeof tab, label: string) => (
    <a
      aria-current={tab === name ? 'page' : undefined}
      href={`/jobs/${jobId}${name === 'tasks' ? '' : `/${name}`}${name === 'tasks' ? location.search : ''}`}
    >
      {label}
    </a>
  );

  return (
    <section aria-labelledby="job-title">
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href="/jobs">Jobs</a> / <span>#{job.id}</span>
      </nav>
      <div class="page-head">
        <h1 id="job-title">{job.name}</h1>
        <StateBadge state={job.state} />
      </div>
      {job.description ? <p class="description">{job.description}</p> : null}
      <dl class="facts">
        <div>
          <dt>Progress</dt>
          <dd>
            {count(job.counts.succeeded)} / {count(job.counts.total)} succeeded
            {job.counts.failed ? `, ${count(job.counts.failed)} failed` : ''}
          </dd>
        </div>
        <div>
          <dt>Queue</dt>
          <dd>{job.queue}</dd>
        </div>
        <div>
          <dt>Submitted</dt>
          <dd title={dateTime(job.createdAt)}>
            {age(job.createdAt)} by {job.submitter}
          </dd>
        </div>
        <div>
          <dt>Run time</dt>
          <dd>{duration(ran) || 'not started'}</dd>
        </div>
        <div>
          <dt>Retries</dt>
          <dd>
            {job.maxRetriesPerTask} per task{job.continueOnFailure ? ', continues on failure' : ''}
          </dd>
        </div>
      </dl>
      <ProgressBar counts={job.counts} />
      <JobActions job={job} reload={reload} />

      <h2>Steps</h2>
      <table class="steps">
        <thead>
          <tr>
            <th>Step</th>
            <th>State</th>
            <th class="wide">Progress</th>
            <th class="opt">After</th>
            <th>
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {dependencyOrder(job.steps).map((s) => (
            <tr key={s.id} class={step === s.name ? 'selected' : undefined}>
              <td>
                <a
                  href={`/jobs/${jobId}?step=${encodeURIComponent(s.name)}`}
                  aria-current={step === s.name ? 'true' : undefined}
                  title="Show this step's tasks"
                >
                  {s.name}
                </a>
              </td>
              <td>
                <StateBadge state={s.state} />
              </td>
              <td class="wide">
                <ProgressBar counts={s.counts} />
                <span class="muted small">
                  {count(s.counts.succeeded)} / {count(s.counts.total)}
                </span>
              </td>
              <td class="opt muted">{s.dependsOn.join(', ')}</td>
              <td>
                <StepActions job={job} step={s} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      {/* Each view has its own address (links, not a tab widget): they can be bookmarked and opened in new tabs. */}
      <nav class="tabs" aria-label="Job details">
        {tabLink('tasks', 'Tasks')}
        {tabLink('parameters', 'Parameters')}
        {tabLink('template', 'Template')}
      </nav>
      {tab === 'tasks' ? (
        <section aria-label="Tasks">
          <div class="filters">
            <label>
              <span class="visually-hidden">Step</span>
              <select value={step ?? ''} onChange={(e) => setSearch({ step: e.currentTarget.value })}>
                <option value="">All steps</option>
                {job.steps.map((s) => (
                  <option key={s.id} value={s.name}>
                    {s.name}
                  </option>
                ))}
              </select>
            </label>
            <fieldset class="chips">
              <legend class="visually-hidden">Task state</legend>
              {TASK_STATES.map((state) => (
                <label key={state} class={`chip ${states.includes(state) ? 'on' : ''}`}>
                  <input type="checkbox" checked={states.includes(state)} onChange={() => toggleState(state)} />
                  {state}
                </label>
              ))}
            </fieldset>
          </div>
          <TaskTable jobId={jobId} step={step} states={states} showStep={job.steps.length > 1} />
        </section>
      ) : tab === 'parameters' ? (
        <section aria-label="Parameters">
          <Parameters job={job} />
        </section>
      ) : (
        <section aria-label="Template">
          <Template jobId={jobId} />
        </section>
      )}
    </section>
  );
}
