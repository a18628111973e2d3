import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/fake-slack.js';
import { blockText, buttons, CHANNEL, NOTIFY, U, useHarness } from './harness.js';

describe('the whole story on examples/digits-run', () => {
  const h = useHarness();

  it('run → live gate message → refused outsider → three approvals → PASSED notification', async () => {
    const ack = await h.command(U.requester, `run ${h.runName} --target 85`);
    expect(ack.status).toBe(200);
    expect(JSON.parse(ack.text)).toMatchObject({ response_type: 'ephemeral' });

    const posted = await h.postedEvaluation();
    expect(posted.evaluation.channel).toBe(CHANNEL);
    expect(posted.evaluation.requester).toBe(U.requester);
    expect(posted.evaluation.policy.policy.target_accuracy).toBe(85);
    const first = h.fake.callsOf('chat.postMessage').find((c) => c.args.channel === CHANNEL);
    expect(first).toBeDefined();
    expect(buttons(first?.args.blocks).size).toBe(0);

    // updated as checks finish, buttons live once every automated check passes
    const live = await waitFor(
      () => {
        const m = h.message(posted);
        return buttons(m.blocks).size === 6 ? m : null;
      },
      'live sign-off buttons',
      60_000,
    );
    expect(live.updates).toBeGreaterThan(0);
    expect(blockText(live.blocks)).toContain('⏳ PENDING');
    expect(blockText(live.blocks)).toContain(posted.evaluation.digest);
    const value = buttons(live.blocks).get('signoff_approve_technical') as string;

    // an outsider is refused, ephemerally, and the refusal is audited
    await h.click(U.outsider, 'signoff_approve_technical', value);
    await waitFor(() => h.ephemeralsTo(U.outsider).length > 0, 'the refusal');
    expect(h.ephemeralsTo(U.outsider)[0]).toContain('not an approver');
    const refused = await h.store.readAudit({ evaluation: posted.evaluation.id });
    expect(
      refused.some((a) => a.type === 'signoff_refused' && a.actor === U.outsider && a.data.reason === 'not_authorised'),
    ).toBe(true);

    // technical via the user group, product and compliance directly
    await h.click(U.lead2, 'signoff_approve_technical', value);
    await waitFor(() => h.ephemeralsTo(U.lead2).some((t) => t.includes('You approved')), 'technical approval');
    await h.click(U.prod, 'signoff_approve_product', value);
    await waitFor(() => h.ephemeralsTo(U.prod).some((t) => t.includes('You approved')), 'product approval');
    await h.click(U.comp, 'signoff_approve_compliance', value);
    await waitFor(() => h.ephemeralsTo(U.comp).some((t) => t.includes('You approved')), 'compliance approval');

    const notice = await waitFor(
      () => h.fake.callsOf('chat.postMessage').find((c) => c.args.channel === NOTIFY),
      'the PASSED notification',
    );
    const text = blockText(notice.args.blocks);
    expect(text).toContain('Gate PASSED');
    expect(text).toContain('*Final Sign-Off*');
    expect(text).toMatch(/\*Test Accuracy\*: \d+(\.\d+)?%/);
    expect(text).toContain('*Target Met*: Yes');
    expect(text).toContain(`Technical Lead: <@${U.lead2}>`);
    expect(text).toContain(`Product Owner: <@${U.prod}>`);
    expect(text).toContain(`Compliance: <@${U.comp}>`);
    expect(text).toContain('Deploy model to staging environment');

    const final = await waitFor(() => {
      const m = h.message(posted);
      return blockText(m.blocks).includes('✅ PASSED') ? m : null;
    }, 'the gate message to show PASSED');
    // no Approve/Reject left; each signed role keeps its Withdraw
    expect([...buttons(final.blocks).keys()].sort()).toEqual([
      'signoff_withdraw_compliance',
      'signoff_withdraw_product',
      'signoff_withdraw_technical',
    ]);
    expect(blockText(final.blocks)).toContain(`approved by <@${U.comp}>`);
    // exactly one notification for the one status change
    await h.runtime.renderer.idle();
    expect(h.fake.callsOf('chat.postMessage').filter((c) => c.args.channel === NOTIFY)).toHaveLength(1);

    // the app's metrics count what happened
    const metrics = await h.metrics.registry.metrics();
    expect(metrics).toContain('readiness_signoffs_total{role="technical",decision="refused"} 1');
    expect(metrics).toContain('readiness_signoffs_total{role="technical",decision="approved"} 1');
    expect(metrics).toContain('readiness_signoffs_total{role="compliance",decision="approved"} 1');
    expect(metrics).toContain('readiness_evaluations_total{outcome="passed"} 1');
  });
});
