/**
 * @module A job's tasks as a virtualised grid: only the rows in view (plus a margin) exist in the page, and rows are
 * fetched from the API in pages of {@link PAGE} by position as they scroll into view, so a 100,000-task job opens
 * as fast as a 10-task one and scrolls without loading everything. Live changes refetch the pages in view.
 *
 * Keyboard: the grid is one tab stop; arrows, Page Up/Down, Home/End move the active row; Enter opens its log.
 */
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Task, TaskState } from '../../../src/farm/client/index.js';
import { ActionButton, StateBadge } from '../components.js';
import { duration, isFinished, parameters, runTime } from '../format.js';
import { subscribe } from '../live.js';
import { reportError } from '../notices.js';
import { navigate } from '../router.js';
import { client } from '../session.js';

export const ROW_HEIGHT = 34;
const PAGE = 200;
const OVERSCAN = 10;

interface Props {
  readonly jobId: number;
  readonly step: string | undefined;
  readonly states: readonly TaskState[];
  /** Show the step column (jobs of more than one step). */
  readonly showStep: boolean;
}

/** Pages of tasks by page number; a page being fetched holds its promise. */
class TaskPages {
  readonly pages = new Map<number, readonly Task[]>();
  readonly pending = new Map<number, Promise<void>>();
  total: number | undefined;
  /** Bumped when a page arrives so the grid re-renders. */
  version = 0;
}

export function TaskTable({ jobId, step, states, showStep }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const store = useRef(new TaskPages());
  const [, setVersion] = useState(0);
  const [view, setView] = useState({ top: 0, height: 600 });
  const [active, setActive] = useState(0);
  const filterKey = `${step ?? ''}|${states.join(',')}`;

  const fetchPage = useCallback(
    (page: number, force = false) => {
      const s = store.current;
      if (!force && (s.pages.has(page) || s.pending.has(page))) return s.pending.get(page);
      const promise = client.value
        .listTasks({
          jobId,
          ...(step ? { step } : {}),
          ...(states.length > 0 ? { states } : {}),
          offset: page * PAGE,
          limit: PAGE,
        })
        .then(
          ({ tasks, total }) => {
            if (store.current !== s) return;
            s.pages.set(page, tasks);
            s.total = total;
            s.version++;
            setVersion(s.version);
            if (page === 0 && !performance.getEntriesByName('corral:tasks-shown').length) {
              requestAnimationFrame(() => performance.mark('corral:tasks-shown'));
            }
          },
          (error) => reportError(error, 'Loading tasks'),
        )
        .finally(() => {
          if (s.pending.get(page) === promise) s.pending.delete(page);
        });
      s.pending.set(page, promise);
      return promise;
    },
    [jobId, filterKey],
  );

  // A new filter starts from a clean store at the top.
  useEffect(() => {
    store.current = new TaskPages();
    setVersion(0);
    setActive(0);
    if (scroller.current) scroller.current.scrollTop = 0;
    void fetchPage(0);
  }, [fetchPage]);

  const first = Math.max(0, Math.floor(view.top / ROW_HEIGHT) - OVERSCAN);
  const total = store.current.total ?? 0;
  const last = Math.min(total, Math.ceil((view.top + view.height) / ROW_HEIGHT) + OVERSCAN);

  // Fetch the pages the visible rows fall in.
  useEffect(() => {
    if (store.current.total === undefined) return;
    for (let page = Math.floor(first / PAGE); page * PAGE < last; page++) void fetchPage(page);
  }, [first, last, fetchPage, store.current.total]);

  // Live: refetch what is in view; pages out of view are dropped so they are fetched fresh when scrolled to.
  useEffect(
    () =>
      subscribe(
        (change) =>
          (change.kind === 'tasks' || change.kind === 'job') && (change.jobId === jobId || change.jobId === -1),
        () => {
          const s = store.current;
          const el = scroller.current;
          const top = el?.scrollTop ?? 0;
          const height = el?.clientHeight ?? 600;
          const from = Math.floor(Math.max(0, top / ROW_HEIGHT - OVERSCAN) / PAGE);
          const to = Math.floor((top + height) / ROW_HEIGHT / PAGE);
          for (const page of [...s.pages.keys()]) if (page < from || page > to) s.pages.delete(page);
          for (let page = from; page <= to; page++) void fetchPage(page, true);
        },
        500,
      ),
    [jobId, fetchPage],
  );

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const measure = () => setView({ top: el.scrollTop, height: el.clientHeight });
    measure();
    let frame = 0;
    const onScroll = () => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        measure();
      });
    };
    el.addEventListener('scroll', onScroll, { passive: true });
    const resize = new ResizeObserver(measure);
    resize.observe(el);
    return () => {
      el.removeEventListener('scroll', onScroll);
      resize.disconnect();
      cancelAnimationFrame(frame);
    };
  }, []);

  const taskAt = (index: number): Task | undefined => store.current.pages.get(Math.floor(index / PAGE))?.[index % PAGE];

  const moveTo = (index: number) => {
    const next = Math.max(0, Math.min(total - 1, index));
    setActive(next);
    const el = scroller.current;
    if (!el) return;
    const header = ROW_HEIGHT;
    const top = next * ROW_HEIGHT;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW_HEIGHT + header > el.scrollTop + el.clientHeight)
      el.scrollTop = top + ROW_HEIGHT + header - el.clientHeight;
  };
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.target !== scroller.current) return;
    const pageRows = Math.max(1, Math.floor(view.height / ROW_HEIGHT) - 2);
    const moves: Record<string, number> = {
      ArrowDown: active + 1,
      ArrowUp: active - 1,
      PageDown: active + pageRows,
      PageUp: active - pageRows,
      Home: 0,
      End: total - 1,
    };
    if (event.key in moves) {
      event.preventDefault();
      moveTo(moves[event.key]!);
    } else if (event.key === 'Enter') {
      const task = taskAt(active);
      if (task) navigate(`/jobs/${jobId}/tasks/${task.id}`);
    }
  };

  const rows = [];
  for (let index = first; index < last; index++) {
    const task = taskAt(index);
    rows.push(
      <TaskRow
        key={index}
        index={index}
        task={task}
        jobId={jobId}
        showStep={showStep}
        active={index === active}
        onRefresh={() => fetchPage(Math.floor(index / PAGE), true)}
      />,
    );
  }

  return (
    <div
      ref={scroller}
      class={`task-grid ${showStep ? 'with-step' : ''}`}
      role="grid"
      aria-label="Tasks"
      aria-rowcount={total + 1}
      aria-colcount={showStep ? 9 : 8}
      aria-activedescendant={total > 0 ? `task-row-${active}` : undefined}
      tabIndex={0}
      onKeyDown={onKeyDown}
    >
      <div class="task-row task-head" role="row" aria-rowindex={1}>
        <span role="columnheader">#</span>
        {showStep ? <span role="columnheader">Step</span> : null}
        <span role="columnheader">Parameters</span>
        <span role="columnheader">State</span>
        <span role="columnheader" class="num">
          Attempts
        </span>
        <span role="columnheader" class="opt">
          Worker
        </span>
        <span role="columnheader" class="num opt">
          Duration
        </span>
        <span role="columnheader" class="num opt">
          Exit
        </span>
        <span role="columnheader">Status</span>
      </div>
      <div class="task-body" style={{ height: `${total * ROW_HEIGHT}px` }} role="presentation">
        {rows}
      </div>
      {store.current.total === 0 ? <p class="empty">No tasks match.</p> : null}
    </div>
  );
}

function TaskRow(props: {
  index: number;
  task: Task | undefined;
  jobId: number;
  showStep: boolean;
  active: boolean;
  onRefresh: () => void;
}) {
  const { index, task, jobId } = props;
  const style = { transform: `translateY(${index * ROW_HEIGHT}px)` };
  if (!task) {
    return (
      <div class="task-row placeholder" role="row" aria-rowindex={index + 2} id={`task-row-${index}`} style={style}>
        <span role="gridcell">{index + 1}</span>
        <span role="gridcell" class="muted">
          …
        </span>
      </div>
    );
  }
  const ran = runTime(task);
  const message = task.failMessage ?? task.statusMessage ?? '';
  const canCancel = !isFinished(task.state);
  return (
    <div
      class={`task-row ${props.active ? 'active' : ''}`}
      role="row"
      aria-rowindex={index + 2}
      aria-selected={props.active}
      id={`task-row-${index}`}
      style={style}
    >
      <span role="gridcell">
        <a href={`/jobs/${jobId}/tasks/${task.id}`} tabIndex={-1} title="Open the task's log">
          {task.index + 1}
        </a>
      </span>
      {props.showStep ? (
        <span role="gridcell" class="clip">
          {task.stepName}
        </span>
      ) : null}
      <span role="gridcell" class="clip">
        {parameters(task.parameters)}
      </span>
      <span role="gridcell">
        <StateBadge state={task.state} />
        {task.state === 'running' && task.progress !== undefined ? (
          <span class="muted small"> {Math.round(task.progress)}%</span>
        ) : null}
      </span>
      <span role="gridcell" class="num">
        {task.attempts}
      </span>
      <span role="gridcell" class="clip opt">
        {task.worker ?? ''}
      </span>
      <span role="gridcell" class="num opt">
        {duration(ran)}
      </span>
      <span role="gridcell" class="num opt">
        {task.exitCode ?? ''}
      </span>
      <span role="gridcell" class="clip status" title={message}>
        <span class="message">{message}</span>
        <span class="row-actions">
          {canCancel ? (
            <ActionButton
              label="Cancel"
              title={`Cancel task ${task.index + 1}`}
              run={async () => {
                await client.value.cancel({ jobId, taskId: task.id });
                props.onRefresh();
                return `Canceled task ${task.index + 1}.`;
              }}
            />
          ) : (
            <ActionButton
              label="Requeue"
              title={`Run task ${task.index + 1} again`}
              run={async () => {
                await client.value.requeue({ jobId, taskId: task.id });
                props.onRefresh();
                return `Requeued task ${task.index + 1}.`;
              }}
            />
          )}
        </span>
      </span>
    </div>
  );
}
