/**
 * @module The dashboard's files (dist/web, built by scripts/build-web.mjs) served at `/`.
 *
 * The files are public: they hold no data, and the dashboard asks for a token before it calls the API. Hashed
 * assets (`/assets/main-3F2A….js`) never change, so browsers keep them for a year; `index.html` is revalidated on
 * every load so a new build is picked up. Any other path that is not the API's is the single-page app's own route
 * (`/jobs/12`) and gets `index.html`. Files are read once at start-up into memory (the whole build is a few hundred
 * KiB), which also means no request can ever name a file outside the build.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Scripts and styles only from the server itself; API calls only to it; no framing (clickjacking), no plugins.
 * `style-src 'unsafe-inline'` is for element style attributes (the task table positions rows with them).
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

interface StaticFile {
  readonly body: Buffer;
  readonly type: string;
  readonly immutable: boolean;
  readonly etag: string;
}

/**
 * Where the dashboard's build is: `dist/web` of the package this module belongs to. The module runs from dist/
 * (tsc's output), from the CLI's bundle (dist/bin) or from src/ under tsx, so the package root is found by walking
 * up to Corral's package.json.
 * @returns the directory, or undefined when no build exists.
 */
export function findWebRoot(from: string = fileURLToPath(import.meta.url)): string | undefined {
  let dir = dirname(from);
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'corral') {
          const web = join(dir, 'dist', 'web');
          return existsSync(join(web, 'index.html')) ? web : undefined;
        }
      } catch {
        // Not readable as JSON: not ours; keep walking.
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function loadFiles(root: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (!existsSync(join(root, 'index.html'))) return files;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      const stat = statSync(path);
      if (stat.isDirectory()) {
        walk(path);
        continue;
      }
      const url = `/${relative(root, path).split(sep).join('/')}`;
      const body = readFileSync(path);
      files.set(url, {
        body,
        type: TYPES[extname(path)] ?? 'application/octet-stream',
        immutable: url.startsWith('/assets/'),
        etag: `"${body.length.toString(36)}-${stat.mtimeMs.toString(36)}"`,
      });
    }
  };
  walk(root);
  return files;
}

function send(reply: FastifyReply, file: StaticFile, ifNoneMatch: string | undefined) {
  reply
    .header('content-type', file.type)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    .header('etag', file.etag);
  if (file.type.startsWith('text/html')) reply.header('content-security-policy', CSP).header('x-frame-options', 'DENY');
  if (ifNoneMatch === file.etag) return reply.code(304).send();
  return reply.send(file.body);
}

/** Answers a GET the API has no route for: the app's page for its own paths; false when it is not one of them. */
export type DashboardFallback = (request: FastifyRequest, reply: FastifyReply) => boolean;

/**
 * Adds a route for each of the dashboard's files and returns the fallback that answers the app's own paths
 * (`/jobs/12`) with `index.html`; the not-found handler calls it. A wildcard route is not used: it would also catch
 * API paths the router refuses for other reasons (an overlong id), turning their 400 into the app's page.
 * Without a build (a checkout where `npm run build` has not run) those paths answer 503 saying so.
 */
export function serveDashboard(
  app: FastifyInstance,
  options: { readonly root: string | undefined },
): DashboardFallback {
  const files = options.root ? loadFiles(options.root) : new Map<string, StaticFile>();
  const index = files.get('/index.html');
  for (const [url, file] of files) {
    app.get(url === '/index.html' ? '/' : url, async (request, reply) =>
      send(reply, file, request.headers['if-none-match']),
    );
  }
  return (request, reply) => {
    const path = request.url.split('?', 1)[0]!;
    if (request.method !== 'GET' || path.startsWith('/api/') || path === '/metrics' || extname(path) !== '') {
      return false;
    }
    if (!index) {
      reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The dashboard is not built: run `npm run build` in Corral’s checkout. The API is at /api/v1.\n');
      return true;
    }
    void send(reply, index, request.headers['if-none-match']);
    return true;
  };
}
