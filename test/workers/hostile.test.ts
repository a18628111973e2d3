import { appendFile, cp, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { submitEvaluation } from '../../src/evaluations/service.js';
import { waitForChecks } from '../../src/evaluations/wait.js';
import { checkJobId } from '../../src/queue/names.js';
import { ReadinessQueues } from '../../src/queue/producer.js';
import { EvaluationStore } from '../../src/store/redis-store.js';
import { freePort } from '../global-setup.js';
import { cleanupRuns, copyExampleRun, EXAMPLE_RUN } from '../helpers/runs.js';
import { connect, uniquePrefix } from '../helpers/store.js';
import { WorkerProcess } from '../helpers/workers.js';
import { memoryBombModel } from '../onnx/build.js';

const prefix = uniquePrefix('hostile');
let redis: Redis;
let store: EvaluationStore;
let queues: ReadinessQueues;
let worker: WorkerProcess;
let artifactRoot: string;
let healthPort: number;

beforeAll(async () => {
  const hostile = await copyExampleRun(); // <tmp>/run
  artifactRoot = path.dirname(hostile);
  const log = path.join(hostile, 'results/production/training.log');
  await rm(log);
  await symlink('/etc/passwd', log);
  await symlink('/etc', path.join(artifactRoot, 'escape'));
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

const health = async (p: string) => {
  const r = await fetch(`http://127.0.0.1:${healthPort}${p}`);
  return { status: r.status, body: await r.text() };
};

afterAll(async () => {
  await worker.stop();
  await queues.close();
  await redis.quit();
  await cleanupRuns();
});

describe('hostile artifacts', () => {
  it('a training log symlinked to /etc/passwd: failed security check, job not retried, worker alive', async () => {
    const { evaluation } = await submitEvaluation(store, queues, {
      artifactRoot,
      run: 'run',
      requester: 'U0REQ',
      channel: null,
    });
    expect(evaluation.manifest.entries.map((e) => e.path)).not.toContain('results/production/training.log');
    const state = await waitForChecks(store, evaluation.id, { timeoutMs: 120_000 });
    const training = state.checks.find((c) => c.id === 'training.completed');
    expect(training?.status).toBe('fail');
    expect(training?.security).toBe(true);
    expect(training?.evidence.join(' ')).toMatch(/security finding: .*training\.log.*outside the run folder/);
    expect(state.gate).toBe('blocked');

    for (const c of state.checks.filter((x) => x.security)) {
      const job = await queues.light.getJob(checkJobId(evaluation.id, c.id));
      expect(await job?.getState()).toBe('failed');
      expect(job?.attemptsMade).toBe(1);
      expect(job?.failedReason).toMatch(/security finding/);
    }
    const audit = (await store.readAudit({ evaluation: evaluation.id })).filter(
      (a) => a.data.check === 'training.completed',
    );
    expect(audit.map((a) => a.type)).toEqual(['check_running', 'check_result']);
    expect(audit[1]?.data.security).toBe(true);
    expect(worker.alive).toBe(true);
  });

  it('a runtime memory bomb: both heavy checks end as error "exceeded 512 MB", logged with evaluation and check; the worker carries on', async () => {
    await cp(EXAMPLE_RUN, path.join(artifactRoot, 'bomb'), { recursive: true });
    await writeFile(path.join(artifactRoot, 'bomb/models/production_model.onnx'), memoryBombModel(1_000_000_000));
    const policyLayer = { source: 'team policy (test)', data: { limits: { heavy_check_memory_mb: 512 } } };
    const t0 = performance.now();
    const { evaluation } = await submitEvaluation(store, queues, {
      artifactRoot,
      run: 'bomb',
      requester: 'U0REQ',
      channel: null,
      policyLayer,
    });
    const state = await waitForChecks(store, evaluation.id, { timeoutMs: 180_000 });
    expect((performance.now() - t0) / 1000).toBeLessThan(180);
    expect(state.gate).toBe('blocked');
    for (const id of ['export.parity', 'export.inference']) {
      const c = state.checks.find((x) => x.id === id);
      expect(c?.status).toBe('error');
      expect(c?.evidence.join(' ')).toMatch(
        /exceeded 512 MB \(limits\.heavy_check_memory_mb\); the check process was killed and restarted/,
      );
      // the worker log names the evaluation and the check
      const logged = worker.output
        .split('\n')
        .filter(
          (l) =>
            l.includes('"level":50') && l.includes(`"evaluation":"${evaluation.id}"`) && l.includes(`"check":"${id}"`),
        );
      expect(logged.join('\n')).toMatch(/exceeded 512 MB/);
    }
    expect(state.checks.find((x) => x.id === 'training.completed')?.status).toBe('pass');
    expect(worker.alive).toBe(true);
    // the worker's metrics count both limits; the killed child exited, so nothing blocks the heavy lane
    const metrics = (await health('/metrics')).body;
    for (const id of ['export.parity', 'export.inference'])
      expect(metrics).toContain(`readiness_check_limit_exceeded_total{check="${id}",limit="memory"} 1`);
    expect(metrics).toContain('readiness_heavy_lane_blocked 0');
    const ready = await health('/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body).checks).toContainEqual({ name: 'checks', ok: true });
  });

  it('the same worker goes on to evaluate a clean run', async () => {
    await cp(EXAMPLE_RUN, path.join(artifactRoot, 'clean'), { recursive: true });
    const { evaluation } = await submitEvaluation(store, queues, {
      artifactRoot,
      run: 'clean',
      requester: 'U0REQ',
      channel: null,
    });
    expect(evaluation.run).toBe('clean');
    await expect(
      submitEvaluation(store, queues, { artifactRoot, run: 'clean', requester: 'U0REQ', channel: null }),
    ).resolves.toBeDefined();
    const state = await waitForChecks(store, (await store.latestForRun('clean'))!.evaluation.id, {
      timeoutMs: 120_000,
    });
    expect(state.checks.every((c) => c.status === 'pass' || c.status === 'warn')).toBe(true);
    expect(worker.alive).toBe(true);
  });

  it('refuses run names that leave the artifact root, before anything is stored or queued', async () => {
    const before = (await store.readAudit()).length;
    await expect(
      submitEvaluation(store, queues, { artifactRoot, run: '../run', requester: 'U0REQ', channel: null }),
    ).rejects.toMatchObject({ code: 'PATH_ESCAPE' });
    await expect(
      submitEvaluation(store, queues, { artifactRoot, run: '/etc', requester: 'U0REQ', channel: null }),
    ).rejects.toMatchObject({ code: 'PATH_ESCAPE' });
    await expect(
      submitEvaluation(store, queues, { artifactRoot, run: 'escape', requester: 'U0REQ', channel: null }),
    ).rejects.toMatchObject({ code: 'PATH_ESCAPE' });
    expect((await store.readAudit()).length).toBe(before);
  });

  it('an artifact changed after submission: the checks that read it store an error instead of a result about other files', async () => {
    await cp(EXAMPLE_RUN, path.join(artifactRoot, 'changing'), { recursive: true });
    const p = uniquePrefix('changed');
    const st = new EvaluationStore(redis, { prefix: p });
    const qs = new ReadinessQueues(redis, p);
    const { evaluation } = await submitEvaluation(st, qs, {
      artifactRoot,
      run: 'changing',
      requester: 'U0REQ',
      channel: null,
    });
    await appendFile(path.join(artifactRoot, 'changing/docs/deployment_guide.md'), '\nedited after submission\n');
    const w = await new WorkerProcess({ redisUrl: inject('redisUrl'), prefix: p, artifactRoot }).ready();
    const state = await waitForChecks(st, evaluation.id, { timeoutMs: 120_000 });
    await w.stop();
    await qs.close();
    const guide = state.checks.find((c) => c.id === 'docs.deployment_guide');
    expect(guide?.status).toBe('error');
    expect(guide?.evidence.join(' ')).toMatch(/docs\/deployment_guide\.md changed since the evaluation was created/);
    expect(state.checks.find((c) => c.id === 'training.completed')?.status).toBe('pass');
    expect(state.gate).toBe('blocked');
  });
});
