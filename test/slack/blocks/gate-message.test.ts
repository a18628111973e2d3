import { describe, expect, it } from 'vitest';
import { checkLine, progressText, renderGateMessage } from '../../../src/slack/blocks/gate-message.js';
import { decodeSignoffValue } from '../../../src/slack/blocks/signoff.js';
import { allChecks, check, DIGEST, limitViolations, makeReport, signoff, texts } from './fixtures.js';

function actionIds(blocks: unknown[]): string[] {
  return blocks.flatMap((b) =>
    (b as { type: string }).type === 'actions'
      ? (b as { elements: { action_id: string }[] }).elements.map((e) => e.action_id)
      : [],
  );
}

describe('renderGateMessage', () => {
  it('shows header, requester, target, gate status, categories and the digest', () => {
    const msg = renderGateMessage({
      evaluationId: 'ev1',
      report: makeReport(allChecks('pass'), [], { modelName: 'Digits v1' }),
      requester: 'U0REQ',
      supersededBy: null,
    });
    const all = texts(msg.blocks)
      .map((t) => t.text)
      .join('\n');
    expect(msg.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Production readiness: Digits v1' } });
    expect(all).toContain('<@U0REQ>');
    expect(all).toContain('80% test accuracy');
    expect(all).toContain('⏳ PENDING');
    expect(all).toContain('*Training Completion*');
    expect(all).toContain('*Model Export*');
    expect(all).toContain(DIGEST);
    expect(msg.text).toContain('PENDING');
    expect(limitViolations(msg.blocks, 50)).toEqual([]);
  });

  it('has live Approve/Reject buttons for every required role only when every automated check passes', () => {
    const live = renderGateMessage({
      evaluationId: 'ev1',
      report: makeReport(allChecks('pass')),
      requester: 'U0REQ',
      supersededBy: null,
    });
    expect(actionIds(live.blocks)).toEqual([
      'signoff_approve_technical',
      'signoff_reject_technical',
      'signoff_approve_product',
      'signoff_reject_product',
      'signoff_approve_compliance',
      'signoff_reject_compliance',
    ]);
    const approve = live.blocks.flatMap((b) => (b.type === 'actions' ? b.elements : []))[0] as {
      value: string;
      confirm?: unknown;
    };
    expect(decodeSignoffValue(approve.value)).toEqual({ evaluationId: 'ev1', digest: DIGEST });
    expect(approve.confirm).toBeDefined();

    const running = allChecks('pass', { 'export.parity': { status: 'running', progress: 0.45 } });
    const notYet = renderGateMessage({
      evaluationId: 'ev1',
      report: makeReport(running),
      requester: 'U0REQ',
      supersededBy: null,
    });
    expect(actionIds(notYet.blocks)).toEqual([]);
    expect(
      texts(notYet.blocks)
        .map((t) => t.text)
        .join('\n'),
    ).toContain('parity 45 %');

    const failing = allChecks('pass', { 'test.target': { status: 'fail', evidence: ['test acc 70% < 80%'] } });
    const blocked = renderGateMessage({
      evaluationId: 'ev1',
      report: makeReport(failing),
      requester: 'U0REQ',
      supersededBy: null,
    });
    expect(actionIds(blocked.blocks)).toEqual([]);
    expect(
      texts(blocked.blocks)
        .map((t) => t.text)
        .join('\n'),
    ).toContain('*Failing items (1)*');
  });

  it('drops the buttons of signed roles and shows who signed when', () => {
    const msg = renderGateMessage({
      evaluationId: 'ev1',
      report: makeReport(allChecks('pass'), [signoff('technical', 'UTECH')]),
      requester: 'U0REQ',
      supersededBy: null,
    });
    expect(actionIds(msg.blocks)).not.toContain('signoff_approve_technical');
    expect(actionIds(msg.blocks)).toContain('signoff_approve_product');
    expect(
      texts(msg.blocks)
        .map((t) => t.text)
        .join('\n'),
    ).toContain('approved by <@UTECH> on 2024-05-01 12:30 UTC');
  });

  it('closes sign-off after a rejection and when superseded, showing old approvals as superseded', () => {
    const rejected = renderGateMessage({
      evaluationId: 'ev1',
      report: makeReport(allChecks('pass'), [signoff('product', 'UPROD', 'rejected', DIGEST, 'no risk assessment')]),
      requester: 'U0REQ',
      supersededBy: null,
    });
    // no Approve/Reject any more; only the rejecting role's Withdraw (the one way to clear a rejection besides new artifacts)
    expect(actionIds(rejected.blocks)).toEqual(['signoff_withdraw_product']);
    expect(
      texts(rejected.blocks)
        .map((t) => t.text)
        .join('\n'),
    ).toContain('no risk assessment');
    const sup = renderGateMessage({
      evaluationId: 'ev1',
      report: makeReport(allChecks('pass'), [signoff('technical', 'UTECH')]),
      requester: 'U0REQ',
      supersededBy: 'ev2',
    });
    expect(actionIds(sup.blocks)).toEqual([]);
    const all = texts(sup.blocks)
      .map((t) => t.text)
      .join('\n');
    expect(all).toContain('Superseded by a newer evaluation');
    expect(all).toContain('~approved by <@UTECH> on 2024-05-01 12:30 UTC~ (superseded)');
    const stale = renderGateMessage({
      evaluationId: 'ev1',
      report: makeReport(allChecks('pass'), [signoff('technical', 'UTECH', 'approved', 'c'.repeat(64))]),
      requester: 'U0REQ',
      supersededBy: null,
    });
    expect(
      texts(stale.blocks)
        .map((t) => t.text)
        .join('\n'),
    ).toContain('superseded: artifacts changed');
    expect(actionIds(stale.blocks)).toContain('signoff_approve_technical');
  });

  it('stays within Slack limits with huge evidence, many failures and a long model name', () => {
    const huge = allChecks('fail', {}).map((c) => ({
      ...c,
      title: c.title + ' '.repeat(10) + 'T'.repeat(400),
      evidence: Array.from({ length: 50 }, () => `<!channel> ${'e'.repeat(5000)}`),
      remediation: 'r'.repeat(5000),
    }));
    const msg = renderGateMessage({
      evaluationId: 'ev1',
      report: makeReport(huge, [], { modelName: 'M'.repeat(400), run: `runs/${'x'.repeat(600)}` }),
      requester: 'U0REQ',
      supersededBy: null,
    });
    expect(limitViolations(msg.blocks, 50)).toEqual([]);
    const all = texts(msg.blocks)
      .map((t) => t.text)
      .join('\n');
    expect(all).toContain('/readiness report runs/');
    expect(all).not.toContain('<!channel>');
    expect(msg.text.length).toBeLessThanOrEqual(40_000);
  });

  it('checkLine shows one evidence line; progressText clamps', () => {
    expect(checkLine(check('test.target', 'pass', { evidence: ['82.8% ≥ 80%', 'second'] }))).toContain('82.8% ≥ 80%');
    expect(checkLine(check('test.target', 'pass', { evidence: ['82.8% ≥ 80%', 'second'] }))).not.toContain('second');
    expect(progressText({ id: 'export.inference', progress: 1.7 })).toBe('inference 100 %');
    expect(progressText({ id: 'export.inference' })).toBe('running');
    expect(
      progressText({
        id: 'export.inference',
        progress: 0.4,
        evidence: ['running on host/1', 'latency 40 % (400/1000)'],
      }),
    ).toBe('latency 40 %');
  });
});

describe('gate message counts and failing items', () => {
  it('says sign-offs are pending when the gate waits for them, never "0 pending"', () => {
    const msg = renderGateMessage({
      evaluationId: 'ev1',
      report: makeReport(allChecks('pass'), [signoff('technical', 'UTECH')]),
      requester: 'U0REQ',
      supersededBy: null,
    });
    const line = texts(msg.blocks)
      .map((t) => t.text)
      .find((t) => t.startsWith('*Gate:'))!;
    expect(line).toMatch(/⏳ PENDING\* · 20 passed, 0 warnings, 0 failed · sign-offs pending: product, compliance$/);
    expect(line).not.toMatch(/0 pending/);
  });

  it('shows each failing item once, in Failing items with its evidence and remediation', () => {
    const failing = allChecks('pass', {
      'test.target': { status: 'fail', evidence: ['test acc 70% < 80%'], remediation: 'retrain' },
    });
    const msg = renderGateMessage({
      evaluationId: 'ev1',
      report: makeReport(failing),
      requester: 'U0REQ',
      supersededBy: null,
    });
    const all = texts(msg.blocks)
      .map((t) => t.text)
      .join('\n');
    expect(all.match(/test acc 70%/g)).toHaveLength(1);
    expect(all).toContain('*Failing items (1)*');
    expect(all).toMatch(/BLOCKED\* · 19 passed, 0 warnings, 1 failed · sign-offs pending/);
  });
});
