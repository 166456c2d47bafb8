/**
 * @module One work slot of the agent: runs the server's assignments as OpenJD sessions with `corral/session`.
 *
 * A session belongs to one server session (one job): its environment templates' environments and the job's
 * environments are entered once, the step's environments for each run of tasks with the same `envKey`, then tasks.
 * The session stays open while the server gives more tasks of it; it ends — environments exited innermost first,
 * then `sessionEnded` — when other work comes, when the server names it in `endSessions`, after an idle timeout,
 * after a failure or a cancel (OpenJD: only exits are allowed then), or when the agent stops.
 *
 * Everything the slot does is reported through its host, in order: `taskStarted`, `actionStarted` / `actionEnded`
 * (numbered like the session runtime numbers its actions), log batches, `taskProgress`, `taskFinished`,
 * `sessionEnded`.
 */
import type { ResolvedEnvironment } from '../../model/create-job.js';
import type { Session, SessionOptions } from '../../session/session.js';
import { ActionState, type ActionStatus, SessionState } from '../../session/types.js';
import type { Assignment, JobSpec, SyncEvent } from '../api/types.js';
import type { Logger } from '../daemon/logger.js';
import type { WorkerJob } from './job-spec.js';
import { LogBatcher } from './log-batcher.js';
import type { OutboxItem } from './outbox.js';

/** What a slot needs from the agent. */
export interface RunnerHost {
  /** Appends a report to the outbox. */
  report(item: OutboxItem): void;
  /** Something waits to be delivered; `urgent` asks for a sync now (a task finished, a session ended). */
  wake(urgent: boolean): void;
  /** The job of an assignment: created from its spec, or remembered; an Error when it cannot be created. */
  job(jobId: number, spec: JobSpec | undefined): WorkerJob | Error | undefined;
  /** Creates the OpenJD session (the agent adds the environment, the user and where directories go). */
  createSession(options: SessionOptions): Promise<Session>;
  /** A server session was opened or ended here (the agent remembers open ones across restarts). */
  sessionsChanged(): void;
  readonly logger: Logger;
}

export interface RunnerSettings {
  /** An open session with no work ends after this long. */
  readonly idleTimeoutMs: number;
  /** Most lines in one log batch. */
  readonly logBatchLines: number;
}

/** Why a task is being stopped by the agent. */
export type CancelReason = 'server' | 'drain' | 'reset';

interface Current {
  readonly assignment: Assignment;
  cancel: CancelReason | undefined;
  /** Reset: report nothing more about it. */
  dropped: boolean;
}

interface Entered {
  readonly identifier: string;
  readonly environment: ResolvedEnvironment;
  readonly level: 'job' | 'step';
}

const MESSAGE_LIMIT = 4096;
const cut = (text: string | undefined) =>
  text === undefined ? undefined : text.length > MESSAGE_LIMIT ? `${text.slice(0, MESSAGE_LIMIT - 1)}…` : text;

export class SessionRunner {
  readonly index: number;
  readonly #host: RunnerHost;
  #settings: RunnerSettings;
  #serverSession: { readonly id: number; readonly jobId: number } | undefined;
  #job: WorkerJob | undefined;
  #session: Session | undefined;
  #entered: Entered[] = [];
  #jobEntered = false;
  /** The `envKey` whose step environments are entered. */
  #stepKey: string | undefined;
  /** The session can run nothing more (a failure, a cancel): it must end. */
  #ending = false;
  /** The server or the agent asked the session to end once its current work is done. */
  #endRequested = false;
  #endingNow = false;
  #current: Current | undefined;
  #queue: Current[] = [];
  #pump: Promise<void> | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #idleSince = 0;
  #actions = 0;
  #runningAction: { readonly kind: 'envEnter' | 'envExit' | 'taskRun'; readonly taskId?: number } | undefined;
  #batcher: LogBatcher | undefined;
  #progress: { taskId: number; progress?: number; statusMessage?: string } | undefined;
  #lastProgress: { progress?: number; statusMessage?: string } = {};
  #expedite: { exitMs: number } | undefined;
  #exitTimer: NodeJS.Timeout | undefined;
  #stopping = false;

  constructor(options: { index: number; host: RunnerHost; settings: RunnerSettings }) {
    this.index = options.index;
    this.#host = options.host;
    this.#settings = options.settings;
  }

  set settings(settings: RunnerSettings) {
    this.#settings = settings;
  }

  /** The server session open here, if any. */
  get serverSessionId(): number | undefined {
    return this.#serverSession?.id;
  }

  /** Tasks held: running and queued (those dropped by a reset excluded). */
  held(): number[] {
    return [this.#current, ...this.#queue].flatMap((c) => (c && !c.dropped ? [c.assignment.taskId] : []));
  }

  /** Whether the slot can take a task now. */
  get free(): boolean {
    return !this.#current && this.#queue.length === 0 && !this.#endingNow && !this.#stopping;
  }

  /** Whether anything runs or waits here (tasks, or a session being ended). */
  get busy(): boolean {
    return this.#current !== undefined || this.#queue.length > 0 || this.#endingNow || this.#pump !== undefined;
  }

  /** Whether nothing is left: no task, no open session. */
  get idle(): boolean {
    return !this.busy && this.#serverSession === undefined;
  }

  /** The open session to offer the server (more tasks of the same job and environments), when the slot is free. */
  offer(): { id: number; jobId: number; envKey: string } | undefined {
    if (!this.free || !this.#serverSession || this.#ending || this.#endRequested || this.#stepKey === undefined)
      return undefined;
    return { id: this.#serverSession.id, jobId: this.#serverSession.jobId, envKey: this.#stepKey };
  }

  /** Milliseconds until an idle open session times out, if one waits. */
  idleRemainingMs(now = Date.now()): number | undefined {
    if (!this.#idleTimer) return undefined;
    return Math.max(0, this.#idleSince + this.#settings.idleTimeoutMs - now);
  }

  /** Takes an assignment; it runs after what is already here. */
  assign(assignment: Assignment): void {
    this.#clearIdle();
    this.#queue.push({ assignment, cancel: undefined, dropped: false });
    this.#start();
  }

  /**
   * Stops a task: the running one is canceled with its own cancel mode, a queued one is dropped; both are reported
   * canceled (unless `reason` is a reset).
   * @returns whether the task was here.
   */
  cancelTask(taskId: number, reason: CancelReason): boolean {
    const queued = this.#queue.findIndex((c) => c.assignment.taskId === taskId);
    if (queued !== -1) {
      const [item] = this.#queue.splice(queued, 1);
      if (reason !== 'reset') this.#finishUnstarted(item!.assignment, 'canceled by the server');
      return true;
    }
    const current = this.#current;
    if (!current || current.assignment.taskId !== taskId) return false;
    current.cancel ??= reason;
    if (reason === 'reset') current.dropped = true;
    this.#session?.cancelAction({ reason: cancelText(reason) });
    return true;
  }

  /** Ends the open session once the current work is done (the server's `endSessions`). */
  requestEnd(): void {
    this.#endRequested = true;
    if (!this.busy && this.#serverSession) this.#start();
  }

  /**
   * The agent stops taking work: queued tasks are dropped (reported canceled, so they go back to ready), the
   * current one may finish, the session then ends.
   */
  stop(): void {
    this.#stopping = true;
    this.#endRequested = true;
    for (const item of this.#queue.splice(0)) this.#finishUnstarted(item.assignment, 'the worker is stopping');
    if (!this.busy && this.#serverSession) this.#start();
  }

  /** Cancels the current task with its own cancel mode (a drain's grace is over). */
  cancelCurrent(reason: CancelReason): void {
    if (this.#current) this.cancelTask(this.#current.assignment.taskId, reason);
  }

  /**
   * Hurries: the running action is killed now, and environment exits get at most `exitMs` each. Cleanup is never
   * skipped.
   */
  expedite(exitMs: number): void {
    this.#expedite = { exitMs };
    this.stop();
    const action = this.#runningAction;
    if (!action) return;
    if (action.kind === 'envExit') this.#armExitDeadline();
    else {
      if (this.#current) this.#current.cancel ??= 'drain';
      this.#session?.cancelAction({ timeLimitSeconds: 0, reason: cancelText('drain') });
    }
  }

  /**
   * The server declared the worker lost: every task here is dropped without a report (the server gave them to
   * others), the running action is canceled and the session ends.
   */
  reset(): number[] {
    const dropped = this.held();
    this.#queue.length = 0;
    if (this.#current) {
      this.#current.dropped = true;
      this.#current.cancel ??= 'reset';
      this.#session?.cancelAction({ reason: cancelText('reset') });
    }
    this.#endRequested = true;
    if (!this.busy && this.#serverSession) this.#start();
    return dropped;
  }

  /** Puts gathered log lines and the latest progress into the outbox (before a sync is built). */
  flushPending(): void {
    this.#batcher?.flush();
    const progress = this.#progress;
    if (progress) {
      this.#progress = undefined;
      if (!this.#current?.dropped) this.#event({ kind: 'taskProgress', ...progress });
    }
  }

  /** Resolves when the slot has nothing running and no session open. */
  async settled(): Promise<void> {
    while (this.#pump) await this.#pump;
  }

  // -----------------------------------------------------------------------------------------------------------

  #start(): void {
    this.#pump ??= this.#run().finally(() => {
      this.#pump = undefined;
      // Work that arrived while the last step was finishing.
      if (this.#queue.length > 0 || (this.#serverSession && this.#mustEnd())) this.#start();
      else this.#afterWork();
      // Urgent: the slot is free now, and asking for the next task at once is most of a short task's turnaround.
      this.#host.wake(true);
    });
  }

  #mustEnd(): boolean {
    return this.#ending || this.#endRequested;
  }

  async #run(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const next = this.#queue.shift()!;
        if (this.#serverSession && (this.#serverSession.id !== next.assignment.sessionId || this.#ending)) {
          await this.#endSession(this.#ending ? 'the session failed' : 'other work');
        }
        this.#endRequested = this.#stopping;
        this.#current = next;
        try {
          await this.#runTask(next);
        } finally {
          this.#current = undefined;
        }
      }
      if (this.#serverSession && this.#mustEnd()) await this.#endSession('asked to end');
    } catch (error) {
      // A bug, not a job's failure: end cleanly and say so.
      this.#host.logger.error({ err: error }, 'the session runner failed');
      if (this.#current && !this.#current.dropped) {
        this.#finish(this.#current.assignment, 'failed', undefined, `worker error: ${(error as Error).message}`);
      }
      this.#ending = true;
      if (this.#serverSession) await this.#endSession('worker error').catch(() => {});
    }
  }

  /** After work: an open session waits for more, up to the idle timeout. */
  #afterWork(): void {
    this.#clearIdle();
    if (!this.#serverSession) return;
    this.#idleSince = Date.now();
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.free && this.#serverSession) {
        this.#endRequested = true;
        this.#start();
      }
    }, this.#settings.idleTimeoutMs);
    this.#idleTimer.unref?.();
  }

  #clearIdle(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  async #runTask(current: Current): Promise<void> {
    const { assignment } = current;
    const at = Date.now();
    this.#event({ kind: 'taskStarted', taskId: assignment.taskId, time: at });
    if (current.cancel) return this.#finish(assignment, 'canceled', undefined, cancelText(current.cancel));

    // The job and the session.
    if (!this.#serverSession) {
      const job = this.#host.job(assignment.jobId, assignment.job);
      if (!(job instanceof Error) && job !== undefined) this.#job = job;
      this.#openServerSession(assignment);
      if (job === undefined) {
        // The server sends a job's spec with a new session's first task; without it the session is of no use.
        this.#ending = true;
        return this.#finish(
          assignment,
          'canceled',
          undefined,
          'the worker does not have the job; it needs a new session',
        );
      }
      if (job instanceof Error) {
        this.#ending = true;
        return this.#finish(assignment, 'failed', undefined, `cannot create the job on this worker: ${job.message}`);
      }
    } else if (assignment.job) {
      const job = this.#host.job(assignment.jobId, assignment.job);
      if (job && !(job instanceof Error)) this.#job = job;
    }
    const job = this.#job!;
    if (!this.#session) {
      try {
        this.#session = await this.#host.createSession({
          sessionId: `corral-${this.#serverSession!.id}`,
          jobParameters: job.spec.parameters,
          pathMappingRules: job.pathMappingRules,
          ...(job.spec.runAsUser ? { user: job.spec.runAsUser } : {}),
          logSink: {
            debug: false,
            output: (line, time, action) => this.#line(action.id, time, line),
            info: (message, time, level, action) => {
              if (level !== 'debug') this.#line(action?.id, time, message);
            },
          },
          onActionStatus: (status) => this.#onStatus(status),
        });
      } catch (error) {
        this.#ending = true;
        return this.#finish(assignment, 'failed', undefined, `cannot start a session: ${(error as Error).message}`);
      }
    }

    // Environments: the job's once, the step's when they differ from those entered.
    const step = job.job.steps[assignment.stepIndex];
    if (!step) {
      this.#ending = true;
      return this.#finish(assignment, 'failed', undefined, `the job has no step ${assignment.stepIndex}`);
    }
    if (!this.#jobEntered) {
      this.#jobEntered = true;
      const environments = [
        ...job.job.externalEnvironments.map((e, i) => ({ e, id: `env${i}-${e.name}` })),
        ...job.job.jobEnvironments.map((e, i) => ({ e, id: `job${i}-${e.name}` })),
      ];
      for (const { e, id } of environments) {
        if (!(await this.#enter(current, e, id, 'job'))) return;
      }
    }
    if (this.#stepKey !== assignment.envKey) {
      const exited = await this.#exitDownTo('job');
      if (!exited) {
        this.#ending = true;
        return this.#finish(assignment, 'canceled', undefined, "the previous step's environment did not exit cleanly");
      }
      this.#stepKey = assignment.envKey;
      for (const [i, e] of step.stepEnvironments.entries()) {
        if (!(await this.#enter(current, e, `step${assignment.stepIndex}.${i}-${e.name}`, 'step'))) return;
      }
    }
    if (current.cancel) return this.#finish(assignment, 'canceled', undefined, cancelText(current.cancel));

    // The task.
    const action = this.#beginAction('taskRun', step.name, assignment.taskId);
    this.#lastProgress = {};
    const status = await this.#session.runTask({
      stepName: step.name,
      script: step.script,
      taskParameters: assignment.parameters,
    });
    this.#endAction(action, status);
    if (status.state !== ActionState.Success) this.#ending = true;
    const state =
      status.state === ActionState.Success
        ? 'succeeded'
        : status.state === ActionState.Canceled && current.cancel
          ? 'canceled'
          : 'failed';
    this.#finish(assignment, state, status.exitCode, status.failMessage);
  }

  /** Enters an environment; on failure (or a cancel) finishes the task and returns false. */
  async #enter(
    current: Current,
    environment: ResolvedEnvironment,
    identifier: string,
    level: Entered['level'],
  ): Promise<boolean> {
    const session = this.#session!;
    if (current.cancel) {
      this.#ending = true;
      this.#finish(current.assignment, 'canceled', undefined, cancelText(current.cancel));
      return false;
    }
    this.#entered.push({ identifier, environment, level });
    const action = this.#beginAction('envEnter', environment.name, undefined);
    const status = await session.enterEnvironment({ environment, identifier });
    this.#endAction(action, status);
    if (status.state === ActionState.Success) return true;
    this.#ending = true;
    if (current.cancel) this.#finish(current.assignment, 'canceled', undefined, cancelText(current.cancel));
    else {
      this.#finish(
        current.assignment,
        'failed',
        status.exitCode,
        `the environment '${environment.name}' failed to enter: ${status.failMessage ?? status.state}`,
      );
    }
    return false;
  }

  /** Exits environments innermost first: the step's (`'job'`: down to the job's), or all (`'all'`). */
  async #exitDownTo(depth: 'job' | 'all'): Promise<boolean> {
    let clean = true;
    const session = this.#session;
    while (this.#entered.length > 0) {
      const top = this.#entered[this.#entered.length - 1]!;
      if (depth === 'job' && top.level === 'job') break;
      this.#entered.pop();
      if (!session) continue;
      const action = this.#beginAction('envExit', top.environment.name, undefined);
      if (this.#expedite) this.#armExitDeadline();
      const status = await session.exitEnvironment({ identifier: top.identifier });
      clearTimeout(this.#exitTimer);
      this.#endAction(action, status);
      if (status.state !== ActionState.Success) clean = false;
    }
    if (depth === 'job') this.#stepKey = undefined;
    return clean && session?.state !== SessionState.ReadyEnding;
  }

  #armExitDeadline(): void {
    clearTimeout(this.#exitTimer);
    const session = this.#session;
    this.#exitTimer = setTimeout(
      () => session?.cancelAction({ timeLimitSeconds: 0, reason: 'the worker is stopping now' }),
      this.#expedite?.exitMs ?? 0,
    );
    this.#exitTimer.unref?.();
  }

  async #endSession(reason: string): Promise<void> {
    const server = this.#serverSession;
    if (!server) return;
    this.#endingNow = true;
    this.#clearIdle();
    try {
      this.#host.logger.debug({ sessionId: server.id, reason }, 'ending the session');
      await this.#exitDownTo('all');
      if (this.#session) {
        try {
          await this.#session.cleanup();
        } catch (error) {
          this.#host.logger.warn({ err: error, sessionId: server.id }, 'cleaning up the session failed');
        }
      }
      this.#batcher?.flush();
      this.#event({ kind: 'sessionEnded', sessionId: server.id, time: Date.now() });
    } finally {
      this.#session = undefined;
      this.#serverSession = undefined;
      this.#batcher = undefined;
      this.#entered = [];
      this.#jobEntered = false;
      this.#stepKey = undefined;
      this.#ending = false;
      this.#endRequested = this.#stopping;
      this.#actions = 0;
      this.#job = undefined;
      this.#endingNow = false;
      this.#host.sessionsChanged();
      this.#host.wake(true);
    }
  }

  #openServerSession(assignment: Assignment): void {
    this.#serverSession = { id: assignment.sessionId, jobId: assignment.jobId };
    this.#batcher = new LogBatcher({
      sessionId: assignment.sessionId,
      maxLines: this.#settings.logBatchLines,
      emit: (batch) => {
        this.#host.report({ kind: 'log', batch });
        this.#host.wake(false);
      },
    });
    this.#host.sessionsChanged();
  }

  #beginAction(kind: 'envEnter' | 'envExit' | 'taskRun', name: string, taskId: number | undefined): number {
    // The session runtime numbers actions 1, 2, … in the order they start; the worker reports the same numbers.
    const action = ++this.#actions;
    this.#runningAction = { kind, ...(taskId !== undefined ? { taskId } : {}) };
    this.#event({
      kind: 'actionStarted',
      sessionId: this.#serverSession!.id,
      action,
      actionKind: kind,
      name: name.slice(0, 1024),
      ...(taskId !== undefined ? { taskId } : {}),
      time: Date.now(),
    });
    return action;
  }

  #endAction(action: number, status: ActionStatus): void {
    this.#runningAction = undefined;
    if (status.action.id !== action) {
      this.#host.logger.warn({ expected: action, got: status.action.id }, 'action numbers differ from the session');
    }
    const failMessage = cut(status.failMessage);
    this.#event({
      kind: 'actionEnded',
      sessionId: this.#serverSession!.id,
      action,
      state: status.state,
      ...(status.exitCode !== undefined ? { exitCode: status.exitCode } : {}),
      ...(failMessage !== undefined ? { failMessage } : {}),
      time: Date.now(),
    });
  }

  #line(action: number | undefined, time: number, text: string): void {
    const batcher = this.#batcher;
    if (!batcher) return;
    const taskId = action !== undefined ? this.#runningAction?.taskId : undefined;
    batcher.add(action, taskId, time, text);
    this.#host.wake(false);
  }

  #onStatus(status: ActionStatus): void {
    const running = this.#runningAction;
    if (status.state !== ActionState.Running || running?.kind !== 'taskRun' || running.taskId === undefined) return;
    const { progress } = status;
    const statusMessage = cut(status.statusMessage);
    if (progress === this.#lastProgress.progress && statusMessage === this.#lastProgress.statusMessage) return;
    this.#lastProgress = {
      ...(progress !== undefined ? { progress } : {}),
      ...(statusMessage ? { statusMessage } : {}),
    };
    this.#progress = {
      taskId: running.taskId,
      ...(progress !== undefined ? { progress } : {}),
      ...(statusMessage !== undefined ? { statusMessage } : {}),
    };
    this.#host.wake(false);
  }

  /** Reports a task's end (unless a reset dropped it). */
  #finish(
    assignment: Assignment,
    state: 'succeeded' | 'failed' | 'canceled',
    exitCode: number | undefined,
    failMessage: string | undefined,
  ): void {
    if (this.#current?.assignment === assignment && this.#current.dropped) return;
    this.flushPending();
    const message = state === 'succeeded' ? undefined : cut(failMessage);
    this.#event({
      kind: 'taskFinished',
      taskId: assignment.taskId,
      state,
      ...(exitCode !== undefined ? { exitCode } : {}),
      ...(message !== undefined ? { failMessage: message } : {}),
      time: Date.now(),
    });
    this.#host.wake(true);
  }

  /** A task that never started here (dropped from the queue): back to the server as canceled. */
  #finishUnstarted(assignment: Assignment, why: string): void {
    this.#event({
      kind: 'taskFinished',
      taskId: assignment.taskId,
      state: 'canceled',
      failMessage: why,
      time: Date.now(),
    });
    this.#host.wake(true);
  }

  #event(event: SyncEvent): void {
    // Lines gathered so far come first: the outbox is in the order things happened.
    this.#batcher?.flush();
    this.#host.report({ kind: 'event', event });
  }
}

function cancelText(reason: CancelReason): string {
  return reason === 'server'
    ? 'canceled by the server'
    : reason === 'drain'
      ? 'canceled: the worker is stopping'
      : 'canceled: the server reset this worker';
}
