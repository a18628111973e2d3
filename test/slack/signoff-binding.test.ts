import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AUTOMATED_CHECKS } from '../../src/checks/registry.js';
import { externaliseOnnxWeights } from '../helpers/external-onnx.js';
import { waitFor } from '../helpers/fake-slack.js';
import { blockText, buttons, liveEvaluation, U, useHarness } from './harness.js';

describe('sign-offs are bound to the artifact and policy digests', () => {
  let dataRel: string;
  const h = useHarness({ checks: AUTOMATED_CHECKS.filter((c) => !c.heavy) });
  beforeAll(async () => {
    dataRel = await externaliseOnnxWeights(h.runDir);
  });

  it('swapping the ONNX external data after the checks voids the approvals: clicks refused, the next evaluation starts afresh', async () => {
    const { state, value } = await liveEvaluation(h);
    expect(state.evaluation.manifest.entries.map((e) => e.path)).toContain(dataRel);
    await h.click(U.tech, 'signoff_approve_technical', value);
    await waitFor(() => h.ephemeralsTo(U.tech).some((t) => t.includes('You approved')), 'technical approval');
    // weights nobody checked: same size, other bytes
    const file = path.join(h.runDir, dataRel);
    const data = await readFile(file);
    data.writeUInt8(data.readUInt8(0) ^ 0x01, 0);
    await writeFile(file, data);
    await h.click(U.prod, 'signoff_approve_product', value);
    await waitFor(
      () => h.ephemeralsTo(U.prod).some((t) => t.includes('changed since this message was posted')),
      'the refusal',
    );
    await h.command(U.requester, `run ${h.runName}`);
    const next = await waitFor(async () => {
      const s = await h.store.latestForRun(h.runName);
      return s && s.evaluation.id !== state.evaluation.id ? s : null;
    }, 'the next evaluation');
    expect(next.evaluation.digest).not.toBe(state.evaluation.digest);
    expect(next.signoffs).toEqual([]);
    // put the checked weights back for the next test
    data.writeUInt8(data.readUInt8(0) ^ 0x01, 0);
    await writeFile(file, data);
  });

  it('a rejection is inherited by a new evaluation of the same bytes; a member of the role withdraws it from the message (audited)', async () => {
    const { state, value } = await liveEvaluation(h);
    await h.click(U.prod, 'signoff_reject_product', value);
    const open = await waitFor(() => h.fake.callsOf('views.open').at(-1), 'the reject modal');
    await h.submitReject(
      U.prod,
      (open.args.view as { private_metadata: string }).private_metadata,
      'No risk assessment yet',
    );
    await waitFor(
      async () => (await h.store.getState(state.evaluation.id))?.gate === 'blocked',
      'blocked by the rejection',
    );

    // the same bytes again: blocked by the inherited rejection once its checks pass, approvals impossible
    await h.command(U.requester, `run ${h.runName}`);
    const again = await waitFor(
      async () => {
        const s = await h.store.latestForRun(h.runName);
        return s &&
          s.evaluation.id !== state.evaluation.id &&
          s.evaluation.message &&
          s.checks.every((c) => c.status === 'pass' || c.status === 'warn')
          ? s
          : null;
      },
      'the second evaluation with its checks done',
      60_000,
    );
    expect(again.evaluation.digest).toBe(state.evaluation.digest);
    expect(again.gate).toBe('blocked');
    const withdraw = await waitFor(
      () => buttons(h.message(again).blocks).get('signoff_withdraw_product'),
      'the Withdraw button',
    );
    expect(blockText(h.message(again).blocks)).toContain(`rejected by <@${U.prod}>`);
    expect(buttons(h.message(again).blocks).has('signoff_approve_product')).toBe(false);

    // an outsider cannot withdraw it; another product owner can
    await h.click(U.outsider, 'signoff_withdraw_product', withdraw);
    await waitFor(
      () => h.ephemeralsTo(U.outsider).some((t) => t.includes('withdrawal') && t.includes('not an approver')),
      'the outsider refusal',
    );
    await h.click(U.tech, 'signoff_withdraw_product', withdraw);
    await waitFor(
      () => h.ephemeralsTo(U.tech).some((t) => t.includes('You withdrew the Product Owner rejection')),
      'the withdrawal',
    );
    await waitFor(async () => (await h.store.getState(again.evaluation.id))?.gate === 'pending', 'pending again');
    await waitFor(() => buttons(h.message(again).blocks).get('signoff_approve_product'), 'live product buttons');
    const audit = await h.store.readAudit({ evaluation: again.evaluation.id });
    expect(audit.find((a) => a.type === 'signoff_withdrawn')).toMatchObject({
      actor: U.tech,
      data: { role: 'product', decision: 'rejected', signed_by: U.prod, comment: 'No risk assessment yet' },
    });
    expect(
      audit.some(
        (a) => a.type === 'signoff_withdraw_refused' && a.actor === U.outsider && a.data.reason === 'not_authorised',
      ),
    ).toBe(true);
  }, 120_000);
});
