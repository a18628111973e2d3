import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { type Job, type JobsOptions, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { bullPrefix, QUEUE_NAMES } from './names.js';

/**
 * A command or click as it was taken in, before its ack: the request's own fields only (plain
 * data, no closures), so any app process can process it, now or after a restart.
 */
export const IntakeItemSchema = z.strictObject({
  /** Which processor handles it: `command`, `approve`, `reject`, `reject_reason`. */
  kind: z.string().regex(/^[a-z_]{1,40}$/),
  /** Deterministic id from Slack's own ids (see intakeId): a Slack retry of the request is the same item. */
  id: z.string().regex(/^[a-z_]+-[0-9a-f]{32}$/),
  /** Who sent it (Slack user id). */
  user: z.string().min(1).max(64),
  /** Epoch ms when the first delivery was taken in. */
  receivedAt: z.number().int().nonnegative(),
  /** X-Slack-Retry-Num of the delivery that created it (0: the first one). */
  retryNum: z.number().int().nonnegative(),
  data: z.record(z.string(), z.unknown()),
});
export type IntakeItem = z.infer<typeof IntakeItemSchema>;

/**
 * Id of a request from Slack's ids for it (trigger id of a command; team, user, action ts and
 * action id of a click). Hashed: Slack's ids may contain ':' (BullMQ's key separator) and have no
 * length bound. Two clicks are two ids; one click delivered twice (a Slack retry) is one.
 */
export function intakeId(kind: string, parts: readonly string[]): string {
  return `${kind}-${createHash('sha256')
    .update(JSON.stringify([kind, ...parts]))
    .digest('hex')
    .slice(0, 32)}`;
}

export const INTAKE_JOB_OPTIONS: JobsOptions = {
  // A processor that throws (Redis blip, a reply that failed after its retries) is tried again.
  attempts: 4,
  backoff: { type: 'exponential', delay: 1000 },
  // Kept an hour so a Slack retry within it (Slack retries within minutes) is recognised by its id.
  removeOnComplete: { age: 3600 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/**
 * Steps of one item's processing that must not run twice when the item is processed again (its
 * reply failed and it is retried, or its process died): the first run's result is kept with the
 * job (BullMQ progress) and returned instead of running the step again.
 */
export interface IntakeSteps {
  once<T extends string | number | boolean | null>(step: string, fn: () => Promise<T>): Promise<T>;
}

export type IntakeProcessor = (item: IntakeItem, steps: IntakeSteps) => Promise<void>;

function jobSteps(job: Job<IntakeItem>): IntakeSteps {
  return {
    async once(step, fn) {
      const done = (job.progress && typeof job.progress === 'object' ? job.progress : {}) as Record<string, unknown>;
      if (step in done) return done[step] as never;
      const value = await fn();
      await job.updateProgress({ ...done, [step]: value });
      return value;
    },
  };
}

/** What a listener needs: take an item in durably (resolves once it is in Redis). */
export interface IntakeWriter {
  take(item: IntakeItem): Promise<'new' | 'retry'>;
}

export interface IntakeOptions {
  prefix: string;
  log: Logger;
  /** Items processed at a time by this process (default 32). */
  concurrency?: number;
  /** Lock of an item being processed; renewed every half of it (default 10 s). */
  lockDurationMs?: number;
  /** How often a dead process's items are looked for (default 5 s): a killed app's items run again within lock + this. */
  stalledIntervalMs?: number;
  /** A delivery with X-Slack-Retry-Num (the first one was slow or lost): audited, never processed twice. */
  onRetry?: (item: IntakeItem) => Promise<void>;
  /** An item that failed for good (after its attempts). */
  onFailed?: (item: IntakeItem, err: Error) => Promise<void>;
  /**
   * Processing yields to a burst of requests being taken in: an item starts only once no request
   * is being taken in and none began or was acked for this long (default 40 ms), so the acks of a
   * burst are not queued behind its first items' work (run resolution, manifest hashing, Slack
   * calls) on the event loop and the libuv thread pool. 0 turns it off.
   */
  yieldToTakesMs?: number;
  /** An item never waits longer than this for a quiet moment (default 1000 ms): a steady stream cannot starve processing. */
  maxYieldMs?: number;
  /** The yield's clock (tests drive it by hand); default `performance.now()` and `setTimeout`. */
  clock?: IntakeClock;
}

/** Time as the yield to requests sees it. */
export interface IntakeClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const REAL_CLOCK: IntakeClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/**
 * Durable intake of commands and clicks on a BullMQ queue: `take` is one Redis write (BullMQ's
 * add script, job id = the item's deterministic id) made before the request is acked; workers in
 * every app process run the item's processor. A process killed mid-item leaves a job whose lock
 * expires, and another (or the restarted) process runs it again, so processors are idempotent.
 */
export class Intake implements IntakeWriter {
  readonly queue: Queue<IntakeItem>;
  private worker: Worker<IntakeItem> | null = null;
  private readonly processors = new Map<string, IntakeProcessor>();
  /** Requests being taken in (from their listener's start to its ack), and when the last one began or ended. */
  private requestsInFlight = 0;
  private lastRequestAt = Number.NEGATIVE_INFINITY;
  private readonly clock: IntakeClock;

  constructor(
    private readonly redis: Redis,
    private readonly opts: IntakeOptions,
  ) {
    this.queue = new Queue<IntakeItem>(QUEUE_NAMES.intake, {
      connection: redis,
      prefix: bullPrefix(opts.prefix),
      defaultJobOptions: INTAKE_JOB_OPTIONS,
    });
    this.clock = opts.clock ?? REAL_CLOCK;
  }

  /** Requests being taken in right now (their listener has started and not yet acked). */
  get requestsBeingTaken(): number {
    return this.requestsInFlight;
  }

  /**
   * Marks a request as being taken in until the returned function is called (once its ack is
   * sent): processing yields while any is (see `yieldToTakesMs`). The app wraps every command,
   * click and form listener in it, so the pre-ack checks count, not only the Redis write.
   */
  requestBegan(): () => void {
    this.requestsInFlight++;
    this.lastRequestAt = this.clock.now();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.requestsInFlight--;
      this.lastRequestAt = this.clock.now();
    };
  }

  /** Registers the processor of one kind of item. */
  on(kind: string, processor: IntakeProcessor): void {
    this.processors.set(kind, processor);
  }

  async take(item: IntakeItem): Promise<'new' | 'retry'> {
    const ended = this.requestBegan();
    try {
      await this.queue.add(item.kind, item, { jobId: item.id });
    } finally {
      ended();
    }
    if (item.retryNum === 0) return 'new';
    await this.opts
      .onRetry?.(item)
      .catch((err: unknown) => this.opts.log.warn({ err, intake: item.id }, 'could not audit a Slack retry'));
    return 'retry';
  }

  /** Starts processing (this process's share of the queue). */
  async start(): Promise<void> {
    if (this.worker) return;
    const log = this.opts.log;
    const worker = new Worker<IntakeItem>(
      QUEUE_NAMES.intake,
      async (job) => {
        const parsed = IntakeItemSchema.safeParse(job.data);
        if (!parsed.success) {
          log.warn({ job: job.id }, 'malformed intake item dropped');
          return;
        }
        const processor = this.processors.get(parsed.data.kind);
        if (!processor) throw new Error(`no processor for intake items of kind "${parsed.data.kind}"`);
        await this.quietMoment();
        await processor(parsed.data, jobSteps(job));
      },
      {
        connection: this.redis,
        prefix: bullPrefix(this.opts.prefix),
        concurrency: this.opts.concurrency ?? 32,
        lockDuration: this.opts.lockDurationMs ?? 10_000,
        stalledInterval: this.opts.stalledIntervalMs ?? 5_000,
        maxStalledCount: 3,
        autorun: false,
      },
    );
    worker.on('failed', (job: Job<IntakeItem> | undefined, err: Error) => {
      if (!job) return;
      const final = job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError';
      log.warn(
        { intake: job.id, kind: job.data.kind, attempts: job.attemptsMade, final, err: { message: err.message } },
        'intake item failed',
      );
      if (final)
        this.opts
          .onFailed?.(job.data, err)
          .catch((e: unknown) => log.error({ err: e }, 'could not record a failed intake item'));
    });
    worker.on('error', (err) => log.error({ err }, 'intake worker error'));
    this.worker = worker;
    void worker.run();
    await worker.waitUntilReady();
  }

  /**
   * Waits until no request is being taken in and none began or ended in the last `yieldToTakesMs` (at
   * most `maxYieldMs`). The item is already durable and locked; only its start moves.
   */
  private async quietMoment(): Promise<void> {
    const quietMs = this.opts.yieldToTakesMs ?? 40;
    if (quietMs <= 0) return;
    const giveUpAt = this.clock.now() + (this.opts.maxYieldMs ?? 1000);
    for (;;) {
      const now = this.clock.now();
      const quietFor = now - this.lastRequestAt;
      if ((this.requestsInFlight === 0 && quietFor >= quietMs) || now >= giveUpAt) return;
      const wait = this.requestsInFlight > 0 ? quietMs : quietMs - quietFor;
      await this.clock.sleep(Math.max(1, Math.min(wait, giveUpAt - now)));
    }
  }

  /** Resolves once nothing is waiting, delayed or being processed (tests, benchmarks). */
  async idle(pollMs = 25): Promise<void> {
    for (;;) {
      const c = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
      if (Object.values(c).every((n) => n === 0)) return;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /**
   * Stops taking items; items being processed may finish for up to `timeoutMs`, then they are
   * left to their locks (another process, or this one restarted, runs them again). Never waits
   * for Redis longer than that: BullMQ's close hangs while Redis is unreachable.
   */
  async close(timeoutMs: number): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (worker && !(await settleWithin(worker.close(), timeoutMs))) {
      this.opts.log.warn(
        { timeoutMs },
        'commands or clicks still processing at the shutdown deadline; they stay queued and run again after a restart',
      );
      void worker.close(true).catch(() => {});
    }
    await settleWithin(this.queue.close(), 1000);
  }
}

/** Waits for `p` at most `ms`; true when it settled in time (a rejection counts as settled). */
export async function settleWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((r) => {
    timer = setTimeout(() => r(false), ms);
    timer.unref();
  });
  const settled = p.then(
    () => true,
    () => true,
  );
  const done = await Promise.race([settled, timedOut]);
  clearTimeout(timer);
  return done;
}
