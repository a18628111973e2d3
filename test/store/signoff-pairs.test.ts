import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EvaluationStore, reportFromState } from '../../src/store/redis-store.js';
import {
  connect,
  exampleRun,
  type NewEvaluationOptions,
  newEvaluation,
  signoffAttempt as sign,
  uniquePrefix,
} from '../helpers/store.js';

let redis: Redis;
let store: EvaluationStore;
let run: Awaited<ReturnType<typeof exampleRun>>;
/** The store's clock, moved by the tests. */
let clock = new Date('2026-11-01T09:00:00.000Z');

beforeAll(async () => {
  redis = connect(inject('redisUrl'));
  store = new EvaluationStore(redis, { prefix: uniquePrefix('pairs'), now: () => clock });
  run = await exampleRun();
});
afterAll(async () => {
  await redis.quit();
});

const DAY = 86_400_000;

/** An evaluation of its own artifacts (unless the run name and label say otherwise), every check passed. */
const evaluate = (label: string, opts: NewEvaluationOptions = {}) =>
  newEvaluation(store, label, { checks: 'pass', ...opts });

describe('sign-offs belong to (artifact digest, policy digest), not to an evaluation', () => {
  it('a new evaluation of identical artifacts and policy inherits approvals; the rerun supersedes the evaluation, not its sign-offs', async () => {
    const first = await evaluate('inherit');
    expect((await store.recordSignoff(sign(first))).ok).toBe(true);
    expect((await store.recordSignoff(sign(first, { role: 'product', user: 'U0PROD' }))).ok).toBe(true);
    const second = await evaluate('inherit', { runName: 'runs/inherit', requester: 'U0OTHER' });
    const s = await store.getState(second.id);
    expect(s?.signoffs.map((x) => x.role).sort()).toEqual(['product', 'technical']);
    expect(s?.gate).toBe('pending');
    expect(reportFromState(s!).outstanding).toEqual(['signoff.compliance']);
    // the inherited role is taken; one person one role holds across the pair
    expect(await store.recordSignoff(sign(second, { user: 'U0TECH2' }))).toMatchObject({
      ok: false,
      reason: 'role_already_signed',
    });
    expect(await store.recordSignoff(sign(second, { role: 'compliance' }))).toMatchObject({
      ok: false,
      reason: 'already_signed_other_role',
    });
    expect((await store.recordSignoff(sign(second, { role: 'compliance', user: 'U0COMP' }))).ok).toBe(true);
    expect((await store.getState(second.id))?.gate).toBe('passed');
    // the superseded first evaluation still shows the sign-offs it had
    const old = await store.getState(first.id);
    expect(old?.evaluation.superseded_by).toBe(second.id);
    expect(old?.signoffs).toHaveLength(3);
    const created = (await store.readAudit({ evaluation: second.id })).find((a) => a.type === 'evaluation_created');
    expect(String(created?.data.inherited_signoffs).split(',').sort()).toEqual(['product', 'technical']);
  });

  it('changed artifacts or a changed policy start afresh', async () => {
    const first = await evaluate('fresh-a');
    expect((await store.recordSignoff(sign(first))).ok).toBe(true);
    const otherBytes = await evaluate('fresh-b', { runName: 'runs/fresh-a' });
    expect((await store.getState(otherBytes.id))?.signoffs).toEqual([]);
    const stricter = { ...run.policy, digest: 'f'.repeat(64) };
    const otherPolicy = await evaluate('fresh-a', { runName: 'runs/fresh-a2', policy: stricter });
    expect((await store.getState(otherPolicy.id))?.signoffs).toEqual([]);
  });

  it('a rejection sticks to identical artifacts until an authorised member of the role withdraws it (audited)', async () => {
    const first = await evaluate('reject');
    expect(
      (
        await store.recordSignoff(
          sign(first, { role: 'product', user: 'U0PROD', decision: 'rejected', reason: 'no risk review' }),
        )
      ).ok,
    ).toBe(true);
    const again = await evaluate('reject', { runName: 'runs/reject' });
    const s = await store.getState(again.id);
    expect(s?.gate).toBe('blocked');
    expect(reportFromState(s!).blocking).toContain('signoff.product');
    // new approvals do not pass it: the role is taken by the rejection
    expect(await store.recordSignoff(sign(again, { role: 'product', user: 'U0PROD2' }))).toMatchObject({
      ok: false,
      reason: 'role_already_signed',
    });
    // withdrawal: refused for someone who may not sign the role, for another digest, and when nothing is signed
    expect(
      await store.withdrawSignoff({
        evaluationId: again.id,
        role: 'product',
        user: 'U0OUT',
        digest: again.digest,
        authorised: false,
      }),
    ).toMatchObject({ ok: false, reason: 'not_authorised' });
    expect(
      await store.withdrawSignoff({
        evaluationId: again.id,
        role: 'product',
        user: 'U0PROD2',
        digest: 'e'.repeat(64),
        authorised: true,
      }),
    ).toMatchObject({ ok: false, reason: 'digest_changed' });
    expect(
      await store.withdrawSignoff({
        evaluationId: again.id,
        role: 'compliance',
        user: 'U0COMP',
        digest: again.digest,
        authorised: true,
      }),
    ).toMatchObject({ ok: false, reason: 'nothing_to_withdraw' });
    expect(
      await store.withdrawSignoff({
        evaluationId: first.id,
        role: 'product',
        user: 'U0PROD2',
        digest: first.digest,
        authorised: true,
      }),
    ).toMatchObject({ ok: false, reason: 'superseded' });
    // another member of the role withdraws it
    const w = await store.withdrawSignoff({
      evaluationId: again.id,
      role: 'product',
      user: 'U0PROD2',
      digest: again.digest,
      authorised: true,
    });
    expect(w).toMatchObject({ ok: true, record: { role: 'product', decision: 'rejected', user: 'U0PROD' } });
    expect((await store.getState(again.id))?.gate).toBe('pending');
    const audit = await store.readAudit({ evaluation: again.id });
    expect(audit.find((a) => a.type === 'signoff_withdrawn')).toMatchObject({
      actor: 'U0PROD2',
      data: { role: 'product', decision: 'rejected', signed_by: 'U0PROD', comment: 'no risk review' },
    });
    expect(audit.filter((a) => a.type === 'signoff_withdraw_refused').map((a) => a.data.reason)).toEqual([
      'not_authorised',
      'digest_changed',
      'nothing_to_withdraw',
    ]);
    // the one who rejected may sign again (the role is free; their signer entry went with it)
    expect((await store.recordSignoff(sign(again, { role: 'product', user: 'U0PROD' }))).ok).toBe(true);
  });

  it('approvals expire after signoff.max_age_days on the store clock; rejections do not', async () => {
    clock = new Date('2026-11-01T09:00:00.000Z');
    const short = {
      ...run.policy,
      digest: 'a'.repeat(64),
      policy: { ...run.policy.policy, signoff: { ...run.policy.policy.signoff, max_age_days: 10 } },
    };
    const e = await evaluate('expiry', { policy: short });
    expect((await store.recordSignoff(sign(e))).ok).toBe(true);
    expect((await store.recordSignoff(sign(e, { role: 'product', user: 'U0PROD' }))).ok).toBe(true);
    expect((await store.recordSignoff(sign(e, { role: 'compliance', user: 'U0COMP' }))).ok).toBe(true);
    let s = await store.getState(e.id);
    expect(s?.gate).toBe('passed');
    expect(s?.signoffs.find((x) => x.role === 'technical')).toMatchObject({
      expired: false,
      expires_at: '2026-11-11T09:00:00.000Z',
    });

    clock = new Date('2026-11-11T08:59:59.000Z');
    expect((await store.getState(e.id))?.gate).toBe('passed');
    clock = new Date('2026-11-11T09:00:00.000Z');
    s = await store.getState(e.id);
    expect(s?.gate).toBe('pending');
    expect(s?.signoffs.every((x) => x.expired)).toBe(true);
    expect(reportFromState(s!).outstanding).toEqual(['signoff.technical', 'signoff.product', 'signoff.compliance']);

    // an expired role can be signed again (by someone else too); the expired approval is replaced, audited
    expect((await store.recordSignoff(sign(e, { user: 'U0TECH2' }))).ok).toBe(true);
    const audit = await store.readAudit({ evaluation: e.id });
    expect(audit.filter((a) => a.type === 'signoff_recorded').at(-1)?.data.replaced_expired).toBe('U0TECH');

    // rejections stick however old
    const r = await evaluate('expiry-reject', { policy: short });
    expect((await store.recordSignoff(sign(r, { decision: 'rejected', reason: 'no' }))).ok).toBe(true);
    clock = new Date(clock.getTime() + 365 * DAY);
    expect((await store.getState(r.id))?.gate).toBe('blocked');
    expect(await store.recordSignoff(sign(r, { user: 'U0TECH2' }))).toMatchObject({
      ok: false,
      reason: 'role_already_signed',
    });
  });
});
