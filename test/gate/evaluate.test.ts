import { describe, expect, it } from 'vitest';
import type { CheckStatus } from '../../src/checks/types.js';
import { evaluateGate, type SignoffRecord, signoffsOpen, withExpiry } from '../../src/gate/evaluate.js';
import { checkResult as check } from '../helpers/check-result.js';

const sign = (
  role: SignoffRecord['role'],
  decision: SignoffRecord['decision'] = 'approved',
  digest = 'd1',
): SignoffRecord => ({
  role,
  decision,
  user: `U-${role}`,
  at: '2026-11-27T10:00:00Z',
  digest,
});
const roles = ['technical', 'product', 'compliance'] as const;
const allApproved = roles.map((r) => sign(r));

describe('evaluateGate', () => {
  it('PASSED only with every automated check passing (warnings allowed) and every required role approved', () => {
    const v = evaluateGate({
      checks: [check('a', 'pass'), check('b', 'warn')],
      signoffs: allApproved,
      requiredRoles: roles,
      digest: 'd1',
    });
    expect(v).toEqual({ status: 'passed', blocking: [], outstanding: [] });
  });

  it.each<CheckStatus>(['fail', 'error'])('BLOCKED when a check is %s, even with all approvals', (s) => {
    const v = evaluateGate({
      checks: [check('a', 'pass'), check('b', s)],
      signoffs: allApproved,
      requiredRoles: roles,
      digest: 'd1',
    });
    expect(v.status).toBe('blocked');
    expect(v.blocking).toEqual(['b']);
  });

  it.each<CheckStatus>(['pending', 'running', 'skipped'])('PENDING while a check is %s — never PASSED', (s) => {
    const v = evaluateGate({
      checks: [check('a', 'pass'), check('b', s)],
      signoffs: allApproved,
      requiredRoles: roles,
      digest: 'd1',
    });
    expect(v.status).toBe('pending');
    expect(v.outstanding).toEqual(['b']);
  });

  it('PENDING while a required sign-off is missing', () => {
    const v = evaluateGate({
      checks: [check('a', 'pass')],
      signoffs: [sign('technical')],
      requiredRoles: roles,
      digest: 'd1',
    });
    expect(v.status).toBe('pending');
    expect(v.outstanding).toEqual(['signoff.product', 'signoff.compliance']);
  });

  it('BLOCKED on any rejection', () => {
    const v = evaluateGate({
      checks: [check('a', 'pass')],
      signoffs: [sign('technical'), sign('product', 'rejected')],
      requiredRoles: roles,
      digest: 'd1',
    });
    expect(v.status).toBe('blocked');
    expect(v.blocking).toEqual(['signoff.product']);
    // a rejected role is decided, not outstanding; the unsigned one still is
    expect(v.outstanding).toEqual(['signoff.compliance']);
  });

  it('counts only a rejection of the role itself as deciding it', () => {
    const v = evaluateGate({
      checks: [check('a', 'pass')],
      signoffs: [sign('product', 'rejected'), sign('technical', 'approved', 'd0')],
      requiredRoles: ['technical', 'product'],
      digest: 'd1',
    });
    expect(v).toEqual({ status: 'blocked', blocking: ['signoff.product'], outstanding: ['signoff.technical'] });
  });

  it('ignores sign-offs given for another artifact digest (superseded)', () => {
    const v = evaluateGate({
      checks: [check('a', 'pass')],
      signoffs: roles.map((r) => sign(r, 'approved', 'old')),
      requiredRoles: roles,
      digest: 'd1',
    });
    expect(v.status).toBe('pending');
    expect(v.outstanding).toHaveLength(3);
  });

  it('only requires the roles the policy requires', () => {
    const v = evaluateGate({
      checks: [check('a', 'pass')],
      signoffs: [sign('technical')],
      requiredRoles: ['technical'],
      digest: 'd1',
    });
    expect(v.status).toBe('passed');
  });

  it('does not treat sign-off rows in the check list as automated checks', () => {
    const row = { ...check('signoff.product', 'pending'), category: 'signoff' as const };
    const v = evaluateGate({
      checks: [check('a', 'pass'), row],
      signoffs: [sign('technical')],
      requiredRoles: ['technical'],
      digest: 'd1',
    });
    expect(v.status).toBe('passed');
  });
});

describe('withExpiry', () => {
  const at = Date.parse('2026-11-27T10:00:00Z');
  const day = 86_400_000;

  it('expires an approval exactly max_age_days after it was given, not a millisecond before', () => {
    const [before] = withExpiry([sign('technical')], 30, new Date(at + 30 * day - 1));
    expect(before).toMatchObject({ expires_at: '2026-12-27T10:00:00.000Z', expired: false });
    const [onTheDot] = withExpiry([sign('technical')], 30, new Date(at + 30 * day));
    expect(onTheDot).toMatchObject({ expires_at: '2026-12-27T10:00:00.000Z', expired: true });
  });

  it('never expires a rejection, and leaves a record with an unreadable time as it is', () => {
    const rejection = sign('product', 'rejected');
    const garbled = { ...sign('technical'), at: 'yesterday' };
    const out = withExpiry([rejection, garbled], 1, new Date(at + 400 * day));
    expect(out).toEqual([rejection, garbled]);
    expect(out[0]).not.toHaveProperty('expires_at');
    expect(out[1]).not.toHaveProperty('expired');
  });
});

describe('signoffsOpen', () => {
  it('opens approvals only when no automated check is failing or pending', () => {
    expect(signoffsOpen([check('a', 'pass'), check('b', 'warn')])).toBe(true);
    expect(signoffsOpen([check('a', 'pass'), check('b', 'pending')])).toBe(false);
    expect(signoffsOpen([check('a', 'pass'), check('b', 'fail')])).toBe(false);
    expect(signoffsOpen([check('a', 'skipped')])).toBe(false);
  });
});
