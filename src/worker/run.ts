/**
 * Runs a worker process until SIGTERM/SIGINT: config from the environment (one schema), Redis,
 * the eviction-policy check, the BullMQ workers, and a bounded graceful shutdown.
 */
import type { Logger } from 'pino';
import type { CheckDefinition } from '../checks/types.js';
import { loadProcessConfig } from '../config/env.js';
import { createLogger } from '../log.js';
import { createMetrics } from '../observability/metrics.js';
import { startProcessObservability } from '../observability/process.js';
import { connectRedis } from '../queue/connection.js';
import type { CheckQueueKind } from '../queue/names.js';
import { startCheckWorkers } from './worker.js';

export interface WorkerProcessOptions {
  queues: readonly CheckQueueKind[];
  /** Check registry (tests inject slow or failing checks; production uses the real one). */
  checks?: readonly CheckDefinition[];
  logger?: Logger;
}

/** Resolves once the workers have stopped after a signal. Throws GateError on bad config or unreachable Redis. */
export async function runWorkerProcess(opts: WorkerProcessOptions): Promise<void> {
  const config = loadProcessConfig({ need: ['REDIS_URL', 'ARTIFACT_ROOT'] });
  const logger = opts.logger ?? createLogger({ level: config.LOG_LEVEL, name: 'readiness-worker' });
  const redis = await connectRedis(config.REDIS_URL, { connectionName: 'readiness-worker' });
  const metrics = createMetrics();
  let running: Awaited<ReturnType<typeof startCheckWorkers>>;
  try {
    running = await startCheckWorkers(
      redis,
      {
        prefix: config.REDIS_PREFIX,
        artifactRoot: config.ARTIFACT_ROOT,
        queues: opts.queues,
        lightConcurrency: config.WORKER_LIGHT_CONCURRENCY,
        lockDurationMs: config.WORKER_LOCK_DURATION_MS,
        stalledIntervalMs: config.WORKER_STALLED_INTERVAL_MS,
        maxStalledCount: config.WORKER_MAX_STALLED_COUNT,
        shutdownTimeoutMs: config.WORKER_SHUTDOWN_TIMEOUT_MS,
        maxmemoryCheck: config.REDIS_MAXMEMORY_CHECK,
        metrics,
        ...(opts.checks ? { checks: opts.checks } : {}),
      },
      logger,
    );
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  const workers = running;
  const observability = await startProcessObservability({
    port: config.HEALTH_PORT,
    redis,
    queues: workers.queues,
    metrics,
    log: logger,
    probes: [
      {
        name: 'queues',
        check: async () => {
          const idle = workers.workers.filter((w) => !w.isRunning()).map((w) => w.name);
          if (idle.length > 0) throw new Error(`not attached: ${idle.join(', ')}`);
        },
      },
    ],
  });
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now; running jobs return to the queue when their locks expire');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down');
      // Bounded even when Redis is gone (BullMQ's close then waits for Redis forever): jobs still
      // active come back through the stalled-job check once their locks expire.
      setTimeout(() => {
        logger.error('shutdown did not complete in time (Redis unreachable?); exiting');
        process.exit(1);
      }, config.WORKER_SHUTDOWN_TIMEOUT_MS + 10_000).unref();
      void observability.close();
      workers
        .close()
        .catch((err: unknown) => logger.error({ err }, 'error while shutting down'))
        .finally(() => {
          redis.disconnect();
          resolve();
        });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
