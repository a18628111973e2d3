import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EvaluationStore, reportFromState } from '../../src/store/redis-store.js';
import { connect, exampleRun, newEvaluation, signoffAttempt as sign, uniquePrefix } from '../helpers/store.js';

let redis: Redis;
let store: EvaluationStore;
let run: Awaited<ReturnType<typeof exampleRun>>;

beforeAll(async () => {
  redis = connect(inject('redisUrl'));
  store = new EvaluationStore(redis, { prefix: uniquePrefix('recheck') });
  run = await exampleRun();
});
afterAll(async () => {
  await redis.quit();
});

/** An evaluation of its own artifacts requested by `requester`, every check passed. */
const evaluate = (label: string, requester: string, policy = run.policy) =>
  newEvaluation(store, label, { requester, policy, checks: 'pass' });

describe('inherited sign-offs are re-checked against the evaluation that inherits them', () => {
  it('the requester of the new evaluation approved an earlier one: that approval does not count for theirs, another approver can sign the role', async () => {
    const first = await evaluate('self', 'U0REQ');
    for (const [role, user] of [
      ['technical', 'U0TECH'],
      ['product', 'U0PROD'],
      ['compliance', 'U0COMP'],
    ] as const)
      expect((await store.recordSignoff(sign(first, { role, user }))).ok).toBe(true);
    expect((await store.getState(first.id))?.gate).toBe('passed');

    // the technical approver asks for a new evaluation of the identical artifacts under the identical policy
    const second = await evaluate('self', 'U0TECH');
    expect(second.digest).toBe(first.digest);
    const s = await store.getState(second.id);
    const tech = s?.signoffs.find((x) => x.role === 'technical');
    expect(tech).toMatchObject({ user: 'U0TECH', decision: 'approved', not_counted: 'self_approval' });
    expect(s?.gate).toBe('pending');
    expect(reportFromState(s!).outstanding).toEqual(['signoff.technical']);
    // the requester still cannot sign it; the role is open to another technical approver
    expect(await store.recordSignoff(sign(second))).toMatchObject({ ok: false, reason: 'self_approval' });
    expect((await store.recordSignoff(sign(second, { user: 'U0TECH2' }))).ok).toBe(true);
    expect((await store.getState(second.id))?.gate).toBe('passed');
    // the first evaluation, requested by someone else, counted U0TECH's approval all along
    const old = await store.getState(first.id);
    expect(old?.signoffs.find((x) => x.user === 'U0TECH')?.not_counted).toBeUndefined();
  });

  it('with allow_self_approval in the policy the inherited approval counts', async () => {
    const policy = {
      ...run.policy,
      policy: { ...run.policy.policy, signoff: { ...run.policy.policy.signoff, allow_self_approval: true } },
    };
    const first = await evaluate('self-allowed', 'U0REQ', policy);
    expect((await store.recordSignoff(sign(first, { allowSelfApproval: true }))).ok).toBe(true);
    const second = await evaluate('self-allowed', 'U0TECH', policy);
    const s = await store.getState(second.id);
    expect(s?.signoffs.find((x) => x.role === 'technical')?.not_counted).toBeUndefined();
    expect(reportFromState(s!).outstanding).not.toContain('signoff.technical');
  });

  it('an inherited rejection by the new requester still blocks: rejections only tighten', async () => {
    const first = await evaluate('self-reject', 'U0REQ');
    expect((await store.recordSignoff(sign(first, { decision: 'rejected', reason: 'no' }))).ok).toBe(true);
    const second = await evaluate('self-reject', 'U0TECH');
    expect((await store.getState(second.id))?.gate).toBe('blocked');
  });
});
