import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTOMATED_CHECKS } from '../../src/checks/registry.js';
import { submitEvaluation } from '../../src/evaluations/service.js';
import { waitForChecks } from '../../src/evaluations/wait.js';
import { ReadinessQueues } from '../../src/queue/producer.js';
import { EvaluationStore } from '../../src/store/redis-store.js';
import { slowLatencyLayer, waitForProgress } from '../helpers/evaluations.js';
import { OwnRedis } from '../helpers/redis-server.js';
import { EXAMPLE_RUN } from '../helpers/runs.js';
import { connect, uniquePrefix } from '../helpers/store.js';
import { FAST_STALL_ENV, HeavyHold, WorkerProcess } from '../helpers/workers.js';

const artifactRoot = path.dirname(EXAMPLE_RUN);
const prefix = uniquePrefix('aof');
let server: OwnRedis;
let redis: Redis;
let store: EvaluationStore;
let queues: ReadinessQueues;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  server = await OwnRedis.start({ aof: true });
  redis = connect(server.url);
  store = new EvaluationStore(redis, { prefix });
  queues = new ReadinessQueues(redis, prefix);
});

/** export.inference held at its first progress report: Redis certainly restarts in the middle of it. */
const hold = new HeavyHold();

afterAll(async () => {
  hold.remove();
  await worker?.stop('SIGKILL');
  await queues.close();
  redis.disconnect();
  await server.stop();
});

describe('Redis restarted (AOF on) between enqueue and completion', () => {
  it('loses nothing: queued jobs survive, a running heavy check completes, each result stored once', async () => {
    const { evaluation } = await submitEvaluation(store, queues, {
      artifactRoot,
      run: 'digits-run',
      requester: 'U0REQ',
      channel: null,
      policyLayer: slowLatencyLayer(20_000),
    });
    const waiting = async () =>
      (await queues.light.getJobCountByTypes('waiting')) + (await queues.heavy.getJobCountByTypes('waiting'));
    const queued = await waiting();
    expect(queued).toBe(AUTOMATED_CHECKS.length);

    await server.restart(); // SIGKILL: only what AOF (appendfsync always) has survives
    expect(await waiting()).toBe(queued);
    expect((await store.getState(evaluation.id))?.checks.every((c) => c.status === 'pending')).toBe(true);

    worker = await new WorkerProcess({
      redisUrl: server.url,
      prefix,
      artifactRoot,
      extra: FAST_STALL_ENV,
      hold,
    }).ready();
    await waitForProgress(store, evaluation.id, 'export.inference');
    await server.restart(); // again, with the heavy check in the middle of its latency test
    hold.release();
    const state = await waitForChecks(store, evaluation.id, { timeoutMs: 180_000 });

    expect(state.checks.map((c) => c.status)).toEqual(AUTOMATED_CHECKS.map(() => 'pass'));
    const audit = await store.readAudit({ evaluation: evaluation.id });
    const results = audit.filter((a) => a.type === 'check_result').map((a) => a.data.check);
    expect(results.sort()).toEqual(AUTOMATED_CHECKS.map((c) => c.id).sort());
    expect(worker.alive).toBe(true);
  });
});
