/**
 * @module The farm's resources: `corral workers [drain|undrain <id>]`, `corral queues [create|configure]`,
 * `corral tokens [create|revoke]`. Each lists as a table for people and as JSON or YAML for scripts.
 */
import type { Worker } from '../../farm/api/types.js';
import { CorralError } from '../../model/errors.js';
import { type ConnectionOptions, connect } from '../farm-connection.js';
import { age, table } from '../farm-format.js';
import { CliErrorCode, readUserFile } from '../files.js';
import { ExitCode } from '../main.js';
import { type OutputFormat, printError, printStructured, stdout } from '../output.js';
import { parseId } from './job.js';

interface Common extends ConnectionOptions {
  readonly output: OutputFormat;
}

async function attempt(output: OutputFormat, body: () => Promise<void>): Promise<number> {
  try {
    await body();
    return ExitCode.Ok;
  } catch (error) {
    printError(output, error);
    return ExitCode.Failed;
  }
}

function done(output: OutputFormat, message: string, data: Record<string, unknown> = {}): void {
  if (output === 'human-readable') stdout(`${message}\n`);
  else printStructured(output, { status: 'success', message, ...data });
}

const metricsText = (w: Worker) => {
  const m = w.metrics;
  if (!m) return '';
  const parts = [
    m.cpu !== undefined ? `cpu ${Math.round(m.cpu * 100)}%` : '',
    m.load1 !== undefined ? `load ${m.load1.toFixed(2)}` : '',
    m.memoryUsedMiB !== undefined && m.memoryTotalMiB
      ? `mem ${(m.memoryUsedMiB / 1024).toFixed(1)}/${(m.memoryTotalMiB / 1024).toFixed(1)} GiB`
      : '',
  ];
  return parts.filter(Boolean).join(', ');
};

export function runWorkers(options: Common & { action?: 'drain' | 'undrain'; workerId?: string }): Promise<number> {
  return attempt(options.output, async () => {
    const client = connect(options);
    if (options.action) {
      const workerId = parseId(options.workerId ?? '', 'The worker id');
      await client.setDraining({ workerId, draining: options.action === 'drain' });
      done(options.output, `Worker ${workerId} ${options.action === 'drain' ? 'is draining' : 'takes work again'}.`);
      return;
    }
    const { workers } = await client.listWorkers();
    if (options.output !== 'human-readable') {
      printStructured(options.output, { status: 'success', message: `${workers.length} workers.`, workers });
      return;
    }
    stdout(
      workers.length === 0
        ? 'No workers. Start one with: corral worker --server URL --token TOKEN\n'
        : table(
            ['ID', 'NAME', 'HOST', 'STATE', 'TASKS', 'SEEN', 'HOST METRICS'],
            workers.map((w) => [
              String(w.id),
              w.name,
              w.host,
              w.drainRequested && w.state !== 'draining' ? `${w.state} (drain asked)` : w.state,
              w.tasks.map((t) => `${t.jobId}/${t.taskId}`).join(' ') || '-',
              `${age(w.lastSeen)} ago`,
              metricsText(w),
            ]),
          ),
    );
  });
}

export interface QueuesOptions extends Common {
  readonly action?: 'create' | 'configure';
  readonly name?: string;
  readonly description?: string | undefined;
  readonly runAsUser?: string | undefined;
  readonly environments?: readonly string[];
}

export function runQueues(options: QueuesOptions): Promise<number> {
  return attempt(options.output, async () => {
    const client = connect(options);
    const environments = options.environments?.length
      ? options.environments.map((file) => ({ name: file, text: readUserFile(file, 'environment template') }))
      : undefined;
    if (options.action === 'create') {
      const name = options.name ?? '';
      const created = await client.createQueue({
        name,
        ...(options.description !== undefined ? { description: options.description } : {}),
        ...(options.runAsUser !== undefined ? { runAsUser: options.runAsUser } : {}),
        ...(environments ? { environments } : {}),
      });
      done(options.output, `Created queue '${name}'.`, { queue: created });
      return;
    }
    if (options.action === 'configure') {
      const name = options.name ?? '';
      const changes = {
        ...(options.description !== undefined ? { description: options.description || null } : {}),
        ...(options.runAsUser !== undefined ? { runAsUser: options.runAsUser || null } : {}),
        ...(environments ? { environments } : {}),
      };
      if (Object.keys(changes).length === 0) {
        throw new CorralError(
          CliErrorCode.BadArgument,
          'Nothing to change: give --description, --run-as-user or --env.',
        );
      }
      await client.configureQueue({ name, ...changes });
      done(options.output, `Configured queue '${name}'.`);
      return;
    }
    const { queues } = await client.listQueues();
    if (options.output !== 'human-readable') {
      printStructured(options.output, { status: 'success', message: `${queues.length} queues.`, queues });
      return;
    }
    stdout(
      table(
        ['NAME', 'RUN AS', 'ENVIRONMENTS', 'DESCRIPTION'],
        queues.map((q) => [q.name, q.runAsUser ?? '-', q.environments.join(', ') || '-', q.description ?? '']),
      ),
    );
  });
}

export interface TokensOptions extends Common {
  readonly action?: 'create' | 'revoke';
  readonly name?: string;
  readonly kind?: string;
  readonly tokenId?: string;
}

export function runTokens(options: TokensOptions): Promise<number> {
  return attempt(options.output, async () => {
    const client = connect(options);
    if (options.action === 'create') {
      const kind = (options.kind ?? 'user') as 'admin' | 'user' | 'agent';
      const created = await client.createToken({ name: options.name ?? '', kind });
      if (options.output === 'human-readable') {
        stdout(`${created.token}\n`);
        process.stderr.write(`Created ${kind} token ${created.id} '${options.name}'. It is shown only once.\n`);
      } else {
        printStructured(options.output, { status: 'success', message: `Created token ${created.id}.`, ...created });
      }
      return;
    }
    if (options.action === 'revoke') {
      const id = parseId(options.tokenId ?? '', 'The token id');
      await client.revokeToken({ id });
      done(options.output, `Revoked token ${id}.`);
      return;
    }
    const { tokens } = await client.listTokens();
    if (options.output !== 'human-readable') {
      printStructured(options.output, { status: 'success', message: `${tokens.length} tokens.`, tokens });
      return;
    }
    stdout(
      table(
        ['ID', 'NAME', 'KIND', 'CREATED', 'STATE'],
        tokens.map((t) => [
          String(t.id),
          t.name,
          t.kind,
          `${age(t.createdAt)} ago`,
          t.revokedAt ? `revoked ${age(t.revokedAt)} ago` : 'active',
        ]),
      ),
    );
  });
}
