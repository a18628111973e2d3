import type { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { Intake, type IntakeClock, type IntakeItem, intakeId } from '../../src/queue/intake.js';
import { connect, uniquePrefix } from '../helpers/store.js';
import { waitFor } from '../helpers/wait.js';

/** A clock the test moves by hand: sleepers wake only when `advance` passes their deadline. */
class ManualClock implements IntakeClock {
  t = 0;
  private sleepers: { until: number; wake: () => void }[] = [];
  now(): number {
    return this.t;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((wake) => this.sleepers.push({ until: this.t + ms, wake }));
  }
  get sleeping(): number {
    return this.sleepers.length;
  }
  advance(ms: number): void {
    this.t += ms;
    const due = this.sleepers.filter((s) => s.until <= this.t);
    this.sleepers = this.sleepers.filter((s) => s.until > this.t);
    for (const s of due) s.wake();
  }
}

let redis: Redis;
let intake: Intake | undefined;

beforeAll(() => {
  redis = connect(inject('redisUrl'));
});
afterEach(async () => {
  await intake?.close(1000);
  intake = undefined;
});
afterAll(async () => {
  await redis.quit();
});

function item(n: number): IntakeItem {
  return {
    kind: 'command',
    id: intakeId('command', ['T1', `trigger.${n}`]),
    user: 'U1',
    receivedAt: 1,
    retryNum: 0,
    data: {},
  };
}

/** An intake on the manual clock whose processor records the clock time each item started at. */
async function startIntake(opts: { yieldToTakesMs?: number; maxYieldMs?: number }) {
  const clock = new ManualClock();
  const started: number[] = [];
  intake = new Intake(redis, { prefix: uniquePrefix('intake-yield'), log: pino({ level: 'silent' }), clock, ...opts });
  intake.on('command', async () => {
    started.push(clock.now());
  });
  await intake.start();
  return { intake, clock, started };
}

/** Resolves once the item has either started or gone back to sleep in its wait for a quiet moment. */
async function settled(clock: ManualClock, started: number[], count: number): Promise<void> {
  await waitFor(() => started.length > count || clock.sleeping > 0, 'the item to start or wait again');
}

describe('intake processing yields to requests being taken in', () => {
  it('an item waits while a request is in flight and starts once none began or ended for the quiet time', async () => {
    const { intake, clock, started } = await startIntake({ yieldToTakesMs: 40, maxYieldMs: 10_000 });
    const acked = intake.requestBegan(); // a request whose listener has not acked yet (t = 0)
    await intake.take(item(1)); // durable before the ack; its processing must wait
    await settled(clock, started, 0);
    expect(started).toEqual([]);
    clock.advance(100); // t = 100: woke at 40 with the request still in flight: waits again
    await settled(clock, started, 0);
    expect(started).toEqual([]);
    clock.advance(20); // t = 120: the request is acked now
    acked();
    acked(); // ending twice counts once
    clock.advance(20); // t = 140: only 20 ms quiet since the ack
    await settled(clock, started, 0);
    expect(started).toEqual([]);
    clock.advance(20); // t = 160: 40 ms quiet
    await waitFor(() => started.length === 1, 'the item to start');
    expect(started).toEqual([160]);
  });

  it('a steady stream of requests delays an item at most maxYieldMs', async () => {
    const { intake, clock, started } = await startIntake({ yieldToTakesMs: 40, maxYieldMs: 300 });
    await intake.take(item(2));
    await settled(clock, started, 0);
    for (let t = 0; t < 300; t += 30) {
      expect(started).toEqual([]);
      intake.requestBegan()(); // a request every 30 ms: never 40 ms of quiet
      clock.advance(30);
      await settled(clock, started, 0);
    }
    await waitFor(() => started.length === 1, 'the item to start');
    expect(started).toEqual([300]);
  });

  it('with the yield off, an item starts even while a request is in flight', async () => {
    const { intake, clock, started } = await startIntake({ yieldToTakesMs: 0 });
    intake.requestBegan();
    await intake.take(item(3));
    await waitFor(() => started.length === 1, 'the item to start');
    expect(started).toEqual([0]);
    expect(clock.sleeping).toBe(0);
  });
});
