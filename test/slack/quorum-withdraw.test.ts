import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { AUTOMATED_CHECKS } from '../../src/checks/registry.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { AttestationStore } from '../../src/store/attestations.js';
import { reportFromState } from '../../src/store/redis-store.js';
import { independentlyVerify, type KeyFiles, makeKeyFiles, signingGateHook } from '../attestation/helpers.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/fake-slack.js';
import { useWebhookReceiver } from '../helpers/webhook-receiver.js';
import { blockText, buttons, CHANNEL, liveEvaluation, NOTIFY, U, useHarness } from './harness.js';

const HOOK_SECRET = 'whsec-quorum-0123456789abcdef';

/** Technical needs two distinct approvers (U.tech and the user group's U.lead2). */
const CONFIG = {
  roles: {
    technical: { users: [U.tech], usergroups: ['S0TECHLEADS'], min_approvals: 2 },
    product: { users: [U.prod] },
    compliance: { users: [U.comp] },
  },
  notification_channel: NOTIFY,
};

describe('N-of-M sign-off and withdrawal through the real Bolt receiver', () => {
  const receiver = useWebhookReceiver();
  let keys: KeyFiles;
  const h = useHarness(async () => {
    keys = await makeKeyFiles();
    return {
      config: {
        ...CONFIG,
        webhooks: [{ url: receiver.url, events: ['passed', 'revoked'], secret_env: 'QUORUM_HOOK_SECRET' }],
      },
      checks: AUTOMATED_CHECKS.filter((c) => !c.heavy),
      gateHook: signingGateHook(keys.privatePem, 'QUORUM_HOOK_SECRET', HOOK_SECRET),
    };
  });
  let attestations: AttestationStore;
  beforeAll(() => {
    attestations = new AttestationStore(h.redis, { prefix: h.prefix });
  });

  const approved = (user: string, n: number) =>
    waitFor(() => h.ephemeralsTo(user).filter((t) => t.includes('You approved')).length >= n, `${user} approval ${n}`);

  it('a 2-of-2 role: "1 of 2" after one approver, the same person twice counts once, PASSED with both named everywhere', async () => {
    const { state, value } = await liveEvaluation(h);
    const id = state.evaluation.id;
    expect(state.evaluation.policy.policy.signoff.min_approvals).toEqual({ technical: 2 });
    await h.click(U.tech, 'signoff_approve_technical', value);
    await approved(U.tech, 1);
    const one = await waitFor(() => {
      const m = h.message(state);
      return blockText(m.blocks).includes('1 of 2 approvals') ? m : null;
    }, '"1 of 2" on the gate message');
    expect(blockText(one.blocks)).toContain(`*Technical Lead*: 1 of 2 approvals — approved by <@${U.tech}>`);
    expect(blockText(one.blocks)).toContain('awaiting 1 more');
    // the role still takes approvals, and the approver can take theirs back
    expect([...buttons(one.blocks).keys()]).toEqual(
      expect.arrayContaining(['signoff_approve_technical', 'signoff_reject_technical', 'signoff_withdraw_technical']),
    );

    // the same person again: refused, counted once
    await h.click(U.tech, 'signoff_approve_technical', value);
    await waitFor(() => h.ephemeralsTo(U.tech).some((t) => t.includes('each person counts once')), 'the refusal');
    await h.click(U.prod, 'signoff_approve_product', value);
    await approved(U.prod, 1);
    await h.click(U.comp, 'signoff_approve_compliance', value);
    await approved(U.comp, 1);
    const pending = await h.store.getState(id);
    expect(pending?.gate).toBe('pending');
    expect(pending?.signoffs.filter((s) => s.role === 'technical').map((s) => s.user)).toEqual([U.tech]);
    expect(reportFromState(pending!).outstanding).toEqual(['signoff.technical']);

    // a second, different approver completes the role
    await h.click(U.lead2, 'signoff_approve_technical', value);
    await approved(U.lead2, 1);
    const notice = await waitFor(
      () => h.fake.callsOf('chat.postMessage').find((c) => c.args.channel === NOTIFY),
      'the PASSED notification',
    );
    const text = blockText(notice.args.blocks);
    expect(text).toContain('Gate PASSED');
    expect(text).toMatch(
      new RegExp(`Technical Lead: <@${U.tech}>, \\d{4}-\\d\\d-\\d\\d; <@${U.lead2}>, .* \\(2 of 2\\)`),
    );
    const final = await waitFor(() => {
      const m = h.message(state);
      return blockText(m.blocks).includes('✅ PASSED') ? m : null;
    }, 'PASSED on the gate message');
    expect(blockText(final.blocks)).toMatch(
      new RegExp(`✅ \\*Technical Lead\\* \\(2 of 2\\): approved by <@${U.tech}> on .*; <@${U.lead2}> on `),
    );
    expect([...buttons(final.blocks).keys()].sort()).toEqual([
      'signoff_withdraw_compliance',
      'signoff_withdraw_product',
      'signoff_withdraw_technical',
    ]);
    const passed = await h.store.getState(id);
    // the final report and the attestation predicate name every approver
    expect(renderMarkdown(reportFromState(passed!))).toMatch(
      new RegExp(`- Technical Lead: <@${U.tech}>, [\\d-]+; <@${U.lead2}>, [\\d-]+ \\(2 of 2 approvals\\)`),
    );
    const att = await waitFor(async () => attestations.get(id), 'the attestation');
    const statement = JSON.parse(Buffer.from(att.envelope.payload, 'base64').toString('utf8')) as {
      predicate: { signoffs: { role: string; user: string }[] };
    };
    expect(
      statement.predicate.signoffs
        .filter((s) => s.role === 'technical')
        .map((s) => s.user)
        .sort(),
    ).toEqual([U.tech, U.lead2].sort());
  }, 120_000);

  it('withdrawal before PASSED takes back one approval; after PASSED it re-opens the gate, tells the channel, revokes the attestation; PASSED again is attested anew', async () => {
    const { state, value } = await liveEvaluation(h);
    const id = state.evaluation.id;
    const env = { REDIS_URL: inject('redisUrl'), REDIS_PREFIX: h.prefix };

    // before PASSED: U.tech approves and withdraws; the role is back at 0 of 2, nothing announced
    await h.click(U.tech, 'signoff_approve_technical', value);
    await approved(U.tech, 2);
    const w1 = await waitFor(
      () => buttons(h.message(state).blocks).get('signoff_withdraw_technical'),
      'the withdraw button',
    );
    // someone of the role who did not approve cannot take U.tech's approval away
    await h.click(U.lead2, 'signoff_withdraw_technical', w1);
    await waitFor(
      () => h.ephemeralsTo(U.lead2).some((t) => t.includes('Only the approver who gave an approval can withdraw it')),
      'the refused withdrawal',
    );
    await h.click(U.tech, 'signoff_withdraw_technical', w1);
    await waitFor(() => h.ephemeralsTo(U.tech).some((t) => t.includes('You withdrew')), 'the withdrawal');
    expect(h.ephemeralsTo(U.tech).find((t) => t.includes('You withdrew'))).not.toContain('re-opened');
    expect((await h.store.getState(id))?.signoffs).toEqual([]);
    await waitFor(
      () => blockText(h.message(state).blocks).includes('⏳ *Technical Lead*: awaiting approval (0 of 2)'),
      'the role back at 0 of 2',
    );

    // to PASSED
    for (const [user, role] of [
      [U.tech, 'technical'],
      [U.lead2, 'technical'],
      [U.prod, 'product'],
      [U.comp, 'compliance'],
    ] as const) {
      const before = h.ephemeralsTo(user).filter((t) => t.includes('You approved')).length;
      await h.click(user, `signoff_approve_${role}`, value);
      await approved(user, before + 1);
    }
    await waitFor(async () => (await attestations.get(id))?.status === 'valid', 'a valid attestation');
    const passedMessage = await waitFor(() => {
      const m = h.message(state);
      return blockText(m.blocks).includes('✅ PASSED') ? m : null;
    }, 'PASSED on the gate message');
    expect(buttons(passedMessage.blocks).has('signoff_approve_technical')).toBe(false);
    const noticesBefore = h.fake.callsOf('chat.postMessage').filter((c) => c.args.channel === NOTIFY).length;
    const ok = await runCli(['attestation', id, '--status'], { env });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ evaluation_id: id, status: 'valid' });

    // after PASSED: U.lead2 withdraws through the real Withdraw button
    const w2 = buttons(passedMessage.blocks).get('signoff_withdraw_technical') as string;
    await h.click(U.lead2, 'signoff_withdraw_technical', w2);
    await waitFor(() => h.ephemeralsTo(U.lead2).some((t) => t.includes('re-opened')), 'the withdrawal answer');
    const reopened = await h.store.getState(id);
    expect(reopened?.gate).toBe('pending');
    expect(reopened?.evaluation.reopened).toBe(1);

    // the channel is told who withdrew which role, that the gate is re-opened, with a link to the message
    const told = await waitFor(
      () =>
        h.fake
          .callsOf('chat.postMessage')
          .filter((c) => c.args.channel === NOTIFY)
          .find((c) => String(c.args.text).includes('Gate re-opened')),
      'the re-opened notice',
    );
    // in the evaluation's thread of the notification channel: the first notice about it there
    // (top-level, with the evaluation id in its metadata) started the thread
    const root = [...h.fake.messages.entries()]
      .filter(([, m]) => m.channel === NOTIFY && !m.thread_ts && m.metadata?.event_payload.evaluation_id === id)
      .map(([ts]) => ts)
      .sort()[0];
    expect(root).toBeDefined();
    expect(told.args.thread_ts).toBe(root);
    const toldText = blockText(told.args.blocks);
    expect(toldText).toContain(`<@${U.lead2}> withdrew their *Technical Lead* approval`);
    expect(toldText).toContain('PENDING');
    const ref = state.evaluation.message!;
    expect(ref.channel).toBe(CHANNEL);
    expect(toldText).toContain(
      `<https://slack.com/archives/${CHANNEL}/p${ref.ts.replace('.', '')}|Open the gate message>`,
    );

    // audited: the withdrawal and the re-opening, in the same transition
    const audit = await h.store.readAudit({ evaluation: id });
    const withdrawn = audit.filter((a) => a.type === 'signoff_withdrawn');
    expect(withdrawn.map((a) => [a.actor, a.data.reopened])).toEqual([
      [U.tech, false],
      [U.lead2, true],
    ]);
    expect(audit.filter((a) => a.type === 'gate_reopened')).toMatchObject([
      { actor: U.lead2, data: { role: 'technical', withdrawn: 'approved', signed_by: U.lead2, reopened: 1 } },
    ]);
    expect(audit.filter((a) => a.type === 'signoff_withdraw_refused').map((a) => a.data.reason)).toEqual([
      'not_own_signoff',
    ]);

    // the gate message is live again: Approve/Reject for technical, PENDING
    const live = await waitFor(() => {
      const m = h.message(state);
      return buttons(m.blocks).has('signoff_approve_technical') ? m : null;
    }, 'live technical buttons again');
    expect(blockText(live.blocks)).toContain('⏳ PENDING');
    expect(blockText(live.blocks)).toContain('1 of 2 approvals');

    // the attestation is listed as revoked, and the revoked webhook went out
    const revoked = await waitFor(async () => {
      const a = await attestations.get(id);
      return a?.status === 'revoked' ? a : null;
    }, 'the revocation');
    expect(revoked.revoked_reason).toContain('the gate left PASSED: now PENDING');
    const status = await runCli(['attestation', id, '--status'], { env });
    expect(status.code).toBe(1);
    expect(JSON.parse(status.stdout)).toMatchObject({ evaluation_id: id, status: 'revoked' });
    const hook = await waitFor(() => receiver.of('revoked', id)[0], 'the revoked webhook');
    expect(JSON.parse(hook.body)).toMatchObject({
      event: 'revoked',
      evaluation_id: id,
      attestation: { status: 'revoked' },
    });

    // the buttons work: the role signed again passes the gate again, and the channel is told again
    const again = buttons(live.blocks).get('signoff_approve_technical') as string;
    const before = h.ephemeralsTo(U.lead2).filter((t) => t.includes('You approved')).length;
    await h.click(U.lead2, 'signoff_approve_technical', again);
    await approved(U.lead2, before + 1);
    await waitFor(
      () =>
        h.fake
          .callsOf('chat.postMessage')
          .filter((c) => c.args.channel === NOTIFY && String(c.args.text).includes('PASSED')).length >= 2,
      'the second PASSED notification',
    );
    expect((await h.store.getState(id))?.gate).toBe('passed');
    // since the first PASSED notice: the re-opened notice and the second PASSED one
    await h.runtime.renderer.idle();
    expect(h.fake.callsOf('chat.postMessage').filter((c) => c.args.channel === NOTIFY).length - noticesBefore).toBe(2);

    // PASSED again: a new attestation (sequence 1), valid, signed anew; the first stays revoked
    const second = await waitFor(async () => {
      const a = await attestations.get(id);
      return a?.sequence === 1 && a.status === 'valid' ? a : null;
    }, 'the second attestation');
    const first = await attestations.get(id, 0);
    expect(first).toMatchObject({ sequence: 0, status: 'revoked', revoked_reason: revoked.revoked_reason });
    expect(first?.envelope).toEqual(revoked.envelope);
    expect(second.envelope.payload).not.toBe(revoked.envelope.payload);
    expect(second.envelope.signatures[0]?.sig).not.toBe(revoked.envelope.signatures[0]?.sig);
    expect((await attestations.history(id)).map((a) => [a.sequence, a.status])).toEqual([
      [0, 'revoked'],
      [1, 'valid'],
    ]);
    // the new predicate names the approval given after the re-opening
    const { statement } = independentlyVerify(JSON.stringify(second.envelope), await readFile(keys.publicPem, 'utf8'));
    const reapproval = (await h.store.getState(id))?.signoffs.find((s) => s.role === 'technical' && s.user === U.lead2);
    expect((statement.predicate as { signoffs: { role: string; user: string; at: string }[] }).signoffs).toContainEqual(
      expect.objectContaining({ role: 'technical', user: U.lead2, at: reapproval?.at }),
    );
    expect(
      (await h.store.readAudit({ evaluation: id }))
        .filter((a) => a.type === 'attestation_issued')
        .map((a) => a.data.sequence),
    ).toEqual([0, 1]);

    // `readiness attestation` serves the newest (valid, exit 0); the first is still there, revoked
    const newest = await runCli(['attestation', id, '--status'], { env });
    expect(newest.code).toBe(0);
    expect(JSON.parse(newest.stdout)).toMatchObject({ evaluation_id: id, sequence: 1, status: 'valid' });
    const byRun = await runCli(['attestation', h.runName], { env });
    expect(byRun.code).toBe(0);
    expect(JSON.parse(byRun.stdout)).toEqual(second.envelope);
    const old = await runCli(['attestation', id, '--sequence', '0', '--status'], { env });
    expect(old.code).toBe(1);
    expect(JSON.parse(old.stdout)).toMatchObject({ evaluation_id: id, sequence: 0, status: 'revoked' });

    // the second PASSED notification's thread gets the new file
    const upload = await waitFor(
      () => h.fake.uploads.find((u) => u.filename === `attestation-run-${id}-1.intoto.json`),
      'the second attestation upload',
    );
    expect(upload.content).toContain(second.envelope.payload);
    expect(h.fake.uploads.filter((u) => u.filename.includes(id))).toHaveLength(2);
    const threads = h.fake
      .callsOf('files.completeUploadExternal')
      .filter((c) => JSON.stringify(c.args.files).includes('Signed attestation') && c.args.thread_ts === root);
    expect(threads.length).toBeGreaterThanOrEqual(2);

    // `readiness verify` accepts the new one, and still accepts the bytes under the first (offline
    // verification cannot see revocation: that is what --status and the webhooks are for)
    const file = path.join(keys.dir, `${id}-1.intoto.json`);
    await writeFile(file, byRun.stdout);
    const verified = await runCli(['verify', h.runDir, '--attestation', file, '--public-key', keys.publicPem]);
    expect(verified.stdout).toContain('VERIFIED');
    expect(verified.code).toBe(0);

    // the passed webhook again, for the new attestation, under its own delivery id; revoked went once
    const hooks = await waitFor(() => {
      const p = receiver.of('passed', id);
      return p.length >= 2 ? p : null;
    }, 'the second passed webhook');
    const bodies = hooks.map(
      (r) =>
        JSON.parse(r.body) as {
          delivery_id: string;
          attestation: { sequence: number; status: string; envelope: unknown };
        },
    );
    expect(bodies.map((b) => [b.attestation.sequence, b.attestation.status])).toEqual([
      [0, 'valid'],
      [1, 'valid'],
    ]);
    expect(bodies[1]?.attestation.envelope).toEqual(second.envelope);
    expect(new Set(bodies.map((b) => b.delivery_id)).size).toBe(2);
    expect(receiver.of('revoked', id)).toHaveLength(1);
  }, 200_000);
});
