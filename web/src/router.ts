/**
 * @module The dashboard's routes, in the address bar's path (`/jobs/12`), so pages can be bookmarked, shared and
 * reloaded (the server answers every such path with the app). Links are ordinary `<a href>`s; clicks on them are
 * turned into history pushes here, modifier-clicks still open new tabs.
 */
import { signal } from '@preact/signals';

export type Route =
  | { readonly page: 'jobs' }
  | { readonly page: 'job'; readonly jobId: number; readonly tab: 'tasks' | 'parameters' | 'template' }
  | { readonly page: 'log'; readonly jobId: number; readonly taskId: number }
  | { readonly page: 'workers' }
  | { readonly page: 'submit' }
  | { readonly page: 'missing'; readonly path: string };

export function parseRoute(path: string): Route {
  if (path === '/' || path === '/jobs') return { page: 'jobs' };
  if (path === '/workers') return { page: 'workers' };
  if (path === '/submit') return { page: 'submit' };
  let m = /^\/jobs\/(\d+)(?:\/(parameters|template))?$/.exec(path);
  if (m) return { page: 'job', jobId: Number(m[1]), tab: (m[2] as 'parameters' | 'template' | undefined) ?? 'tasks' };
  m = /^\/jobs\/(\d+)\/tasks\/(\d+)$/.exec(path);
  if (m) return { page: 'log', jobId: Number(m[1]), taskId: Number(m[2]) };
  return { page: 'missing', path };
}

export const route = signal<Route>(parseRoute(location.pathname));
/** The query part of the address (filters live there so they survive a reload). */
export const search = signal(new URLSearchParams(location.search));

export function navigate(href: string, options: { replace?: boolean } = {}): void {
  const url = new URL(href, location.origin);
  if (options.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  route.value = parseRoute(url.pathname);
  search.value = new URLSearchParams(url.search);
  if (!options.replace) window.scrollTo(0, 0);
}

/** Rewrites the query string in place (no new history entry). */
export function setSearch(params: Record<string, string | undefined>): void {
  const next = new URLSearchParams(search.value);
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === '') next.delete(key);
    else next.set(key, value);
  }
  const query = next.toString();
  history.replaceState(null, '', `${location.pathname}${query ? `?${query}` : ''}`);
  search.value = next;
}

export function startRouter(): void {
  addEventListener('popstate', () => {
    route.value = parseRoute(location.pathname);
    search.value = new URLSearchParams(location.search);
  });
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    const anchor = (event.target as Element | null)?.closest?.('a');
    if (!anchor || anchor.target || anchor.hasAttribute('download')) return;
    const url = new URL(anchor.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
}
