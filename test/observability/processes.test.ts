import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AUTOMATED_CHECKS } from '../../src/checks/registry.js';
import { submitEvaluation } from '../../src/evaluations/service.js';
import { waitForChecks } from '../../src/evaluations/wait.js';
import { ReadinessQueues } from '../../src/queue/producer.js';
import { EvaluationStore } from '../../src/store/redis-store.js';
import { freePort } from '../global-setup.js';
import { EXAMPLE_RUN } from '../helpers/runs.js';
import { connect, uniquePrefix } from '../helpers/store.js';
import { WorkerProcess } from '../helpers/workers.js';

const artifactRoot = path.dirname(EXAMPLE_RUN);
const prefix = uniquePrefix('observe');
let redis: Redis;
let store: EvaluationStore;
let queues: ReadinessQueues;
let worker: WorkerProcess;
let healthPort: number;

beforeAll(async () => {
  redis = connect(inject('redisUrl'));
  store = new EvaluationStore(redis, { prefix });
  queues = new ReadinessQueues(redis, prefix);
  healthPort = await freePort();
  worker = await new WorkerProcess({
    redisUrl: inject('redisUrl'),
    prefix,
    artifactRoot,
    extra: { HEALTH_PORT: String(healthPort) },
  }).ready();
});

afterAll(async () => {
  await worker.stop();
  await queues.close();
  await redis.quit();
});

const get = async (p: string) => {
  const r = await fetch(`http://127.0.0.1:${healthPort}${p}`);
  return { status: r.status, body: await r.text() };
};

describe('a worker process with HEALTH_PORT', () => {
  it('answers /healthz and /readyz (Redis reachable, queues attached)', async () => {
    expect((await get('/healthz')).status).toBe(200);
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    // a process that runs checks answers for them too (limits, heavy lane)
    expect(JSON.parse(ready.body)).toEqual({
      status: 'ready',
      checks: [
        { name: 'redis', ok: true },
        { name: 'queues', ok: true },
        { name: 'checks', ok: true },
      ],
    });
  });

  it('exposes check durations by check id and the queue counts after an evaluation', async () => {
    const { evaluation } = await submitEvaluation(store, queues, {
      artifactRoot,
      run: 'digits-run',
      requester: 'U0REQ',
      channel: null,
    });
    await waitForChecks(store, evaluation.id, { timeoutMs: 120_000 });
    const m = await get('/metrics');
    expect(m.status).toBe(200);
    for (const c of AUTOMATED_CHECKS) {
      expect(m.body).toMatch(
        new RegExp(
          `readiness_check_duration_seconds_count\\{check="${c.id.replace('.', '\\.')}",status="(pass|warn)"\\} 1`,
        ),
      );
    }
    expect(m.body).toMatch(/readiness_queue_jobs\{queue="readiness-light",state="completed"\} \d+/);
    expect(m.body).toMatch(/readiness_queue_jobs\{queue="readiness-heavy",state="waiting"\} 0/);
    expect(m.body).toMatch(/process_cpu_user_seconds_total \d/);
  });
});
