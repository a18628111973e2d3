import { afterAll, describe, expect, it } from 'vitest';
import { slowLatencyLayer } from '../helpers/evaluations.js';
import { waitFor } from '../helpers/fake-slack.js';
import { HeavyHold } from '../helpers/workers.js';
import { blockText, buttons, DEFAULT_CONFIG, U, useHarness } from './harness.js';

describe('live progress of a heavy check in the gate message', () => {
  // export.inference held at its first progress report: the message certainly renders it running
  const hold = new HeavyHold();
  afterAll(() => hold.remove());
  // a long latency test (request count, not sleep) selected with --policy
  const h = useHarness({
    config: { ...DEFAULT_CONFIG, policies: { slow: slowLatencyLayer(20_000).data } },
    heavyHold: hold,
  });

  it('shows "latency NN %" while export.inference runs, without buttons, then goes live', async () => {
    await h.command(U.requester, `run ${h.runName} --policy slow`);
    const posted = await h.postedEvaluation();
    expect(posted.evaluation.policy.policy.name).toBe('slow');
    const during = await waitFor(
      () => {
        const text = blockText(h.message(posted).blocks);
        return /Inference API tested with sample inputs\* — \w+ \d+ %/.test(text) ? h.message(posted) : null;
      },
      'a progress line in the gate message',
      90_000,
    );
    expect(buttons(during.blocks).size).toBe(0);
    hold.release();
    await waitFor(() => buttons(h.message(posted).blocks).size === 6, 'live buttons after the heavy checks', 120_000);
  });
});
