import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CheckDefinition } from '../checks/types.js';
import { bullPrefix, type CheckQueueKind, checkJobId, eventJobId, QUEUE_NAMES } from './names.js';
import { type CheckJob, CheckJobSchema, type EvaluationEvent, EvaluationEventSchema } from './payloads.js';

/** Check jobs: transient failures (Redis blips, a run folder not mounted yet) retry with exponential backoff. */
export const CHECK_JOB_OPTIONS: JobsOptions = {
  attempts: 4,
  backoff: { type: 'exponential', delay: 2000 },
  // Kept a day so a duplicate submission within it is still the same job; the store makes later ones no-ops.
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

export const EVENT_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 24 * 3600 },
};

export function queueKindFor(def: Pick<CheckDefinition, 'heavy'>): CheckQueueKind {
  return def.heavy ? 'heavy' : 'light';
}

/** Producers for the check queues and the events queue, on one shared connection. */
export class ReadinessQueues {
  readonly light: Queue<CheckJob>;
  readonly heavy: Queue<CheckJob>;
  readonly events: Queue<EvaluationEvent>;

  constructor(connection: Redis, prefix: string) {
    const opts = { connection, prefix: bullPrefix(prefix) };
    this.light = new Queue<CheckJob>(QUEUE_NAMES.light, { ...opts, defaultJobOptions: CHECK_JOB_OPTIONS });
    this.heavy = new Queue<CheckJob>(QUEUE_NAMES.heavy, { ...opts, defaultJobOptions: CHECK_JOB_OPTIONS });
    this.events = new Queue<EvaluationEvent>(QUEUE_NAMES.events, { ...opts, defaultJobOptions: EVENT_JOB_OPTIONS });
  }

  queue(kind: CheckQueueKind): Queue<CheckJob> {
    return kind === 'heavy' ? this.heavy : this.light;
  }

  /** Enqueues checks of an evaluation; ids are deterministic, so enqueuing twice adds nothing. */
  async enqueueChecks(evaluationId: string, defs: readonly CheckDefinition[]): Promise<void> {
    for (const kind of ['light', 'heavy'] as const) {
      const jobs = defs
        .filter((d) => queueKindFor(d) === kind)
        .map((d) => {
          const data = CheckJobSchema.parse({ evaluationId, checkId: d.id });
          return { name: d.id, data, opts: { jobId: checkJobId(evaluationId, d.id) } };
        });
      if (jobs.length > 0) await this.queue(kind).addBulk(jobs);
    }
  }

  /** Enqueues the n-th rerun of one check (its first job id is taken by the first run). */
  async enqueueRerun(evaluationId: string, def: CheckDefinition, rerun: number): Promise<void> {
    const data = CheckJobSchema.parse({ evaluationId, checkId: def.id });
    await this.queue(queueKindFor(def)).add(def.id, data, { jobId: `${checkJobId(evaluationId, def.id)}__r${rerun}` });
  }

  /** Tells the app an evaluation changed (durable: the app may be restarting). */
  async publishChange(evaluationId: string, version: number, reason: EvaluationEvent['reason']): Promise<void> {
    const data = EvaluationEventSchema.parse({ evaluationId, version, reason });
    await this.events.add(reason, data, { jobId: eventJobId(evaluationId, version) });
  }

  async close(): Promise<void> {
    await Promise.all([this.light.close(), this.heavy.close(), this.events.close()]);
  }
}
