/**
 * @module The worker's identity across restarts: `worker.json` in its data directory (mode 0600) holds the worker id
 * and the worker's own token the server gave it, the server and name they belong to, how far its sync numbers may
 * have gone, and the server sessions it had open (ended on the next start).
 *
 * Sync numbers are reserved in blocks: before a sync numbered past the reservation is sent, the reservation moves
 * on and the file is written and fsynced. A restarted agent continues after the reservation, so it never sends a
 * number the server has already applied (which would get that sync's stored reply instead of being applied).
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { CorralError } from '../../model/errors.js';
import { WorkerErrorCode } from './errors.js';

/** What `worker.json` holds. */
export interface WorkerIdentity {
  /** The server URL it registered with; another server means registering again. */
  readonly server: string;
  readonly name: string;
  readonly workerId: number;
  readonly token: string;
  /** Sync numbers up to this one may have been sent. */
  readonly seqReserved: number;
  /** Server sessions open when it was last written. */
  readonly openSessions: readonly number[];
}

/** How many sync numbers one fsync of the identity covers. */
export const SEQ_BLOCK = 1000;

export interface IdentityStoreOptions {
  /** The file (`<data-dir>/worker.json`). */
  readonly path: string;
  /** Told about a file that exists but cannot be used (it is then replaced by a new registration). */
  readonly onWarning?: (message: string) => void;
}

/** Reads and writes `worker.json`. */
export class IdentityStore {
  readonly path: string;
  readonly #onWarning: (message: string) => void;
  #current: WorkerIdentity | undefined;

  constructor(options: IdentityStoreOptions) {
    this.path = options.path;
    this.#onWarning = options.onWarning ?? (() => {});
  }

  /** The identity in use (after `load` or `save`). */
  get current(): WorkerIdentity | undefined {
    return this.#current;
  }

  /**
   * Reads the file.
   * @returns the identity, or undefined when there is none or it is malformed (a warning says why).
   * @throws {CorralError} `CORRAL_E_WORKER_IDENTITY` when the file exists but cannot be read.
   */
  load(): WorkerIdentity | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new CorralError(
        WorkerErrorCode.Identity,
        `Cannot read the worker identity ${this.path}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const value = parse(text);
    if (!value) {
      this.#onWarning(`The worker identity ${this.path} is malformed; registering again.`);
      return undefined;
    }
    this.#current = value;
    return value;
  }

  /**
   * Writes the file atomically (aside, fsync, rename, fsync of the directory), readable only by its owner.
   * @throws {CorralError} `CORRAL_E_WORKER_IDENTITY` when it cannot be written.
   */
  save(identity: WorkerIdentity): void {
    const aside = `${this.path}.${process.pid}.tmp`;
    try {
      const fd = openSync(aside, 'w', 0o600);
      try {
        writeSync(fd, `${JSON.stringify({ version: 1, ...identity }, null, 2)}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(aside, this.path);
      syncDirectory(dirname(this.path));
    } catch (error) {
      rmSync(aside, { force: true });
      throw new CorralError(
        WorkerErrorCode.Identity,
        `Cannot write the worker identity ${this.path}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    this.#current = identity;
  }

  /** Changes fields of the current identity and writes it. */
  update(patch: Partial<WorkerIdentity>): void {
    if (!this.#current) return;
    this.save({ ...this.#current, ...patch });
  }

  /**
   * Makes sure `seq` is covered by the reservation, writing a new one (`seq + SEQ_BLOCK`) when it is not.
   * @throws {CorralError} `CORRAL_E_WORKER_IDENTITY` when the reservation cannot be written.
   */
  reserve(seq: number): void {
    if (this.#current && seq > this.#current.seqReserved) this.update({ seqReserved: seq + SEQ_BLOCK });
  }

  /** Forgets the identity (the server no longer knows it). */
  clear(): void {
    this.#current = undefined;
    rmSync(this.path, { force: true });
  }
}

function parse(text: string): WorkerIdentity | undefined {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const { server, name, workerId, token, seqReserved, openSessions } = value ?? {};
  if (
    typeof server !== 'string' ||
    typeof name !== 'string' ||
    !Number.isSafeInteger(workerId) ||
    typeof token !== 'string' ||
    !Number.isSafeInteger(seqReserved)
  ) {
    return undefined;
  }
  return {
    server,
    name,
    workerId: workerId as number,
    token,
    seqReserved: seqReserved as number,
    openSessions: Array.isArray(openSessions) ? openSessions.filter((id) => Number.isSafeInteger(id)) : [],
  };
}

/** fsyncs a directory so a rename or a new file in it survives a power cut. */
export function syncDirectory(path: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on directories; the data itself was synced.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
