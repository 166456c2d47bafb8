/**
 * @module The farm's data directory: where a local server keeps its database, pidfile, log and admin token, and where
 * the farm commands find the server and a token when none is given. One place for the names, so `corral server`,
 * `corral up`, `corral worker` and the client commands agree.
 */
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The data directory used when none is given: `.corral` in the working directory. */
export const DEFAULT_DATA_DIR = '.corral';
/** The address a local server listens on when none is given. */
export const DEFAULT_LISTEN = '127.0.0.1:8470';

export function dataDirOf(options: { dataDir?: string | undefined; env?: NodeJS.ProcessEnv }): string {
  return resolve(options.dataDir ?? options.env?.CORRAL_DATA_DIR ?? DEFAULT_DATA_DIR);
}

/** The files of a data directory. */
export function dataFiles(dataDir: string) {
  return {
    database: join(dataDir, 'farm.db'),
    serverPid: join(dataDir, 'server.pid'),
    serverLog: join(dataDir, 'server.log'),
    /** The running server's address, written once it listens: `{ url, pid }`. */
    serverInfo: join(dataDir, 'server.json'),
    /** The admin token made at the farm's first start (mode 0600). */
    adminToken: join(dataDir, 'admin.token'),
    workersDir: join(dataDir, 'workers'),
  };
}

/** Creates the data directory, private to its owner. */
export function ensureDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
}

/** Writes a file only its owner can read, atomically (written aside, then renamed). */
export function writePrivateFile(path: string, text: string): void {
  const aside = `${path}.${process.pid}.tmp`;
  closeSync(openSync(aside, 'w', 0o600));
  chmodSync(aside, 0o600);
  writeFileSync(aside, text);
  renameSync(aside, path);
}

export function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Splits `HOST:PORT` (`[::1]:8470` for IPv6). */
export function parseListen(listen: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  return { host: match[1] ?? (match[2] || '127.0.0.1'), port };
}
