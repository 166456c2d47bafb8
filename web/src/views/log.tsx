/**
 * @module A task's log: every action it ran (attempts included), lines as they arrive, ANSI colours rendered,
 * search within with match count and next/previous, follow (stay at the end while at the end), and download.
 */
import { Fragment } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { LogChunk, Task } from '../../../src/farm/client/index.js';
import { parseAnsi, type Segment, type Style, stripAnsi } from '../ansi.js';
import { ActionButton, Loading, StateBadge } from '../components.js';
import { duration, isFinished, parameters, runTime } from '../format.js';
import { subscribe } from '../live.js';
import { messageOf, reportError } from '../notices.js';
import { client } from '../session.js';

interface Line {
  readonly time: number;
  readonly text: string;
  readonly segments: readonly Segment[];
  /** The first line of a new action (or session): shows a divider above it. */
  readonly header?: string;
}

const READ_LIMIT = 5000;
/**
 * Lines kept in the page, from the end: a task that printed a million lines must not freeze the browser. Search and
 * download cover every line; a search match further back brings its part of the log in.
 */
const SHOWN_LINES = 5000;

function styleOf(style: Style): Record<string, string> | undefined {
  const css: Record<string, string> = {};
  if (style.fg) css.color = style.fg;
  if (style.bg) css.background = style.bg;
  if (style.bold) css.fontWeight = 'bold';
  if (style.dim) css.opacity = '0.7';
  if (style.italic) css.fontStyle = 'italic';
  if (style.underline) css.textDecoration = 'underline';
  return Object.keys(css).length > 0 ? css : undefined;
}

function Highlighted({ segments, query }: { segments: readonly Segment[]; query: string }) {
  return (
    <>
      {segments.map((segment, i) => {
        const style = styleOf(segment.style);
        if (!query) {
          return (
            <span key={i} style={style}>
              {segment.text}
            </span>
          );
        }
        const parts = segment.text.split(query);
        return (
          <span key={i} style={style}>
            {parts.map((part, j) => (
              <Fragment key={j}>
                {j > 0 ? <mark>{query}</mark> : null}
                {part}
              </Fragment>
            ))}
          </span>
        );
      })}
    </>
  );
}

export function LogView({ jobId, taskId }: { jobId: number; taskId: number }) {
  const [task, setTask] = useState<Task>();
  const [error, setError] = useState<string>();
  const [lines, setLines] = useState<Line[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [follow, setFollow] = useState(true);
  const [query, setQuery] = useState('');
  const [current, setCurrent] = useState(0);
  const [showAll, setShowAll] = useState(false);
  const box = useRef<HTMLPreElement>(null);
  const cursor = useRef<number | undefined>(undefined);
  const reading = useRef<Promise<void> | undefined>(undefined);
  const carried = useRef<{ style: Style; action?: number; session?: number }>({ style: {} });

  // Reads every chunk after the cursor (several requests for a long log), appending parsed lines.
  const readOn = () => {
    if (reading.current) return reading.current;
    const run = async () => {
      for (;;) {
        const chunks: LogChunk[] = await client.value.readLogs({
          jobId,
          taskId,
          ...(cursor.current !== undefined ? { after: cursor.current } : {}),
          limit: READ_LIMIT,
        });
        if (chunks.length === 0) break;
        const added: Line[] = [];
        for (const chunk of chunks) {
          cursor.current = chunk.cursor;
          const c = carried.current;
          let header: string | undefined;
          if (chunk.actionId !== c.action || chunk.sessionId !== c.session) {
            header = `session ${chunk.sessionId}${chunk.actionId !== undefined ? `, action ${chunk.actionId}` : ''}`;
            c.action = chunk.actionId;
            c.session = chunk.sessionId;
            c.style = {};
          }
          for (const line of chunk.lines) {
            const parsed = parseAnsi(line.text, c.style);
            c.style = parsed.style;
            added.push({ time: line.time, text: line.text, segments: parsed.segments, ...(header ? { header } : {}) });
            header = undefined;
          }
        }
        setLines((old) => old.concat(added));
        if (chunks.length < READ_LIMIT) break;
      }
    };
    reading.current = run()
      .catch((e) => reportError(e, 'Reading the log'))
      .finally(() => {
        reading.current = undefined;
        setLoaded(true);
      });
    return reading.current;
  };

  useEffect(() => {
    const loadTask = () =>
      client.value.getTask({ jobId, taskId }).then(setTask, (e) => {
        setError(messageOf(e));
      });
    void loadTask();
    void readOn();
    const offLog = subscribe(
      (c) => c.kind === 'log' && c.jobId === jobId && (c.taskId === undefined || c.taskId === taskId),
      () => void readOn(),
      150,
    );
    const offTask = subscribe((c) => c.kind === 'tasks' && c.jobId === jobId, loadTask, 500);
    return () => {
      offLog();
      offTask();
    };
  }, [jobId, taskId]);

  // Follow: after new lines, stay at the end if following.
  useEffect(() => {
    const el = box.current;
    if (el && follow && !query) el.scrollTop = el.scrollHeight;
  }, [lines, follow, query]);

  const matches = useMemo(() => {
    if (!query) return [];
    const found: number[] = [];
    lines.forEach((line, i) => {
      if (stripAnsi(line.text).includes(query)) found.push(i);
    });
    return found;
  }, [lines, query]);

  useEffect(() => setCurrent(0), [query]);
  useEffect(() => {
    const index = matches[current];
    if (index === undefined) return;
    document.getElementById(`log-line-${index}`)?.scrollIntoView({ block: 'center' });
  }, [matches, current]);

  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < 8;
    if (atEnd !== follow) setFollow(atEnd);
  };

  const download = () => {
    const text = lines.map((l) => `${new Date(l.time).toISOString()} ${stripAnsi(l.text)}`).join('\n');
    const url = URL.createObjectURL(new Blob([`${text}\n`], { type: 'text/plain' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `job-${jobId}-task-${taskId}.log`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  if (error) {
    return (
      <section>
        <h1>Task {taskId}</h1>
        <p class="error">{error}</p>
        <a href={`/jobs/${jobId}`}>Back to the job</a>
      </section>
    );
  }
  const ran = task ? runTime(task) : undefined;
  const open = task && !isFinished(task.state);
  const matchSet = new Set(matches);
  const from = Math.min(showAll ? 0 : Math.max(0, lines.length - SHOWN_LINES), matches[current] ?? lines.length);

  return (
    <section aria-labelledby="log-title" class="log-page">
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href="/jobs">Jobs</a> / <a href={`/jobs/${jobId}`}>#{jobId}</a> / <span>task {taskId}</span>
      </nav>
      <div class="page-head">
        <h1 id="log-title">
          {task ? `${task.stepName} · task ${task.index + 1}` : `Task ${taskId}`}
          {task && Object.keys(task.parameters).length > 0 ? (
            <span class="muted small"> {parameters(task.parameters)}</span>
          ) : null}
        </h1>
        {task ? <StateBadge state={task.state} /> : null}
      </div>
      {task ? (
        <p class="facts-line">
          Attempt {task.attempts}
          {task.worker ? ` on ${task.worker}` : ''}
          {ran !== undefined ? `, ${duration(ran)}` : ''}
          {task.exitCode !== undefined ? `, exit code ${task.exitCode}` : ''}
          {task.progress !== undefined && open ? `, ${Math.round(task.progress)}%` : ''}
          {task.failMessage || task.statusMessage ? ` — ${task.failMessage ?? task.statusMessage}` : ''}
        </p>
      ) : null}
      <div class="toolbar" role="toolbar" aria-label="Log tools">
        <label class="search">
          <span class="visually-hidden">Search the log</span>
          <input
            type="search"
            placeholder="Search the log"
            value={query}
            onInput={(e) => setQuery(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && matches.length > 0) {
                e.preventDefault();
                setCurrent((current + (e.shiftKey ? matches.length - 1 : 1)) % matches.length);
              }
            }}
          />
        </label>
        {query ? (
          <span class="inline">
            <span aria-live="polite">
              {matches.length === 0 ? 'no matches' : `${current + 1} of ${matches.length}`}
            </span>
            <button
              type="button"
              aria-label="Previous match"
              disabled={matches.length === 0}
              onClick={() => setCurrent((current + matches.length - 1) % matches.length)}
            >
              ↑
            </button>
            <button
              type="button"
              aria-label="Next match"
              disabled={matches.length === 0}
              onClick={() => setCurrent((current + 1) % matches.length)}
            >
              ↓
            </button>
          </span>
        ) : null}
        <label class="inline">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.currentTarget.checked)} /> Follow
        </label>
        <button type="button" onClick={download} disabled={lines.length === 0}>
          Download
        </button>
        {task ? (
          open ? (
            <ActionButton
              label="Cancel task"
              danger
              confirm="Cancel this task?"
              run={async () => {
                await client.value.cancel({ jobId, taskId });
                return 'Canceled the task.';
              }}
            />
          ) : (
            <ActionButton
              label="Requeue task"
              run={async () => {
                await client.value.requeue({ jobId, taskId });
                return 'Requeued the task.';
              }}
            />
          )
        ) : null}
      </div>
      {!loaded ? <Loading what="the log" /> : null}
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable to scroll it by keyboard */}
      <pre ref={box} class="log" tabIndex={0} role="log" aria-label="Log output" onScroll={onScroll}>
        {loaded && lines.length === 0 ? (
          <span class="muted">{open ? 'No output yet; lines appear here as the task writes them.' : 'No output.'}</span>
        ) : null}
        {from > 0 ? (
          <button type="button" class="link log-earlier" onClick={() => setShowAll(true)}>
            Show the {from.toLocaleString('en-US')} earlier lines
          </button>
        ) : null}
        {lines.slice(from).map((line, offset) => {
          const i = from + offset;
          return (
            <Fragment key={i}>
              {line.header ? <span class="log-divider">{line.header}</span> : null}
              <span
                id={`log-line-${i}`}
                class={`log-line ${matchSet.has(i) ? (matches[current] === i ? 'match current' : 'match') : ''}`}
              >
                <Highlighted segments={line.segments} query={matchSet.has(i) ? query : ''} />
                {'\n'}
              </span>
            </Fragment>
          );
        })}
      </pre>
    </section>
  );
}
