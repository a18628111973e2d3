import { DelayedError, type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { bullPrefix, QUEUE_NAMES } from './names.js';

/**
 * Sign-off reminders and escalations as delayed BullMQ jobs: they survive restarts of every
 * process, and one job id per (kind, evaluation) means scheduling twice adds nothing.
 */
export const SignoffTimerJobSchema = z.strictObject({
  kind: z.enum(['remind', 'escalate']),
  evaluationId: z.string().min(1).max(200),
  /** When sign-off opened (epoch ms): the reminder says how long it has waited. */
  openedAt: z.number().int().nonnegative(),
  /** When the job is due (epoch ms, on the app's clock). */
  dueAt: z.number().int().nonnegative(),
});
export type SignoffTimerJob = z.infer<typeof SignoffTimerJobSchema>;

export function signoffTimerJobId(kind: SignoffTimerJob['kind'], evaluationId: string): string {
  return `${kind}__${evaluationId}`;
}

const JOB_OPTIONS = {
  attempts: 6,
  backoff: { type: 'exponential', delay: 5000 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
  removeOnFail: { age: 30 * 24 * 3600 },
} as const;

/** What the job's handler decided: done, or not due yet on the app's clock (run again in `ms`). */
export type SignoffTimerResult = { kind: 'done'; sent: boolean } | { kind: 'early'; ms: number };

export class SignoffTimerQueue {
  readonly queue: Queue<SignoffTimerJob>;

  constructor(connection: Redis, prefix: string) {
    this.queue = new Queue<SignoffTimerJob>(QUEUE_NAMES.signoffTimers, {
      connection,
      prefix: bullPrefix(prefix),
      defaultJobOptions: JOB_OPTIONS,
    });
  }

  /** Schedules `job` to run at its dueAt, `now` being the app's clock. */
  async schedule(job: SignoffTimerJob, now: number): Promise<void> {
    const data = SignoffTimerJobSchema.parse(job);
    await this.queue.add(data.kind, data, {
      jobId: signoffTimerJobId(data.kind, data.evaluationId),
      delay: Math.max(0, data.dueAt - now),
    });
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

/**
 * Runs due reminders and escalations. A job that runs before its dueAt on the app's clock (the
 * clocks differ, or a test promoted it) is delayed again for the rest of its wait.
 */
export async function startSignoffTimerWorker(
  connection: Redis,
  prefix: string,
  handle: (job: SignoffTimerJob) => Promise<SignoffTimerResult>,
  log: Logger,
): Promise<Worker<SignoffTimerJob>> {
  const worker = new Worker<SignoffTimerJob>(
    QUEUE_NAMES.signoffTimers,
    async (job: Job<SignoffTimerJob>, token?: string) => {
      const parsed = SignoffTimerJobSchema.safeParse(job.data);
      if (!parsed.success) {
        log.warn({ job: job.id }, 'malformed sign-off timer job ignored');
        return { kind: 'done', sent: false };
      }
      const result = await handle(parsed.data);
      if (result.kind === 'early') {
        await job.moveToDelayed(Date.now() + result.ms, token);
        throw new DelayedError();
      }
      return result;
    },
    { connection, prefix: bullPrefix(prefix), concurrency: 4, autorun: true },
  );
  worker.on('error', (err) => log.error({ err }, 'sign-off timer worker error'));
  await worker.waitUntilReady();
  return worker;
}
