/**
 * @module Numbered schema migrations. Each runs in its own transaction; the database records the versions applied.
 * A server refuses a database that has versions it does not know (a newer Corral migrated it): running on it could
 * corrupt work.
 *
 * On PostgreSQL several servers may start at once: migrating holds an advisory lock, so one applies the migrations
 * and the others find them done.
 */
import { type Kysely, sql } from 'kysely';
import { CorralError } from '../../model/errors.js';
import { FarmErrorCode } from '../errors.js';
import type { Dialect, FarmDatabase } from './database.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  up(db: Kysely<unknown>, dialect: Dialect): Promise<void>;
}

const counts = ['pending', 'ready', 'assigned', 'running', 'succeeded', 'failed', 'canceled'] as const;

/** The schema's migrations, in order. Never edit a released one: add the next. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'farm tables',
    async up(db, dialect) {
      const id = dialect === 'postgres' ? 'serial' : 'integer';
      const big = dialect === 'postgres' ? 'bigint' : 'integer';
      const real = dialect === 'postgres' ? 'double precision' : 'real';
      const pk = (c: import('kysely').ColumnDefinitionBuilder) =>
        dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement();
      // biome-ignore lint/suspicious/noExplicitAny: a table builder's type changes with every column added
      type AnyTable = import('kysely').CreateTableBuilder<any, any>;
      const withCounts = (table: AnyTable): AnyTable => {
        let t = table.addColumn('task_count', 'integer', (c) => c.notNull().defaultTo(0));
        for (const state of counts) t = t.addColumn(`${state}_count`, 'integer', (c) => c.notNull().defaultTo(0));
        return t;
      };

      await db.schema
        .createTable('queues')
        .addColumn('id', id, pk)
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text')
        .addColumn('run_as_user', 'text')
        .addColumn('environments', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('path_mapping_rules', 'text')
        .addColumn('created_at', big, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('workers')
        .addColumn('id', id, pk)
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('capabilities', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('metrics', 'text')
        .addColumn('last_seen', big, (c) => c.notNull())
        .addColumn('registered_at', big, (c) => c.notNull())
        .addColumn('sync_seq', big, (c) => c.notNull().defaultTo(0))
        .addColumn('sync_reply', 'text')
        .addColumn('drain_requested', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('lost_count', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();

      await db.schema
        .createTable('tokens')
        .addColumn('id', id, pk)
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('worker_id', 'integer', (c) => c.references('workers.id').onDelete('cascade'))
        .addColumn('created_at', big, (c) => c.notNull())
        .addColumn('last_used_at', big)
        .addColumn('revoked_at', big)
        .execute();

      await withCounts(
        db.schema
          .createTable('jobs')
          .addColumn('id', id, pk)
          .addColumn('queue_id', 'integer', (c) => c.notNull().references('queues.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('description', 'text')
          .addColumn('priority', 'integer', (c) => c.notNull())
          .addColumn('submitter', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('template', 'text', (c) => c.notNull())
          .addColumn('template_format', 'text', (c) => c.notNull())
          .addColumn('environment_templates', 'text', (c) => c.notNull())
          .addColumn('parameter_values', 'text', (c) => c.notNull())
          .addColumn('parameters', 'text', (c) => c.notNull())
          .addColumn('submission_context', 'text', (c) => c.notNull())
          .addColumn('max_retries_per_task', 'integer', (c) => c.notNull())
          .addColumn('max_worker_failures', 'integer', (c) => c.notNull())
          .addColumn('continue_on_failure', 'integer', (c) => c.notNull().defaultTo(0)),
      )
        .addColumn('created_at', big, (c) => c.notNull())
        .addColumn('started_at', big)
        .addColumn('finished_at', big)
        .addColumn('updated_at', big, (c) => c.notNull())
        .execute();

      await withCounts(
        db.schema
          .createTable('steps')
          .addColumn('id', id, pk)
          .addColumn('job_id', 'integer', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
          .addColumn('idx', 'integer', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('depends_on', 'text', (c) => c.notNull())
          .addColumn('host_requirements', 'text')
          .addColumn('env_key', 'text', (c) => c.notNull())
          .addColumn('suspended', 'integer', (c) => c.notNull().defaultTo(0)),
      )
        .addColumn('started_at', big)
        .addColumn('finished_at', big)
        .addUniqueConstraint('steps_job_idx', ['job_id', 'idx'])
        .execute();

      await db.schema
        .createTable('tasks')
        .addColumn('id', id, pk)
        .addColumn('job_id', 'integer', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
        .addColumn('step_id', 'integer', (c) => c.notNull().references('steps.id').onDelete('cascade'))
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('parameters', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('lost_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('worker_id', 'integer')
        .addColumn('session_id', 'integer')
        .addColumn('avoid_worker_id', 'integer')
        // 1 when its step has host requirements: only workers shown to meet them may claim it.
        .addColumn('constrained', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('priority', 'integer', (c) => c.notNull())
        .addColumn('ready_at', big, (c) => c.notNull())
        .addColumn('exit_code', 'integer')
        .addColumn('progress', real)
        .addColumn('status_message', 'text')
        .addColumn('fail_message', 'text')
        .addColumn('started_at', big)
        .addColumn('finished_at', big)
        .addColumn('updated_at', big, (c) => c.notNull())
        .execute();
      // Ready tasks only, so a task's index entries change when it becomes ready or is claimed, not at every later
      // move. The claim walks them by priority, then age (job id), then position; a session's claim walks one step's.
      // (Queries must compare state with the literal 'ready' for the planner to use them.)
      await db.schema
        .createIndex('tasks_ready')
        .on('tasks')
        .columns(['priority desc', 'job_id', 'idx'])
        .where(sql.ref('state'), '=', sql.lit('ready'))
        .execute();
      await db.schema
        .createIndex('tasks_ready_step')
        .on('tasks')
        .columns(['step_id', 'idx'])
        .where(sql.ref('state'), '=', sql.lit('ready'))
        .execute();
      // Listing a job's tasks in order, and moving a job's or step's tasks in bulk.
      await db.schema.createIndex('tasks_job_order').on('tasks').columns(['job_id', 'step_id', 'idx']).execute();
      await db.schema
        .createIndex('tasks_worker')
        .on('tasks')
        .column('worker_id')
        .where(sql.ref('state'), 'in', [sql.lit('assigned'), sql.lit('running')])
        .execute();
      await db.schema.createIndex('steps_state').on('steps').column('state').execute();
      await db.schema.createIndex('jobs_state').on('jobs').columns(['state', 'priority']).execute();

      await db.schema
        .createTable('sessions')
        .addColumn('id', id, pk)
        .addColumn('worker_id', 'integer', (c) => c.notNull().references('workers.id'))
        .addColumn('job_id', 'integer', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('started_at', big, (c) => c.notNull())
        .addColumn('ended_at', big)
        .addColumn('environments', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
      await db.schema.createIndex('sessions_worker').on('sessions').columns(['worker_id', 'state']).execute();

      await db.schema
        .createTable('actions')
        .addColumn('id', id, pk)
        .addColumn('session_id', 'integer', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
        .addColumn('job_id', 'integer', (c) => c.notNull())
        .addColumn('task_id', 'integer')
        .addColumn('worker_action', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('exit_code', 'integer')
        .addColumn('fail_message', 'text')
        .addColumn('started_at', big, (c) => c.notNull())
        .addColumn('ended_at', big)
        .addUniqueConstraint('actions_session_worker_action', ['session_id', 'worker_action'])
        .execute();
      await db.schema.createIndex('actions_task').on('actions').column('task_id').execute();
      await db.schema.createIndex('actions_job').on('actions').column('job_id').execute();

      await db.schema
        .createTable('logs')
        .addColumn('id', id, pk)
        .addColumn('job_id', 'integer', (c) => c.notNull())
        .addColumn('session_id', 'integer', (c) => c.notNull())
        .addColumn('action_id', 'integer')
        .addColumn('task_id', 'integer')
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('time', big, (c) => c.notNull())
        .addColumn('lines', 'text', (c) => c.notNull())
        .addColumn('line_count', 'integer', (c) => c.notNull())
        .addUniqueConstraint('logs_session_seq', ['session_id', 'seq'])
        .execute();
      await db.schema.createIndex('logs_job').on('logs').columns(['job_id', 'id']).execute();
      await db.schema.createIndex('logs_task').on('logs').columns(['task_id', 'id']).execute();
      await db.schema.createIndex('logs_action').on('logs').columns(['action_id', 'id']).execute();

      await db.schema
        .createTable('worker_job_failures')
        .addColumn('worker_id', 'integer', (c) => c.notNull())
        .addColumn('job_id', 'integer', (c) => c.notNull())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('worker_job_failures_pk', ['worker_id', 'job_id'])
        .execute();

      await db.schema
        .createTable('events')
        .addColumn('id', id, pk)
        .addColumn('time', big, (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('subject_id', 'integer', (c) => c.notNull())
        .addColumn('job_id', 'integer')
        .addColumn('from_state', 'text')
        .addColumn('to_state', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .execute();
      await db.schema.createIndex('events_job').on('events').columns(['job_id', 'id']).execute();
      await db.schema.createIndex('events_subject').on('events').columns(['kind', 'subject_id']).execute();

      await sql`insert into queues (name, description, environments, created_at) values ('default', 'Jobs submitted without a queue', '[]', ${Date.now()})`.execute(
        db,
      );
    },
  },
];

/** The newest schema version this Corral knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Brings the database to {@link SCHEMA_VERSION}.
 * @returns the versions before and after.
 * @throws {CorralError} `CORRAL_E_DATABASE_TOO_NEW` when the database has versions this Corral does not know.
 */
export async function migrate(database: FarmDatabase): Promise<{ from: number; to: number }> {
  type Versions = Kysely<{ corral_migrations: { version: number; name: string; applied_at: number } }>;
  // One connection throughout, so that on PostgreSQL a session-level advisory lock serialises servers starting at
  // once (one migrates, the others then find nothing to do).
  return (database.db as unknown as Versions).connection().execute(async (db) => {
    const postgres = database.dialect === 'postgres';
    if (postgres) await sql`select pg_advisory_lock(4242424242)`.execute(db);
    try {
      await db.schema
        .createTable('corral_migrations')
        .ifNotExists()
        .addColumn('version', 'integer', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('applied_at', postgres ? 'bigint' : 'integer', (c) => c.notNull())
        .execute();
      const current = async () => {
        const row = await db
          .selectFrom('corral_migrations')
          .select((eb) => eb.fn.max('version').as('v'))
          .executeTakeFirst();
        return Number(row?.v ?? 0);
      };
      const from = await current();
      if (from > SCHEMA_VERSION) {
        throw new CorralError(
          FarmErrorCode.DatabaseTooNew,
          `The database ${database.location} is at schema version ${from}, newer than this Corral's ${SCHEMA_VERSION}; upgrade Corral to use it.`,
        );
      }
      for (const migration of MIGRATIONS) {
        if (migration.version <= from) continue;
        await db.transaction().execute(async (trx) => {
          await migration.up(trx as unknown as Kysely<unknown>, database.dialect);
          await trx
            .insertInto('corral_migrations')
            .values({ version: migration.version, name: migration.name, applied_at: Date.now() })
            .execute();
        });
      }
      return { from, to: await current() };
    } finally {
      if (postgres) await sql`select pg_advisory_unlock(4242424242)`.execute(db);
    }
  });
}
