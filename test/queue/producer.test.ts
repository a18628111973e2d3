import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AUTOMATED_CHECKS } from '../../src/checks/registry.js';
import { enqueueUnfinished } from '../../src/evaluations/service.js';
import { checkJobId, eventJobId, QUEUE_NAMES } from '../../src/queue/names.js';
import { CheckJobSchema, EvaluationEventSchema } from '../../src/queue/payloads.js';
import { ReadinessQueues } from '../../src/queue/producer.js';
import { EvaluationStore } from '../../src/store/redis-store.js';
import { connect, describeRun, resultFor, uniquePrefix } from '../helpers/store.js';

let redis: Redis;
let queues: ReadinessQueues;
let store: EvaluationStore;

beforeAll(() => {
  redis = connect(inject('redisUrl'));
  const prefix = uniquePrefix('producer');
  queues = new ReadinessQueues(redis, prefix);
  store = new EvaluationStore(redis, { prefix });
});

afterAll(async () => {
  await queues.close();
  await redis.quit();
});

describe('queue names and job ids', () => {
  it('have no ":" (BullMQ key separator), and check ids keep their dots', () => {
    for (const name of Object.values(QUEUE_NAMES)) expect(name).not.toContain(':');
    expect(checkJobId('ev-abc-123', 'export.parity')).toBe('ev-abc-123__export.parity');
    expect(eventJobId('ev-abc-123', 7)).toBe('ev-abc-123__v7');
  });

  it('payloads carry references only and are validated', () => {
    expect(CheckJobSchema.parse({ evaluationId: 'ev-abc-123', checkId: 'export.parity' })).toEqual({
      evaluationId: 'ev-abc-123',
      checkId: 'export.parity',
    });
    expect(CheckJobSchema.safeParse({ evaluationId: 'ev:x', checkId: 'export.parity' }).success).toBe(false);
    expect(
      CheckJobSchema.safeParse({ evaluationId: 'ev-abc-123', checkId: 'export.parity', token: 'xoxb-1' }).success,
    ).toBe(false);
    expect(EvaluationEventSchema.safeParse({ evaluationId: 'ev-abc-123', version: 0, reason: 'created' }).success).toBe(
      false,
    );
  });
});

describe('duplicate submissions', () => {
  it('enqueuing the same evaluation twice gives one job per check; heavy checks go to the heavy queue', async () => {
    const { manifest, policy } = await describeRun();
    const { evaluation } = await store.createEvaluation({
      run: 'dup',
      manifest,
      policy,
      requester: 'U0R',
      channel: null,
    });
    await queues.enqueueChecks(evaluation.id, AUTOMATED_CHECKS);
    await queues.enqueueChecks(evaluation.id, AUTOMATED_CHECKS);
    await queues.light.add(
      'training.completed',
      { evaluationId: evaluation.id, checkId: 'training.completed' },
      { jobId: checkJobId(evaluation.id, 'training.completed') },
    );
    const light = await queues.light.getJobs(['waiting']);
    const heavy = await queues.heavy.getJobs(['waiting']);
    const heavyIds = AUTOMATED_CHECKS.filter((c) => c.heavy).map((c) => checkJobId(evaluation.id, c.id));
    expect(heavy.map((j) => j.id).sort()).toEqual(heavyIds.sort());
    expect(light.filter((j) => j.data.evaluationId === evaluation.id)).toHaveLength(
      AUTOMATED_CHECKS.length - heavyIds.length,
    );
    expect(new Set(light.map((j) => j.id)).size).toBe(light.length);
  });

  it('re-enqueues only unfinished checks, idempotently', async () => {
    const { manifest, policy } = await describeRun();
    const { evaluation } = await store.createEvaluation({
      run: 'requeue',
      manifest,
      policy,
      requester: 'U0R',
      channel: null,
    });
    await store.setCheckRunning(evaluation.id, 'training.completed', 't');
    await store.applyCheckResult(evaluation.id, 'training.completed', 't', resultFor('training.completed', 'pass'));
    expect(await enqueueUnfinished(store, queues, evaluation.id)).toBe(AUTOMATED_CHECKS.length - 1);
    await enqueueUnfinished(store, queues, evaluation.id);
    const ids = [...(await queues.light.getJobs(['waiting'])), ...(await queues.heavy.getJobs(['waiting']))]
      .filter((j) => j.data.evaluationId === evaluation.id)
      .map((j) => j.id);
    expect(ids).toHaveLength(AUTOMATED_CHECKS.length - 1);
    expect(ids).not.toContain(checkJobId(evaluation.id, 'training.completed'));
  });

  it('change events: one job per evaluation version, repeated publishes coalesce', async () => {
    await queues.publishChange('ev-events-1', 3, 'check_result');
    await queues.publishChange('ev-events-1', 3, 'check_result');
    await queues.publishChange('ev-events-1', 4, 'check_progress');
    const jobs = (await queues.events.getJobs(['waiting'])).filter((j) => j.data.evaluationId === 'ev-events-1');
    expect(jobs.map((j) => j.id).sort()).toEqual(['ev-events-1__v3', 'ev-events-1__v4']);
  });
});
