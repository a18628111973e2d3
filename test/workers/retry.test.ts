import { cp, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { submitEvaluation } from '../../src/evaluations/service.js';
import { waitForChecks } from '../../src/evaluations/wait.js';
import { checkJobId } from '../../src/queue/names.js';
import { ReadinessQueues } from '../../src/queue/producer.js';
import { EvaluationStore } from '../../src/store/redis-store.js';
import { EXAMPLE_RUN } from '../helpers/runs.js';
import { connect, uniquePrefix } from '../helpers/store.js';
import { waitFor } from '../helpers/wait.js';
import { WorkerProcess } from '../helpers/workers.js';

const prefix = uniquePrefix('retry');
let redis: Redis;
let store: EvaluationStore;
let queues: ReadinessQueues;
let workerRoot: string;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  redis = connect(inject('redisUrl'));
  store = new EvaluationStore(redis, { prefix });
  queues = new ReadinessQueues(redis, prefix);
  workerRoot = await mkdtemp(path.join(tmpdir(), 'readiness-worker-root-'));
});

afterAll(async () => {
  await worker?.stop();
  await queues.close();
  await redis.quit();
  await rm(workerRoot, { recursive: true, force: true });
});

describe('transient failures', () => {
  it('a run folder missing on the worker (volume not mounted yet) is retried with backoff, then succeeds', async () => {
    // The submitter sees the run; the worker's artifact root does not have it yet.
    const { evaluation } = await submitEvaluation(store, queues, {
      artifactRoot: path.dirname(EXAMPLE_RUN),
      run: 'digits-run',
      requester: 'U0REQ',
      channel: null,
    });
    worker = await new WorkerProcess({ redisUrl: inject('redisUrl'), prefix, artifactRoot: workerRoot }).ready();
    const jobId = checkJobId(evaluation.id, 'training.completed');
    await waitFor(
      async () => ((await queues.light.getJob(jobId))?.attemptsMade ?? 0) >= 1,
      () => 'no failed attempt',
      60_000,
    );
    const retried = await queues.light.getJob(jobId);
    expect(await retried?.getState()).toBe('delayed'); // backing off, not failed
    expect(retried?.failedReason).toMatch(/not found under the artifact root/);

    // The volume appears at once (a copy in place would let a retry see a half-copied run).
    await cp(EXAMPLE_RUN, path.join(workerRoot, '.digits-run.partial'), { recursive: true });
    await rename(path.join(workerRoot, '.digits-run.partial'), path.join(workerRoot, 'digits-run'));
    const state = await waitForChecks(store, evaluation.id, { timeoutMs: 120_000 });
    expect(
      state.checks.filter((c) => c.status !== 'pass').map((c) => `${c.id}: ${c.status} ${c.evidence.join(' ')}`),
    ).toEqual([]);
    const done = await queues.light.getJob(jobId);
    expect(await done?.getState()).toBe('completed');
    expect(done?.attemptsMade).toBeGreaterThanOrEqual(2);
    expect(worker.alive).toBe(true);
  });
});
