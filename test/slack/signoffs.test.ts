import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeRejectMetadata } from '../../src/slack/blocks/modals.js';
import { waitFor } from '../helpers/fake-slack.js';
import { blockText, buttons, liveEvaluation, NOTIFY, U, useHarness } from './harness.js';

describe('sign-off rules over the real receiver', () => {
  const h = useHarness();

  async function refusals(evaluation: string, user: string): Promise<string[]> {
    return (await h.store.readAudit({ evaluation }))
      .filter((a) => a.type === 'signoff_refused' && a.actor === user)
      .map((a) => String(a.data.reason));
  }

  it('refuses self-approval and a second role for the same person, ephemerally and audited', async () => {
    const { state, value } = await liveEvaluation(h, U.tech);
    const id = state.evaluation.id;
    // U.tech requested this evaluation: may not sign it
    await h.click(U.tech, 'signoff_approve_technical', value);
    await waitFor(async () => (await refusals(id, U.tech)).includes('self_approval'), 'self-approval refusal');
    await waitFor(
      () => h.ephemeralsTo(U.tech).some((t) => t.includes('someone else must sign')),
      'self-approval answer',
    );

    // U.tech is an approver of two roles (technical, product): one person signs at most one role
    const second = await liveEvaluation(h, U.requester);
    await h.click(U.tech, 'signoff_approve_product', second.value);
    await waitFor(
      () => h.ephemeralsTo(U.tech).some((t) => t.includes('approved the deployment as Product Owner')),
      'product approval by U.tech',
    );
    await h.click(U.tech, 'signoff_approve_technical', second.value);
    await waitFor(
      async () => (await refusals(second.state.evaluation.id, U.tech)).includes('already_signed_other_role'),
      'second-role refusal',
    );
    const s = await h.store.getState(second.state.evaluation.id);
    expect(s?.signoffs.map((x) => `${x.role}:${x.user}`)).toEqual(['product:U0TECH']);
  });

  it('a double click and two racing approvers give exactly one sign-off', async () => {
    const { state, value } = await liveEvaluation(h);
    const id = state.evaluation.id;
    await Promise.all([
      h.click(U.comp, 'signoff_approve_compliance', value),
      h.click(U.comp, 'signoff_approve_compliance', value),
    ]);
    // U.tech and U.lead2 race for technical
    await Promise.all([
      h.click(U.tech, 'signoff_approve_technical', value),
      h.click(U.lead2, 'signoff_approve_technical', value),
    ]);
    await waitFor(
      async () =>
        (await h.store.readAudit({ evaluation: id })).filter((a) => a.type.startsWith('signoff_')).length >= 4,
      'four audited attempts',
    );
    const st = await h.store.getState(id);
    expect(st?.signoffs.filter((x) => x.role === 'compliance')).toHaveLength(1);
    expect(st?.signoffs.filter((x) => x.role === 'technical')).toHaveLength(1);
    const audit = (await h.store.readAudit({ evaluation: id })).filter((a) => a.type.startsWith('signoff_'));
    expect(audit.filter((a) => a.type === 'signoff_recorded')).toHaveLength(2);
    expect(
      audit
        .filter((a) => a.type === 'signoff_refused')
        .map((a) => a.data.reason)
        .sort(),
    ).toEqual(['role_already_signed', 'role_already_signed']);
  });

  it('artifacts changed after posting: approval refused; rerun makes a new evaluation and the old approval shows as superseded', async () => {
    const { state, value } = await liveEvaluation(h);
    await h.click(U.comp, 'signoff_approve_compliance', value);
    await waitFor(
      async () => (await h.store.getState(state.evaluation.id))?.signoffs.length === 1,
      'compliance approval',
    );
    await appendFile(path.join(h.runDir, 'final_report.md'), '\nEdited after the gate message was posted.\n');
    const before = h.ephemeralsTo(U.prod).length;
    await h.click(U.prod, 'signoff_approve_product', value);
    await waitFor(() => h.ephemeralsTo(U.prod).length > before, 'the refusal');
    expect(h.ephemeralsTo(U.prod).at(-1)).toContain('changed since this message was posted');
    expect(
      (await h.store.readAudit({ evaluation: state.evaluation.id })).some(
        (a) => a.type === 'signoff_refused' && a.data.reason === 'digest_changed',
      ),
    ).toBe(true);

    const rerun = await h.command(U.requester, `rerun ${h.runName}`);
    expect(rerun.status).toBe(200);
    const next = await waitFor(async () => {
      const s = await h.store.latestForRun(h.runName);
      return s && s.evaluation.id !== state.evaluation.id && s.evaluation.message ? s : null;
    }, 'the rerun evaluation');
    expect(next.evaluation.digest).not.toBe(state.evaluation.digest);
    expect(next.signoffs).toEqual([]);
    const old = await waitFor(() => {
      const m = h.message(state);
      return blockText(m.blocks).includes('Superseded by a newer evaluation') ? m : null;
    }, 'the old message to show superseded');
    expect(blockText(old.blocks)).toContain(`~approved by <@${U.comp}>`);
    expect(buttons(old.blocks).size).toBe(0);
    // an old button clicked now is refused as superseded
    await h.click(U.prod, 'signoff_approve_product', value);
    await waitFor(
      async () =>
        (await h.store.readAudit({ evaluation: state.evaluation.id })).some(
          (a) => a.type === 'signoff_refused' && a.data.reason === 'superseded',
        ),
      'superseded refusal',
    );
  });

  it('a rejection asks for a reason and blocks the gate with a BLOCKED notification naming who and why', async () => {
    const { state, value } = await liveEvaluation(h);
    // an outsider is refused at once, without being asked for a reason
    const modalsBefore = h.fake.callsOf('views.open').length;
    await h.click(U.outsider, 'signoff_reject_product', value);
    await waitFor(
      async () =>
        (await h.store.readAudit({ evaluation: state.evaluation.id })).some(
          (a) => a.type === 'signoff_refused' && a.actor === U.outsider && a.data.decision === 'rejected',
        ),
      'the outsider refusal',
    );
    expect(h.fake.callsOf('views.open')).toHaveLength(modalsBefore);
    await h.click(U.prod, 'signoff_reject_product', value);
    const open = await waitFor(() => h.fake.callsOf('views.open').at(-1), 'the reject modal');
    const view = open.args.view as { private_metadata: string; callback_id: string };
    expect(view.callback_id).toBe('signoff_reject_modal');
    expect(decodeRejectMetadata(view.private_metadata)).toMatchObject({
      evaluationId: state.evaluation.id,
      role: 'product',
    });

    const blank = await h.submitReject(U.prod, view.private_metadata, '   ');
    expect(JSON.parse(blank.text)).toMatchObject({
      response_action: 'errors',
      errors: { reason: 'A reason is required to reject.' },
    });
    expect((await h.store.getState(state.evaluation.id))?.signoffs).toEqual([]);

    const ok = await h.submitReject(U.prod, view.private_metadata, 'No risk assessment for the new market yet');
    expect(ok.status).toBe(200);
    const notice = await waitFor(
      () =>
        h.fake
          .callsOf('chat.postMessage')
          .find((c) => c.args.channel === NOTIFY && blockText(c.args.blocks).includes(state.evaluation.id)),
      'the BLOCKED notification',
    );
    const text = blockText(notice.args.blocks);
    expect(text).toContain('Gate BLOCKED');
    expect(text).toContain(`Rejected by <@${U.prod}> (Product Owner)`);
    expect(text).toContain('No risk assessment for the new market yet');
    expect((await h.store.getState(state.evaluation.id))?.gate).toBe('blocked');
    await waitFor(() => blockText(h.message(state).blocks).includes('❌ BLOCKED'), 'the gate message to show BLOCKED');
    // sign-off is closed: only the rejecting role's Withdraw is left
    expect([...buttons(h.message(state).blocks).keys()]).toEqual(['signoff_withdraw_product']);
  });

  it('a click on a garbled or foreign button value is refused and audited', async () => {
    const before = h.ephemeralsTo(U.outsider).length;
    await h.click(U.outsider, 'signoff_approve_technical', 'not-a-gate-button');
    await waitFor(() => h.ephemeralsTo(U.outsider).length > before, 'the refusal');
    expect(h.ephemeralsTo(U.outsider).at(-1)).toContain('does not belong to a gate message');
    const audit = await h.store.readAudit();
    expect(
      audit.some(
        (a) =>
          a.type === 'signoff_refused' &&
          a.actor === U.outsider &&
          a.data.reason === 'garbled_button' &&
          a.data.value === 'not-a-gate-button',
      ),
    ).toBe(true);
  });

  it('a user-group lookup that fails refuses the click (fails closed); the next click asks Slack again', async () => {
    const { state, value } = await liveEvaluation(h);
    const id = state.evaluation.id;
    h.runtime.services.approvers.clear();
    h.fake.fail('usergroups.users.list', { error: 'missing_scope' });
    // U.lead2 may sign technical only through the S0TECHLEADS user group
    await h.click(U.lead2, 'signoff_approve_technical', value);
    await waitFor(async () => (await refusals(id, U.lead2)).includes('not_authorised'), 'the refusal');
    await waitFor(() => h.ephemeralsTo(U.lead2).some((t) => t.includes('was refused')), 'the refusal answer');
    expect((await h.store.getState(id))?.signoffs).toEqual([]);
    await h.click(U.lead2, 'signoff_approve_technical', value);
    await waitFor(
      async () => (await h.store.getState(id))?.signoffs.some((x) => x.user === U.lead2),
      'the approval once the lookup works',
    );
    expect(
      h.fake.callsOf('usergroups.users.list').filter((c) => c.args.usergroup === 'S0TECHLEADS').length,
    ).toBeGreaterThanOrEqual(2);
  });

  it('a garbled Reject button and a garbled reject form are refused and audited too', async () => {
    const audited = async (reason: string, field: string, value: string) =>
      (await h.store.readAudit()).some(
        (a) =>
          a.type === 'signoff_refused' && a.actor === U.outsider && a.data.reason === reason && a.data[field] === value,
      );
    const before = h.ephemeralsTo(U.outsider).length;
    const modals = h.fake.callsOf('views.open').length;
    await h.click(U.outsider, 'signoff_reject_technical', 'not-a-reject-button');
    await waitFor(() => audited('garbled_button', 'value', 'not-a-reject-button'), 'the garbled Reject audit entry');
    await waitFor(() => h.ephemeralsTo(U.outsider).length > before, 'the Reject refusal');
    expect(h.ephemeralsTo(U.outsider).at(-1)).toContain('does not belong to a gate message');
    expect(h.fake.callsOf('views.open')).toHaveLength(modals);

    const { state } = await liveEvaluation(h);
    const dms = () => h.fake.callsOf('chat.postMessage').filter((c) => c.args.channel === U.outsider).length;
    const dmsBefore = dms();
    expect((await h.submitReject(U.outsider, '{"not":"ours"}', 'looks wrong')).status).toBe(200);
    await waitFor(() => audited('garbled_form', 'private_metadata', '{"not":"ours"}'), 'the garbled form audit entry');
    await waitFor(() => dms() > dmsBefore, 'the garbled form answer');
    expect(
      h.fake
        .callsOf('chat.postMessage')
        .filter((c) => c.args.channel === U.outsider)
        .at(-1)?.args.text,
    ).toContain('does not belong to a gate message');
    // nothing was signed
    expect((await h.store.getState(state.evaluation.id))?.signoffs).toEqual([]);
  });

  it('App Home lists the sign-offs waiting for the viewer with buttons that work', async () => {
    const { state } = await liveEvaluation(h);
    await h.homeOpened(U.comp);
    const pub = await waitFor(
      () => h.fake.callsOf('views.publish').find((c) => c.args.user_id === U.comp),
      'views.publish',
    );
    const view = pub.args.view as { blocks: unknown[] };
    expect(blockText(view.blocks)).toContain('*Sign-offs waiting for you* (1)');
    const v = buttons(view.blocks).get('signoff_approve_compliance') as string;
    expect(v).toBeDefined();
    await h.click(U.comp, 'signoff_approve_compliance', v, { fromHome: true });
    // from App Home the answer goes to the app's DM with the user
    await waitFor(
      () =>
        h.fake
          .callsOf('chat.postMessage')
          .some((c) => c.args.channel === U.comp && String(c.args.text).includes('You approved')),
      'the DM answer',
    );
    expect((await h.store.getState(state.evaluation.id))?.signoffs.map((s) => s.role)).toEqual(['compliance']);
    await h.homeOpened(U.outsider);
    const other = await waitFor(
      () => h.fake.callsOf('views.publish').find((c) => c.args.user_id === U.outsider),
      'views.publish for an outsider',
    );
    expect(blockText((other.args.view as { blocks: unknown[] }).blocks)).toContain('Nothing waiting for you.');
  });
});
