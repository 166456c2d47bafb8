/** @module The page frame: header with navigation, farm totals and live state; the current view; notices. */
import { useSignalEffect } from '@preact/signals';
import { useEffect, useState } from 'preact/hooks';
import type { FarmTotals } from '../../src/farm/client/index.js';
import { liveState, startLive, stopLive, subscribe } from './live.js';
import { dismiss, notices } from './notices.js';
import { route } from './router.js';
import { client, signedIn, signOut, token } from './session.js';
import { JobView } from './views/job.js';
import { JobsView } from './views/jobs.js';
import { LogView } from './views/log.js';
import { SignInView } from './views/sign-in.js';
import { SubmitView } from './views/submit.js';
import { WorkersView } from './views/workers.js';

function Totals() {
  const [totals, setTotals] = useState<FarmTotals>();
  useEffect(() => {
    const load = () =>
      client.value.totals().then(setTotals, () => {
        // The header's figures are a courtesy; a failed refresh keeps the last ones.
      });
    load();
    return subscribe(() => true, load, 1000);
  }, []);
  if (!totals) return null;
  const t = totals.tasks;
  const w = totals.workers;
  return (
    <p class="totals">
      <span>
        <b>{(totals.jobs.running ?? 0) + (totals.jobs.queued ?? 0)}</b> active jobs
      </span>
      <span>
        <b>{t.running ?? 0}</b> running tasks
      </span>
      <span>
        <b>{(w.idle ?? 0) + (w.busy ?? 0)}</b> workers up
      </span>
    </p>
  );
}

function NavLink({ href, label, active }: { href: string; label: string; active: boolean }) {
  return (
    <a href={href} aria-current={active ? 'page' : undefined}>
      {label}
    </a>
  );
}

function View() {
  const r = route.value;
  switch (r.page) {
    case 'jobs':
      return <JobsView />;
    case 'job':
      return <JobView key={r.jobId} jobId={r.jobId} tab={r.tab} />;
    case 'log':
      return <LogView key={`${r.jobId}:${r.taskId}`} jobId={r.jobId} taskId={r.taskId} />;
    case 'workers':
      return <WorkersView />;
    case 'submit':
      return <SubmitView />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            Nothing here. <a href="/jobs">See the jobs</a>.
          </p>
        </section>
      );
  }
}

export function App() {
  useSignalEffect(() => {
    if (signedIn.value) startLive();
    else stopLive();
  });
  useSignalEffect(() => {
    const r = route.value;
    document.title = `${r.page === 'job' || r.page === 'log' ? `Job ${r.jobId}` : r.page === 'jobs' ? 'Jobs' : r.page === 'workers' ? 'Workers' : r.page === 'submit' ? 'Submit' : 'Not found'} · Corral`;
  });
  if (!signedIn.value) return <SignInView />;
  const page = route.value.page;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/jobs">
          <img src="/favicon.svg" alt="" width="22" height="22" />
          Corral
        </a>
        <nav aria-label="Main">
          <NavLink href="/jobs" label="Jobs" active={page === 'jobs' || page === 'job' || page === 'log'} />
          <NavLink href="/workers" label="Workers" active={page === 'workers'} />
          <NavLink href="/submit" label="Submit" active={page === 'submit'} />
        </nav>
        <Totals />
        <span class={`live live-${liveState.value}`} role="status" title="Live updates from the server">
          {liveState.value === 'live' ? 'Live' : liveState.value === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
        </span>
        {token.value ? (
          <button type="button" class="link" onClick={signOut}>
            Sign out
          </button>
        ) : null}
      </header>
      <main id="main" tabIndex={-1}>
        <View />
      </main>
      <div class="notices" aria-live="polite">
        {notices.value.map((n) => (
          <div key={n.id} class={`notice notice-${n.kind}`} role={n.kind === 'error' ? 'alert' : undefined}>
            <span>{n.text}</span>
            <button type="button" class="link" aria-label="Dismiss" onClick={() => dismiss(n.id)}>
              ×
            </button>
          </div>
        ))}
      </div>
    </>
  );
}
