/**
 * @module The jobs list: live, filtered by state, queue and a search on name or id (all kept in the address), with
 * actions on the selected jobs. A change to a listed job refetches that job alone; only a job the list does not
 * show yet (a new submission) refetches the list.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { JOB_STATES, type JobState, type JobSummary, type Queue } from '../../../src/farm/client/index.js';
import { ActionButton, Empty, Loading, ProgressBar, StateBadge } from '../components.js';
import { age, count, isFinished } from '../format.js';
import { subscribe } from '../live.js';
import { reportError } from '../notices.js';
import { search, setSearch } from '../router.js';
import { client } from '../session.js';

const PAGE = 100;

type Action = 'cancel' | 'suspend' | 'resume' | 'requeue';

export function JobsView() {
  const params = search.value;
  const states = (params.get('state') ?? '')
    .split(',')
    .filter((s): s is JobState => JOB_STATES.includes(s as JobState));
  const queue = params.get('queue') ?? '';
  const text = params.get('q') ?? '';
  const [jobs, setJobs] = useState<JobSummary[]>();
  const [more, setMore] = useState(false);
  const [queues, setQueues] = useState<Queue[]>([]);
  const [selected, setSelected] = useState<ReadonlySet<number>>(new Set());
  const [priority, setPriority] = useState('50');
  const [searchText, setSearchText] = useState(text);
  const shown = useRef<JobSummary[] | undefined>(undefined);
  shown.current = jobs;

  const filter = useMemo(
    () => ({
      ...(states.length > 0 ? { states } : {}),
      ...(queue ? { queue } : {}),
      ...(text ? { search: text } : {}),
    }),
    [states.join(','), queue, text],
  );

  const reload = useCallback(async () => {
    try {
      // Keep as many rows as are shown (after "Show more"), so a refresh does not shrink the list.
      const limit = Math.max(PAGE, shown.current?.length ?? 0);
      const { jobs: list } = await client.value.listJobs({ ...filter, limit: limit + 1 });
      setMore(list.length > limit);
      setJobs(list.slice(0, limit));
    } catch (error) {
      reportError(error, 'Loading jobs');
    }
  }, [filter]);

  useEffect(() => {
    setJobs(undefined);
    setSelected(new Set());
    void reload();
  }, [reload]);

  useEffect(() => {
    client.value.listQueues().then(
      (r) => setQueues(r.queues),
      () => {},
    );
  }, []);

  // Live: refetch the jobs that changed, or the list when a job it does not show changed.
  useEffect(() => {
    const changed = new Set<number>();
    const flush = async () => {
      const ids = [...changed];
      changed.clear();
      const current = shown.current ?? [];
      if (ids.some((id) => id === -1 || !current.some((j) => j.id === id))) return reload();
      const fresh = await Promise.all(ids.map((id) => client.value.getJob({ jobId: id }).catch(() => undefined)));
      setJobs((list) =>
        list?.map((job) => {
          const next = fresh.find((f) => f?.id === job.id);
          if (!next) return job;
          const { steps: _steps, parameters: _p, description: _d, ...summary } = next;
          return summary;
        }),
      );
    };
    return subscribe(
      (change) => {
        if (change.kind !== 'job' && change.kind !== 'tasks') return false;
        changed.add(change.jobId);
        return true;
      },
      () => void flush(),
      300,
    );
  }, [reload]);

  const showMore = async () => {
    const last = jobs?.[jobs.length - 1];
    if (!last) return;
    try {
      const { jobs: next } = await client.value.listJobs({ ...filter, before: last.id, limit: PAGE + 1 });
      setMore(next.length > PAGE);
      setJobs([...(jobs ?? []), ...next.slice(0, PAGE)]);
    } catch (error) {
      reportError(error, 'Loading jobs');
    }
  };

  const toggleState = (state: JobState) => {
    const next = states.includes(state) ? states.filter((s) => s !== state) : [...states, state];
    setSearch({ state: next.join(',') });
  };

  const ids = [...selected].filter((id) => jobs?.some((j) => j.id === id));
  const act = (action: Action) => async () => {
    const results = await Promise.allSettled(
      ids.map((jobId) => (action === 'requeue' ? client.value.requeue({ jobId }) : client.value[action]({ jobId }))),
    );
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length > 0) throw (failed[0] as PromiseRejectedResult).reason;
    void reload();
    const verb = { cancel: 'Canceled', suspend: 'Suspended', resume: 'Resumed', requeue: 'Requeued failed tasks of' };
    return `${verb[action]} ${ids.length} job${ids.length === 1 ? '' : 's'}.`;
  };
  const setPriorities = async () => {
    const value = Number(priority);
    await Promise.all(ids.map((jobId) => client.value.setPriority({ jobId, priority: value })));
    void reload();
    return `Priority ${value} for ${ids.length} job${ids.length === 1 ? '' : 's'}.`;
  };
  const allSelected = jobs !== undefined && jobs.length > 0 && ids.length === jobs.length;
  const toggleAll = () => setSelected(allSelected ? new Set() : new Set(jobs?.map((j) => j.id)));
  const toggle = (id: number) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };

  return (
    <section aria-labelledby="jobs-title">
      <div class="page-head">
        <h1 id="jobs-title">Jobs</h1>
        <a class="button primary" href="/submit">
          Submit a job
        </a>
      </div>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setSearch({ q: searchText.trim() });
        }}
      >
        <fieldset class="chips">
          <legend class="visually-hidden">State</legend>
          {JOB_STATES.map((state) => (
            <label key={state} class={`chip ${states.includes(state) ? 'on' : ''}`}>
              <input type="checkbox" checked={states.includes(state)} onChange={() => toggleState(state)} />
              {state}
            </label>
          ))}
        </fieldset>
        <label>
          <span class="visually-hidden">Queue</span>
          <select value={queue} onChange={(e) => setSearch({ queue: e.currentTarget.value })}>
            <option value="">All queues</option>
            {queues.map((q) => (
              <option key={q.name} value={q.name}>
                {q.name}
              </option>
            ))}
          </select>
        </label>
        <label class="search">
          <span class="visually-hidden">Search jobs</span>
          <input
            type="search"
            placeholder="Search name or id"
            value={searchText}
            onInput={(e) => setSearchText(e.currentTarget.value)}
            onSearch={(e) => setSearch({ q: e.currentTarget.value.trim() })}
          />
        </label>
      </form>
      {ids.length > 0 ? (
        <div class="toolbar" role="toolbar" aria-label="Actions on the selected jobs">
          <span>{ids.length} selected</span>
          <ActionButton label="Cancel" danger confirm={`Cancel ${ids.length} job(s)?`} run={act('cancel')} />
          <ActionButton label="Suspend" run={act('suspend')} />
          <ActionButton label="Resume" run={act('resume')} />
          <ActionButton label="Requeue failed" run={act('requeue')} />
          <span class="inline">
            <label for="bulk-priority">Priority</label>
            <input
              id="bulk-priority"
              type="number"
              min={0}
              max={100}
              value={priority}
              onInput={(e) => setPriority(e.currentTarget.value)}
            />
            <ActionButton label="Set" run={setPriorities} />
          </span>
        </div>
      ) : null}
      {jobs === undefined ? (
        <Loading what="jobs" />
      ) : jobs.length === 0 ? (
        <Empty>
          {states.length || queue || text ? 'No jobs match.' : 'No jobs yet.'} <a href="/submit">Submit one</a>.
        </Empty>
      ) : (
        <table class="jobs">
          <thead>
            <tr>
              <th class="select">
                <input type="checkbox" aria-label="Select all" checked={allSelected} onChange={toggleAll} />
              </th>
              <th>Job</th>
              <th>State</th>
              <th class="wide">Progress</th>
              <th class="num">Priority</th>
              <th class="opt">Queue</th>
              <th class="opt">Submitter</th>
              <th class="opt">Submitted</th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((job) => {
              const done = job.counts.succeeded + job.counts.failed + job.counts.canceled;
              return (
                <tr key={job.id} class={selected.has(job.id) ? 'selected' : undefined}>
                  <td class="select">
                    <input
                      type="checkbox"
                      aria-label={`Select ${job.name}`}
                      checked={selected.has(job.id)}
                      onChange={() => toggle(job.id)}
                    />
                  </td>
                  <td>
                    <a href={`/jobs/${job.id}`}>{job.name}</a>
                    <span class="muted"> #{job.id}</span>
                  </td>
                  <td>
                    <StateBadge state={job.state} />
                  </td>
                  <td class="wide">
                    <ProgressBar counts={job.counts} />
                    <span class="muted small">
                      {count(done)} / {count(job.counts.total)}
                      {job.counts.failed > 0 ? `, ${count(job.counts.failed)} failed` : ''}
                      {job.counts.running > 0 && !isFinished(job.state) ? `, ${count(job.counts.running)} running` : ''}
                    </span>
                  </td>
                  <td class="num">{job.priority}</td>
                  <td class="opt">{job.queue}</td>
                  <td class="opt">{job.submitter}</td>
                  <td class="opt" title={new Date(job.createdAt).toLocaleString()}>
                    {age(job.createdAt)}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {more ? (
        <button type="button" onClick={showMore}>
          Show more
        </button>
      ) : null}
    </section>
  );
}
