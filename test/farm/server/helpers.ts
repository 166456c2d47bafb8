/**
 * @module Test farms behind a real HTTP server on 127.0.0.1 (port 0), with tokens of each kind, clients, and a check
 * that every reply matches the response schema its route declares (the schemas the OpenAPI document publishes).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import type { RouteOptions } from 'fastify';
import type { SyncRequest } from '../../../src/farm/api/types.js';
import { type CorralClient, createClient } from '../../../src/farm/client/index.js';
import { Farm } from '../../../src/farm/scheduler/farm.js';
import { createFarmServer, type FarmServer, type FarmServerOptions, ROUTES } from '../../../src/farm/server/index.js';
import { ErrorReply } from '../../../src/farm/server/schemas.js';
import { repoRoot } from '../../helpers/cli.js';

export const HELLO = readFileSync(join(repoRoot, 'examples/hello.yaml'), 'utf8');

/** A job of `count` tasks that each print a line. */
export const manyTasks = (count: number, name = 'Many') => `specificationVersion: jobtemplate-2023-09
name: ${name}
steps:
- name: Work
  parameterSpace:
    taskParameterDefinitions:
    - {name: N, type: INT, range: "1-${count}"}
  script:
    actions:
      onRun: {command: echo, args: ["{{Task.Param.N}}"]}
`;

export interface TestFarm {
  readonly farm: Farm;
  readonly server: FarmServer;
  readonly url: string;
  readonly tokens: { readonly admin: string; readonly user: string; readonly agent: string };
  /** A client with the admin token (or the one given). */
  client(token?: string): CorralClient;
  /** Every fastify route, as registered (captured by an onRoute hook). */
  readonly routes: RouteOptions[];
  /** Replies that did not match their route's response schema. */
  readonly problems: string[];
  /** How many JSON replies were checked against their schema. */
  readonly checked: () => number;
  close(): Promise<void>;
}

export interface StartOptions extends Partial<Omit<FarmServerOptions, 'farm'>> {
  /** Database URL; default a SQLite file in a temporary directory. */
  readonly database?: string;
  /** Create no tokens. */
  readonly noTokens?: boolean;
}

const ajv = new Ajv({ allowUnionTypes: true, strictNumbers: true, discriminator: true, strict: true });
const validators = new Map<object, ReturnType<typeof ajv.compile>>();
const validatorFor = (schema: object) => {
  let validate = validators.get(schema);
  if (!validate) validators.set(schema, (validate = ajv.compile(schema)));
  return validate;
};

/** Starts a farm and its server on a free loopback port. */
export async function startFarm(options: StartOptions = {}): Promise<TestFarm> {
  const dir = mkdtempSync(join(tmpdir(), 'corral-server-'));
  const farm = await Farm.open({ database: options.database ?? join(dir, 'farm.db') });
  const tokens = options.noTokens
    ? { admin: '', user: '', agent: '' }
    : {
        admin: (await farm.createToken('root', 'admin')).token,
        user: (await farm.createToken('alice', 'user')).token,
        agent: (await farm.createToken('agent', 'agent')).token,
      };
  const server = createFarmServer({ farm, auth: 'tokens', version: '9.9.9-test', ...options });
  const routes: RouteOptions[] = [];
  const problems: string[] = [];
  let checked = 0;
  server.app.addHook('onRoute', (route) => {
    routes.push(route);
  });
  // Every JSON reply is checked against what its route declares (success) or the error shape (errors).
  server.app.addHook('onSend', async (request, reply, payload) => {
    if (typeof payload !== 'string' || !String(reply.getHeader('content-type') ?? '').includes('json')) return payload;
    const spec = ROUTES.find((r) => r.method === request.method && r.url === request.routeOptions.url);
    const schema = reply.statusCode < 400 ? spec?.schema.response[reply.statusCode] : ErrorReply;
    if (!schema) {
      problems.push(`${request.method} ${request.url}: no schema for status ${reply.statusCode}`);
      return payload;
    }
    const validate = validatorFor(schema);
    checked++;
    if (!validate(JSON.parse(payload))) {
      problems.push(`${request.method} ${request.url} ${reply.statusCode}: ${ajv.errorsText(validate.errors)}`);
    }
    return payload;
  });
  const { url } = await server.listen({ host: '127.0.0.1', port: 0 });
  return {
    farm,
    server,
    url,
    tokens,
    routes,
    problems,
    checked: () => checked,
    client: (token = tokens.admin) => createClient({ url, ...(token ? { token } : {}) }),
    async close() {
      await server.close();
      await farm.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A sync request with nothing to report. */
export const syncRequest = (seq: number, extra: Partial<SyncRequest> = {}): SyncRequest => ({
  seq,
  state: 'idle',
  running: [],
  events: [],
  logs: [],
  wantWork: 1,
  ...extra,
});

/** Registers a worker through the API; returns its id and a client with its own token. */
export async function registerWorker(test: TestFarm, name: string) {
  const reply = await test.client(test.tokens.agent).registerWorker({
    name,
    host: `${name}.example`,
    capabilities: { amounts: { 'amount.worker.vcpu': 4 }, attributes: {} },
  });
  return { ...reply, client: test.client(reply.token) };
}

const TABLES = [
  'queues',
  'tokens',
  'workers',
  'jobs',
  'steps',
  'tasks',
  'sessions',
  'actions',
  'logs',
  'worker_job_failures',
  'events',
] as const;

/** Every stored row, to compare before and after requests that must change nothing. */
export async function snapshot(farm: Farm): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of TABLES) {
    const rows = await farm.db.selectFrom(table).selectAll().execute();
    out[table] = rows.map((row) => JSON.stringify(row)).sort();
  }
  return out;
}

/** Raw fetch with a token, for what the typed client would never send. */
export function raw(test: TestFarm, path: string, init: RequestInit & { token?: string | null } = {}) {
  const { token = test.tokens.admin, headers, ...rest } = init;
  return fetch(`${test.url}${path}`, {
    ...rest,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(rest.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(headers as Record<string, string> | undefined),
    },
  });
}

/** Reads a JSON error reply. */
export async function errorOf(response: Response) {
  const body = (await response.json()) as { error: { code: string; message: string; issues?: unknown[] } };
  return { status: response.status, ...body.error };
}
