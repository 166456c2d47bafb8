/**
 * Deleting finished jobs, by a user and by the server's job retention, on SQLite and PostgreSQL: everything of the
 * job goes (tasks, sessions, logs, events), one event records the deletion, and unfinished jobs are never touched.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FarmErrorCode } from '../../../src/farm/errors.js';
import { BACKENDS, job, openFarm, ScriptedWorker, skipReason } from './backends.js';

const small = (name: string) =>
  job(`name: ${name}
steps:
- name: Work
  parameterSpace:
    taskParameterDefinitions: [{name: N, type: INT, range: "1-3"}]
  script: {actions: {onRun: {command: echo}}}
`);

const count = async (farm: Awaited<ReturnType<typeof openFarm>>['farm'], table: 'tasks' | 'logs' | 'sessions') =>
  Number((await farm.db.selectFrom(table).select(farm.db.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

for (const backend of BACKENDS) {
  describe(`job deletion on ${backend}`, { skip: skipReason(backend) }, () => {
    it('deletes a finished job with everything of it, and refuses an unfinished one', async () => {
      const { farm, done } = await openFarm(backend);
      try {
        const { jobId } = await farm.submitJob({ template: small('Done') }, 'user:test');
        const { jobId: otherId } = await farm.submitJob({ template: small('Other') }, 'user:test');
        await assert.rejects(farm.deleteJob(jobId, 'user:alice'), { code: FarmErrorCode.Conflict });

        const worker = await ScriptedWorker.register(farm, 'w1');
        const reply = await worker.sync({ wantWork: 3 });
        const session = reply.assignments[0]!.sessionId;
        await worker.sync({
          running: worker.held,
          extra: { logs: [{ sessionId: session, taskId: worker.held[0]!, seq: 1, lines: [[Date.now(), 'hello']] }] },
        });
        await worker.runAll();
        assert.equal((await farm.getJob(jobId)).state, 'succeeded');
        const logsBefore = await count(farm, 'logs');
        assert.ok(logsBefore > 0, 'the log line was stored');

        await farm.deleteJob(jobId, 'user:alice');
        await assert.rejects(farm.getJob(jobId), { code: FarmErrorCode.NotFound });
        await assert.rejects(farm.deleteJob(jobId, 'user:alice'), { code: FarmErrorCode.NotFound });
        assert.equal(await count(farm, 'logs'), 0);
        const remaining = await farm.db.selectFrom('tasks').select('job_id').distinct().execute();
        assert.deepEqual(
          remaining.map((t) => t.job_id),
          [otherId],
        );
        const events = await farm.listEvents({});
        assert.ok(!events.some((e) => e.jobId === jobId), "the job's own events are gone");
        const deletion = events.find((e) => e.kind === 'job' && e.subjectId === jobId && e.to === 'deleted');
        assert.ok(deletion, 'an event records the deletion');
        assert.equal(deletion.actor, 'user:alice');
        assert.equal(deletion.from, 'succeeded');
        // The other job (the worker ran it too) is untouched.
        const other = await farm.getJob(otherId);
        assert.equal(other.state, 'succeeded');
        assert.equal(other.counts.succeeded, 3);
      } finally {
        await done();
      }
    });

    it('deletes finished jobs past the retention and keeps newer and unfinished ones', async () => {
      let clock = Date.now();
      const { farm, done } = await openFarm(backend, { now: () => clock, jobRetentionMs: 60_000 });
      try {
        const worker = await ScriptedWorker.register(farm, 'w1');
        const { jobId: old } = await farm.submitJob({ template: small('Old') }, 'user:test');
        await worker.runAll();
        assert.equal((await farm.getJob(old)).state, 'succeeded');
        clock += 45_000;
        const { jobId: recent } = await farm.submitJob({ template: small('Recent') }, 'user:test');
        await worker.runAll();
        const { jobId: unfinished } = await farm.submitJob({ template: small('Waiting') }, 'user:test');
        clock += 30_000; // Old finished 75 s ago, Recent 30 s ago.

        assert.deepEqual(await farm.pruneJobs(), [old]);
        await assert.rejects(farm.getJob(old), { code: FarmErrorCode.NotFound });
        assert.equal((await farm.getJob(recent)).state, 'succeeded');
        assert.equal((await farm.getJob(unfinished)).state, 'queued');

        clock += 10 * 60_000;
        assert.deepEqual(await farm.pruneJobs(), [recent]);
        assert.equal((await farm.getJob(unfinished)).state, 'queued');

        farm.configure({ jobRetentionMs: 0 });
        assert.deepEqual(await farm.pruneJobs(), [], 'a retention of 0 keeps every job');
      } finally {
        await done();
      }
    });
  });
}
