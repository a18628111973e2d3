import { describe, expect, it } from 'vitest';
import {
  DEPLOYMENT_STEPS,
  renderBlockedNotification,
  renderPassedNotification,
} from '../../../src/slack/blocks/notifications.js';
import { allChecks, DIGEST, limitViolations, makeReport, signoff, texts } from './fixtures.js';

describe('notifications', () => {
  it('PASSED carries the Final Sign-Off block and the deployment steps', () => {
    const report = makeReport(
      allChecks('pass'),
      [signoff('technical', 'UTECH'), signoff('product', 'UPROD'), signoff('compliance', 'UCOMP')],
      { modelName: 'Digits v1' },
    );
    expect(report.gate).toBe('passed');
    const msg = renderPassedNotification(report, 'ev1');
    const all = texts(msg.blocks)
      .map((t) => t.text)
      .join('\n');
    expect(all).toContain('*Final Sign-Off*');
    expect(all).toContain('*Model Name*: Digits v1');
    expect(all).toContain('*Test Accuracy*: 97.2%');
    expect(all).toContain('*Target Met*: Yes');
    expect(all).toContain('• Technical Lead: <@UTECH>, 2024-05-01');
    expect(all).toContain('• Product Owner: <@UPROD>, 2024-05-01');
    expect(all).toContain('• Compliance: <@UCOMP>, 2024-05-01');
    for (const [i, step] of DEPLOYMENT_STEPS.entries()) expect(all).toContain(`${i + 1}. ${step}`);
    expect(msg.text).toContain('PASSED');
    expect(limitViolations(msg.blocks, 50)).toEqual([]);
  });

  it('BLOCKED lists each failing item with evidence and remediation', () => {
    const report = makeReport(
      allChecks('pass', {
        'test.target': {
          status: 'fail',
          evidence: ['Test accuracy 70% < target 80% (results/production/test_results.md)'],
        },
        'checkpoint.best': { status: 'error', evidence: ['unreadable zip'] },
      }),
    );
    const msg = renderBlockedNotification(report, 'ev1');
    const all = texts(msg.blocks)
      .map((t) => t.text)
      .join('\n');
    expect(all).toContain('Test accuracy 70% &lt; target 80%');
    expect(all).toContain('`test.target`, fail');
    expect(all).toContain('`checkpoint.best`, error');
    expect(all).toContain('_If unchecked_: ');
    expect(msg.text).toContain('2 blocking items');
  });

  it('BLOCKED by a rejection names who rejected and why', () => {
    const report = makeReport(allChecks('pass'), [
      signoff('compliance', 'UCOMP', 'rejected', DIGEST, 'no privacy review'),
    ]);
    expect(report.gate).toBe('blocked');
    const all = texts(renderBlockedNotification(report, 'ev1').blocks)
      .map((t) => t.text)
      .join('\n');
    expect(all).toContain('Rejected by <@UCOMP> (Compliance)');
    expect(all).toContain('no privacy review');
  });

  it('BLOCKED stays within limits with every check failing with huge evidence', () => {
    const report = makeReport(
      allChecks(
        'fail',
        Object.fromEntries(
          allChecks('fail').map((c) => [c.id, { evidence: ['e'.repeat(9000)], remediation: 'r'.repeat(9000) }]),
        ),
      ),
    );
    const msg = renderBlockedNotification(report, 'ev1');
    expect(limitViolations(msg.blocks, 50)).toEqual([]);
    expect(
      texts(msg.blocks)
        .map((t) => t.text)
        .join('\n'),
    ).toContain('more blocking items');
  });
});
