import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AUTOMATED_CHECKS } from '../../src/checks/registry.js';
import { isTerminal } from '../../src/gate/terminal.js';
import { EvaluationStore, reportFromState } from '../../src/store/redis-store.js';
import {
  signoffAttempt as attempt,
  completeAllChecks,
  connect,
  distinctManifest,
  exampleRun,
  newEvaluation,
  resultFor,
  uniquePrefix,
} from '../helpers/store.js';

let redis: Redis;
let store: EvaluationStore;
let run: Awaited<ReturnType<typeof exampleRun>>;

beforeAll(async () => {
  redis = connect(inject('redisUrl'));
  store = new EvaluationStore(redis, { prefix: uniquePrefix('store') });
  run = await exampleRun();
});

afterAll(async () => {
  await redis.quit();
});

/** An evaluation of its own artifacts (sign-offs belong to the artifact and policy digests, so tests must not share them). */
const create = (runName = 'digits-run', requester = 'U0REQUESTER') =>
  newEvaluation(store, runName, { runName, requester, channel: 'C0CHANNEL' });

describe('evaluations', () => {
  it('creates an evaluation with every automated check pending, version 1, audited', async () => {
    const e = await create('runs/create');
    expect(e.id).not.toContain(':');
    expect(e.version).toBe(1);
    expect(e.digest).toBe(distinctManifest(run.manifest, 'runs/create').digest);
    expect(e.policy.digest).toBe(run.policy.digest);
    const s = await store.getState(e.id);
    expect(s?.checks.map((c) => c.id)).toEqual(AUTOMATED_CHECKS.map((c) => c.id));
    expect(s?.checks.every((c) => c.status === 'pending')).toBe(true);
    expect(s?.gate).toBe('pending');
    const audit = await store.readAudit({ evaluation: e.id });
    expect(audit.map((a) => a.type)).toEqual(['evaluation_created']);
    expect(audit[0]?.actor).toBe('U0REQUESTER');
    expect((await store.latestForRun('runs/create'))?.evaluation.id).toBe(e.id);
    expect((await store.listOpen()).map((x) => x.evaluation.id)).toContain(e.id);
  });

  it('applies a check result exactly once, only from the attempt that owns the check', async () => {
    const e = await create('runs/exactly-once');
    expect((await store.setCheckRunning(e.id, 'training.completed', 'attempt-1')).outcome).toBe('started');
    // a second attempt takes over (e.g. the first worker stalled)
    expect((await store.setCheckRunning(e.id, 'training.completed', 'attempt-2')).outcome).toBe('started');
    const stale = await store.applyCheckResult(
      e.id,
      'training.completed',
      'attempt-1',
      resultFor('training.completed', 'fail'),
    );
    expect(stale.outcome).toBe('stale');
    const applied = await store.applyCheckResult(
      e.id,
      'training.completed',
      'attempt-2',
      resultFor('training.completed', 'pass'),
    );
    expect(applied.outcome).toBe('applied');
    const again = await store.applyCheckResult(
      e.id,
      'training.completed',
      'attempt-2',
      resultFor('training.completed', 'error'),
    );
    expect(again.outcome).toBe('duplicate');
    expect((await store.setCheckRunning(e.id, 'training.completed', 'attempt-3')).outcome).toBe('final');
    const s = await store.getState(e.id);
    expect(s?.checks.find((c) => c.id === 'training.completed')?.status).toBe('pass');
    const audit = await store.readAudit({ evaluation: e.id });
    expect(audit.filter((a) => a.type === 'check_result')).toHaveLength(1);
    expect(audit.filter((a) => a.type === 'check_result_ignored').map((a) => a.data.reason)).toEqual([
      'superseded attempt',
      'already final',
    ]);
  });

  it('bumps the version on every change, monotonically', async () => {
    const e = await create('runs/version');
    const versions = [e.version];
    versions.push((await store.setCheckRunning(e.id, 'export.parity', 'tok')).version);
    versions.push(
      (await store.setCheckProgress(e.id, 'export.parity', 'tok', {
        progress: 0.45,
        label: 'parity',
        done: 45,
        total: 100,
      })) ?? -1,
    );
    versions.push(
      (await store.applyCheckResult(e.id, 'export.parity', 'tok', resultFor('export.parity', 'pass'))).version,
    );
    versions.push(await store.setMessageRef(e.id, { channel: 'C0CHANNEL', ts: '1700000000.000100' }));
    expect(versions).toEqual([1, 2, 3, 4, 5]);
    expect((await store.getEvaluation(e.id))?.message).toEqual({ channel: 'C0CHANNEL', ts: '1700000000.000100' });
  });

  it('stores progress only for the current attempt and shows it on the running check', async () => {
    const e = await create('runs/progress');
    await store.setCheckRunning(e.id, 'export.inference', 'tok-a');
    expect(
      await store.setCheckProgress(e.id, 'export.inference', 'someone-else', {
        progress: 0.9,
        label: 'latency',
        done: 9,
        total: 10,
      }),
    ).toBeNull();
    expect(
      await store.setCheckProgress(e.id, 'export.inference', 'tok-a', {
        progress: 0.45,
        label: 'latency',
        done: 450,
        total: 1000,
      }),
    ).not.toBeNull();
    const c = (await store.getState(e.id))?.checks.find((x) => x.id === 'export.inference');
    expect(c?.status).toBe('running');
    expect(c?.progress).toBe(0.45);
    expect(c?.evidence.join(' ')).toContain('latency 45 %');
  });

  it('returns a released check to pending and lets the next attempt run it', async () => {
    const e = await create('runs/release');
    await store.setCheckRunning(e.id, 'export.parity', 'tok-a');
    expect(await store.releaseCheck(e.id, 'export.parity', 'not-mine')).toBeNull();
    expect(await store.releaseCheck(e.id, 'export.parity', 'tok-a')).not.toBeNull();
    expect((await store.getState(e.id))?.checks.find((c) => c.id === 'export.parity')?.status).toBe('pending');
    expect(
      (await store.applyCheckResult(e.id, 'export.parity', 'tok-a', resultFor('export.parity', 'pass'))).outcome,
    ).toBe('stale');
  });

  it('recomputes the gate from stored results: a failing check blocks', async () => {
    const e = await create('runs/blocked');
    await completeAllChecks(store, e.id, 'pass');
    expect((await store.getState(e.id))?.gate).toBe('pending'); // sign-offs missing
    const e2 = await create('runs/blocked2');
    await store.setCheckRunning(e2.id, 'test.target', 't');
    await store.applyCheckResult(e2.id, 'test.target', 't', resultFor('test.target', 'fail'));
    const s = await store.getState(e2.id);
    expect(s?.gate).toBe('blocked');
    expect(reportFromState(s!).blocking).toContain('test.target');
  });

  it('supersedes the previous evaluation of a run: no more sign-offs, pending checks skipped', async () => {
    const old = await create('runs/rerun');
    const { evaluation: fresh, superseded } = await store.createEvaluation({
      run: 'runs/rerun',
      manifest: distinctManifest(run.manifest, 'runs/rerun'),
      policy: run.policy,
      requester: 'U0REQUESTER',
      channel: null,
    });
    expect(superseded?.id).toBe(old.id);
    const o = await store.getState(old.id);
    expect(o?.evaluation.superseded_by).toBe(fresh.id);
    expect(fresh.supersedes).toBe(old.id);
    expect(isTerminal(o!)).toBe(true);
    expect((await store.setCheckRunning(old.id, 'export.parity', 'x')).outcome).toBe('superseded');
    const r = await store.recordSignoff(attempt(old));
    expect(r).toMatchObject({ ok: false, reason: 'superseded' });
    expect((await store.latestForRun('runs/rerun'))?.evaluation.id).toBe(fresh.id);
    expect((await store.listOpen()).map((x) => x.evaluation.id)).not.toContain(old.id);
  });

  it('deduplicates keys within their ttl', async () => {
    expect(await store.dedupe('slack-retry-1', 60_000)).toBe(true);
    expect(await store.dedupe('slack-retry-1', 60_000)).toBe(false);
    expect(await store.dedupe('slack-retry-2', 60_000)).toBe(true);
  });
});

describe('sign-offs', () => {
  it('refuses sign-off while automated checks are not all passing', async () => {
    const e = await create('runs/early');
    const r = await store.recordSignoff(attempt(e));
    expect(r).toMatchObject({ ok: false, reason: 'checks_not_passing' });
  });

  it('enforces authorisation, self-approval, digest, one role per person; records the rest; passes the gate', async () => {
    const e = await create('runs/signoff');
    await completeAllChecks(store, e.id, 'pass');
    expect(await store.recordSignoff(attempt(e, { authorised: false }))).toMatchObject({
      ok: false,
      reason: 'not_authorised',
    });
    expect(await store.recordSignoff(attempt(e, { user: 'U0REQUESTER' }))).toMatchObject({
      ok: false,
      reason: 'self_approval',
    });
    expect(await store.recordSignoff(attempt(e, { digest: 'f'.repeat(64) }))).toMatchObject({
      ok: false,
      reason: 'digest_changed',
    });
    const ok = await store.recordSignoff(attempt(e));
    expect(ok.ok).toBe(true);
    expect(await store.recordSignoff(attempt(e, { user: 'U0OTHER' }))).toMatchObject({
      ok: false,
      reason: 'role_already_signed',
    });
    expect(await store.recordSignoff(attempt(e, { role: 'product' }))).toMatchObject({
      ok: false,
      reason: 'already_signed_other_role',
    });
    expect((await store.recordSignoff(attempt(e, { role: 'product', user: 'U0PROD' }))).ok).toBe(true);
    const last = await store.recordSignoff(
      attempt(e, { role: 'compliance', user: 'U0REQUESTER', allowSelfApproval: true }),
    );
    expect(last.ok).toBe(true);
    const s = await store.getState(e.id);
    expect(s?.gate).toBe('passed');
    expect(isTerminal(s!)).toBe(true);
    const audit = await store.readAudit({ evaluation: e.id });
    expect(audit.filter((a) => a.type === 'signoff_refused').map((a) => a.data.reason)).toEqual([
      'not_authorised',
      'self_approval',
      'digest_changed',
      'role_already_signed',
      'already_signed_other_role',
    ]);
    expect(audit.filter((a) => a.type === 'signoff_recorded')).toHaveLength(3);
  });

  it('one person may sign several roles when one_role_per_person is off', async () => {
    const e = await create('runs/multi-role');
    await completeAllChecks(store, e.id, 'pass');
    expect((await store.recordSignoff(attempt(e, { onePerPerson: false }))).ok).toBe(true);
    expect((await store.recordSignoff(attempt(e, { role: 'product', onePerPerson: false }))).ok).toBe(true);
    expect(await store.recordSignoff(attempt(e, { role: 'compliance' }))).toMatchObject({
      ok: false,
      reason: 'already_signed_other_role',
    });
  });

  it('the evaluation policy can allow self-approval', async () => {
    const permissive = {
      ...run.policy,
      policy: { ...run.policy.policy, signoff: { ...run.policy.policy.signoff, allow_self_approval: true } },
    };
    const e = await newEvaluation(store, 'runs/self', {
      runName: 'runs/self',
      policy: permissive,
      requester: 'U0REQUESTER',
      checks: 'pass',
    });
    expect((await store.recordSignoff(attempt(e, { user: 'U0REQUESTER' }))).ok).toBe(true);
  });

  it('a rejection blocks the gate', async () => {
    const e = await create('runs/reject');
    await completeAllChecks(store, e.id, 'pass');
    const r = await store.recordSignoff(attempt(e, { decision: 'rejected', reason: 'calibration not reviewed' }));
    expect(r.ok).toBe(true);
    expect((await store.getState(e.id))?.gate).toBe('blocked');
  });

  it('100 parallel attempts for one role: exactly one recorded, the rest refused and audited', async () => {
    const e = await create('runs/race');
    await completeAllChecks(store, e.id, 'warn');
    const url = inject('redisUrl');
    const conns = Array.from({ length: 10 }, () => connect(url));
    const stores = conns.map((c) => new EvaluationStore(c, { prefix: store.prefix.slice(0, -1) }));
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        stores[i % stores.length]!.recordSignoff(attempt(e, { user: `U0RACE${i}` })),
      ),
    );
    await Promise.all(conns.map((c) => c.quit()));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    const refused = results.filter((r) => !r.ok);
    expect(refused).toHaveLength(99);
    expect(refused.every((r) => !r.ok && r.reason === 'role_already_signed')).toBe(true);
    const s = await store.getState(e.id);
    expect(s?.signoffs.filter((x) => x.role === 'technical')).toHaveLength(1);
    const audit = (await store.readAudit({ evaluation: e.id })).filter((a) => a.type.startsWith('signoff_'));
    expect(audit).toHaveLength(100);
    expect(audit.filter((a) => a.type === 'signoff_recorded')).toHaveLength(1);
  });
});

describe('rerunning one check', () => {
  it('puts a final check back to pending on the same evaluation, audited, and the gate waits for it', async () => {
    const e = await create('runs/rerun-one');
    await completeAllChecks(store, e.id);
    expect((await store.getState(e.id))!.gate).toBe('pending'); // sign-offs outstanding
    const before = (await store.getState(e.id))!.evaluation.version;

    const r = await store.rerunCheck(e.id, 'export.inference', 'U0REQUESTER');
    expect(r).toMatchObject({ outcome: 'reset', rerun: 1 });
    expect(r.version).toBeGreaterThan(before);
    const s = (await store.getState(e.id))!;
    expect(s.checks.find((c) => c.id === 'export.inference')).toMatchObject({
      status: 'pending',
      evidence: ['queued again by U0REQUESTER'],
    });
    expect(s.checks.filter((c) => c.status === 'pass')).toHaveLength(AUTOMATED_CHECKS.length - 1);
    // approvals cannot be given while it is pending
    const refused = await store.recordSignoff(attempt(e));
    expect(refused).toMatchObject({ ok: false, reason: 'checks_not_passing' });

    // a second rerun while it is pending does nothing
    expect((await store.rerunCheck(e.id, 'export.inference', 'U0REQUESTER')).outcome).toBe('busy');

    // the new attempt stores its result as usual
    await store.setCheckRunning(e.id, 'export.inference', 'rerun-token');
    expect(
      (await store.applyCheckResult(e.id, 'export.inference', 'rerun-token', resultFor('export.inference', 'fail')))
        .outcome,
    ).toBe('applied');
    expect((await store.getState(e.id))!.gate).toBe('blocked');
    expect((await store.rerunCheck(e.id, 'export.inference', 'U0REQUESTER')).rerun).toBe(2);

    const audit = await store.readAudit({ evaluation: e.id });
    expect(audit.filter((a) => a.type === 'check_rerun').map((a) => [a.actor, a.data.check, a.data.previous])).toEqual([
      ['U0REQUESTER', 'export.inference', 'pass'],
      ['U0REQUESTER', 'export.inference', 'fail'],
    ]);
  });

  it('refuses on a superseded evaluation and for unknown checks', async () => {
    const old = await create('runs/rerun-superseded');
    await completeAllChecks(store, old.id);
    await create('runs/rerun-superseded');
    expect((await store.rerunCheck(old.id, 'test.target', 'U0X')).outcome).toBe('superseded');
    await expect(store.rerunCheck(old.id, 'no.such', 'U0X')).rejects.toThrow(/unknown check id "no\.such"/);
    expect((await store.rerunCheck('ev-does-not-exist', 'test.target', 'U0X')).outcome).toBe('unknown');
  });
});
