import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { submitEvaluation } from '../../src/evaluations/service.js';
import { waitForChecks } from '../../src/evaluations/wait.js';
import { checkJobId } from '../../src/queue/names.js';
import { ReadinessQueues } from '../../src/queue/producer.js';
import { EvaluationStore } from '../../src/store/redis-store.js';
import { slowLatencyLayer, waitForProgress } from '../helpers/evaluations.js';
import { EXAMPLE_RUN } from '../helpers/runs.js';
import { connect, uniquePrefix } from '../helpers/store.js';
import { waitFor } from '../helpers/wait.js';
import { FAST_STALL_ENV, HeavyHold, WorkerProcess } from '../helpers/workers.js';

const artifactRoot = path.dirname(EXAMPLE_RUN);
let redis: Redis;
const all: WorkerProcess[] = [];

beforeAll(() => {
  redis = connect(inject('redisUrl'));
});

afterAll(async () => {
  await Promise.all(all.map((w) => w.stop('SIGKILL')));
  await redis.quit();
});

function setup(name: string) {
  const prefix = uniquePrefix(name);
  const store = new EvaluationStore(redis, { prefix });
  const queues = new ReadinessQueues(redis, prefix);
  const spawnWorker = (extra: Record<string, string>, hold?: HeavyHold) => {
    const w = new WorkerProcess({
      redisUrl: inject('redisUrl'),
      prefix,
      artifactRoot,
      extra: { ...FAST_STALL_ENV, ...extra },
      ...(hold ? { hold } : {}),
    });
    all.push(w);
    return w.ready();
  };
  // export.inference is held at its first progress report, so the signal certainly comes during it
  const hold = new HeavyHold();
  onTestFinished(() => hold.remove());
  return { store, queues, spawnWorker, hold };
}

describe('SIGTERM during a heavy check', () => {
  it('within the shutdown timeout: the job finishes on the stopping worker, then it exits 0', async () => {
    const { store, queues, spawnWorker, hold } = setup('sigterm-finish');
    const w = await spawnWorker({ WORKER_SHUTDOWN_TIMEOUT_MS: '120000' }, hold);
    const { evaluation } = await submitEvaluation(store, queues, {
      artifactRoot,
      run: 'digits-run',
      requester: 'U0REQ',
      channel: null,
      policyLayer: slowLatencyLayer(20_000),
    });
    const pid = await waitForProgress(store, evaluation.id, 'export.inference');
    expect(pid).toBe(w.pid);
    const stopped = w.stop('SIGTERM');
    await waitFor(() => w.output.includes('shutting down'), 'the worker to take the signal in');
    hold.release();
    expect(await stopped).toBe(0);

    const c = (await store.getState(evaluation.id))?.checks.find((x) => x.id === 'export.inference');
    expect(c?.status).toBe('pass');
    const audit = (await store.readAudit({ evaluation: evaluation.id })).filter(
      (a) => a.data.check === 'export.inference',
    );
    expect(audit.map((a) => a.type)).toEqual(['check_running', 'check_result']);
    expect(await (await queues.heavy.getJob(checkJobId(evaluation.id, 'export.inference')))?.getState()).toBe(
      'completed',
    );
    await queues.close();
  });

  it('past the shutdown timeout: the job returns to the queue, and the next worker completes it once', async () => {
    const { store, queues, spawnWorker, hold } = setup('sigterm-requeue');
    const w = await spawnWorker({ WORKER_SHUTDOWN_TIMEOUT_MS: '200' }, hold);
    const { evaluation } = await submitEvaluation(store, queues, {
      artifactRoot,
      run: 'digits-run',
      requester: 'U0REQ',
      channel: null,
      policyLayer: slowLatencyLayer(),
    });
    await waitForProgress(store, evaluation.id, 'export.inference');
    const code = await w.stop('SIGTERM');
    expect({ code, signal: w.proc.signalCode, output: code === 0 ? '' : w.output }).toEqual({
      code: 0,
      signal: null,
      output: '',
    });

    const jobId = checkJobId(evaluation.id, 'export.inference');
    const job = await queues.heavy.getJob(jobId);
    expect(await job?.getState()).toBe('waiting');
    expect(job?.attemptsMade).toBe(0);
    const released = await store.getState(evaluation.id);
    expect(released?.checks.find((x) => x.id === 'export.inference')?.status).toBe('pending');

    const next = await spawnWorker({});
    const state = await waitForChecks(store, evaluation.id, { timeoutMs: 180_000 });
    expect(state.checks.find((x) => x.id === 'export.inference')?.status).toBe('pass');
    const audit = (await store.readAudit({ evaluation: evaluation.id })).filter(
      (a) => a.data.check === 'export.inference',
    );
    expect(audit.map((a) => a.type)).toEqual(['check_running', 'check_released', 'check_running', 'check_result']);
    expect(audit[3]?.actor).toMatch(new RegExp(`/${next.pid}$`));
    expect(await (await queues.heavy.getJob(jobId))?.getState()).toBe('completed');
    await queues.close();
  });
});
