import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { submitEvaluation } from '../../src/evaluations/service.js';
import { waitForChecks } from '../../src/evaluations/wait.js';
import { checkJobId } from '../../src/queue/names.js';
import { ReadinessQueues } from '../../src/queue/producer.js';
import { EvaluationStore } from '../../src/store/redis-store.js';
import type { AuditEntry } from '../../src/store/types.js';
import { slowLatencyLayer, waitForProgress } from '../helpers/evaluations.js';
import { EXAMPLE_RUN } from '../helpers/runs.js';
import { connect, uniquePrefix } from '../helpers/store.js';
import { waitFor } from '../helpers/wait.js';
import { FAST_STALL_ENV, HeavyHold, WorkerProcess } from '../helpers/workers.js';

async function waitForAudit(
  st: EvaluationStore,
  evaluationId: string,
  match: (a: AuditEntry) => boolean,
  timeoutMs: number,
): Promise<AuditEntry> {
  let found: AuditEntry | undefined;
  await waitFor(
    async () => {
      found = (await st.readAudit({ evaluation: evaluationId })).find(match);
      return found !== undefined;
    },
    () => `no matching audit entry for ${evaluationId}`,
    timeoutMs,
  );
  return found as AuditEntry;
}

const artifactRoot = path.dirname(EXAMPLE_RUN);
const prefix = uniquePrefix('crash');
let redis: Redis;
let store: EvaluationStore;
let queues: ReadinessQueues;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  redis = connect(inject('redisUrl'));
  store = new EvaluationStore(redis, { prefix });
  queues = new ReadinessQueues(redis, prefix);
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop('SIGKILL')));
  await queues.close();
  await redis.quit();
});

/**
 * export.inference of the test's evaluation held at its first progress report on whichever worker
 * takes it first, so that worker is certainly in the middle of it when the test kills it; a worker
 * taking the job over runs it through.
 */
function holdInference(): HeavyHold {
  const hold = new HeavyHold();
  onTestFinished(() => hold.remove());
  return hold;
}

describe('a worker killed in the middle of a heavy check', () => {
  it('another worker completes it; the result is stored exactly once and the audit shows both attempts', async () => {
    const hold = holdInference();
    for (let i = 0; i < 2; i++)
      workers.push(
        new WorkerProcess({ redisUrl: inject('redisUrl'), prefix, artifactRoot, extra: FAST_STALL_ENV, hold }),
      );
    await Promise.all(workers.map((w) => w.ready()));
    const { evaluation } = await submitEvaluation(store, queues, {
      artifactRoot,
      run: 'digits-run',
      requester: 'U0REQ',
      channel: null,
      policyLayer: slowLatencyLayer(),
    });

    const pid = await waitForProgress(store, evaluation.id, 'export.inference');
    const victim = workers.find((w) => w.pid === pid);
    const survivor = workers.find((w) => w.pid !== pid);
    expect(victim).toBeDefined();
    await victim!.stop('SIGKILL');
    expect(victim!.alive).toBe(false);

    const state = await waitForChecks(store, evaluation.id, { timeoutMs: 180_000 });
    const inference = state.checks.find((c) => c.id === 'export.inference');
    expect(inference?.status).toBe('pass');
    expect(inference?.metrics.requests).toBe(30_000);

    const audit = (await store.readAudit({ evaluation: evaluation.id })).filter(
      (a) => a.data.check === 'export.inference',
    );
    const running = audit.filter((a) => a.type === 'check_running');
    expect(running.map((a) => a.actor)).toEqual([
      expect.stringMatching(new RegExp(`/${pid}$`)),
      expect.stringMatching(new RegExp(`/${survivor!.pid}$`)),
    ]);
    const results = audit.filter((a) => a.type === 'check_result');
    expect(results).toHaveLength(1);
    expect(results[0]?.actor).toMatch(new RegExp(`/${survivor!.pid}$`));

    const job = await queues.heavy.getJob(checkJobId(evaluation.id, 'export.inference'));
    expect(await job?.getState()).toBe('completed');
    expect(job?.stalledCounter).toBeGreaterThanOrEqual(1);
    expect(survivor!.alive).toBe(true);
  });

  it('with the default lock and stalled interval, the job restarts on the survivor within 45 s of the kill and its result is applied once', async () => {
    const p = uniquePrefix('crash-defaults');
    const st = new EvaluationStore(redis, { prefix: p });
    const qs = new ReadinessQueues(redis, p);
    const hold = holdInference();
    const pair = [0, 1].map(() => new WorkerProcess({ redisUrl: inject('redisUrl'), prefix: p, artifactRoot, hold }));
    workers.push(...pair);
    await Promise.all(pair.map((w) => w.ready()));
    const { evaluation } = await submitEvaluation(st, qs, {
      artifactRoot,
      run: 'digits-run',
      requester: 'U0REQ',
      channel: null,
      policyLayer: slowLatencyLayer(60_000),
    });
    const pid = await waitForProgress(st, evaluation.id, 'export.inference');
    const victim = pair.find((w) => w.pid === pid);
    const survivor = pair.find((w) => w.pid !== pid);
    expect(victim).toBeDefined();
    await victim!.stop('SIGKILL');
    const killedAt = Date.now();

    const restarted = await waitForAudit(
      st,
      evaluation.id,
      (a) =>
        a.type === 'check_running' &&
        a.data.check === 'export.inference' &&
        String(a.actor).endsWith(`/${survivor!.pid}`),
      60_000,
    );
    expect(Date.parse(restarted.at) - killedAt).toBeLessThan(45_000);

    const state = await waitForChecks(st, evaluation.id, { timeoutMs: 180_000 });
    expect(state.checks.find((c) => c.id === 'export.inference')?.status).toBe('pass');
    const results = (await st.readAudit({ evaluation: evaluation.id })).filter(
      (a) => a.type === 'check_result' && a.data.check === 'export.inference',
    );
    expect(results).toHaveLength(1);
    expect(results[0]?.actor).toMatch(new RegExp(`/${survivor!.pid}$`));
    await qs.close();
  }, 240_000);

  it('a job that stalls more often than allowed fails for good, and its check ends as an error (never stuck running)', async () => {
    const p = uniquePrefix('stall-limit');
    const st = new EvaluationStore(redis, { prefix: p });
    const qs = new ReadinessQueues(redis, p);
    const env = {
      redisUrl: inject('redisUrl'),
      prefix: p,
      artifactRoot,
      extra: { ...FAST_STALL_ENV, WORKER_MAX_STALLED_COUNT: '0' },
    };
    const first = await new WorkerProcess({ ...env, hold: holdInference() }).ready();
    workers.push(first);
    const { evaluation } = await submitEvaluation(st, qs, {
      artifactRoot,
      run: 'digits-run',
      requester: 'U0REQ',
      channel: null,
      policyLayer: slowLatencyLayer(),
    });
    await waitForProgress(st, evaluation.id, 'export.inference');
    await first.stop('SIGKILL');
    const second = await new WorkerProcess(env).ready();
    workers.push(second);

    const state = await waitForChecks(st, evaluation.id, { timeoutMs: 120_000 });
    const inference = state.checks.find((c) => c.id === 'export.inference');
    expect(inference?.status).toBe('error');
    expect(inference?.evidence.join(' ')).toMatch(/stalled more than allowable limit/);
    expect(state.gate).toBe('blocked');
    const job = await qs.heavy.getJob(checkJobId(evaluation.id, 'export.inference'));
    expect(await job?.getState()).toBe('failed');
    const results = (await st.readAudit({ evaluation: evaluation.id })).filter(
      (a) => a.type === 'check_result' && a.data.check === 'export.inference',
    );
    expect(results).toHaveLength(1);
    await qs.close();
  });
});
