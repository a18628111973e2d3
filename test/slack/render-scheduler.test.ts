import { describe, expect, it } from 'vitest';
import {
  backoffMs,
  CoalescingScheduler,
  type FailureDecision,
  type FlushControl,
  MAX_FAILURES,
  type Timers,
} from '../../src/slack/render/scheduler.js';

/** A clock the test moves by hand: timers fire only in `advance`, in due order. */
class ManualClock implements Timers {
  t = 1_000_000;
  private seq = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.pending.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  get armed(): number {
    return this.pending.size;
  }
  /** Moves time forward, firing every timer that falls due and letting its promises settle. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      const next = [...this.pending.entries()].sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
      if (!next || next[1].at > end) break;
      this.pending.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

interface Harness {
  clock: ManualClock;
  scheduler: CoalescingScheduler;
  /** Times (clock ms) each flush started, per key. */
  flushes: Map<string, number[]>;
  failures: { key: string; failures: number }[];
}

function harness(
  opts: {
    minIntervalMs?: number;
    run?: (key: string, c: FlushControl, clock: ManualClock) => Promise<void>;
    decide?: (err: unknown) => FailureDecision;
  } = {},
): Harness {
  const clock = new ManualClock();
  const flushes = new Map<string, number[]>();
  const failures: { key: string; failures: number }[] = [];
  const scheduler = new CoalescingScheduler({
    minIntervalMs: opts.minIntervalMs ?? 1000,
    timers: clock,
    run: async (key, control) => {
      flushes.set(key, [...(flushes.get(key) ?? []), clock.now()]);
      control.markSent();
      await opts.run?.(key, control, clock);
    },
    onFailure: (key, err, n) => {
      failures.push({ key, failures: n });
      return opts.decide?.(err) ?? { kind: 'backoff' };
    },
    // every key is watched (as the renderer's open evaluations are): its last write time is kept
    retain: () => true,
  });
  return { clock, scheduler, flushes, failures };
}

describe('CoalescingScheduler (injected clock)', () => {
  it('flushes a first change at once and folds changes within the interval into one later flush', async () => {
    const h = harness();
    const start = h.clock.now();
    h.scheduler.schedule('a');
    await h.clock.advance(0);
    expect(h.flushes.get('a')).toEqual([start]);
    for (let i = 0; i < 9; i++) {
      h.scheduler.schedule('a');
      await h.clock.advance(100);
    }
    // nine changes in 900 ms: one more flush, exactly one interval after the first
    await h.clock.advance(1000);
    expect(h.flushes.get('a')).toEqual([start, start + 1000]);
    expect(h.scheduler.isIdle).toBe(true);
    await h.scheduler.idle();
  });

  it('keys are independent: one key waiting its interval does not hold up another', async () => {
    const h = harness();
    const start = h.clock.now();
    h.scheduler.schedule('a');
    await h.clock.advance(0);
    h.scheduler.schedule('a');
    h.scheduler.schedule('b');
    await h.clock.advance(0);
    expect(h.flushes.get('b')).toEqual([start]);
    expect(h.flushes.get('a')).toEqual([start]);
    await h.clock.advance(1000);
    expect(h.flushes.get('a')).toEqual([start, start + 1000]);
  });

  it('never flushes a key while its flush is in flight; a change meanwhile is flushed after it, one interval after the write', async () => {
    let release: () => void = () => {};
    let calls = 0;
    const h = harness({
      run: async () => {
        calls++;
        if (calls === 1) await new Promise<void>((r) => (release = r));
      },
    });
    const start = h.clock.now();
    h.scheduler.schedule('a');
    await h.clock.advance(0);
    h.scheduler.schedule('a');
    h.scheduler.schedule('a');
    await h.clock.advance(5000);
    expect(h.flushes.get('a')).toEqual([start]);
    expect(h.scheduler.isIdle).toBe(false);
    release();
    await h.clock.advance(0);
    // the write was marked at `start`: the interval has long passed, so the next flush is immediate
    expect(h.flushes.get('a')).toEqual([start, start + 5000]);
  });

  it('a rate limit waits exactly as long as asked, then flushes once', async () => {
    let limited = true;
    const h = harness({
      run: async () => {
        if (limited) {
          limited = false;
          throw new Error('429');
        }
      },
      decide: () => ({ kind: 'wait', ms: 7000 }),
    });
    const start = h.clock.now();
    h.scheduler.schedule('a');
    await h.clock.advance(6999);
    expect(h.flushes.get('a')).toEqual([start]);
    await h.clock.advance(1);
    expect(h.flushes.get('a')).toEqual([start, start + 7000]);
    await h.clock.advance(60_000);
    expect(h.flushes.get('a')).toHaveLength(2);
  });

  it('transient failures back off exponentially and stop after MAX_FAILURES in a row', async () => {
    const h = harness({
      minIntervalMs: 0,
      run: async () => {
        throw new Error('boom');
      },
    });
    const start = h.clock.now();
    h.scheduler.schedule('a');
    await h.clock.advance(3_600_000);
    const at = h.flushes.get('a') ?? [];
    expect(at).toHaveLength(MAX_FAILURES);
    let expected = start;
    for (let i = 0; i < at.length; i++) {
      expect(at[i]).toBe(expected);
      expected += backoffMs(i + 1);
    }
    expect(h.failures.map((f) => f.failures)).toEqual(Array.from({ length: MAX_FAILURES }, (_, i) => i + 1));
    expect(h.clock.armed).toBe(0);
    await h.scheduler.idle();
  });

  it('a success resets the failure count', async () => {
    let fail = 2;
    const h = harness({
      minIntervalMs: 0,
      run: async () => {
        if (fail-- > 0) throw new Error('boom');
      },
    });
    h.scheduler.schedule('a');
    await h.clock.advance(10_000);
    h.scheduler.schedule('a');
    fail = 1;
    await h.clock.advance(10_000);
    expect(h.failures.map((f) => f.failures)).toEqual([1, 2, 1]);
  });

  it('an abandoned key is never flushed again', async () => {
    const h = harness({
      run: async () => {
        throw new Error('channel_not_found');
      },
      decide: () => ({ kind: 'abandon' }),
    });
    h.scheduler.schedule('a');
    await h.clock.advance(0);
    expect(h.scheduler.isAbandoned('a')).toBe(true);
    h.scheduler.schedule('a');
    await h.clock.advance(60_000);
    expect(h.flushes.get('a')).toHaveLength(1);
  });

  it('again(notBefore) flushes once more, not before the given time', async () => {
    let first = true;
    const h = harness({
      minIntervalMs: 100,
      run: async (_k, c, clock) => {
        if (first) {
          first = false;
          c.again(clock.now() + 2500);
        }
      },
    });
    const start = h.clock.now();
    h.scheduler.schedule('a');
    await h.clock.advance(2499);
    expect(h.flushes.get('a')).toEqual([start]);
    await h.clock.advance(1);
    expect(h.flushes.get('a')).toEqual([start, start + 2500]);
  });

  it('stop drops what is waiting, waits for the flush in flight and resolves idle()', async () => {
    let release: () => void = () => {};
    const h = harness({ run: () => new Promise<void>((r) => (release = r)) });
    h.scheduler.schedule('a');
    await h.clock.advance(0);
    h.scheduler.schedule('b');
    h.scheduler.schedule('a');
    const idle = h.scheduler.idle();
    const stopped = h.scheduler.stop();
    release();
    await stopped;
    await idle;
    h.scheduler.schedule('c');
    await h.clock.advance(10_000);
    expect([...h.flushes.keys()]).toEqual(['a']);
    expect(h.clock.armed).toBe(0);
  });
});
