import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AUTOMATED_CHECKS } from '../../src/checks/registry.js';
import type { CheckResult } from '../../src/checks/types.js';
import { type EffectivePolicy, resolvePolicy } from '../../src/policy/load.js';
import { EvaluationStore, reportFromState } from '../../src/store/redis-store.js';
import type { WaiverDecisionAttempt } from '../../src/store/types.js';
import { waiverRequestProblem } from '../../src/waivers/waivers.js';
import { connect, describeRun, distinctManifest, resultFor, uniquePrefix } from '../helpers/store.js';

let redis: Redis;
let store: EvaluationStore;
let run: Awaited<ReturnType<typeof describeRun>>;
let team: EffectivePolicy;
/** The store's clock, moved by the tests. */
let clock = new Date('2026-11-01T09:00:00.000Z');
const DAY = 86_400_000;

const TEAM_WAIVERS = { 'test.target': ['technical', 'product'], 'export.parity': ['technical'] };

beforeAll(async () => {
  redis = connect(inject('redisUrl'));
  store = new EvaluationStore(redis, { prefix: uniquePrefix('waivers'), now: () => clock });
  run = await describeRun();
  team = resolvePolicy([{ source: 'team.yml', data: { waivers: TEAM_WAIVERS } }]);
});
afterAll(async () => {
  await redis.quit();
});

/** An evaluation whose automated checks all pass except those given. */
async function evaluate(
  label: string,
  failing: Record<string, Partial<CheckResult>> = { 'test.target': {} },
  opts: { policy?: EffectivePolicy; runName?: string } = {},
) {
  const { evaluation } = await store.createEvaluation({
    run: opts.runName ?? `runs/${label}`,
    manifest: distinctManifest(run.manifest, label),
    policy: opts.policy ?? team,
    requester: 'U0REQ',
    channel: null,
  });
  for (const def of AUTOMATED_CHECKS) {
    const token = `t-${def.id}`;
    await store.setCheckRunning(evaluation.id, def.id, token);
    const fail = failing[def.id];
    await store.applyCheckResult(
      evaluation.id,
      def.id,
      token,
      resultFor(def.id, fail ? 'fail' : 'pass', fail ?? {}),
      'worker',
    );
  }
  return evaluation;
}

const until = (days: number) => new Date(clock.getTime() + days * DAY).toISOString();

function decide(
  e: { id: string; digest: string },
  waiverId: string,
  over: Partial<WaiverDecisionAttempt> = {},
): WaiverDecisionAttempt {
  return {
    evaluationId: e.id,
    check: 'test.target',
    waiverId,
    role: 'technical',
    user: 'U0TECH',
    decision: 'approved',
    digest: e.digest,
    authorised: true,
    ...over,
  };
}

const signoff = (e: { id: string; digest: string }, role: 'technical' | 'product' | 'compliance', user: string) =>
  store.recordSignoff({
    evaluationId: e.id,
    role,
    decision: 'approved',
    user,
    digest: e.digest,
    authorised: true,
    allowSelfApproval: false,
  });

describe('the team policy says which checks may be waived', () => {
  it('refuses waivers of consistency, integrity and sign-off checks, unknown ids and a run that sets waivers', () => {
    for (const check of ['consistency.metrics', 'export.provenance', 'signoff.technical'])
      expect(() => resolvePolicy([{ source: 'team.yml', data: { waivers: { [check]: ['technical'] } } }])).toThrow(
        new RegExp(`waivers\\.${check.replace('.', '\\.')}: .*can never be waived`),
      );
    expect(() => resolvePolicy([{ source: 'team.yml', data: { waivers: { 'test.nope': ['technical'] } } }])).toThrow(
      /waivers\.test\.nope: no automated check has this id/,
    );
    expect(() => resolvePolicy([{ source: 'team.yml', data: { waivers: { 'test.target': [] } } }])).toThrow(
      /POLICY_INVALID|too small|at least 1/i,
    );
    // a run cannot waive its own failures: waivers are team policy only, even when run_overridable lists them
    expect(() =>
      resolvePolicy([{ source: 'team.yml', data: {} }], undefined, [
        { source: 'readiness.yml', data: { waivers: { 'test.target': ['technical'] } } },
      ]),
    ).toThrow(/readiness\.yml: waivers: may only be set by the team policy/);
    expect(() => resolvePolicy([{ source: 'team.yml', data: { run_overridable: ['waivers'] } }])).toThrow(
      /run_overridable: waivers can never be set by a run/,
    );
    // part of the policy digest
    expect(team.digest).not.toBe(resolvePolicy([]).digest);
  });

  it('bounds the expiry: not in the past, at most 90 days', () => {
    const check = resultFor('test.target', 'fail');
    const now = new Date('2026-11-01T09:00:00Z');
    const ask = (expiresOn: string, reason = 'accepted by product') =>
      waiverRequestProblem({ policy: team.policy, check, checkId: 'test.target', reason, expiresOn, now })?.kind ??
      null;
    expect(ask('2026-11-01')).toBeNull(); // until the end of today
    expect(ask('2026-10-31')).toBe('expiry');
    expect(ask('2027-01-30')).toBeNull(); // 90 days
    expect(ask('2027-01-31')).toBe('expiry');
    expect(ask('2026-02-30')).toBe('expiry');
    expect(ask('2026-12-01', '   ')).toBe('reason');
    expect(
      waiverRequestProblem({
        policy: team.policy,
        check: resultFor('test.val_gap', 'fail'),
        checkId: 'test.val_gap',
        now,
      })?.kind,
    ).toBe('not_waivable');
    expect(
      waiverRequestProblem({
        policy: team.policy,
        check: resultFor('test.target', 'fail', { security: true }),
        checkId: 'test.target',
        now,
      })?.kind,
    ).toBe('security_finding');
    expect(
      waiverRequestProblem({
        policy: team.policy,
        check: resultFor('test.target', 'error'),
        checkId: 'test.target',
        now,
      })?.kind,
    ).toBe('not_failing');
  });
});

describe('waivers in the store: requested, approved by the named roles, counted, expired', () => {
  it('a waiver approved by technical and product makes test.target count; sign-offs open; PASSED; expiry blocks again', async () => {
    clock = new Date('2026-11-01T09:00:00.000Z');
    const e = await evaluate('full');
    expect((await store.getState(e.id))?.gate).toBe('blocked');
    const ask = {
      evaluationId: e.id,
      check: 'test.target',
      digest: e.digest,
      reason: 'Product accepts 78%',
      expiresAt: until(10),
    };

    // only the evaluation's requester asks
    expect(await store.requestWaiver({ ...ask, user: 'U0TECH' })).toMatchObject({ ok: false, reason: 'not_requester' });
    // a check the policy does not list, and a stale message
    expect(await store.requestWaiver({ ...ask, user: 'U0REQ', check: 'test.val_gap' })).toMatchObject({
      ok: false,
      reason: 'not_waivable',
    });
    expect(await store.requestWaiver({ ...ask, user: 'U0REQ', digest: 'f'.repeat(64) })).toMatchObject({
      ok: false,
      reason: 'digest_changed',
    });
    const asked = await store.requestWaiver({ ...ask, user: 'U0REQ' });
    if (!asked.ok) throw new Error(asked.reason);
    const w = asked.waiver;
    expect(w).toMatchObject({ status: 'requested', roles: ['technical', 'product'], requested_by: 'U0REQ' });
    expect(await store.requestWaiver({ ...ask, user: 'U0REQ' })).toMatchObject({ ok: false, reason: 'waiver_pending' });
    expect(asked.state.gate).toBe('blocked');
    expect(reportFromState(asked.state).waivers[0]?.standing).toBe('awaiting');
    // sign-off stays closed while the check is failing and not waived
    expect(await signoff(e, 'technical', 'U0TECH')).toMatchObject({ ok: false, reason: 'checks_not_passing' });

    // the same rules as sign-offs
    expect(await store.decideWaiver(decide(e, w.id, { user: 'U0REQ' }))).toMatchObject({
      ok: false,
      reason: 'self_approval',
    });
    expect(await store.decideWaiver(decide(e, w.id, { user: 'U0OUT', authorised: false }))).toMatchObject({
      ok: false,
      reason: 'not_authorised',
    });
    expect(await store.decideWaiver(decide(e, w.id, { role: 'compliance', user: 'U0COMP' }))).toMatchObject({
      ok: false,
      reason: 'role_not_required',
    });
    const tech = await store.decideWaiver(decide(e, w.id));
    expect(tech).toMatchObject({ ok: true, waiver: { status: 'requested', approvals: [{ role: 'technical' }] } });
    expect(await store.decideWaiver(decide(e, w.id, { user: 'U0TECH2' }))).toMatchObject({
      ok: false,
      reason: 'role_already_decided',
    });
    expect(await store.decideWaiver(decide(e, w.id, { role: 'product' }))).toMatchObject({
      ok: false,
      reason: 'already_approved_other_role',
    });
    expect((await store.getState(e.id))?.gate).toBe('blocked');
    const prod = await store.decideWaiver(decide(e, w.id, { role: 'product', user: 'U0PROD' }));
    if (!prod.ok) throw new Error(prod.reason);
    expect(prod.waiver).toMatchObject({ status: 'approved', approved_at: clock.toISOString() });
    expect(prod.state.gate).toBe('pending');
    const report = reportFromState(prod.state);
    expect(report.waivers.map((x) => [x.check, x.standing])).toEqual([['test.target', 'effective']]);
    expect(report.blocking).toEqual([]);
    expect(await store.requestWaiver({ ...ask, user: 'U0REQ' })).toMatchObject({ ok: false, reason: 'already_waived' });

    // sign-off opens over the waived check, and the gate passes
    for (const [role, user] of [
      ['technical', 'U0TECH'],
      ['product', 'U0PROD'],
      ['compliance', 'U0COMP'],
    ] as const)
      expect((await signoff(e, role, user)).ok).toBe(true);
    expect((await store.getState(e.id))?.gate).toBe('passed');

    const audit = await store.readAudit({ evaluation: e.id });
    const types = audit.map((a) => a.type);
    expect(types).toContain('waiver_requested');
    expect(types.filter((t) => t === 'waiver_approval_recorded')).toHaveLength(2);
    expect(audit.find((a) => a.type === 'waiver_effective')?.data).toMatchObject({
      waiver: w.id,
      check: 'test.target',
      requested_by: 'U0REQ',
      approved_by: 'technical:U0TECH,product:U0PROD',
      reason: 'Product accepts 78%',
    });
    expect(audit.filter((a) => a.type === 'waiver_refused').map((a) => a.data.reason)).toEqual(
      expect.arrayContaining([
        'not_requester',
        'not_waivable',
        'digest_changed',
        'waiver_pending',
        'self_approval',
        'not_authorised',
        'role_not_required',
        'role_already_decided',
        'already_approved_other_role',
        'already_waived',
      ]),
    );

    // an expired waiver does not count: the check blocks again
    clock = new Date(clock.getTime() + 11 * DAY);
    const later = await store.getState(e.id);
    expect(later?.gate).toBe('blocked');
    expect(reportFromState(later!).waivers[0]?.standing).toBe('expired');
    expect(reportFromState(later!).blocking).toContain('test.target');
    // and a new one may be requested
    expect((await store.requestWaiver({ ...ask, user: 'U0REQ', expiresAt: until(5) })).ok).toBe(true);
  });

  it('a rejection by a role ends the waiver; security findings and checks that are not failing are refused', async () => {
    clock = new Date('2026-11-02T09:00:00.000Z');
    const e = await evaluate('reject', { 'test.target': {}, 'export.parity': { security: true } });
    const base = { evaluationId: e.id, digest: e.digest, reason: 'r', expiresAt: until(3), user: 'U0REQ' };
    expect(await store.requestWaiver({ ...base, check: 'export.parity' })).toMatchObject({
      ok: false,
      reason: 'security_finding',
    });
    expect(await store.requestWaiver({ ...base, check: 'export.inference' })).toMatchObject({
      ok: false,
      reason: 'not_waivable',
    });
    const asked = await store.requestWaiver({ ...base, check: 'test.target' });
    if (!asked.ok) throw new Error(asked.reason);
    const rej = await store.decideWaiver(
      decide(e, asked.waiver.id, { role: 'product', user: 'U0PROD', decision: 'rejected', reason: 'not below 80%' }),
    );
    expect(rej).toMatchObject({
      ok: true,
      waiver: { status: 'rejected', rejection: { role: 'product', user: 'U0PROD', reason: 'not below 80%' } },
    });
    expect(await store.decideWaiver(decide(e, asked.waiver.id))).toMatchObject({ ok: false, reason: 'waiver_decided' });
    expect((await store.getState(e.id))?.gate).toBe('blocked');
  });

  it('the waiver belongs to the digests: identical artifacts and policy inherit it, new artifacts or another policy do not', async () => {
    clock = new Date('2026-11-03T09:00:00.000Z');
    const e = await evaluate('pair', { 'test.target': {} }, { runName: 'runs/pair' });
    const asked = await store.requestWaiver({
      evaluationId: e.id,
      check: 'test.target',
      digest: e.digest,
      reason: 'ok',
      expiresAt: until(30),
      user: 'U0REQ',
    });
    if (!asked.ok) throw new Error(asked.reason);
    await store.decideWaiver(decide(e, asked.waiver.id));
    await store.decideWaiver(decide(e, asked.waiver.id, { role: 'product', user: 'U0PROD' }));
    // the same bytes again: the waiver carries over
    const again = await evaluate('pair', { 'test.target': {} }, { runName: 'runs/pair' });
    expect(again.digest).toBe(e.digest);
    const s = await store.getState(again.id);
    expect(s?.gate).toBe('pending');
    // new artifacts: nothing carries over, the check blocks
    const changed = await evaluate('pair-changed', { 'test.target': {} }, { runName: 'runs/pair' });
    const c = await store.getState(changed.id);
    expect(c?.waivers).toEqual([]);
    expect(c?.gate).toBe('blocked');
    // another policy (a stricter target): the waiver given under the old policy does not apply
    const stricter = resolvePolicy([{ source: 'team.yml', data: { waivers: TEAM_WAIVERS, target_accuracy: 81 } }]);
    const other = await evaluate('pair', { 'test.target': {} }, { runName: 'runs/pair', policy: stricter });
    expect((await store.getState(other.id))?.gate).toBe('blocked');
  });
});
