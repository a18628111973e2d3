/**
 * A worker process: BullMQ workers for the light and/or heavy check queues, sharing one store.
 * Heavy checks run one at a time (concurrency 1) so a latency test never shares its CPU with
 * another heavy check; onnxruntime runs in a worker thread, so this event loop stays free to renew
 * job locks while inference computes.
 */
import { hostname } from 'node:os';
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { AUTOMATED_CHECKS } from '../checks/registry.js';
import type { CheckDefinition } from '../checks/types.js';
import { GateError } from '../errors.js';
import type { GateMetrics } from '../observability/metrics.js';
import { bullPrefix, type CheckQueueKind, QUEUE_NAMES } from '../queue/names.js';
import type { CheckJob } from '../queue/payloads.js';
import { ReadinessQueues } from '../queue/producer.js';
import { EvaluationStore } from '../store/redis-store.js';
import { type CheckJobOutcome, createCheckProcessor, failAbandonedCheck } from './check-processor.js';
import { HeavyRunner } from './heavy-runner.js';

export interface WorkerSettings {
  prefix: string;
  artifactRoot: string;
  queues: readonly CheckQueueKind[];
  lightConcurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  shutdownTimeoutMs: number;
  maxmemoryCheck: 'refuse' | 'warn';
  checks?: readonly CheckDefinition[];
  workerName?: string;
  progressIntervalMs?: number;
  metrics?: GateMetrics | undefined;
}

export interface RunningWorkers {
  workers: Worker<CheckJob, CheckJobOutcome>[];
  store: EvaluationStore;
  queues: ReadinessQueues;
  /** Stops taking jobs, lets running ones finish for up to the shutdown timeout, then returns them to the queue. */
  close(): Promise<void>;
}

/**
 * BullMQ silently loses jobs when Redis evicts keys. `refuse` stops the worker unless
 * maxmemory-policy is noeviction; `warn` logs an error and goes on. Where CONFIG is disabled
 * (managed Redis) the policy cannot be read: logged as a warning either way.
 */
export async function checkEvictionPolicy(
  redis: Redis,
  mode: 'refuse' | 'warn',
  logger: Logger,
): Promise<string | null> {
  let policy: string | null = null;
  try {
    const res = (await redis.config('GET', 'maxmemory-policy')) as string[];
    policy = res[1] ?? null;
  } catch (err) {
    logger.warn(
      { err },
      'cannot read maxmemory-policy (CONFIG GET refused); make sure Redis runs with maxmemory-policy noeviction, or queued jobs can be evicted',
    );
    return null;
  }
  if (policy !== 'noeviction') {
    const msg = `Redis maxmemory-policy is "${policy}"; BullMQ needs "noeviction" or queued jobs and evaluation state can be evicted silently (set it with CONFIG SET maxmemory-policy noeviction, or REDIS_MAXMEMORY_CHECK=warn to start anyway)`;
    if (mode === 'refuse') throw new GateError('CONFIG_INVALID', msg);
    logger.error(msg);
  }
  return policy;
}

export async function startCheckWorkers(
  redis: Redis,
  settings: WorkerSettings,
  logger: Logger,
): Promise<RunningWorkers> {
  await checkEvictionPolicy(redis, settings.maxmemoryCheck, logger);
  const checks = settings.checks ?? AUTOMATED_CHECKS;
  const workerName = settings.workerName ?? `${hostname()}/${process.pid}`;
  const store = new EvaluationStore(redis, { prefix: settings.prefix, checks });
  const queues = new ReadinessQueues(redis, settings.prefix);
  const heavyRunner = new HeavyRunner();
  const deps = {
    store,
    queues,
    artifactRoot: settings.artifactRoot,
    checks,
    workerName,
    logger,
    heavyRunner,
    metrics: settings.metrics,
    ...(settings.progressIntervalMs !== undefined ? { progressIntervalMs: settings.progressIntervalMs } : {}),
  };
  const processor = createCheckProcessor(deps);

  const workers: Worker<CheckJob, CheckJobOutcome>[] = [];
  for (const kind of settings.queues) {
    const w = new Worker<CheckJob, CheckJobOutcome>(QUEUE_NAMES[kind], processor, {
      // BullMQ duplicates the connection for its blocking calls.
      connection: redis,
      prefix: bullPrefix(settings.prefix),
      concurrency: kind === 'heavy' ? 1 : settings.lightConcurrency,
      // Sized for CPU-heavy inference: the lock is renewed every lockDuration/2 from this event loop
      // (inference runs in a worker thread), and a job whose worker died is picked up again
      // within lockDuration + 2 × stalledInterval (BullMQ moves it on the second shared check after the lock expired).
      lockDuration: settings.lockDurationMs,
      stalledInterval: settings.stalledIntervalMs,
      maxStalledCount: settings.maxStalledCount,
      autorun: false,
      name: `${workerName}/${kind}`,
    });
    w.on('failed', (job: Job<CheckJob> | undefined, err: Error) => {
      if (!job) return;
      const final =
        err.name === 'UnrecoverableError' ||
        job.attemptsMade >= (job.opts.attempts ?? 1) ||
        /stalled/i.test(err.message);
      logger.warn(
        { queue: kind, job: job.id, attempts: job.attemptsMade, final, err: { message: err.message } },
        'check job failed',
      );
      // Failed for good without the processor storing a result (out of retries, or stalled too often:
      // BullMQ fails such a job when a worker next picks it up): do not leave the check running.
      if (final && (err.name !== 'UnrecoverableError' || /allowable limit/.test(err.message))) {
        failAbandonedCheck(deps, job, err).catch((e: unknown) =>
          logger.error({ err: e }, 'could not end an abandoned check'),
        );
      }
    });
    w.on('error', (err) => logger.error({ queue: kind, err }, 'worker error'));
    workers.push(w);
  }
  for (const w of workers) void w.run();
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  logger.info({ queues: settings.queues, worker: workerName, prefix: settings.prefix }, 'worker started');

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const graceful = Promise.all(workers.map((w) => w.close()));
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), settings.shutdownTimeoutMs).unref()),
      ]);
      if (timedOut) {
        logger.warn(
          { timeoutMs: settings.shutdownTimeoutMs },
          'jobs still running at the shutdown deadline; returning them to the queue',
        );
        for (const w of workers) w.cancelAllJobs('shutdown');
        const settled = await Promise.race([
          graceful.then(() => true),
          new Promise<boolean>((r) => setTimeout(() => r(false), 5000).unref()),
        ]);
        // Whatever is still active keeps its lock until it expires; then the stalled check re-queues it.
        if (!settled) await Promise.all(workers.map((w) => w.close(true)));
      }
      await heavyRunner.close();
      await queues.close();
      logger.info('worker stopped');
    })();
    return closing;
  };
  return { workers, store, queues, close };
}
