/**
 * @module Opening the farm's database: SQLite (embedded, the default) or PostgreSQL (`postgres://…`), behind one
 * Kysely instance.
 *
 * SQLite runs in WAL mode with a busy timeout and foreign keys on, and is checkpointed periodically so the WAL never
 * grows without bound. Its prepared statements are cached (Kysely would prepare every query anew). PostgreSQL uses a
 * pool; 64-bit integers are read as numbers (times in milliseconds fit exactly).
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import { CorralError } from '../../model/errors.js';
import { FarmErrorCode } from '../errors.js';
import { preparedStatementName } from './prepared.js';
import type { Schema } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

/**
 * Loads a database driver only when that database is used. Both are CommonJS packages; `require` (rather than
 * `import()`) also works inside the CLI's bundle, which V8 runs as a plain script.
 */
const load = createRequire(import.meta.url);
export const loadSqlite = () => load('better-sqlite3') as typeof import('better-sqlite3');
export const loadPg = () => load('pg') as typeof import('pg');

export interface FarmDatabase {
  readonly db: Kysely<Schema>;
  readonly dialect: Dialect;
  /** Where it is, for messages (a file path or the URL without its password). */
  readonly location: string;
  /** Folds the WAL back into the database file now (SQLite; a no-op on PostgreSQL). */
  checkpoint(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** `postgres://…`, `sqlite:///path/farm.db`, `sqlite::memory:`, or a file path. */
  readonly url: string;
  /** PostgreSQL pool size. Default 10. */
  readonly poolSize?: number;
  /** How often SQLite's WAL is checkpointed. Default 30 s. */
  readonly checkpointIntervalMs?: number;
}

/**
 * Opens the database a URL names.
 * @throws {CorralError} `CORRAL_E_DATABASE_UNAVAILABLE` when the URL is not understood or the database cannot be
 *   opened or reached.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<FarmDatabase> {
  const { url } = options;
  if (/^postgres(ql)?:\/\//.test(url)) return openPostgres(url, options.poolSize ?? 10);
  let path = url.startsWith('sqlite://')
    ? url.slice('sqlite://'.length)
    : url.startsWith('sqlite:')
      ? url.slice(7)
      : url;
  if (path === '' || /^[a-z]+:\/\//i.test(path)) {
    throw new CorralError(
      FarmErrorCode.DatabaseUnavailable,
      `Cannot tell what database '${url}' is: use a file path, sqlite:///path or postgres://….`,
    );
  }
  if (path !== ':memory:') path = resolve(path);
  return openSqlite(path, options.checkpointIntervalMs ?? 30_000);
}

async function openSqlite(path: string, checkpointIntervalMs: number): Promise<FarmDatabase> {
  const Database = loadSqlite();
  let native: import('better-sqlite3').Database;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    native = new Database(path);
    native.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a commit survives a crash of the server (not of the machine's power); fsync at checkpoints.
    native.pragma('synchronous = NORMAL');
    native.pragma('busy_timeout = 5000');
    native.pragma('foreign_keys = ON');
  } catch (error) {
    throw new CorralError(
      FarmErrorCode.DatabaseUnavailable,
      `Cannot open the SQLite database '${path}': ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  // Kysely's SQLite driver prepares every statement anew; the farm repeats a few hot statements thousands of times a
  // second, so prepared statements are kept (bounded, oldest dropped first).
  const statements = new Map<string, import('better-sqlite3').Statement>();
  const cached = {
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (!statement) {
        statement = native.prepare(sql);
        if (statements.size >= 500) statements.delete(statements.keys().next().value!);
        statements.set(sql, statement);
      }
      return statement;
    },
    close() {
      native.close();
    },
  };
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: cached as never }) });
  const checkpoint = async () => {
    if (native.open) native.pragma('wal_checkpoint(TRUNCATE)');
  };
  const timer = setInterval(() => {
    checkpoint().catch(() => {});
  }, checkpointIntervalMs);
  timer.unref();
  return {
    db,
    dialect: 'sqlite',
    location: path,
    checkpoint,
    async close() {
      clearInterval(timer);
      await checkpoint().catch(() => {});
      await db.destroy();
    },
  };
}

async function openPostgres(url: string, poolSize: number): Promise<FarmDatabase> {
  const { Pool, types } = loadPg();
  types.setTypeParser(20, (value: string) => Number(value)); // int8: times in ms and counts fit in a double
  const pool = new Pool({ connectionString: url, max: poolSize });
  const location = url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => {});
    throw new CorralError(
      FarmErrorCode.DatabaseUnavailable,
      `Cannot reach the PostgreSQL database ${location}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  // Statements built once (prepared.ts) are also prepared once per connection: PostgreSQL then skips parsing and
  // planning them at every call, which on a busy farm is much of its work per sync.
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    client.query = ((text: unknown, values?: unknown, callback?: unknown) => {
      const name = typeof text === 'string' && Array.isArray(values) ? preparedStatementName(text) : undefined;
      return name ? query({ name, text, values }, callback) : query(text, values, callback);
    }) as typeof client.query;
  });
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: 'postgres',
    location,
    async checkpoint() {},
    async close() {
      await db.destroy();
    },
  };
}
