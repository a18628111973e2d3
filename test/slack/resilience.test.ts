import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/fake-slack.js';
import { cleanupRuns } from '../helpers/runs.js';
import { blockText, buttons, Harness, liveEvaluation, U } from './harness.js';

describe('gate message resilience', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
    await cleanupRuns();
  });

  it('429 with Retry-After on chat.update: the message still converges to the final state', async () => {
    h = await Harness.start({ renderIntervalMs: 100 });
    h.fake.fail('chat.update', { status: 429, retryAfter: 1 }, 3);
    await h.command(U.requester, `run ${h.runName}`);
    const posted = await h.postedEvaluation();
    const live = await waitFor(
      () => {
        const m = h?.message(posted);
        return m && buttons(m.blocks).size === 6 ? m : null;
      },
      'the converged message',
      60_000,
    );
    const updates = h.fake.callsOf('chat.update');
    // the three rate-limited calls were made and answered 429; later ones succeeded
    expect(updates.length).toBeGreaterThanOrEqual(4);
    expect(live.updates).toBe(updates.length - 3);
    const state = await h.store.getState(posted.evaluation.id);
    expect(state?.checks.every((c) => c.status === 'pass' || c.status === 'warn')).toBe(true);
    expect(blockText(live.blocks)).toContain(
      '20 passed, 0 warnings, 0 failed · sign-offs pending: technical, product, compliance',
    );
    const metrics = await h.metrics.registry.metrics();
    expect(metrics).toContain('readiness_slack_rate_limit_waits_total{method="gate_message"} 3');
    expect(metrics).toContain('readiness_slack_rate_limit_wait_seconds_total{method="gate_message"} 3');
  });

  it('a permanent error (channel_not_found) does not loop', async () => {
    h = await Harness.start({ renderIntervalMs: 100 });
    h.fake.fail('chat.postMessage', { error: 'channel_not_found' }, 1);
    await h.command(U.requester, `run ${h.runName}`);
    await waitFor(
      async () => (await h?.store.latestForRun(h.runName))?.checks.every((c) => c.status === 'pass'),
      'the checks',
      60_000,
    );
    await h.runtime.renderer.idle();
    const posts = h.fake.callsOf('chat.postMessage');
    // one failed attempt in the channel, then a DM telling the requester why
    expect(posts.map((c) => c.args.channel)).toEqual(['C0GATE', U.requester]);
    expect(String(posts[1]?.args.text)).toContain('channel_not_found');
    expect(h.fake.callsOf('chat.update')).toHaveLength(0);
  });

  it('app stopped mid-evaluation and started again: the message reaches its final state', async () => {
    h = await Harness.start({ workers: false });
    await h.command(U.requester, `run ${h.runName}`);
    const posted = await h.postedEvaluation();
    expect(buttons(h.message(posted).blocks).size).toBe(0);
    await h.stopApp();
    // checks run and finish while the app is down
    await h.startWorkers();
    await waitFor(
      async () => (await h?.store.getState(posted.evaluation.id))?.checks.every((c) => c.status === 'pass'),
      'the checks to finish while the app is down',
      60_000,
    );
    const updatesWhileDown = h.fake.callsOf('chat.update').length;
    await h.startApp();
    const final = await waitFor(
      () => {
        const m = h?.message(posted);
        return m && buttons(m.blocks).size === 6 ? m : null;
      },
      'the final state after restart',
      30_000,
    );
    expect(h.fake.callsOf('chat.update').length).toBeGreaterThan(updatesWhileDown);
    expect(blockText(final.blocks)).toContain('20 passed');
    // the restarted app did not post a second gate message (replies in its thread, e.g. asking the approvers, are not one)
    expect(
      h.fake
        .callsOf('chat.postMessage')
        .filter((c) => c.args.channel === posted.evaluation.channel && !c.args.thread_ts),
    ).toHaveLength(1);
  });

  it('a hung chat.postEphemeral for one user holds up nobody else: the click and command of others are answered meanwhile', async () => {
    h = await Harness.start();
    const { state, value } = await liveEvaluation(h);
    // Slack stalls on every answer to the outsider (until released)
    h.fake.fail('chat.postEphemeral', { hang: true }, 20, (a) => a.user === U.outsider);
    expect((await h.click(U.outsider, 'signoff_approve_technical', value)).status).toBe(200);
    expect((await h.click(U.outsider, 'signoff_approve_product', value)).status).toBe(200);
    await waitFor(() => h!.fake.hanging >= 2, "the outsider's two answers to hang");

    expect((await h.click(U.tech, 'signoff_approve_technical', value)).status).toBe(200);
    await h.command(U.comp, `status ${h.runName}`);
    await waitFor(
      () => h!.ephemeralsTo(U.tech).find((t) => t.includes('You approved')),
      "the approver's answer while the outsider's answers hang",
      8_000,
    );
    await waitFor(
      () => h!.fake.callsOf('response_url').find((c) => String(c.args.text).includes(`${h!.runName}: ⏳ PENDING`)),
      "the status answer while the outsider's answers hang",
      8_000,
    );
    // the outsider's answers are still hanging, yet their clicks were applied (refused and audited) before the answer
    expect(h.fake.hanging).toBeGreaterThanOrEqual(2);
    const now = await h.store.getState(state.evaluation.id);
    expect(now?.signoffs.map((x) => [x.role, x.user])).toEqual([['technical', U.tech]]);
    const refused = (await h.store.readAudit({ evaluation: state.evaluation.id })).filter(
      (a) => a.type === 'signoff_refused' && a.actor === U.outsider,
    );
    expect(refused.map((a) => a.data.role).sort()).toEqual(['product', 'technical']);
    h.fake.release();
  });

  it('a 500 on the answer: the click is retried from the intake, applied once, and answered as applied', async () => {
    h = await Harness.start();
    const { state, value } = await liveEvaluation(h);
    h.fake.fail('chat.postEphemeral', { status: 500 }, 2, (a) => a.user === U.tech);
    await h.click(U.tech, 'signoff_approve_technical', value);
    await waitFor(
      () => h!.ephemeralsTo(U.tech).find((t) => t.includes('You approved')),
      'the answer after the retries',
      30_000,
    );
    await h.runtime.intake.idle();
    const audit = (await h.store.readAudit({ evaluation: state.evaluation.id })).filter(
      (a) => a.actor === U.tech && a.type.startsWith('signoff_'),
    );
    expect(audit.map((a) => a.type)).toEqual(['signoff_recorded']);
    // three tries reached Slack: two 500s, then the answer
    expect(h.fake.callsOf('chat.postEphemeral').filter((c) => c.args.user === U.tech)).toHaveLength(3);
    expect(h.ephemeralsTo(U.tech).every((t) => t.includes('You approved'))).toBe(true);
  });
});
