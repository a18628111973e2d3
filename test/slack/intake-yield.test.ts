import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { waitFor } from '../helpers/fake-slack.js';
import { cleanupRuns } from '../helpers/runs.js';
import { Harness, U } from './harness.js';

/**
 * The intake's processing yields to requests being taken in (test/queue/intake-yield.test.ts
 * drives that rule on a manual clock); here: the app counts a request from its listener's start
 * to its ack, so the pre-ack run check counts too, and App Home events (acked by Bolt before
 * their listener) do not.
 */
describe('requests count as being taken in from their listener to their ack', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({ workers: false });
  });
  afterAll(async () => {
    await h?.stop();
    await cleanupRuns();
  });

  it('a command is in flight while it is written to the intake, and no longer once acked', async () => {
    const intake = h.runtime.intake;
    const seenAtTake: number[] = [];
    const take = intake.take.bind(intake);
    const spy = vi.spyOn(intake, 'take').mockImplementation(async (item) => {
      // the listener's own count, before take adds its own for the Redis write
      seenAtTake.push(intake.requestsBeingTaken);
      return take(item);
    });
    try {
      const res = await h.command(U.requester, `run ${h.runName}`);
      expect(res.status).toBe(200);
      expect(seenAtTake).toEqual([1]);
      expect(intake.requestsBeingTaken).toBe(0);
      // a usage error is answered in the ack without being taken in, and ends its count as well
      expect((await h.command(U.requester, 'frobnicate')).status).toBe(200);
      expect(intake.requestsBeingTaken).toBe(0);
    } finally {
      spy.mockRestore();
    }
  });

  it('an App Home event is not counted', async () => {
    const intake = h.runtime.intake;
    const began = vi.spyOn(intake, 'requestBegan');
    try {
      expect((await h.homeOpened(U.tech)).status).toBe(200);
      await waitFor(() => h.fake.callsOf('views.publish').length > 0, 'App Home to be published');
      expect(began).not.toHaveBeenCalled();
    } finally {
      began.mockRestore();
    }
  });
});
