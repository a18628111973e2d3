import { describe, expect, it } from 'vitest';
import { type SignoffRecord, withExpiry } from '../../../src/gate/evaluate.js';
import { renderSignoffSection } from '../../../src/slack/blocks/signoff.js';
import { blockText, buttons } from '../harness.js';

const D = 'a'.repeat(64);
const base = {
  evaluationId: 'ev-1',
  digest: D,
  modelName: 'm',
  requiredRoles: ['technical', 'product', 'compliance'] as const,
  live: true,
  superseded: false,
};

describe('sign-off section: expiry, withdrawal', () => {
  it('shows when each approval expires, and an expired approval as expired with the role open again', () => {
    const records: SignoffRecord[] = [
      { role: 'technical', decision: 'approved', user: 'U0TECH', at: '2026-10-01T10:00:00.000Z', digest: D },
      { role: 'product', decision: 'approved', user: 'U0PROD', at: '2026-10-20T10:00:00.000Z', digest: D },
    ];
    const signoffs = withExpiry(records, 30, new Date('2026-11-05T00:00:00.000Z'));
    const blocks = renderSignoffSection({ ...base, signoffs });
    const text = blockText(blocks);
    expect(text).toContain('approved by <@U0PROD> on 2026-10-20 10:00 UTC · expires 2026-11-19 10:00 UTC');
    expect(text).toContain('⌛ ~approved by <@U0TECH> on 2026-10-01 10:00 UTC~ (expired 2026-10-31 10:00 UTC');
    const b = buttons(blocks);
    expect(b.has('signoff_approve_technical')).toBe(true);
    expect(b.has('signoff_approve_product')).toBe(false);
    expect(b.has('signoff_withdraw_product')).toBe(true);
  });

  it('a rejection offers Withdraw (not Approve) even though the gate is blocked; none once superseded', () => {
    const signoffs: SignoffRecord[] = [
      {
        role: 'product',
        decision: 'rejected',
        user: 'U0PROD',
        at: '2026-10-20T10:00:00.000Z',
        digest: D,
        reason: 'no',
      },
    ];
    const blocks = renderSignoffSection({ ...base, live: false, closedReason: 'blocked', signoffs });
    expect([...buttons(blocks).keys()]).toEqual(['signoff_withdraw_product']);
    expect(blockText(blocks)).toContain('stays until a Product Owner approver withdraws it or the artifacts change');
    expect(buttons(renderSignoffSection({ ...base, live: false, superseded: true, signoffs })).size).toBe(0);
  });
});
