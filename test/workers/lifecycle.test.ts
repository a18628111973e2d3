import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AUTOMATED_CHECKS } from '../../src/checks/registry.js';
import { checkRun } from '../../src/engine.js';
import { submitEvaluation } from '../../src/evaluations/service.js';
import { waitForChecks } from '../../src/evaluations/wait.js';
import { ReadinessQueues } from '../../src/queue/producer.js';
import { EvaluationStore, reportFromState } from '../../src/store/redis-store.js';
import { comparable } from '../helpers/compare.js';
import { EXAMPLE_RUN } from '../helpers/runs.js';
import { connect, uniquePrefix } from '../helpers/store.js';
import { WorkerProcess } from '../helpers/workers.js';

const artifactRoot = path.dirname(EXAMPLE_RUN);
let redis: Redis;
let store: EvaluationStore;
let queues: ReadinessQueues;
const prefix = uniquePrefix('lifecycle');
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  redis = connect(inject('redisUrl'));
  store = new EvaluationStore(redis, { prefix });
  queues = new ReadinessQueues(redis, prefix);
  for (let i = 0; i < 2; i++) workers.push(new WorkerProcess({ redisUrl: inject('redisUrl'), prefix, artifactRoot }));
  await Promise.all(workers.map((w) => w.ready()));
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await queues.close();
  await redis.quit();
});

describe('evaluation lifecycle on two worker processes', () => {
  it('runs every check once and gives the results `readiness check` gives on the same run', async () => {
    const { evaluation } = await submitEvaluation(store, queues, {
      artifactRoot,
      run: 'digits-run',
      requester: 'U0REQ',
      channel: 'C0CHAN',
    });
    const state = await waitForChecks(store, evaluation.id, { timeoutMs: 120_000 });
    const inProcess = await checkRun(EXAMPLE_RUN, { label: 'digits-run' });

    expect(state.checks.map((c) => c.id)).toEqual(AUTOMATED_CHECKS.map((c) => c.id));
    expect(comparable(state.checks)).toEqual(comparable(inProcess.checks.filter((c) => c.category !== 'signoff')));
    const report = reportFromState(state);
    expect(report.gate).toBe(inProcess.gate);
    expect(report.digest).toBe(inProcess.digest);
    expect(report.policy.digest).toBe(inProcess.policy.digest);

    // Exactly one stored result per check; every job ran on one of the two worker processes.
    const audit = await store.readAudit({ evaluation: evaluation.id });
    const results = audit.filter((a) => a.type === 'check_result');
    expect(results.map((a) => a.data.check).sort()).toEqual(AUTOMATED_CHECKS.map((c) => c.id).sort());
    const pids = new Set(results.map((a) => Number(String(a.actor).split('/').pop())));
    for (const pid of pids) expect(workers.map((w) => w.pid)).toContain(pid);

    // Versions only grow, and the app was told about each one.
    const versions = audit.map((a) => a.data.version).filter((v): v is number => typeof v === 'number');
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    const events = await queues.events.getJobs(['waiting', 'completed', 'delayed', 'active']);
    expect(
      events.some((j) => j.data.evaluationId === evaluation.id && j.data.version === state.evaluation.version),
    ).toBe(true);
    expect(workers.every((w) => w.alive)).toBe(true);
  });

  it('sign-offs open once the workers finished, and the gate passes with three approvals', async () => {
    const { evaluation } = await submitEvaluation(store, queues, {
      artifactRoot,
      run: 'digits-run',
      requester: 'U0REQ',
      channel: 'C0CHAN',
    });
    const early = await store.recordSignoff({
      evaluationId: evaluation.id,
      role: 'technical',
      decision: 'approved',
      user: 'U0T',
      digest: evaluation.digest,
      authorised: true,
      allowSelfApproval: false,
    });
    expect(early).toMatchObject({ ok: false, reason: 'checks_not_passing' });
    await waitForChecks(store, evaluation.id, { timeoutMs: 120_000 });
    for (const [role, user] of [
      ['technical', 'U0T'],
      ['product', 'U0P'],
      ['compliance', 'U0C'],
    ] as const) {
      const r = await store.recordSignoff({
        evaluationId: evaluation.id,
        role,
        decision: 'approved',
        user,
        digest: evaluation.digest,
        authorised: true,
        allowSelfApproval: false,
      });
      expect(r.ok).toBe(true);
    }
    expect((await store.getState(evaluation.id))?.gate).toBe('passed');
  });
});
