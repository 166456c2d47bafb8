/**
 * @module Workers: state, what each runs now, capabilities, CPU and memory over the last minutes, drain and resume.
 * The list refetches when a worker changes; the charts' history is read with it (at most every few seconds).
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import type { HostMetricsSample, Worker } from '../../../src/farm/client/index.js';
import { ActionButton, Empty, Loading, Sparkline, StateBadge } from '../components.js';
import { age } from '../format.js';
import { subscribe } from '../live.js';
import { reportError } from '../notices.js';
import { client } from '../session.js';

function capabilities(worker: Worker): string {
  const amounts = Object.entries(worker.capabilities.amounts).map(([name, value]) => {
    const short = name.replace(/^amount\.worker\./, '');
    return short === 'memory' ? `${Math.round(value / 1024)} GiB` : `${value} ${short}`;
  });
  const attributes = Object.entries(worker.capabilities.attributes).map(
    ([name, values]) => `${name.replace(/^attr\.worker\./, '')}: ${values.join('/')}`,
  );
  return [...amounts, ...attributes].join(' · ');
}

function Charts({ samples }: { samples: readonly HostMetricsSample[] | undefined }) {
  const cpu = (samples ?? []).flatMap((s) => (s.cpu !== undefined ? [s.cpu] : []));
  const memory = (samples ?? []).flatMap((s) =>
    s.memoryUsedMiB !== undefined && s.memoryTotalMiB ? [s.memoryUsedMiB / s.memoryTotalMiB] : [],
  );
  const last = (values: number[]) => (values.length > 0 ? `${Math.round(values[values.length - 1]! * 100)}%` : '–');
  return (
    <div class="charts">
      <span class="chart">
        <span class="chart-label">CPU {last(cpu)}</span>
        <Sparkline values={cpu} max={1} label={`CPU use over the last minutes, now ${last(cpu)}`} />
      </span>
      <span class="chart">
        <span class="chart-label">Memory {last(memory)}</span>
        <Sparkline values={memory} max={1} label={`Memory use over the last minutes, now ${last(memory)}`} />
      </span>
    </div>
  );
}

export function WorkersView() {
  const [workers, setWorkers] = useState<Worker[]>();
  const [history, setHistory] = useState<ReadonlyMap<number, readonly HostMetricsSample[]>>(new Map());

  // Reads the list, and the metrics history of the workers named (all that are up when none are).
  const reload = useCallback(async (changed?: ReadonlySet<number>) => {
    try {
      const { workers: list } = await client.value.listWorkers();
      setWorkers(list);
      const up = list.filter((w) => w.state !== 'offline' && w.state !== 'lost');
      const wanted = changed && !changed.has(-1) ? up.filter((w) => changed.has(w.id)) : up;
      const read = await Promise.all(
        wanted.map((w) =>
          client.value.workerMetrics({ workerId: w.id }).then(
            (h) => [w.id, h.samples] as const,
            () => [w.id, [] as const] as const,
          ),
        ),
      );
      setHistory((old) => new Map([...old, ...read]));
    } catch (error) {
      reportError(error, 'Loading workers');
    }
  }, []);

  useEffect(() => {
    void reload();
    // A worker's change of state or tasks, or a new metrics sample (the server takes one every 5 s), redraws it.
    const changed = new Set<number>();
    return subscribe(
      (c) => {
        if (c.kind === 'worker') changed.add(c.workerId);
        return c.kind === 'worker' || c.kind === 'tasks';
      },
      () => {
        const ids = new Set(changed);
        changed.clear();
        void reload(ids);
      },
      2000,
    );
  }, [reload]);

  if (!workers) return <Loading what="workers" />;
  return (
    <section aria-labelledby="workers-title">
      <div class="page-head">
        <h1 id="workers-title">Workers</h1>
      </div>
      {workers.length === 0 ? (
        <Empty>
          No workers yet. Start one with <code>corral worker --server {location.origin}</code>.
        </Empty>
      ) : (
        <table class="workers">
          <thead>
            <tr>
              <th>Worker</th>
              <th>State</th>
              <th>Running</th>
              <th class="opt">Capabilities</th>
              <th class="opt">Last minutes</th>
              <th class="opt">Last seen</th>
              <th>
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {workers.map((w) => (
              <tr key={w.id}>
                <td>
                  <b>{w.name}</b>
                  <div class="muted small">{w.host}</div>
                </td>
                <td>
                  <StateBadge
                    state={w.drainRequested && w.state !== 'draining' && w.state !== 'offline' ? 'draining' : w.state}
                  />
                </td>
                <td>
                  {w.tasks.length === 0 ? (
                    <span class="muted">–</span>
                  ) : (
                    w.tasks.map((t) => (
                      <div key={t.taskId}>
                        <a href={`/jobs/${t.jobId}/tasks/${t.taskId}`}>
                          job {t.jobId} · task {t.taskId}
                        </a>{' '}
                        <span class="muted small">{t.state}</span>
                      </div>
                    ))
                  )}
                </td>
                <td class="opt small">{capabilities(w)}</td>
                <td class="opt">
                  <Charts samples={history.get(w.id)} />
                </td>
                <td class="opt" title={new Date(w.lastSeen).toLocaleString()}>
                  {age(w.lastSeen)}
                </td>
                <td>
                  {w.drainRequested ? (
                    <ActionButton
                      label="Resume"
                      title={`Let ${w.name} take work again`}
                      run={async () => {
                        await client.value.setDraining({ workerId: w.id, draining: false });
                        void reload();
                        return `${w.name} takes work again.`;
                      }}
                    />
                  ) : w.state === 'offline' || w.state === 'lost' ? null : (
                    <ActionButton
                      label="Drain"
                      title={`${w.name} finishes its work and takes no more`}
                      confirm={`Drain ${w.name}?`}
                      run={async () => {
                        await client.value.setDraining({ workerId: w.id, draining: true });
                        void reload();
                        return `${w.name} is draining: it finishes its work and takes no more.`;
                      }}
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
