import { describe, expect, it } from 'vitest';
import type { CheckResult, CheckStatus } from '../../src/checks/types.js';
import {
  currentSignoffs,
  evaluateGate,
  isAutomated,
  isWaived,
  minApprovalsFor,
  type SignoffRecord,
  signoffsOpen,
  tallyRole,
  withoutSelfApprovals,
} from '../../src/gate/evaluate.js';
import { isTerminal } from '../../src/gate/terminal.js';
import { checkResult as check } from '../helpers/check-result.js';

const rec = (over: Partial<SignoffRecord> = {}): SignoffRecord => ({
  role: 'technical',
  decision: 'approved',
  user: 'U1',
  at: '2026-11-27T10:00:00Z',
  digest: 'd1',
  ...over,
});

describe('currentSignoffs', () => {
  it('keeps only sign-offs for the digest that are neither expired nor ruled out', () => {
    const keep = rec({ user: 'Ukeep' });
    const keepRejection = rec({ user: 'Urej', decision: 'rejected' });
    const all = [
      keep,
      rec({ user: 'Uold', digest: 'd0' }),
      rec({ user: 'Uexp', expired: true }),
      rec({ user: 'Uself', not_counted: 'self_approval' }),
      keepRejection,
      rec({ user: 'Unotexp', expired: false }),
    ];
    expect(currentSignoffs(all, 'd1').map((s) => s.user)).toEqual(['Ukeep', 'Urej', 'Unotexp']);
  });
});

describe('withoutSelfApprovals', () => {
  const evaluation = { id: 'ev2', requester: 'Ureq' };

  it("rules out the requester's approvals inherited from another evaluation, and nothing else", () => {
    const inherited = rec({ user: 'Ureq', evaluation_id: 'ev1' });
    const legacy = rec({ user: 'Ureq', role: 'product' }); // no evaluation_id: made before it was recorded
    const own = rec({ user: 'Ureq', role: 'compliance', evaluation_id: 'ev2' });
    const rejection = rec({ user: 'Ureq', decision: 'rejected', evaluation_id: 'ev1' });
    const other = rec({ user: 'Uother', evaluation_id: 'ev1' });
    const out = withoutSelfApprovals([inherited, legacy, own, rejection, other], evaluation, false);
    expect(out).toEqual([
      { ...inherited, not_counted: 'self_approval' },
      { ...legacy, not_counted: 'self_approval' },
      own,
      rejection,
      other,
    ]);
    // the input is not changed
    expect(inherited).not.toHaveProperty('not_counted');
  });

  it('leaves everything counting when the policy allows self-approval (a copy, not the same array)', () => {
    const records = [rec({ user: 'Ureq', evaluation_id: 'ev1' })];
    const out = withoutSelfApprovals(records, evaluation, true);
    expect(out).toEqual(records);
    expect(out).not.toBe(records);
    expect(out[0]).not.toHaveProperty('not_counted');
  });

  it('a ruled-out approval no longer counts for the gate', () => {
    const records = withoutSelfApprovals([rec({ user: 'Ureq', evaluation_id: 'ev1' })], evaluation, false);
    const v = evaluateGate({ checks: [], signoffs: records, requiredRoles: ['technical'], digest: 'd1' });
    expect(v).toEqual({ status: 'pending', blocking: [], outstanding: ['signoff.technical'] });
  });
});

describe('minApprovalsFor', () => {
  it("reads the role's signoff.min_approvals and defaults to one", () => {
    const policy = { signoff: { min_approvals: { technical: 2, product: 3 } } };
    expect(minApprovalsFor(policy, 'technical')).toBe(2);
    expect(minApprovalsFor(policy, 'product')).toBe(3);
    expect(minApprovalsFor(policy, 'compliance')).toBe(1);
    expect(minApprovalsFor({ signoff: {} }, 'technical')).toBe(1);
    expect(minApprovalsFor({ signoff: { min_approvals: undefined } }, 'technical')).toBe(1);
  });
});

describe('tallyRole', () => {
  it('counts each person once, oldest first, only for the role and digest, and says when the quorum is met', () => {
    const a1 = rec({ user: 'Ua', at: '2026-11-27T10:00:00Z' });
    const a2 = rec({ user: 'Ua', at: '2026-11-27T09:00:00Z' }); // same person, earlier
    const b = rec({ user: 'Ub', at: '2026-11-27T08:00:00Z' });
    const otherRole = rec({ user: 'Uc', role: 'product' });
    const otherDigest = rec({ user: 'Ud', digest: 'd0' });
    const expired = rec({ user: 'Ue', expired: true });
    const signoffs = [a1, a2, b, otherRole, otherDigest, expired];

    const two = tallyRole(signoffs, 'd1', 'technical', 2);
    expect(two).toEqual({ role: 'technical', approvals: [b, a2], rejections: [], needed: 2, approved: true });

    const three = tallyRole(signoffs, 'd1', 'technical', 3);
    expect(three.approvals).toHaveLength(2);
    expect(three.approved).toBe(false);
    expect(three.needed).toBe(3);
  });

  it('orders approvals given at the same time by user', () => {
    const at = '2026-11-27T10:00:00Z';
    const t = tallyRole(
      [rec({ user: 'Uz', at }), rec({ user: 'Um', at }), rec({ user: 'Ua', at })],
      'd1',
      'technical',
      1,
    );
    expect(t.approvals.map((s) => s.user)).toEqual(['Ua', 'Um', 'Uz']);
  });

  it('orders by time before user', () => {
    const t = tallyRole(
      [rec({ user: 'Ua', at: '2026-11-27T11:00:00Z' }), rec({ user: 'Uz', at: '2026-11-27T10:00:00Z' })],
      'd1',
      'technical',
      1,
    );
    expect(t.approvals.map((s) => s.user)).toEqual(['Uz', 'Ua']);
  });

  it('a rejection closes the role whatever the approvals, and is not counted as an approval', () => {
    const rejection = rec({ user: 'Ur', decision: 'rejected' });
    const t = tallyRole([rec({ user: 'Ua' }), rec({ user: 'Ub' }), rejection], 'd1', 'technical', 1);
    expect(t.rejections).toEqual([rejection]);
    expect(t.approvals.map((s) => s.user)).toEqual(['Ua', 'Ub']);
    expect(t.approved).toBe(false);
  });

  it('an older rejection is not taken for an approval', () => {
    const t = tallyRole(
      [rec({ user: 'Ur', decision: 'rejected', at: '2026-11-27T08:00:00Z' }), rec({ user: 'Ua' })],
      'd1',
      'technical',
      1,
    );
    expect(t.approvals.map((s) => s.user)).toEqual(['Ua']);
  });

  it('exactly the quorum is enough; needed 0 is met with no approvals', () => {
    expect(tallyRole([rec({ user: 'Ua' }), rec({ user: 'Ub' })], 'd1', 'technical', 2).approved).toBe(true);
    expect(tallyRole([], 'd1', 'technical', 0).approved).toBe(true);
    expect(tallyRole([], 'd1', 'technical', 1).approved).toBe(false);
  });
});

describe('evaluateGate with a quorum', () => {
  const base = { checks: [check('a', 'pass')], requiredRoles: ['technical', 'product'] as const, digest: 'd1' };

  it('a role needing two distinct approvers stays outstanding with one person approving twice', () => {
    const v = evaluateGate({
      ...base,
      minApprovals: { technical: 2 },
      signoffs: [
        rec({ user: 'Ua' }),
        rec({ user: 'Ua', at: '2026-11-27T11:00:00Z' }),
        rec({ role: 'product', user: 'Up' }),
      ],
    });
    expect(v).toEqual({ status: 'pending', blocking: [], outstanding: ['signoff.technical'] });
  });

  it('two distinct approvers complete it; a role without a quorum needs one', () => {
    const v = evaluateGate({
      ...base,
      minApprovals: { technical: 2 },
      signoffs: [rec({ user: 'Ua' }), rec({ user: 'Ub' }), rec({ role: 'product', user: 'Up' })],
    });
    expect(v).toEqual({ status: 'passed', blocking: [], outstanding: [] });
  });

  it('without minApprovals every role needs one approver', () => {
    const v = evaluateGate({
      ...base,
      signoffs: [rec({ user: 'Ua' })],
    });
    expect(v).toEqual({ status: 'pending', blocking: [], outstanding: ['signoff.product'] });
  });

  it('a rejection blocks a role that has its quorum, and the role is not also outstanding', () => {
    const v = evaluateGate({
      ...base,
      minApprovals: { technical: 2 },
      signoffs: [rec({ user: 'Ua' }), rec({ user: 'Ur', decision: 'rejected' }), rec({ role: 'product', user: 'Up' })],
    });
    expect(v).toEqual({ status: 'blocked', blocking: ['signoff.technical'], outstanding: [] });
  });

  it('a rejection of a role the policy does not require still blocks', () => {
    const v = evaluateGate({
      checks: [check('a', 'pass')],
      requiredRoles: ['technical'],
      digest: 'd1',
      signoffs: [rec({ user: 'Ua' }), rec({ role: 'compliance', user: 'Uc', decision: 'rejected' })],
    });
    expect(v).toEqual({ status: 'blocked', blocking: ['signoff.compliance'], outstanding: [] });
  });

  it('a rejection given for another digest does not block', () => {
    const v = evaluateGate({
      checks: [check('a', 'pass')],
      requiredRoles: ['technical'],
      digest: 'd1',
      signoffs: [rec({ user: 'Ua' }), rec({ user: 'Ur', decision: 'rejected', digest: 'd0' })],
    });
    expect(v.status).toBe('passed');
  });
});

describe('waivers', () => {
  const waived = new Set(['a']);

  it('isWaived: only a failing, non-security check named by an effective waiver', () => {
    expect(isWaived(check('a', 'fail'), waived)).toBe(true);
    expect(isWaived(check('a', 'fail'))).toBe(false);
    expect(isWaived(check('a', 'fail'), new Set())).toBe(false);
    expect(isWaived(check('b', 'fail'), waived)).toBe(false);
    expect(isWaived(check('a', 'error'), waived)).toBe(false);
    expect(isWaived(check('a', 'pending'), waived)).toBe(false);
    expect(isWaived(check('a', 'fail', { security: true }), waived)).toBe(false);
    expect(isWaived(check('a', 'fail', { security: false }), waived)).toBe(true);
  });

  it('a waived failing check counts as passing for the gate', () => {
    const v = evaluateGate({
      checks: [check('a', 'fail'), check('b', 'pass')],
      signoffs: [rec()],
      requiredRoles: ['technical'],
      digest: 'd1',
      waived,
    });
    expect(v).toEqual({ status: 'passed', blocking: [], outstanding: [] });
  });

  it('a waiver does not cover an error, a security finding or another check', () => {
    for (const c of [check('a', 'error'), check('a', 'fail', { security: true }), check('c', 'fail')]) {
      const v = evaluateGate({ checks: [c], signoffs: [rec()], requiredRoles: ['technical'], digest: 'd1', waived });
      expect(v).toEqual({ status: 'blocked', blocking: [c.id], outstanding: [] });
    }
  });

  it('without waivers a failing check blocks', () => {
    const v = evaluateGate({
      checks: [check('a', 'fail')],
      signoffs: [rec()],
      requiredRoles: ['technical'],
      digest: 'd1',
    });
    expect(v).toEqual({ status: 'blocked', blocking: ['a'], outstanding: [] });
  });

  it('signoffsOpen: a waived failure opens approvals; an unwaived one, a security finding or a pending check does not', () => {
    expect(signoffsOpen([check('a', 'fail'), check('b', 'pass')], waived)).toBe(true);
    expect(signoffsOpen([check('a', 'fail')])).toBe(false);
    expect(signoffsOpen([check('a', 'fail', { security: true })], waived)).toBe(false);
    expect(signoffsOpen([check('a', 'fail'), check('b', 'pending')], waived)).toBe(false);
    expect(signoffsOpen([check('a', 'fail'), check('c', 'fail')], waived)).toBe(false);
  });

  it('signoffsOpen ignores sign-off rows', () => {
    const row = check('signoff.technical', 'pending', { category: 'signoff' });
    expect(signoffsOpen([check('b', 'pass'), row])).toBe(true);
    expect(signoffsOpen([])).toBe(true);
  });
});

describe('isAutomated', () => {
  it('is every category but sign-off', () => {
    expect(isAutomated({ category: 'signoff' })).toBe(false);
    expect(isAutomated({ category: 'test' })).toBe(true);
    expect(isAutomated({ category: 'consistency' })).toBe(true);
  });
});

describe('isTerminal', () => {
  const live = { superseded_by: null };
  const c = (status: CheckStatus, category: CheckResult['category'] = 'test') => ({ status, category });

  it('a superseded evaluation is terminal whatever its gate', () => {
    expect(isTerminal({ evaluation: { superseded_by: 'ev9' }, gate: 'pending', checks: [c('running')] })).toBe(true);
  });

  it('PASSED is terminal, PENDING never is', () => {
    expect(isTerminal({ evaluation: live, gate: 'passed', checks: [] })).toBe(true);
    expect(isTerminal({ evaluation: live, gate: 'pending', checks: [c('pass')] })).toBe(false);
  });

  it('BLOCKED is terminal only once every automated check is final', () => {
    for (const s of ['pass', 'warn', 'fail', 'error', 'skipped'] as const) {
      expect(isTerminal({ evaluation: live, gate: 'blocked', checks: [c('fail'), c(s)] })).toBe(true);
    }
    for (const s of ['pending', 'running'] as const) {
      expect(isTerminal({ evaluation: live, gate: 'blocked', checks: [c('fail'), c(s)] })).toBe(false);
    }
    // a pending sign-off row does not keep it open
    expect(isTerminal({ evaluation: live, gate: 'blocked', checks: [c('fail'), c('pending', 'signoff')] })).toBe(true);
  });
});
