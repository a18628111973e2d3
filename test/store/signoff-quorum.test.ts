import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseReadinessConfig, selectPolicyLayer } from '../../src/config/readiness-config.js';
import { GateError } from '../../src/errors.js';
import { type EffectivePolicy, resolvePolicy } from '../../src/policy/load.js';
import { EvaluationStore, reportFromState } from '../../src/store/redis-store.js';
import { connect, newEvaluation, signoffAttempt as sign, uniquePrefix } from '../helpers/store.js';

let redis: Redis;
let store: EvaluationStore;
let prefix: string;
let clock = new Date('2026-11-01T09:00:00.000Z');
const DAY = 86_400_000;

/** The team policy READINESS_CONFIG yields (the same path the app and `readiness submit` take). */
async function teamPolicy(yaml: string): Promise<EffectivePolicy> {
  const config = parseReadinessConfig(yaml, 'READINESS_CONFIG');
  const layer = await selectPolicyLayer(config, undefined);
  return resolvePolicy(layer ? [layer] : []);
}

const TWO_TECH = `
roles:
  technical: { users: [U0TECH, U0TECH2, U0TECH3], min_approvals: 2 }
  product: { users: [U0PROD] }
  compliance: { users: [U0COMP] }
`;

beforeAll(async () => {
  redis = connect(inject('redisUrl'));
  prefix = uniquePrefix('quorum');
  store = new EvaluationStore(redis, { prefix, now: () => clock });
});
afterAll(async () => {
  await redis.quit();
});

/** An evaluation of its own artifacts under `policy`, every check passed. */
const evaluate = (label: string, policy: EffectivePolicy, runName = `runs/${label}`) =>
  newEvaluation(store, label, { policy, runName, checks: 'pass' });

describe('N-of-M: roles.<role>.min_approvals', () => {
  it('is part of the team policy and its digest, absent by default, and a run cannot set it', async () => {
    const one = await teamPolicy('roles: { technical: { users: [U0TECH] } }');
    const same = await teamPolicy('roles: { technical: { users: [U0TECH, U0TECH2] } }');
    const two = await teamPolicy(TWO_TECH);
    expect(one.policy.signoff.min_approvals).toBeUndefined();
    expect(same.digest).toBe(one.digest);
    expect(two.policy.signoff.min_approvals).toEqual({ technical: 2 });
    expect(two.digest).not.toBe(one.digest);
    expect(() =>
      resolvePolicy([], undefined, [
        { source: 'readiness.yml', data: { signoff: { min_approvals: { technical: 1 } } } },
      ]),
    ).toThrow(/readiness\.yml: signoff: may only be set by the team policy/);
    // a quorum that the listed approvers can never reach is a configuration error
    expect(() => parseReadinessConfig('roles: { technical: { users: [U0TECH], min_approvals: 2 } }', 'cfg')).toThrow(
      GateError,
    );
    expect(() => parseReadinessConfig('roles: { technical: { users: [U0TECH], min_approvals: 2 } }', 'cfg')).toThrow(
      /roles\.technical\.min_approvals: technical needs 2 approvals but lists only 1 approver/,
    );
  });

  it('a 2-of-M role needs two different approvers; the same person twice counts once; audited with the count', async () => {
    const policy = await teamPolicy(TWO_TECH);
    const e = await evaluate('two-of-m', policy);
    expect((await store.recordSignoff(sign(e, { role: 'product', user: 'U0PROD' }))).ok).toBe(true);
    expect((await store.recordSignoff(sign(e, { role: 'compliance', user: 'U0COMP' }))).ok).toBe(true);
    const first = await store.recordSignoff(sign(e));
    expect(first.ok).toBe(true);
    let s = await store.getState(e.id);
    expect(s?.gate).toBe('pending');
    const tech = reportFromState(s!).checks.find((c) => c.id === 'signoff.technical');
    expect(tech?.status).toBe('pending');
    expect(tech?.evidence[0]).toBe('1 of 2 approvals');
    expect(await store.recordSignoff(sign(e))).toMatchObject({ ok: false, reason: 'already_signed_this_role' });
    expect((await store.getState(e.id))?.gate).toBe('pending');
    expect((await store.recordSignoff(sign(e, { user: 'U0TECH2' }))).ok).toBe(true);
    s = await store.getState(e.id);
    expect(s?.gate).toBe('passed');
    const report = reportFromState(s!);
    expect(report.checks.find((c) => c.id === 'signoff.technical')?.evidence).toEqual([
      '2 of 2 approvals',
      `approved by <@U0TECH> at ${clock.toISOString()}`,
      `approved by <@U0TECH2> at ${clock.toISOString()}`,
    ]);
    // complete: a third member is refused
    expect(await store.recordSignoff(sign(e, { user: 'U0TECH3' }))).toMatchObject({
      ok: false,
      reason: 'role_already_signed',
    });
    const audit = await store.readAudit({ evaluation: e.id });
    expect(
      audit.filter((a) => a.type === 'signoff_recorded' && a.data.role === 'technical').map((a) => a.data.approvals),
    ).toEqual([1, 2]);
    expect(audit.filter((a) => a.type === 'signoff_refused').map((a) => [a.actor, a.data.reason])).toEqual([
      ['U0TECH', 'already_signed_this_role'],
      ['U0TECH3', 'role_already_signed'],
    ]);
    // the passing sign-off took it out of the open index
    expect(await redis.zscore(`${prefix}:open`, e.id)).toBeNull();
  });

  it('one rejection blocks however many approved; self-approval and one-role-per-person still hold', async () => {
    const policy = await teamPolicy(TWO_TECH);
    const e = await evaluate('reject-one', policy);
    expect(await store.recordSignoff(sign(e, { user: 'U0REQ' }))).toMatchObject({
      ok: false,
      reason: 'self_approval',
    });
    expect((await store.recordSignoff(sign(e, { role: 'product', user: 'U0PROD' }))).ok).toBe(true);
    expect(await store.recordSignoff(sign(e, { user: 'U0PROD' }))).toMatchObject({
      ok: false,
      reason: 'already_signed_other_role',
    });
    expect((await store.recordSignoff(sign(e))).ok).toBe(true);
    expect(
      (await store.recordSignoff(sign(e, { user: 'U0TECH2', decision: 'rejected', reason: 'latency regression' }))).ok,
    ).toBe(true);
    const s = await store.getState(e.id);
    expect(s?.gate).toBe('blocked');
    expect(reportFromState(s!).blocking).toContain('signoff.technical');
    // the rejection closes the role for everyone else
    expect(await store.recordSignoff(sign(e, { user: 'U0TECH3' }))).toMatchObject({
      ok: false,
      reason: 'role_already_signed',
    });
  });

  it("withdrawal takes back one's own sign-off; another approver's approval stays, a rejection is the role's to withdraw", async () => {
    const policy = await teamPolicy(TWO_TECH);
    const e = await evaluate('withdraw-own', policy);
    for (const [role, user] of [
      ['product', 'U0PROD'],
      ['compliance', 'U0COMP'],
      ['technical', 'U0TECH'],
      ['technical', 'U0TECH2'],
    ] as const)
      expect((await store.recordSignoff(sign(e, { role, user }))).ok).toBe(true);
    const passed = await store.getState(e.id);
    expect(passed?.gate).toBe('passed');
    // someone of the role who did not approve cannot take another's approval away
    expect(
      await store.withdrawSignoff({
        evaluationId: e.id,
        role: 'technical',
        user: 'U0TECH3',
        digest: e.digest,
        authorised: true,
      }),
    ).toMatchObject({ ok: false, reason: 'not_own_signoff' });
    const w = await store.withdrawSignoff({
      evaluationId: e.id,
      role: 'technical',
      user: 'U0TECH2',
      digest: e.digest,
      authorised: true,
    });
    expect(w).toMatchObject({ ok: true, reopened: true, record: { user: 'U0TECH2', decision: 'approved' } });
    const after = await store.getState(e.id);
    expect(after?.gate).toBe('pending');
    expect(after?.evaluation.reopened).toBe(1);
    expect(after?.signoffs.filter((x) => x.role === 'technical').map((x) => x.user)).toEqual(['U0TECH']);
    // back in the open index, in the same transition
    expect(await redis.zscore(`${prefix}:open`, e.id)).not.toBeNull();
    expect((await store.listOpen()).map((x) => x.evaluation.id)).toContain(e.id);
    const audit = await store.readAudit({ evaluation: e.id });
    const reopened = audit.filter((a) => a.type === 'gate_reopened');
    expect(reopened).toHaveLength(1);
    expect(reopened[0]).toMatchObject({
      actor: 'U0TECH2',
      data: { role: 'technical', withdrawn: 'approved', signed_by: 'U0TECH2', reopened: 1 },
    });
    // a withdrawal from a gate that is not PASSED re-opens nothing
    const again = await store.withdrawSignoff({
      evaluationId: e.id,
      role: 'product',
      user: 'U0PROD',
      digest: e.digest,
      authorised: true,
    });
    expect(again).toMatchObject({ ok: true, reopened: false });
    expect((await store.readAudit({ evaluation: e.id })).filter((a) => a.type === 'gate_reopened')).toHaveLength(1);
    // a rejection by one member is withdrawn by another
    expect(
      (await store.recordSignoff(sign(e, { user: 'U0TECH3', decision: 'rejected', reason: 'no load test' }))).ok,
    ).toBe(true);
    expect(
      await store.withdrawSignoff({
        evaluationId: e.id,
        role: 'technical',
        user: 'U0TECH2',
        digest: e.digest,
        authorised: true,
      }),
    ).toMatchObject({ ok: true, record: { user: 'U0TECH3', decision: 'rejected' } });
  });

  it('expired approvals stop counting towards the quorum and are dropped when the role is signed again', async () => {
    clock = new Date('2026-11-01T09:00:00.000Z');
    const policy = await teamPolicy(TWO_TECH);
    const e = await evaluate('expiry', policy);
    expect((await store.recordSignoff(sign(e))).ok).toBe(true);
    clock = new Date(clock.getTime() + 31 * DAY);
    expect((await store.recordSignoff(sign(e, { user: 'U0TECH2' }))).ok).toBe(true);
    let tech = reportFromState((await store.getState(e.id))!).checks.find((c) => c.id === 'signoff.technical');
    expect(tech?.evidence[0]).toBe('1 of 2 approvals');
    // the same person may sign again once their approval expired: it is replaced
    expect((await store.recordSignoff(sign(e))).ok).toBe(true);
    tech = reportFromState((await store.getState(e.id))!).checks.find((c) => c.id === 'signoff.technical');
    expect(tech?.evidence[0]).toBe('2 of 2 approvals');
    const recorded = (await store.readAudit({ evaluation: e.id })).filter((a) => a.type === 'signoff_recorded');
    // the expired approval was dropped when U0TECH2 signed the role
    expect(recorded.map((a) => [a.actor, a.data.replaced_expired])).toEqual([
      ['U0TECH', ''],
      ['U0TECH2', 'U0TECH'],
      ['U0TECH', ''],
    ]);
  });

  it('several approvals of a role are inherited by a new evaluation of the same artifacts and policy', async () => {
    const policy = await teamPolicy(TWO_TECH);
    const first = await evaluate('inherit-quorum', policy, 'runs/inherit-quorum');
    expect((await store.recordSignoff(sign(first))).ok).toBe(true);
    expect((await store.recordSignoff(sign(first, { user: 'U0TECH2' }))).ok).toBe(true);
    const second = await evaluate('inherit-quorum', policy, 'runs/inherit-quorum');
    const s = await store.getState(second.id);
    expect(s?.signoffs.map((x) => x.user).sort()).toEqual(['U0TECH', 'U0TECH2']);
    expect(reportFromState(s!).outstanding).toEqual(['signoff.product', 'signoff.compliance']);
    const created = (await store.readAudit({ evaluation: second.id })).find((a) => a.type === 'evaluation_created');
    expect(created?.data.inherited_signoffs).toBe('technical');
    expect(created?.data.inherited_signers).toBe('technical:approved:U0TECH,technical:approved:U0TECH2');
    // the same artifacts under min_approvals 1: another policy digest, nothing inherited
    const one = await teamPolicy('roles: { technical: { users: [U0TECH, U0TECH2] } }');
    const third = await evaluate('inherit-quorum', one, 'runs/inherit-quorum');
    expect((await store.getState(third.id))?.signoffs).toEqual([]);
  });
});
