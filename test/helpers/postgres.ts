/**
 * @module Private PostgreSQL clusters for tests: `initdb` into a temporary directory (on /dev/shm when it is a roomy
 * tmpfs), `pg_ctl start` on a free loopback port with its own socket directory, and removal afterwards. Tests never
 * use a system service. A cluster starts in about a second here.
 *
 * PostgreSQL refuses to run as root, so as root the server runs as the `postgres` OS user (via `runuser`) and the
 * directory is handed to it; as anyone else it runs as the current user. Durability is switched off (`fsync`,
 * `synchronous_commit`, `full_page_writes`): a test cluster lives for seconds and is thrown away.
 *
 * A cluster never outlives its test process: `pg_ctl` detaches the server into its own session, so each cluster
 * gets a watchdog (a small `sh` loop in its own process group) that stops the server and deletes the directory once
 * the test process is gone, however it ended (SIGKILL, a runner timeout). A process 'exit' hook also stops clusters
 * at once on an ordinary exit.
 *
 * @internal Test-only.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import {
  accessSync,
  chownSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running private cluster. */
export interface PostgresCluster {
  /** `postgres://<user>@127.0.0.1:<port>/<database>`: the database created at start, as a superuser. */
  readonly url: string;
  readonly port: number;
  /** The cluster's temporary directory (data, socket and log). */
  readonly directory: string;
  /** Milliseconds `startPostgres` took (initdb, start, first database). */
  readonly startupMs: number;
  /**
   * Creates a database (names: letters, digits and `_`, starting with a letter or `_`).
   * @returns its URL.
   */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (immediate mode) and deletes the directory. Idempotent. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** A label: part of the directory's name, and the name of the database created at start. Default: `corral`. */
  readonly name?: string;
  /** More server settings (`-c name=value` each), e.g. to load pg_stat_statements for a benchmark. */
  readonly settings?: readonly string[];
}

/** The role tests connect as; initdb creates it as the bootstrap superuser. */
const SUPERUSER = 'corral';
/** The server runs as this OS user when the tests run as root. */
const SERVER_OS_USER = 'postgres';
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

interface Tools {
  readonly bindir: string;
  /** Run the server's tools as this user (through runuser), or undefined for the current user. */
  readonly runAs?: { readonly user: string; readonly uid: number; readonly gid: number };
}

let tools: Tools | string | undefined;

/** Finds initdb/pg_ctl/postgres: `pg_config --bindir`, the newest `/usr/lib/postgresql/<n>/bin`, or PATH. */
function findBindir(): string | undefined {
  const usable = (dir: string) =>
    ['initdb', 'pg_ctl', 'postgres'].every((tool) => {
      try {
        accessSync(join(dir, tool), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  const candidates: string[] = [];
  try {
    const out = execFileSyncText('pg_config', ['--bindir']).trim();
    if (out !== '') candidates.push(out);
  } catch {
    // No pg_config: look elsewhere.
  }
  try {
    const versions = readdirNumeric('/usr/lib/postgresql');
    for (const version of versions) candidates.push(`/usr/lib/postgresql/${version}/bin`);
  } catch {
    // Not a Debian-style layout.
  }
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir !== '') candidates.push(dir);
  return candidates.find(usable);
}

function execFileSyncText(file: string, args: string[]): string {
  return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

/** Entries of `dir` that are version numbers, newest first. */
function readdirNumeric(dir: string): string[] {
  return readdirSync(dir)
    .filter((entry) => /^\d+(\.\d+)?$/.test(entry))
    .sort((a, b) => Number(b) - Number(a));
}

function resolveTools(): Tools | string {
  if (tools !== undefined) return tools;
  const bindir = findBindir();
  if (bindir === undefined) {
    tools = 'PostgreSQL server binaries (initdb, pg_ctl, postgres) not found (apt-get install -y postgresql)';
    return tools;
  }
  if (process.getuid?.() !== 0) {
    tools = { bindir };
    return tools;
  }
  let uid: number;
  let gid: number;
  try {
    uid = Number(execFileSyncText('id', ['-u', SERVER_OS_USER]).trim());
    gid = Number(execFileSyncText('id', ['-g', SERVER_OS_USER]).trim());
  } catch {
    tools = `running as root, and there is no '${SERVER_OS_USER}' OS user to run the PostgreSQL server as`;
    return tools;
  }
  try {
    execFileSyncText('runuser', ['--help']);
  } catch {
    tools = 'running as root, and runuser (util-linux) is missing to run the PostgreSQL server as another user';
    return tools;
  }
  tools = { bindir, runAs: { user: SERVER_OS_USER, uid, gid } };
  return tools;
}

/**
 * Whether private clusters can be started here.
 * @returns undefined when they can, else the reason (for `skip`).
 */
export function postgresAvailable(): string | undefined {
  const found = resolveTools();
  return typeof found === 'string' ? found : undefined;
}

/** Runs one of the server's tools (as the server's OS user when root); rejects with its output on failure. */
function runTool(found: Tools, tool: string, args: string[], cwd: string): Promise<string> {
  const path = join(found.bindir, tool);
  const [file, argv] = found.runAs ? ['runuser', ['-u', found.runAs.user, '--', path, ...args]] : [path, args];
  // A clean environment: a developer's PGDATA, PGPORT or PGHOST must not steer the tools.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C', TZ: 'UTC' };
  return new Promise((resolve, reject) => {
    execFile(file, argv, { cwd, env, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${tool} ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`.trim()));
      else resolve(stdout + stderr);
    });
  });
}

/**
 * Where clusters live: /dev/shm when it is a roomy tmpfs, else the temporary directory. On tmpfs initdb takes about
 * half as long and CREATE DATABASE ~50 ms instead of ~350 ms (measured on ext4 with fsync off); Docker's default
 * 64 MB /dev/shm is too small for a cluster (~55 MB) and is skipped.
 */
function baseDirectory(): string {
  try {
    const stats = statfsSync('/dev/shm');
    accessSync('/dev/shm', constants.W_OK);
    if (stats.bavail * stats.bsize >= 1024 * 1024 * 1024) return '/dev/shm';
  } catch {
    // No /dev/shm: use the temporary directory.
  }
  return tmpdir();
}

/** A port that was free a moment ago (the server's bind is the real test; a clash is retried). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Clusters of this process that are running, for the 'exit' hook. */
const running = new Set<{ directory: string; postmasterPid(): number | undefined }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    // Only synchronous work is possible here: SIGQUIT is PostgreSQL's immediate shutdown. The watchdog finishes
    // the removal of the directory once this process is gone.
    for (const cluster of running) {
      const pid = cluster.postmasterPid();
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGQUIT');
        } catch {
          // Already gone.
        }
      }
    }
  });
}

/**
 * A `sh` loop that waits for `parent` to end (or turn zombie), then stops the server and removes the directory.
 * It runs in its own process group so that a runner killing the test's group does not take it along.
 */
function startWatchdog(parent: number, directory: string): number | undefined {
  const script = `
parent=$1; dir=$2
alive() { s=$(sed -n 's/.*) \\(.\\) .*/\\1/p' /proc/$parent/stat 2>/dev/null); [ -n "$s" ] && [ "$s" != Z ]; }
while alive; do sleep 1; done
pidfile="$dir/data/postmaster.pid"
if [ -f "$pidfile" ]; then
  pm=$(head -n 1 "$pidfile")
  if [ -n "$pm" ] && [ "$(cat /proc/$pm/comm 2>/dev/null)" = postgres ]; then
    kill -QUIT "$pm" 2>/dev/null
    i=0; while [ -d /proc/$pm ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
    kill -KILL "$pm" 2>/dev/null
  fi
fi
rm -rf "$dir"
`;
  const child = spawn('sh', ['-c', script, 'corral-pg-watchdog', String(parent), directory], {
    detached: true,
    stdio: 'ignore',
  });
  child.on('error', () => {
    // Without sh the 'exit' hook still stops the cluster on ordinary exits.
  });
  child.unref();
  return child.pid;
}

/**
 * Starts a private cluster: initdb, a free loopback port, `pg_ctl start -w`, and a first database.
 * @returns the running cluster; call `stop()` when done.
 * @throws Error when PostgreSQL is unavailable (see {@link postgresAvailable}) or fails to start (with its log).
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresCluster> {
  const started = performance.now();
  const found = resolveTools();
  if (typeof found === 'string') throw new Error(`PostgreSQL is unavailable: ${found}`);
  const name = options.name ?? 'corral';
  if (!NAME.test(name)) throw new Error(`invalid cluster name '${name}'`);

  const directory = mkdtempSync(join(baseDirectory(), `corral-pg-${name}-`));
  const data = join(directory, 'data');
  const socket = join(directory, 'socket');
  const log = join(directory, 'server.log');
  mkdirSync(socket);
  if (found.runAs) {
    chownSync(directory, found.runAs.uid, found.runAs.gid);
    chownSync(socket, found.runAs.uid, found.runAs.gid);
  }

  let watchdog: number | undefined;
  const postmasterPid = () => {
    try {
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  const entry = { directory, postmasterPid };
  running.add(entry);
  installExitHook();
  watchdog = startWatchdog(process.pid, directory);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      running.delete(entry);
      if (watchdog !== undefined) {
        try {
          process.kill(-watchdog, 'SIGKILL');
        } catch {
          // It already ended.
        }
        watchdog = undefined;
      }
      if (existsSync(join(data, 'postmaster.pid'))) {
        await runTool(found, 'pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w', '-t', '30'], directory).catch(
          () => {
            const pid = postmasterPid();
            if (pid !== undefined) process.kill(pid, 'SIGKILL');
          },
        );
      }
      rmSync(directory, { recursive: true, force: true, maxRetries: 3 });
    })();
    return stopped;
  };

  try {
    await runTool(
      found,
      'initdb',
      ['-D', data, '-U', SUPERUSER, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'],
      directory,
    );
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const settings = [
        '-c listen_addresses=127.0.0.1',
        `-p ${port}`,
        `-k ${socket}`,
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
        '-c max_connections=200',
        ...(options.settings ?? []).map((setting) => `-c ${setting}`),
      ].join(' ');
      try {
        await runTool(found, 'pg_ctl', ['start', '-D', data, '-l', log, '-w', '-t', '60', '-o', settings], directory);
        break;
      } catch (error) {
        const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
        // Another process took the port between our probe and the server's bind: try another.
        if (attempt < 5 && /could not bind|Address already in use/i.test(text)) continue;
        throw new Error(`${(error as Error).message}\n--- server log ---\n${text}`);
      }
    }

    const base = `postgres://${SUPERUSER}@127.0.0.1:${port}`;
    const createDatabase = async (database: string): Promise<string> => {
      if (!NAME.test(database)) throw new Error(`invalid database name '${database}'`);
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: `${base}/postgres` });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${database}"`);
      } finally {
        await client.end();
      }
      return `${base}/${database}`;
    };
    const url = await createDatabase(name);
    return { url, port, directory, startupMs: performance.now() - started, createDatabase, stop };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}

let shared: Promise<PostgresCluster> | undefined;

/**
 * One cluster for the whole test process, started on first use and stopped when the process exits (the 'exit'
 * hook and the watchdog); suites call `createDatabase()` on it for a fresh database each. Do not `stop()` it.
 * @returns the shared cluster.
 */
export function sharedPostgres(): Promise<PostgresCluster> {
  shared ??= startPostgres({ name: 'shared' }).catch((error: unknown) => {
    shared = undefined;
    throw error;
  });
  return shared;
}
