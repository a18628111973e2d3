import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUTOMATED_CHECKS } from '../../src/checks/registry.js';
import { renderJson } from '../../src/report/json.js';
import { renderJunit } from '../../src/report/junit.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { reportFromState } from '../../src/store/redis-store.js';
import type { EvaluationState } from '../../src/store/types.js';
import { waitFor } from '../helpers/fake-slack.js';
import { allButtons, submitWaiverReject, submitWaiverRequest } from '../helpers/waivers.js';
import { blockText, buttons, DEFAULT_CONFIG, NOTIFY, U, useHarness } from './harness.js';

const DAY = 86_400_000;
/** The app store's clock: real time plus what a test moved it by. */
let offsetMs = 0;
const now = () => new Date(Date.now() + offsetMs);

const CONFIG = {
  ...DEFAULT_CONFIG,
  policies: { team: { waivers: { 'test.target': ['technical', 'product'], 'export.parity': ['technical'] } } },
  default_policy: 'team',
};

const day = (offsetDays: number) => new Date(now().getTime() + offsetDays * DAY).toISOString().slice(0, 10);

describe('waivers through Slack: requested, approved by the policy’s roles, shown, counted, voided', () => {
  let seq = 0;
  const h = useHarness({ config: CONFIG, checks: AUTOMATED_CHECKS.filter((c) => !c.heavy), now });

  /** A new evaluation (fresh bytes) requested by U.tech whose test.target fails (target 99.5 > 99.2). */
  async function failingEvaluation(): Promise<{ state: EvaluationState; request: string }> {
    await appendFile(path.join(h.runDir, 'readiness.yml'), `\n# waiver evaluation ${++seq}\n`);
    const before = (await h.store.latestForRun(h.runName))?.evaluation.id;
    expect((await h.command(U.tech, `run ${h.runName} --target 99.5`)).status).toBe(200);
    const state = await waitFor(async () => {
      const s = await h.store.latestForRun(h.runName);
      return s && s.evaluation.id !== before && s.evaluation.message ? s : null;
    }, 'the evaluation');
    const request = await waitFor(
      () => allButtons(h.message(state).blocks).get('waiver_request'),
      'the Request waiver button',
      60_000,
    );
    return { state, request };
  }

  async function openRequestModal(value: string): Promise<string> {
    const opened = h.fake.callsOf('views.open').length;
    await h.click(U.tech, 'waiver_request', value);
    const call = await waitFor(() => h.fake.callsOf('views.open')[opened], 'the waiver modal');
    const view = call.args.view as { callback_id: string; private_metadata: string; blocks: unknown };
    expect(view.callback_id).toBe('waiver_request_modal');
    return view.private_metadata;
  }

  it('requested by the requester, refused for others; approved by technical (user group) and product; ⚠️ WAIVED everywhere; counts for PASSED', async () => {
    offsetMs = 0;
    const { state, request } = await failingEvaluation();
    const e = state.evaluation;
    expect((await h.store.getState(e.id))?.gate).toBe('blocked');
    expect(blockText(h.message(state).blocks)).toContain('Test accuracy meets or exceeds target');

    // someone else than the requester is refused, audited, and gets no modal
    const opened = h.fake.callsOf('views.open').length;
    await h.click(U.requester, 'waiver_request', request);
    await waitFor(
      () => h.ephemeralsTo(U.requester).some((t) => t.includes('Only the person who requested')),
      'refusal',
    );
    expect(h.fake.callsOf('views.open').length).toBe(opened);
    expect(
      (await h.store.readAudit({ evaluation: e.id })).some(
        (a) => a.type === 'waiver_refused' && a.actor === U.requester && a.data.reason === 'not_requester',
      ),
    ).toBe(true);

    // the modal: a date in the past or beyond 90 days keeps it open with the error
    const meta = await openRequestModal(request);
    const past = await submitWaiverRequest(h, U.tech, meta, 'accepted', day(-1));
    expect(JSON.parse(past.text)).toMatchObject({ response_action: 'errors', errors: { waiver_expiry: /past/ } });
    const far = await submitWaiverRequest(h, U.tech, meta, 'accepted', day(120));
    expect(JSON.parse(far.text)).toMatchObject({
      response_action: 'errors',
      errors: { waiver_expiry: /at most 90 days/ },
    });
    const blank = await submitWaiverRequest(h, U.tech, meta, '   ', day(10));
    expect(JSON.parse(blank.text)).toMatchObject({ response_action: 'errors', errors: { waiver_reason: /required/ } });

    const reason = 'Product accepts 99.2% for the pilot <!channel> see https://evil.example';
    const until = day(10);
    const ok = await submitWaiverRequest(h, U.tech, meta, reason, until);
    expect(ok.status).toBe(200);
    await waitFor(() => h.ephemeralsTo(U.tech).some((t) => t.includes('You asked for a waiver')), 'request answer');

    // shown on the failing item with the approve buttons of both roles; user text escaped
    const awaiting = await waitFor(() => {
      const m = h.message(state);
      return buttons(m.blocks).has('waiver_approve_product') ? m : null;
    }, 'waiver approve buttons');
    const awaitingText = blockText(awaiting.blocks);
    expect(awaitingText).toContain('*Waiver requested* by <@U0TECH>');
    expect(awaitingText).toContain('&lt;!channel&gt;');
    expect(awaitingText).not.toContain('<!channel>');
    expect(awaitingText).toContain('awaiting Technical Lead, Product Owner');
    const value = buttons(awaiting.blocks).get('waiver_approve_technical') as string;
    expect(allButtons(awaiting.blocks).has('waiver_request')).toBe(false);

    // the requester may not approve it; an outsider neither
    await h.click(U.tech, 'waiver_approve_product', value);
    await waitFor(() => h.ephemeralsTo(U.tech).some((t) => t.includes('someone else must approve it')), 'self');
    await h.click(U.outsider, 'waiver_approve_technical', value);
    await waitFor(() => h.ephemeralsTo(U.outsider).some((t) => t.includes('not an approver')), 'outsider');

    await h.click(U.lead2, 'waiver_approve_technical', value);
    await waitFor(() => h.ephemeralsTo(U.lead2).some((t) => t.includes('other roles still have to approve')), 'tech');
    expect((await h.store.getState(e.id))?.gate).toBe('blocked');
    await h.click(U.prod, 'waiver_approve_product', value);
    await waitFor(() => h.ephemeralsTo(U.prod).some((t) => t.includes('it is now in effect')), 'product');

    // counted: the gate is pending on sign-offs, and the Approve buttons are live
    const live = await waitFor(() => {
      const m = h.message(state);
      return buttons(m.blocks).has('signoff_approve_compliance') ? m : null;
    }, 'live sign-off buttons');
    const liveText = blockText(live.blocks);
    expect(liveText).toContain('⚠️ WAIVED *Test accuracy meets or exceeds target* (`test.target`)');
    expect(liveText).toContain(`approved by <@${U.lead2}> (Technical Lead), <@${U.prod}> (Product Owner)`);
    expect(liveText).toContain(`until ${until}`);
    expect(liveText).toContain('1 waived');
    expect(liveText).not.toContain('Failing items');

    const signValue = buttons(live.blocks).get('signoff_approve_technical') as string;
    await h.click(U.lead2, 'signoff_approve_technical', signValue);
    await h.click(U.prod, 'signoff_approve_product', signValue);
    await h.click(U.comp, 'signoff_approve_compliance', signValue);
    const notice = await waitFor(
      () =>
        h.fake
          .callsOf('chat.postMessage')
          .find((c) => c.args.channel === NOTIFY && String(c.args.text).includes('PASSED')),
      'the PASSED notification',
    );
    const noticeText = blockText(notice.args.blocks);
    expect(noticeText).toContain('*Accepted with stakeholder approval (waivers)*');
    expect(noticeText).toContain('⚠️ WAIVED Test accuracy meets or exceeds target (`test.target`)');
    expect(noticeText).toContain('&lt;!channel&gt;');

    // reports: markdown (checklist and Final Sign-Off), JSON, JUnit
    const passed = await h.store.getState(e.id);
    expect(passed?.gate).toBe('passed');
    const report = reportFromState(passed!);
    const md = renderMarkdown(report);
    expect(md).toMatch(
      /- \[x\] ⚠️ WAIVED \*\*Test accuracy meets or exceeds target\*\* \(`test\.target`, fail, waived\)/,
    );
    const finalBlock = md.slice(md.indexOf('## Final Sign-Off'));
    expect(finalBlock).toContain('**Accepted with stakeholder approval (waivers)**');
    expect(finalBlock).toContain(`requested by <@${U.tech}>`);
    expect(finalBlock).toContain(`until ${until}`);
    const json = JSON.parse(renderJson(report));
    expect(json.waivers).toEqual([
      expect.objectContaining({
        check: 'test.target',
        standing: 'effective',
        status: 'approved',
        reason,
        requested_by: U.tech,
        approvals: [
          expect.objectContaining({ role: 'technical', user: U.lead2 }),
          expect.objectContaining({ role: 'product', user: U.prod }),
        ],
      }),
    ]);
    const junit = renderJunit(report);
    expect(junit).toMatch(/<testcase name="test\.target"[^>]*><system-out>WAIVED \(test\.target\)/);
    expect(junit).toContain(`<property name="waivers" value="test.target until ${until}"/>`);
    expect(junit).not.toMatch(/<testcase name="test\.target"[^>]*><failure/);
  });

  it('an expired waiver does not count (store clock); new artifacts void it', async () => {
    offsetMs = 0;
    const { state, request } = await failingEvaluation();
    const meta = await openRequestModal(request);
    await submitWaiverRequest(h, U.tech, meta, 'short exception', day(2));
    const value = await waitFor(() => buttons(h.message(state).blocks).get('waiver_approve_technical'), 'buttons');
    await h.click(U.lead2, 'waiver_approve_technical', value);
    await h.click(U.prod, 'waiver_approve_product', value);
    await waitFor(() => buttons(h.message(state).blocks).has('signoff_approve_technical'), 'sign-off opens');

    // three days later the waiver has expired: blocked again, the Request button is back, sign-off closed
    // (no click: the app notices on its periodic version check, notes it in the audit and re-renders)
    offsetMs = 3 * DAY;
    const expired = await waitFor(() => {
      const m = h.message(state);
      return blockText(m.blocks).includes('*Waiver expired*') ? m : null;
    }, 'the expired waiver');
    expect((await h.store.getState(state.evaluation.id))?.gate).toBe('blocked');
    expect(buttons(expired.blocks).has('signoff_approve_technical')).toBe(false);
    expect(allButtons(expired.blocks).has('waiver_request')).toBe(true);
    expect(reportFromState((await h.store.getState(state.evaluation.id))!).waivers[0]?.standing).toBe('expired');
    expect(
      (await h.store.readAudit({ evaluation: state.evaluation.id })).filter((a) => a.type === 'waiver_expired'),
    ).toHaveLength(1);
    // sign-off attempts are refused by the store too
    const stale = await h.store.recordSignoff({
      evaluationId: state.evaluation.id,
      role: 'compliance',
      decision: 'approved',
      user: U.comp,
      digest: state.evaluation.digest,
      authorised: true,
      allowSelfApproval: false,
    });
    expect(stale).toMatchObject({ ok: false, reason: 'checks_not_passing' });

    // a fresh waiver on these artifacts (still three days on), then new artifacts: the next evaluation starts without it
    const meta2 = await openRequestModal(request);
    await submitWaiverRequest(h, U.tech, meta2, 'again', day(20));
    const v2 = await waitFor(() => buttons(h.message(state).blocks).get('waiver_approve_technical'), 'buttons');
    await h.click(U.lead2, 'waiver_approve_technical', v2);
    await h.click(U.prod, 'waiver_approve_product', v2);
    await waitFor(
      async () => (await h.store.getState(state.evaluation.id))?.gate === 'pending',
      'the waiver in effect',
    );
    const next = await failingEvaluation();
    expect(next.state.evaluation.digest).not.toBe(state.evaluation.digest);
    const fresh = await h.store.getState(next.state.evaluation.id);
    expect(fresh?.waivers).toEqual([]);
    expect(fresh?.gate).toBe('blocked');
  });

  it('a rejection (with its reason) keeps the check blocking; a check the policy does not list has no button and is refused', async () => {
    offsetMs = 0;
    const { state, request } = await failingEvaluation();
    const meta = await openRequestModal(request);
    await submitWaiverRequest(h, U.tech, meta, 'please', day(5));
    const value = await waitFor(() => buttons(h.message(state).blocks).get('waiver_reject_product'), 'buttons');
    const opened = h.fake.callsOf('views.open').length;
    await h.click(U.prod, 'waiver_reject_product', value);
    const modal = await waitFor(() => h.fake.callsOf('views.open')[opened], 'the reject modal');
    const view = modal.args.view as { callback_id: string; private_metadata: string };
    expect(view.callback_id).toBe('waiver_reject_modal');
    await submitWaiverReject(h, U.prod, view.private_metadata, 'Not for a medical model');
    const rejected = await waitFor(() => {
      const m = h.message(state);
      return blockText(m.blocks).includes('*Waiver rejected*') ? m : null;
    }, 'the rejection');
    expect(blockText(rejected.blocks)).toContain('Not for a medical model');
    expect((await h.store.getState(state.evaluation.id))?.gate).toBe('blocked');

    // a forged request for a check the policy does not list is refused (audited)
    const forged = JSON.stringify({ ...JSON.parse(request), c: 'test.val_gap' });
    await h.click(U.tech, 'waiver_request', forged);
    await waitFor(
      () => h.ephemeralsTo(U.tech).some((t) => t.includes('does not allow waiving `test.val_gap`')),
      'the refusal',
    );
    const audit = await h.store.readAudit({ evaluation: state.evaluation.id });
    expect(audit.some((a) => a.type === 'waiver_rejected' && a.actor === U.prod)).toBe(true);
    expect(audit.some((a) => a.type === 'waiver_refused' && a.data.reason === 'not_waivable')).toBe(true);
  });

  it('garbled waiver buttons are refused and audited as waiver refusals; no modal opens', async () => {
    const modals = h.fake.callsOf('views.open').length;
    const cases = [
      ['waiver_request', 'not-a-waiver-button'],
      ['waiver_approve_technical', '{"e":"ev-1"}'],
      ['waiver_reject_product', 'garbled-reject'],
    ] as const;
    for (const [action, value] of cases) {
      const before = h.ephemeralsTo(U.outsider).length;
      await h.click(U.outsider, action, value);
      await waitFor(async () => {
        const audit = await h.store.readAudit();
        return audit.some(
          (a) =>
            a.type === 'waiver_refused' &&
            a.actor === U.outsider &&
            a.data.reason === 'garbled_button' &&
            a.data.action_id === action &&
            a.data.value === value,
        );
      }, `the audit entry of the garbled ${action}`);
      await waitFor(() => h.ephemeralsTo(U.outsider).length > before, `the refusal of the garbled ${action}`);
      expect(h.ephemeralsTo(U.outsider).at(-1)).toContain('does not belong to a gate message');
    }
    expect(h.fake.callsOf('views.open')).toHaveLength(modals);
  });
});
