/**
 * @module The worker agent: registers (once; the identity is kept in the data directory), then syncs with the server
 * in a loop — heartbeat, reports and request for work in one call — and runs what it is given in session slots.
 *
 * The protocol (see `src/farm/api/types.ts` and `src/farm/scheduler/sync.ts`):
 * - Each sync has a number; after a failure the SAME sync (number and reports) is sent again, since the server may
 *   have applied it and then answers with its stored reply; the next number is used only after a reply came.
 * - Reports go into the on-disk outbox first; a sync carries its oldest records (bounded in lines and bytes) and a
 *   reply acknowledges exactly those. `running` lists the tasks held here, plus finished ones whose result is still
 *   waiting in the outbox beyond this sync (the server would otherwise think them lost).
 * - Idle, with nothing to deliver, the agent long-polls (`waitMs`); busy, it syncs soon after something waits to be
 *   delivered (`syncInterval`), at once when a task finishes, and at least every `heartbeatInterval`.
 * - Network faults are retried with exponential backoff and full jitter; tasks keep running meanwhile.
 *
 * Stopping (`stop()`, the first SIGTERM/SIGINT): no new work, the running tasks get `drainGrace` to finish and are
 * then canceled with their own cancel mode, sessions end, the outbox is delivered (waiting at most `flushTimeout`
 * once nothing runs), and a last sync with state `offline` signs off. `expedite()` (a second signal) cancels at
 * once and gives environment exits `expediteExitTimeout` each; cleanup is never skipped.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CorralError } from '../../model/errors.js';
import { Session, type SessionOptions } from '../../session/session.js';
import type { Assignment, Capabilities, SyncReply, SyncRequest } from '../api/types.js';
import type { Logger } from '../daemon/logger.js';
import { FarmErrorCode } from '../errors.js';
import { Backoff } from './backoff.js';
import { sameCapabilities } from './capabilities.js';
import type { FarmConnection } from './connection.js';
import { WorkerErrorCode } from './errors.js';
import { IdentityStore, type WorkerIdentity } from './identity.js';
import { JobCache } from './job-spec.js';
import { MetricsSampler } from './metrics.js';
import { Outbox, type OutboxItem } from './outbox.js';
import { type RunnerHost, SessionRunner } from './session-runner.js';

/** How the agent behaves; everything but `name`, `serverUrl` and `capabilities` has a default. */
export interface AgentSettings {
  /** The worker's name on the farm. */
  readonly name: string;
  /** The server's URL, stored with the identity (another server means registering again). */
  readonly serverUrl: string;
  readonly capabilities: Capabilities;
  /** The host name reported. Default: `os.hostname()`. */
  readonly host?: string;
  /** Sessions (each running one task at a time) run side by side. Default 1. */
  readonly maxConcurrentTasks?: number;
  /** An open session without work ends after this long. Default 30 s. */
  readonly sessionIdleTimeoutMs?: number;
  /** When stopping, how long running tasks may still take before they are canceled. Default 5 min. */
  readonly drainGraceMs?: number;
  /** When hurrying, how long each environment exit may take. Default 10 s. */
  readonly expediteExitMs?: number;
  /** How long an idle sync waits for work at the server. Default 20 s (at most 30 s). */
  readonly pollWaitMs?: number;
  /** How soon after something waits to be delivered a busy agent syncs. Default 500 ms. */
  readonly syncIntervalMs?: number;
  /** How often a busy agent syncs when it has nothing to deliver. Default 2 s. */
  readonly heartbeatIntervalMs?: number;
  /** When stopping and nothing runs any more, how long to keep trying to deliver the outbox. Default 30 s. */
  readonly flushTimeoutMs?: number;
  /** Most log lines in one sync. Default 1000. */
  readonly logLinesPerSync?: number;
  /** Most bytes of reports in one sync. Default 2 MiB. */
  readonly syncBytes?: number;
  /** Exit once a drain the server asked for is complete (default: stay connected, idle, until it is lifted). */
  readonly exitWhenDrained?: boolean;
  /** Where session working directories are made. Default: `<tmpdir>/corral-sessions`. */
  readonly sessionRoot?: string;
  /** Keep session working directories (debugging). Default false. */
  readonly retainSessionDirectories?: boolean;
  /** Backoff of retries: first ceiling and largest ceiling, in ms. Default 250 and 15 000. */
  readonly backoffBaseMs?: number;
  readonly backoffCapMs?: number;
}

type Resolved = Required<Omit<AgentSettings, 'sessionRoot'>> & Pick<AgentSettings, 'sessionRoot'>;

const DEFAULTS = {
  maxConcurrentTasks: 1,
  sessionIdleTimeoutMs: 30_000,
  drainGraceMs: 300_000,
  expediteExitMs: 10_000,
  pollWaitMs: 20_000,
  syncIntervalMs: 500,
  heartbeatIntervalMs: 2000,
  flushTimeoutMs: 30_000,
  logLinesPerSync: 1000,
  syncBytes: 2 * 1024 * 1024,
  exitWhenDrained: false,
  retainSessionDirectories: false,
  backoffBaseMs: 250,
  backoffCapMs: 15_000,
} as const;

function resolve(settings: AgentSettings): Resolved {
  const defined = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
  return { ...DEFAULTS, host: hostname(), ...defined } as Resolved;
}

export interface CreateAgentOptions {
  readonly connection: FarmConnection;
  /** The agent's directory: `worker.json`, `outbox/`. Must exist. */
  readonly dataDir: string;
  readonly settings: AgentSettings;
  readonly logger: Logger;
  /** The outbox's bound and fsync batching. Defaults: 256 MiB, 100 ms. */
  readonly outbox?: { readonly maxBytes?: number; readonly fsyncMs?: number; readonly segmentBytes?: number };
  /** The environment sessions start from; every `CORRAL_*` variable is removed. Default: `process.env`. */
  readonly environment?: Readonly<Record<string, string | undefined>>;
  /** Creates sessions (tests). Default: `Session.create`. */
  readonly createSession?: (options: SessionOptions) => Promise<Session>;
  /** Called once the worker has an identity (registered now, or resumed). */
  readonly onRegistered?: (info: { readonly workerId: number; readonly resumed: boolean }) => void;
}

/** How `run()` ended. */
export interface AgentExit {
  /** `stopped`: `stop()` was called; `drained`: the server asked for a drain and `exitWhenDrained` is set. */
  readonly reason: 'stopped' | 'drained';
  /** Reports left in the outbox (delivered at the next start). */
  readonly undelivered: number;
}

type Failure = 'aborted' | 'retry' | 'register' | 'shrink';

/** A sync being sent (again, after a failure, unchanged). */
interface Attempt {
  readonly request: SyncRequest;
  /** Nothing ran and no session was open when it was built. */
  readonly quiet: boolean;
  /** The number of the last outbox record it carries (0: none). */
  readonly last: number;
}

const TASK_EVENTS = new Set(['taskStarted', 'taskProgress', 'taskFinished']);

/** Most log batches kept in memory while the outbox cannot be written (events are always kept). */
const MAX_SPILL = 10_000;

/** Removes the agent's own settings and credentials from what jobs see. */
export function jobEnvironment(
  environment: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(environment).filter(([name]) => !name.toUpperCase().startsWith('CORRAL_')));
}

export class WorkerAgent {
  readonly #connection: FarmConnection;
  readonly #log: Logger;
  readonly #outbox: Outbox;
  readonly #identity: IdentityStore;
  readonly #environment: Record<string, string | undefined>;
  readonly #createSession: (options: SessionOptions) => Promise<Session>;
  readonly #onRegistered: CreateAgentOptions['onRegistered'];
  readonly #jobs = new JobCache();
  readonly #metrics = new MetricsSampler();
  readonly #runners: SessionRunner[] = [];
  readonly #host: RunnerHost;
  /** Finished tasks whose result waits in the outbox: task id → record number. */
  readonly #unreported = new Map<number, number>();
  /** Reports the outbox could not take yet (a full disk), oldest first. */
  readonly #spill: OutboxItem[] = [];
  #spillWarnedAt = 0;
  #settings: Resolved;
  #backoff: Backoff;
  #seq = 1;
  #limits: { lines: number; bytes: number };
  #capabilitiesSent: Capabilities | undefined;
  #stopping = false;
  #expediting = false;
  #serverDrain = false;
  #graceTimer: NodeJS.Timeout | undefined;
  #flushDeadline: number | undefined;
  #dirtySince: number | undefined;
  #urgent = false;
  #sleeper: { readonly wakeOn: 'any' | 'stop'; readonly resolve: () => void } | undefined;
  #poll: AbortController | undefined;
  #lastSyncAt = 0;
  #failures = 0;
  #syncs = 0;
  #closed = false;

  private constructor(options: CreateAgentOptions, outbox: Outbox, identity: IdentityStore) {
    this.#connection = options.connection;
    this.#log = options.logger;
    this.#outbox = outbox;
    this.#identity = identity;
    this.#settings = resolve(options.settings);
    this.#backoff = new Backoff({ baseMs: this.#settings.backoffBaseMs, capMs: this.#settings.backoffCapMs });
    this.#limits = { lines: this.#settings.logLinesPerSync, bytes: this.#settings.syncBytes };
    this.#environment = jobEnvironment(options.environment ?? process.env);
    this.#createSession = options.createSession ?? ((o) => Session.create(o));
    this.#onRegistered = options.onRegistered;
    this.#host = {
      report: (item) => this.#report(item),
      wake: (urgent) => this.#wake(urgent),
      job: (jobId, spec) => this.#jobs.get(jobId, spec),
      createSession: (o) =>
        this.#createSession({
          ...o,
          baseEnvironment: this.#environment,
          ...(this.#settings.sessionRoot !== undefined ? { rootDirectory: this.#settings.sessionRoot } : {}),
          retainWorkingDirectory: this.#settings.retainSessionDirectories,
        }),
      sessionsChanged: () => this.#sessionsChanged(),
      logger: this.#log,
    };
    // Results a previous run left undelivered keep their tasks held at the server until they are delivered.
    for (const { n, item } of outbox.entries()) {
      if (item.kind === 'event' && item.event.kind === 'taskFinished') this.#unreported.set(item.event.taskId, n);
    }
  }

  /**
   * Opens the agent's state in its data directory: the identity and the outbox (reports a previous run left are
   * delivered first).
   * @throws {CorralError} `CORRAL_E_OUTBOX`, `CORRAL_E_WORKER_IDENTITY`.
   */
  static open(options: CreateAgentOptions): WorkerAgent {
    const warn = (message: string) => options.logger.warn(message);
    const outbox = Outbox.open({ directory: join(options.dataDir, 'outbox'), ...options.outbox, onWarning: warn });
    try {
      const identity = new IdentityStore({ path: join(options.dataDir, 'worker.json'), onWarning: warn });
      identity.load();
      if (outbox.size > 0) options.logger.info({ reports: outbox.size }, 'undelivered reports from a previous run');
      return new WorkerAgent(options, outbox, identity);
    } catch (error) {
      outbox.close();
      throw error;
    }
  }

  /** The worker's id at the server, once registered. */
  get workerId(): number | undefined {
    return this.#identity.current?.workerId;
  }

  /** Reports waiting for the server. */
  get undelivered(): number {
    return this.#outbox.size;
  }

  /** Syncs completed. */
  get syncs(): number {
    return this.#syncs;
  }

  /** Whether `stop()` has been called. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /** Changes settings while running (a SIGHUP reload): capabilities, limits, intervals. */
  configure(settings: Partial<AgentSettings>): void {
    this.#settings = resolve({ ...this.#settings, ...settings });
    this.#limits = { lines: this.#settings.logLinesPerSync, bytes: this.#settings.syncBytes };
    this.#backoff = new Backoff({ baseMs: this.#settings.backoffBaseMs, capMs: this.#settings.backoffCapMs });
    for (const runner of this.#runners) runner.settings = this.#runnerSettings();
    this.#wake(true);
  }

  /**
   * Stops gracefully: no new work, running tasks get `drainGraceMs`, then everything is reported and `run()`
   * resolves. Idempotent.
   */
  stop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#log.info({ graceMs: this.#settings.drainGraceMs }, 'stopping: no new work; running tasks may finish');
    for (const runner of this.#runners) runner.stop();
    this.#graceTimer = setTimeout(() => {
      this.#log.info('the drain grace is over: canceling running tasks');
      for (const runner of this.#runners) runner.cancelCurrent('drain');
    }, this.#settings.drainGraceMs);
    this.#graceTimer.unref?.();
    this.#wake(true);
    this.#interrupt();
  }

  /** Hurries a stop: running actions are killed now, environment exits are cut short; cleanup still runs. */
  expedite(): void {
    this.stop();
    if (this.#expediting) return;
    this.#expediting = true;
    this.#log.warn({ exitMs: this.#settings.expediteExitMs }, 'hurrying: canceling running actions now');
    clearTimeout(this.#graceTimer);
    for (const runner of this.#runners) runner.expedite(this.#settings.expediteExitMs);
    this.#wake(true);
    this.#interrupt();
  }

  /**
   * Runs until stopped: registers if needed, then syncs and runs work.
   * @throws {CorralError} `CORRAL_E_REGISTRATION_REFUSED` when the server refuses the agent's token;
   *   `CORRAL_E_OUTBOX` / `CORRAL_E_WORKER_IDENTITY` when the data directory cannot be written.
   */
  async run(): Promise<AgentExit> {
    try {
      if (!(await this.#ensureRegistered())) return this.#exit('stopped');
      let pending: Attempt | undefined;
      for (;;) {
        if (this.#leaving() && this.#quiet()) {
          this.#flushDeadline ??=
            Date.now() +
            (this.#expediting
              ? Math.min(this.#settings.flushTimeoutMs, this.#settings.expediteExitMs)
              : this.#settings.flushTimeoutMs);
        }
        const attempt = pending ?? this.#build();
        pending = attempt;
        let reply: SyncReply;
        try {
          reply = await this.#send(attempt.request);
        } catch (error) {
          const failure = this.#classify(error);
          if (failure === 'aborted') {
            // A long-poll cut short: the same sync again, without waiting, to get the server's stored reply.
            const { waitMs: _omit, ...rest } = attempt.request;
            pending = { ...attempt, request: rest };
            continue;
          }
          if (failure === 'shrink') {
            this.#limits = {
              lines: Math.max(1, Math.floor(this.#limits.lines / 2)),
              bytes: Math.max(4096, Math.floor(this.#limits.bytes / 2)),
            };
            this.#log.warn(
              { limits: this.#limits, err: error },
              'the server refused a sync as too large; sending less',
            );
            this.#outbox.unpin();
            pending = undefined;
            continue;
          }
          if (failure === 'register') {
            this.#log.warn({ err: error }, 'the server no longer knows this worker; registering again');
            pending = undefined;
            this.#dropAll('registering again');
            this.#identity.clear();
            if (!(await this.#ensureRegistered())) return this.#exit('stopped');
            continue;
          }
          if (this.#pastFlushDeadline()) {
            this.#log.warn(
              { undelivered: this.#outbox.size },
              'stopping without reaching the server; the reports are kept for the next start',
            );
            return this.#exit(this.#stopping ? 'stopped' : 'drained');
          }
          await this.#retryDelay(error);
          continue;
        }
        pending = undefined;
        this.#afterReply(attempt);
        this.#handle(reply);
        // Done once a sync that signed off (state `offline`) was answered; a quiet sync made before the stop was not one.
        if (
          this.#leaving() &&
          attempt.request.state === 'offline' &&
          this.#outbox.size === 0 &&
          this.#spill.length === 0 &&
          this.#quiet()
        ) {
          this.#log.info({ seq: attempt.request.seq }, 'signed off');
          return this.#exit(this.#stopping ? 'stopped' : 'drained');
        }
        await this.#waitForNextSync(attempt.request, reply);
      }
    } finally {
      clearTimeout(this.#graceTimer);
    }
  }

  /** Waits for every session to end (after `run()` returned), then closes the outbox. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#runners.map((r) => r.settled()));
    this.#outbox.close();
  }

  // -----------------------------------------------------------------------------------------------------------
  // Registration

  async #ensureRegistered(): Promise<boolean> {
    const settings = this.#settings;
    const stored = this.#identity.current;
    if (stored && stored.server === settings.serverUrl && stored.name === settings.name) {
      this.#seq = stored.seqReserved + 1;
      if (stored.openSessions.length > 0) {
        // Sessions a previous run left open (it crashed): they are over.
        for (const sessionId of stored.openSessions) {
          this.#report({ kind: 'event', event: { kind: 'sessionEnded', sessionId, time: Date.now() } });
        }
        this.#identity.update({ openSessions: [] });
      }
      this.#log.info({ workerId: stored.workerId, seq: this.#seq }, 'resuming as a registered worker');
      this.#onRegistered?.({ workerId: stored.workerId, resumed: true });
      return true;
    }
    if (stored && stored.server !== settings.serverUrl && this.#outbox.size > 0) {
      this.#log.warn({ dropped: this.#outbox.size }, 'reports for another server are dropped');
      this.#outbox.remove(() => true);
      this.#unreported.clear();
    }
    const backoff = new Backoff({ baseMs: settings.backoffBaseMs, capMs: settings.backoffCapMs });
    for (;;) {
      if (this.#stopping) return false;
      try {
        const reply = await this.#connection.register({
          name: settings.name,
          host: settings.host,
          capabilities: settings.capabilities,
        });
        const identity: WorkerIdentity = {
          server: settings.serverUrl,
          name: settings.name,
          workerId: reply.workerId,
          token: reply.token,
          seqReserved: 0,
          openSessions: [],
        };
        this.#identity.save(identity);
        this.#seq = 1;
        this.#capabilitiesSent = settings.capabilities;
        this.#log.info({ workerId: reply.workerId, name: settings.name }, 'registered');
        this.#onRegistered?.({ workerId: reply.workerId, resumed: false });
        return true;
      } catch (error) {
        const code = error instanceof CorralError ? error.code : undefined;
        if (
          code === FarmErrorCode.Unauthorized ||
          code === FarmErrorCode.Forbidden ||
          code === FarmErrorCode.BadRequest ||
          code === FarmErrorCode.Conflict
        ) {
          throw new CorralError(
            WorkerErrorCode.RegistrationRefused,
            `The server at ${settings.serverUrl} refused to register the worker '${settings.name}': ${(error as Error).message}`,
            { cause: error },
          );
        }
        const delay = backoff.next();
        this.#log.warn({ err: error, retryInMs: delay }, 'cannot register yet');
        await this.#sleep(delay, 'stop');
      }
    }
  }

  // -----------------------------------------------------------------------------------------------------------
  // Syncs

  #runnerSettings() {
    return { idleTimeoutMs: this.#settings.sessionIdleTimeoutMs, logBatchLines: this.#settings.logLinesPerSync };
  }

  /** The slots, grown to the configured number. */
  #slots(): SessionRunner[] {
    while (this.#runners.length < this.#settings.maxConcurrentTasks) {
      this.#runners.push(
        new SessionRunner({ index: this.#runners.length, host: this.#host, settings: this.#runnerSettings() }),
      );
    }
    return this.#runners;
  }

  #leaving(): boolean {
    return this.#stopping || (this.#serverDrain && this.#settings.exitWhenDrained);
  }

  /** Nothing runs and no session is open. */
  #quiet(): boolean {
    return this.#runners.every((r) => r.idle);
  }

  #freeSlot(): boolean {
    const busy = this.#runners.filter((r) => r.busy).length;
    return busy < this.#settings.maxConcurrentTasks && this.#slots().some((r) => r.free);
  }

  #pastFlushDeadline(): boolean {
    return this.#flushDeadline !== undefined && Date.now() >= this.#flushDeadline && this.#quiet();
  }

  #build(): Attempt {
    const runners = this.#slots();
    for (const runner of runners) runner.flushPending();
    this.#drainSpill();
    this.#dirtySince = this.#spill.length > 0 ? Date.now() : undefined;
    this.#urgent = false;
    const quiet = this.#quiet();
    const peeked = this.#outbox.peek({ maxLines: this.#limits.lines, maxBytes: this.#limits.bytes });
    const events = [];
    const logs = [];
    for (const item of peeked.items) {
      if (item.kind === 'event') events.push(item.event);
      else logs.push(item.batch);
    }
    const running = new Set<number>();
    for (const runner of runners) for (const id of runner.held()) running.add(id);
    for (const [taskId, n] of this.#unreported) if (n > peeked.last) running.add(taskId);
    for (const item of this.#spill)
      if (item.kind === 'event' && item.event.kind === 'taskFinished') running.add(item.event.taskId);
    const draining = this.#stopping || this.#serverDrain;
    const active = runners.slice(0, this.#settings.maxConcurrentTasks);
    const busy = runners.filter((r) => r.busy).length;
    const freeSlots = draining
      ? 0
      : Math.max(0, Math.min(active.filter((r) => r.free).length, this.#settings.maxConcurrentTasks - busy));
    // One task per sync: the server puts all of a reply's tasks of a job into one session, which runs them one
    // after the other in one slot. The next sync follows at once while slots are free.
    const wantWork = Math.min(freeSlots, 1);
    const offer = wantWork > 0 ? active.map((r) => r.offer()).find((o) => o !== undefined) : undefined;
    let waitMs: number | undefined;
    if (
      wantWork > 0 &&
      busy === 0 &&
      peeked.items.length === 0 &&
      this.#outbox.size === 0 &&
      this.#spill.length === 0
    ) {
      const idle = runners.map((r) => r.idleRemainingMs()).filter((ms) => ms !== undefined);
      waitMs = Math.floor(Math.min(this.#settings.pollWaitMs, 30_000, ...idle));
      if (waitMs < 100) waitMs = undefined;
    }
    const capabilities = this.#settings.capabilities;
    const sendCapabilities =
      this.#capabilitiesSent === undefined || !sameCapabilities(this.#capabilitiesSent, capabilities);
    const seq = this.#seq;
    this.#identity.reserve(seq);
    const request: SyncRequest = {
      seq,
      // Leaving with nothing running and nothing left to deliver: this sync signs off.
      state:
        this.#leaving() && quiet && running.size === 0 && peeked.items.length === 0 && this.#outbox.size === 0
          ? 'offline'
          : draining
            ? 'draining'
            : busy > 0 || running.size > 0
              ? 'busy'
              : 'idle',
      ...(sendCapabilities ? { capabilities } : {}),
      metrics: this.#metrics.sample(),
      running: [...running],
      ...(offer ? { session: offer } : {}),
      events,
      logs,
      wantWork,
      ...(waitMs !== undefined ? { waitMs } : {}),
    };
    return { request, quiet, last: peeked.last };
  }

  async #send(request: SyncRequest): Promise<SyncReply> {
    const identity = this.#identity.current!;
    const controller = request.waitMs ? new AbortController() : undefined;
    this.#poll = controller;
    if (controller && this.#urgent) controller.abort();
    this.#lastSyncAt = Date.now();
    try {
      return await this.#connection.sync({
        workerId: identity.workerId,
        token: identity.token,
        request,
        ...(controller ? { signal: controller.signal } : {}),
      });
    } catch (error) {
      if (controller?.signal.aborted) throw new AbortedPoll();
      throw error;
    } finally {
      this.#poll = undefined;
    }
  }

  #classify(error: unknown): Failure {
    if (error instanceof AbortedPoll) return 'aborted';
    const code = error instanceof CorralError ? error.code : undefined;
    switch (code) {
      case FarmErrorCode.Unauthorized:
      case FarmErrorCode.Forbidden:
      case FarmErrorCode.NotFound:
      case FarmErrorCode.Conflict:
        return 'register';
      case FarmErrorCode.TooLarge:
        return 'shrink';
      default:
        return 'retry';
    }
  }

  async #retryDelay(error: unknown): Promise<void> {
    this.#failures++;
    const delay = this.#backoff.next();
    const code = error instanceof CorralError ? error.code : undefined;
    const log = { err: error, attempt: this.#failures, retryInMs: delay };
    if (code === FarmErrorCode.BadRequest) this.#log.error(log, 'the server refused a sync as malformed; retrying');
    else if (this.#failures === 1 || this.#failures % 20 === 0) this.#log.warn(log, 'sync failed; retrying');
    else this.#log.debug(log, 'sync failed; retrying');
    await this.#sleep(delay, 'stop');
  }

  #afterReply(attempt: Attempt): void {
    if (this.#failures > 0) this.#log.info({ after: this.#failures }, 'reached the server again');
    this.#failures = 0;
    this.#backoff.reset();
    this.#syncs++;
    this.#seq = attempt.request.seq + 1;
    if (attempt.request.capabilities) this.#capabilitiesSent = attempt.request.capabilities;
    // The reply acknowledges exactly what the sync carried.
    if (attempt.last > 0) {
      this.#outbox.ack(attempt.last);
      for (const [taskId, n] of this.#unreported) if (n <= attempt.last) this.#unreported.delete(taskId);
    }
  }

  #handle(reply: SyncReply): void {
    if (reply.reset) {
      this.#log.warn('the server had declared this worker lost: dropping everything and starting clean');
      this.#dropAll('the server reset this worker');
    }
    for (const taskId of reply.cancel) {
      if (this.#runners.some((r) => r.cancelTask(taskId, 'server'))) {
        this.#log.info({ taskId }, 'the server canceled a task');
      }
    }
    for (const sessionId of reply.endSessions) {
      this.#runners.find((r) => r.serverSessionId === sessionId)?.requestEnd();
    }
    if (reply.drain !== this.#serverDrain) {
      this.#serverDrain = reply.drain;
      this.#log.info(reply.drain ? 'the server asked this worker to drain' : 'the drain was lifted');
      if (reply.drain) for (const runner of this.#runners) runner.requestEnd();
    }
    for (const assignment of reply.assignments) this.#assign(assignment);
  }

  #assign(assignment: Assignment): void {
    this.#log.debug(
      { taskId: assignment.taskId, jobId: assignment.jobId, sessionId: assignment.sessionId },
      'assigned a task',
    );
    if (this.#stopping) {
      this.#report({
        kind: 'event',
        event: {
          kind: 'taskFinished',
          taskId: assignment.taskId,
          state: 'canceled',
          failMessage: 'the worker is stopping',
          time: Date.now(),
        },
      });
      this.#wake(true);
      return;
    }
    const runners = this.#slots();
    const runner =
      runners.find((r) => r.serverSessionId === assignment.sessionId) ??
      runners.find((r) => r.free && r.serverSessionId === undefined) ??
      runners.find((r) => r.free) ??
      runners.find((r) => !r.busy) ??
      runners[0]!;
    runner.assign(assignment);
  }

  /** Drops every task held (no reports about them), ends the sessions and removes their task events. */
  #dropAll(why: string): void {
    const tasks = new Set<number>(this.#unreported.keys());
    for (const runner of this.#runners) for (const id of runner.reset()) tasks.add(id);
    const isTaskEvent = (item: OutboxItem) =>
      item.kind === 'event' && TASK_EVENTS.has(item.event.kind) && tasks.has((item.event as { taskId: number }).taskId);
    for (const item of this.#spill) {
      if (item.kind === 'event' && item.event.kind === 'taskFinished') tasks.add(item.event.taskId);
    }
    let removed = 0;
    try {
      removed = this.#outbox.remove(isTaskEvent);
    } catch (error) {
      // The server ignores reports about tasks that are no longer this worker's: they are only noise.
      this.#log.warn({ err: error }, "cannot remove the dropped tasks' reports from the outbox");
    }
    const kept = this.#spill.filter((item) => !isTaskEvent(item));
    removed += this.#spill.length - kept.length;
    this.#spill.splice(0, this.#spill.length, ...kept);
    this.#unreported.clear();
    this.#log.info({ tasks: [...tasks], removedReports: removed, why }, 'dropped the tasks held');
  }

  async #waitForNextSync(request: SyncRequest, reply: SyncReply): Promise<void> {
    const started = this.#lastSyncAt;
    for (;;) {
      if (this.#urgent) return;
      if (this.#leaving() && this.#quiet()) return;
      const now = Date.now();
      const busy = this.#runners.some((r) => r.busy) || this.#outbox.size > 0;
      let deadline: number;
      if (this.#outbox.size > 0) {
        // More waits than one sync carried.
        return;
      }
      if (reply.assignments.length > 0 && !this.#leaving() && !this.#serverDrain && this.#freeSlot()) return;
      else if (this.#dirtySince !== undefined) deadline = this.#dirtySince + this.#settings.syncIntervalMs;
      else if (busy || this.#stopping || this.#serverDrain)
        deadline = this.#lastSyncAt + this.#settings.heartbeatIntervalMs;
      else if (request.waitMs && now - started < Math.min(1000, request.waitMs)) {
        // A long-poll that came back at once with nothing: do not spin.
        deadline = this.#lastSyncAt + Math.min(Math.max(reply.nextSyncMs, 100), this.#settings.heartbeatIntervalMs);
      } else if (!request.waitMs && request.wantWork === 0) {
        deadline = this.#lastSyncAt + this.#settings.heartbeatIntervalMs;
      } else return;
      if (now >= deadline) return;
      await this.#sleep(deadline - now, 'any');
    }
  }

  // -----------------------------------------------------------------------------------------------------------
  // What the slots report

  #sessionsChanged(): void {
    const openSessions = this.#runners.flatMap((r) => (r.serverSessionId !== undefined ? [r.serverSessionId] : []));
    try {
      this.#identity.update({ openSessions });
    } catch (error) {
      this.#log.warn({ err: error }, 'cannot record the open sessions');
    }
  }

  /**
   * Appends a report to the outbox. Never throws (it runs inside the session runtime's callbacks): when the outbox
   * cannot be written (a full disk), reports wait in memory, in order, and are appended when it works again.
   */
  #report(item: OutboxItem): void {
    this.#dirtySince ??= Date.now();
    if (this.#spill.length > 0 || !this.#append(item)) {
      if (item.kind === 'log' && this.#spill.length >= MAX_SPILL) return;
      this.#spill.push(item);
    }
  }

  /** Appends what waits in memory; stops at the first failure. */
  #drainSpill(): void {
    while (this.#spill.length > 0 && this.#append(this.#spill[0]!)) this.#spill.shift();
  }

  #append(item: OutboxItem): boolean {
    let n: number;
    try {
      n = this.#outbox.append(item);
    } catch (error) {
      const now = Date.now();
      if (now - this.#spillWarnedAt > 10_000) {
        this.#spillWarnedAt = now;
        this.#log.error(
          { err: error, waiting: this.#spill.length + 1 },
          'cannot write the outbox; reports wait in memory',
        );
      }
      return false;
    }
    if (item.kind === 'event' && item.event.kind === 'taskFinished') {
      this.#unreported.set(item.event.taskId, n);
      this.#log.info(
        { taskId: item.event.taskId, state: item.event.state, exitCode: item.event.exitCode },
        'task finished',
      );
    }
    return true;
  }

  #wake(urgent: boolean): void {
    if (urgent) {
      this.#urgent = true;
      this.#poll?.abort();
    } else if (this.#dirtySince !== undefined) {
      return;
    }
    this.#dirtySince ??= Date.now();
    if (this.#sleeper?.wakeOn === 'any') this.#sleeper.resolve();
  }

  /** Ends any sleep at once (stop, expedite). */
  #interrupt(): void {
    this.#sleeper?.resolve();
  }

  /** Sleeps `ms`; `any` also wakes when something waits to be delivered, `stop` only on stop() or expedite(). */
  #sleep(ms: number, wakeOn: 'any' | 'stop'): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.#sleeper?.resolve === done) this.#sleeper = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#sleeper = { wakeOn, resolve: done };
    });
  }

  #exit(reason: AgentExit['reason']): AgentExit {
    return { reason, undelivered: this.#outbox.size + this.#spill.length };
  }
}

/** The agent cut its own long-poll short. */
class AbortedPoll extends Error {}
