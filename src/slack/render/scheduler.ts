/**
 * Coalescing per-key scheduler: knows nothing of Slack or Redis. Each key is flushed by `run` at
 * most once per `minIntervalMs` (measured from the last write `run` marked), never while a flush of
 * that key is in flight, and changes made meanwhile are folded into the next flush. A failed flush
 * is retried as `onFailure` decides (wait exactly as long as asked, back off, or give the key up).
 */

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const REAL_TIMERS: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** What a flush tells the scheduler about itself. */
export interface FlushControl {
  /** A write is being made now: the next flush of this key waits `minIntervalMs` from here. */
  markSent(): void;
  /** Flush this key again (something changed meanwhile, or someone else holds it), not before `notBeforeMs` if given. */
  again(notBeforeMs?: number): void;
}

/** What to do after a failed flush. */
export type FailureDecision =
  /** Wait exactly this long (a rate limit's Retry-After), then flush the latest state. */
  | { kind: 'wait'; ms: number }
  /** Trying again cannot help: the key is never flushed again by this scheduler. */
  | { kind: 'abandon' }
  /** Back off exponentially (0.5 s doubling, at most 60 s), up to `MAX_FAILURES` failures in a row. */
  | { kind: 'backoff' };

export const MAX_FAILURES = 20;

export function backoffMs(failures: number): number {
  return Math.min(60_000, 500 * 2 ** Math.min(failures, 7));
}

export interface SchedulerOptions {
  minIntervalMs: number;
  timers?: Timers | undefined;
  run(key: string, control: FlushControl): Promise<void>;
  /** Called with the error and the number of failures in a row (this one included). */
  onFailure(key: string, err: unknown, failures: number): FailureDecision;
  /** Whether an idle key's bookkeeping (last write time) is kept; otherwise it is dropped when idle. */
  retain?(key: string): boolean;
}

interface Entry {
  timer: unknown;
  inflight: Promise<void> | null;
  dirty: boolean;
  lastSentAt: number;
  blockedUntil: number;
  failures: number;
}

export class CoalescingScheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly abandoned = new Set<string>();
  private readonly timers: Timers;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: SchedulerOptions) {
    this.timers = opts.timers ?? REAL_TIMERS;
  }

  /** The key changed: flush it soon (coalesced with every other change until then). */
  schedule(key: string): void {
    if (this.stopped || this.abandoned.has(key)) return;
    let e = this.entries.get(key);
    if (!e) {
      e = {
        timer: null,
        inflight: null,
        dirty: false,
        lastSentAt: Number.NEGATIVE_INFINITY,
        blockedUntil: 0,
        failures: 0,
      };
      this.entries.set(key, e);
    }
    e.dirty = true;
    if (!e.inflight && !e.timer) this.arm(key, e);
  }

  isAbandoned(key: string): boolean {
    return this.abandoned.has(key);
  }

  /** Nothing scheduled, armed or in flight. */
  get isIdle(): boolean {
    for (const e of this.entries.values()) if (e.inflight || e.timer || e.dirty) return false;
    return true;
  }

  /** Resolves once nothing is scheduled or in flight (tests, shutdown). */
  idle(): Promise<void> {
    if (this.isIdle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Takes changes again after `stop`. */
  start(): void {
    this.stopped = false;
  }

  /** Takes no new changes and drops those waiting; waits for flushes in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const e of this.entries.values()) {
      if (e.timer) this.timers.clearTimeout(e.timer);
      e.timer = null;
      e.dirty = false;
    }
    await Promise.all([...this.entries.values()].map((e) => e.inflight).filter(Boolean));
    this.entries.clear();
    this.wakeIdle();
  }

  private wakeIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private arm(key: string, e: Entry): void {
    const now = this.timers.now();
    const delay = Math.max(0, e.lastSentAt + this.opts.minIntervalMs - now, e.blockedUntil - now);
    e.timer = this.timers.setTimeout(() => {
      e.timer = null;
      e.inflight = this.flush(key, e).finally(() => {
        e.inflight = null;
        if (e.dirty && !this.stopped && !this.abandoned.has(key)) this.arm(key, e);
        else if (!e.dirty && !(this.opts.retain?.(key) ?? false)) this.entries.delete(key);
        this.wakeIdle();
      });
    }, delay);
  }

  private async flush(key: string, e: Entry): Promise<void> {
    e.dirty = false;
    const control: FlushControl = {
      markSent: () => {
        e.lastSentAt = this.timers.now();
      },
      again: (notBeforeMs) => {
        e.dirty = true;
        if (notBeforeMs !== undefined) e.blockedUntil = Math.max(e.blockedUntil, notBeforeMs);
      },
    };
    try {
      await this.opts.run(key, control);
      e.failures = 0;
    } catch (err) {
      const decision = this.opts.onFailure(key, err, e.failures + 1);
      if (decision.kind === 'wait') {
        e.blockedUntil = this.timers.now() + decision.ms;
        e.dirty = true;
      } else if (decision.kind === 'abandon') {
        this.abandoned.add(key);
        e.dirty = false;
      } else {
        e.failures++;
        e.blockedUntil = this.timers.now() + backoffMs(e.failures);
        e.dirty = e.failures < MAX_FAILURES;
      }
    }
  }
}
