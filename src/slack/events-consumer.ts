import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { bullPrefix, QUEUE_NAMES } from '../queue/names.js';
import { type EvaluationEvent, EvaluationEventSchema } from '../queue/payloads.js';
import type { GateRenderer } from './renderer.js';

/**
 * Consumes the durable "evaluation changed" queue: each event only schedules a re-render (which
 * reads the store), so events may arrive late, twice or out of order without harm.
 */
export async function startEventsConsumer(
  redis: Redis,
  prefix: string,
  renderer: GateRenderer,
  log: Logger,
): Promise<Worker<EvaluationEvent>> {
  const worker = new Worker<EvaluationEvent>(
    QUEUE_NAMES.events,
    async (job: Job<EvaluationEvent>) => {
      const ev = EvaluationEventSchema.safeParse(job.data);
      if (!ev.success) {
        log.warn({ job: job.id }, 'malformed evaluation event ignored');
        return;
      }
      renderer.watch(ev.data.evaluationId);
    },
    { connection: redis, prefix: bullPrefix(prefix), concurrency: 16, autorun: true },
  );
  worker.on('error', (err) => log.error({ err }, 'events consumer error'));
  await worker.waitUntilReady();
  return worker;
}
