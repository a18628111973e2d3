import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ReadinessQueues } from '../queue/producer.js';
import { type HealthServer, type ReadinessProbe, startHealthServer } from './health.js';
import { createMetrics, type GateMetrics } from './metrics.js';

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;

/** Queue counts of the check and event queues, read on every scrape. */
export function queueCountsSource(queues: ReadinessQueues): Parameters<GateMetrics['setQueueSource']>[0] {
  return async () =>
    Promise.all(
      [queues.light, queues.heavy, queues.events].map(async (q) => ({
        queue: q.name,
        counts: await q.getJobCounts(...QUEUE_STATES),
      })),
    );
}

export function redisProbe(redis: Redis): ReadinessProbe {
  return {
    name: 'redis',
    check: async () => {
      const pong = await redis.ping();
      if (pong !== 'PONG') throw new Error(`unexpected PING reply ${pong}`);
    },
  };
}

/**
 * A process's metrics registry and, when HEALTH_PORT is set, its /healthz /readyz /metrics
 * listener. Without HEALTH_PORT only the registry exists (metrics are still counted).
 */
export async function startProcessObservability(opts: {
  port: number | undefined;
  redis: Redis;
  queues: ReadinessQueues;
  probes: ReadinessProbe[];
  log: Logger;
  metrics?: GateMetrics;
}): Promise<{ metrics: GateMetrics; server: HealthServer | null; close(): Promise<void> }> {
  const metrics = opts.metrics ?? createMetrics();
  metrics.setQueueSource(queueCountsSource(opts.queues));
  if (opts.port === undefined) return { metrics, server: null, close: async () => undefined };
  const server = await startHealthServer({
    port: opts.port,
    registry: metrics.registry,
    probes: [redisProbe(opts.redis), ...opts.probes],
  });
  opts.log.info({ port: server.port }, 'health and metrics listening on /healthz /readyz /metrics');
  return { metrics, server, close: () => server.close() };
}
