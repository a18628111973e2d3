import type { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GateHook } from '../../src/attestation/gate-hook.js';
import { readPublicKey, readSigningKey } from '../../src/attestation/keys.js';
import { createAttestation } from '../../src/attestation/sign.js';
import { verifyAttestation } from '../../src/attestation/verify.js';
import { SIGNOFF_ROLES } from '../../src/policy/schema.js';
import { AttestationStore } from '../../src/store/attestations.js';
import { EvaluationStore, reportFromState } from '../../src/store/redis-store.js';
import { EXAMPLE_RUN } from '../helpers/runs.js';
import { completeAllChecks, connect, describeRun, distinctManifest, uniquePrefix } from '../helpers/store.js';
import { type KeyFiles, makeKeyFiles } from './helpers.js';

let redis: Redis;
let store: EvaluationStore;
let hook: GateHook;
let keys: KeyFiles;
let prefix: string;

beforeAll(async () => {
  redis = connect(inject('redisUrl'));
  prefix = uniquePrefix('revoke');
  store = new EvaluationStore(redis, { prefix });
  keys = await makeKeyFiles();
  hook = new GateHook({
    store,
    redis,
    prefix,
    log: pino({ level: 'silent' }),
    key: await readSigningKey(keys.privatePem),
  });
});
afterAll(async () => {
  await redis.quit();
});

async function passedEvaluation() {
  const run = await describeRun();
  const { evaluation } = await store.createEvaluation({
    run: 'digits-run',
    manifest: run.manifest,
    policy: run.policy,
    requester: 'U0REQ',
    channel: null,
  });
  await completeAllChecks(store, evaluation.id);
  const users = { technical: 'U0TECH', product: 'U0PROD', compliance: 'U0COMP' } as const;
  // sign-offs belong to (artifact digest, policy digest): a later evaluation of the example inherits
  // the roles an earlier test signed, and signs only what is missing
  const inherited = new Set((await store.getState(evaluation.id))?.signoffs.map((s) => s.role));
  for (const role of SIGNOFF_ROLES) {
    if (inherited.has(role)) continue;
    const r = await store.recordSignoff({
      evaluationId: evaluation.id,
      role,
      decision: 'approved',
      user: users[role],
      digest: evaluation.digest,
      authorised: true,
      allowSelfApproval: false,
    });
    expect(r.ok).toBe(true);
  }
  const state = await store.getState(evaluation.id);
  expect(state?.gate).toBe('passed');
  return state as NonNullable<typeof state>;
}

describe('attestation of a PASSED gate, and its revocation', () => {
  it('is issued once however often the state is seen, and verifies against the run', async () => {
    const state = await passedEvaluation();
    await hook.observe(state, null);
    await hook.observe(state, null);
    const a = await hook.attestations.get(state.evaluation.id);
    expect(a?.status).toBe('valid');
    const issued = (await store.readAudit({ evaluation: state.evaluation.id })).filter(
      (e) => e.type === 'attestation_issued',
    );
    expect(issued).toHaveLength(1);
    const r = await verifyAttestation({
      runDir: EXAMPLE_RUN,
      envelope: a?.envelope,
      publicKey: await readPublicKey(keys.publicPem),
    });
    expect(r).toMatchObject({
      ok: true,
      evaluation_id: state.evaluation.id,
      files: state.evaluation.manifest.entries.length,
    });
    expect((await hook.attestations.latestForRun('digits-run'))?.evaluation_id).toBe(state.evaluation.id);
  });

  it('is revoked when the gate leaves PASSED (an approval withdrawn), once, audited', async () => {
    const state = await passedEvaluation();
    await hook.observe(state, null);
    // a withdrawal: the role's approval is gone, the gate is PENDING again
    expect(
      (
        await store.withdrawSignoff({
          evaluationId: state.evaluation.id,
          role: 'product',
          user: 'U0PROD',
          digest: state.evaluation.digest,
          authorised: true,
        })
      ).ok,
    ).toBe(true);
    const reopened = await store.getState(state.evaluation.id);
    expect(reopened?.gate).toBe('pending');
    await hook.observe(reopened as NonNullable<typeof reopened>, null);
    await hook.observe(reopened as NonNullable<typeof reopened>, null);
    const a = await hook.attestations.get(state.evaluation.id);
    expect(a).toMatchObject({ status: 'revoked', revoked_reason: 'the gate left PASSED: now PENDING' });
    const audit = (await store.readAudit({ evaluation: state.evaluation.id })).filter(
      (e) => e.type === 'attestation_revoked',
    );
    expect(audit).toHaveLength(1);
    expect(await hook.attestations.revokeAttestation(state.evaluation.id, 'again')).toBe('already_revoked');
    expect(await hook.attestations.revokeAttestation('ev-none-000', 'nothing')).toBe('none');
  });

  it('a gate PASSED again after a re-opening gets a new attestation (the next sequence); the revoked one stays', async () => {
    const state = await passedEvaluation();
    const id = state.evaluation.id;
    await hook.observe(state, null);
    const withdraw = await store.withdrawSignoff({
      evaluationId: id,
      role: 'product',
      user: 'U0PROD',
      digest: state.evaluation.digest,
      authorised: true,
    });
    expect(withdraw.ok).toBe(true);
    const reopened = (await store.getState(id)) as NonNullable<Awaited<ReturnType<typeof store.getState>>>;
    await hook.observe(reopened, null);
    expect(await hook.attestations.get(id)).toMatchObject({ sequence: 0, status: 'revoked' });
    // a render of the PASSED state from before the withdrawal is not a new PASSED: nothing issued
    await hook.observe(state, null);
    expect(await hook.attestations.latestSequence(id)).toBe(0);

    const again = await store.recordSignoff({
      evaluationId: id,
      role: 'product',
      decision: 'approved',
      user: 'U0PROD',
      digest: state.evaluation.digest,
      authorised: true,
      allowSelfApproval: false,
    });
    expect(again.ok).toBe(true);
    const passed = (await store.getState(id)) as NonNullable<Awaited<ReturnType<typeof store.getState>>>;
    expect(passed.gate).toBe('passed');
    await hook.observe(passed, null);
    await hook.observe(passed, null);
    const second = await hook.attestations.get(id);
    expect(second).toMatchObject({ sequence: 1, status: 'valid', state_version: passed.evaluation.version });
    const first = await hook.attestations.get(id, 0);
    expect(first).toMatchObject({ sequence: 0, status: 'revoked', revoked_version: reopened.evaluation.version });
    expect(second?.envelope).not.toEqual(first?.envelope);
    expect((await hook.attestations.history(id)).map((a) => `${a.sequence}:${a.status}`)).toEqual([
      '0:revoked',
      '1:valid',
    ]);
    expect((await hook.attestations.latestForRun('digits-run'))?.sequence).toBe(1);
    const audit = await store.readAudit({ evaluation: id });
    expect(audit.filter((e) => e.type === 'attestation_issued').map((e) => e.data.sequence)).toEqual([0, 1]);
    expect(audit.filter((e) => e.type === 'attestation_revoked').map((e) => e.data.sequence)).toEqual([0]);
    const r = await verifyAttestation({
      runDir: EXAMPLE_RUN,
      envelope: second?.envelope,
      publicKey: await readPublicKey(keys.publicPem),
    });
    expect(r).toMatchObject({ ok: true, evaluation_id: id });
    // the re-opening withdrew and re-signed product: the new predicate has the new approval time
    const predicate = (
      JSON.parse(Buffer.from(second?.envelope.payload ?? '', 'base64').toString('utf8')) as {
        predicate: { signoffs: { role: string; at: string }[] };
      }
    ).predicate;
    expect(predicate.signoffs.find((x) => x.role === 'product')?.at).toBe(again.ok ? again.record.at : '');

    // a stale render of the re-opened state does not revoke what a later PASSED state attested
    await hook.observe(reopened, null);
    expect((await hook.attestations.get(id))?.status).toBe('valid');
    expect(await hook.attestations.revokeAttestation(id, 'stale', { stateVersion: reopened.evaluation.version })).toBe(
      'stale',
    );
    // revocation always takes the newest
    expect(
      await hook.attestations.revokeAttestation(id, 'by hand', { stateVersion: passed.evaluation.version + 1 }),
    ).toBe('revoked');
    expect((await hook.attestations.get(id, 0))?.revoked_reason).toBe('the gate left PASSED: now PENDING');
    expect((await hook.attestations.get(id, 1))?.revoked_reason).toBe('by hand');
  });

  it('attaches the envelope in the notification thread once; a refused upload does not stop rendering and is tried again', async () => {
    const uploads: { channel_id: string; thread_ts: string; content: string; filename: string }[] = [];
    let refuse = true;
    const files = {
      filesUploadV2: async (a: {
        channel_id: string;
        thread_ts: string;
        content: string;
        filename: string;
        title: string;
        initial_comment: string;
      }) => {
        if (refuse)
          throw Object.assign(new Error('An API error occurred: missing_scope'), {
            code: 'slack_webapi_platform_error',
            data: { error: 'missing_scope' },
          });
        uploads.push(a);
        return { ok: true };
      },
    };
    const p = `${prefix}-attach`;
    const attaching = new GateHook({
      store,
      redis,
      prefix: p,
      log: pino({ level: 'silent' }),
      key: await readSigningKey(keys.privatePem),
      files,
    });
    const state = await passedEvaluation();
    await attaching.observe(state, { channel: 'C0NOTIFY', ts: '1700000000.000001' });
    expect(uploads).toHaveLength(0);
    refuse = false;
    await attaching.observe(state, null);
    await attaching.observe(state, null);
    expect(uploads).toHaveLength(1);
    expect(uploads[0]).toMatchObject({
      channel_id: 'C0NOTIFY',
      thread_ts: '1700000000.000001',
      filename: `attestation-digits-run-${state.evaluation.id}.intoto.json`,
    });
    expect(JSON.parse(uploads[0]?.content ?? '{}')).toEqual(
      (await attaching.attestations.get(state.evaluation.id))?.envelope,
    );
  });

  it('makes no attestation without a key, and none for a gate that is not PASSED', async () => {
    const run = await describeRun();
    // other artifacts: no sign-offs to inherit, so PENDING
    const { evaluation } = await store.createEvaluation({
      run: 'other-run',
      manifest: distinctManifest(run.manifest, 'other-run'),
      policy: run.policy,
      requester: 'U0REQ',
      channel: null,
    });
    await completeAllChecks(store, evaluation.id);
    const pending = await store.getState(evaluation.id);
    await hook.observe(pending as NonNullable<typeof pending>, null);
    expect(await hook.attestations.get(evaluation.id)).toBeNull();
    const keyless = new GateHook({ store, redis, prefix: `${prefix}-nokey`, log: pino({ level: 'silent' }) });
    const state = await passedEvaluation();
    await keyless.observe(state, null);
    expect(await keyless.attestations.get(state.evaluation.id)).toBeNull();
  });
});

describe('AttestationStore: one attestation per PASSED period', () => {
  async function signed(state: NonNullable<Awaited<ReturnType<typeof store.getState>>>, at: string) {
    return createAttestation(
      reportFromState(state),
      state.evaluation.id,
      await readSigningKey(keys.privatePem),
      new Date(at),
    );
  }

  it('stores a sequence once, only after the one before it was revoked by an older state, and never skips one', async () => {
    const state = await passedEvaluation();
    const id = state.evaluation.id;
    const v = state.evaluation.version;
    const s = new AttestationStore(redis, { prefix: `${prefix}-seq` });
    const a0 = await signed(state, '2026-01-01T00:00:00.000Z');
    const a1 = await signed(state, '2026-01-02T00:00:00.000Z');
    expect(await s.put(a0.statement, a0.envelope, 'k', { stateVersion: v })).toBe('stored');
    expect(await s.put(a1.statement, a1.envelope, 'k', { stateVersion: v })).toBe('exists');
    // the first still stands: no second one
    expect(await s.put(a1.statement, a1.envelope, 'k', { sequence: 1, stateVersion: v + 1 })).toBe('refused');
    // no gaps
    expect(await s.put(a1.statement, a1.envelope, 'k', { sequence: 2, stateVersion: v + 1 })).toBe('stale');
    expect(await s.revokeAttestation(id, 'left PASSED', { stateVersion: v + 1 })).toBe('revoked');
    // a PASSED state no newer than the revoking one is not a new PASSED
    expect(await s.put(a1.statement, a1.envelope, 'k', { sequence: 1, stateVersion: v + 1 })).toBe('refused');
    expect(await s.put(a1.statement, a1.envelope, 'k', { sequence: 1, stateVersion: v + 2 })).toBe('stored');
    expect(await s.put(a0.statement, a0.envelope, 'k', { sequence: 0, stateVersion: v + 3 })).toBe('exists');
    expect(await s.get(id)).toMatchObject({
      sequence: 1,
      status: 'valid',
      envelope: a1.envelope,
      state_version: v + 2,
    });
    expect(await s.get(id, 0)).toMatchObject({ sequence: 0, status: 'revoked', envelope: a0.envelope });
    expect(await s.get(id, 2)).toBeNull();
    expect(await s.get('ev-none-000')).toBeNull();
    expect(await s.history('ev-none-000')).toEqual([]);
  });

  it('reads an attestation stored before sequences (P:attest:<evaluation>, no sequence fields) as sequence 0', async () => {
    const state = await passedEvaluation();
    const id = state.evaluation.id;
    const p = `${prefix}-legacy`;
    const a0 = await signed(state, '2026-01-01T00:00:00.000Z');
    // the hash the first layout wrote, field for field
    await redis.hset(`${p}:attest:${id}`, {
      evaluation_id: id,
      run: 'digits-run',
      envelope: JSON.stringify(a0.envelope),
      keyid: keys.keyid,
      artifact_digest: state.evaluation.digest,
      policy_digest: state.evaluation.policy.digest,
      passed_at: a0.statement.predicate.passed_at,
      issued_at: a0.statement.predicate.issued_at,
      status: 'valid',
    });
    await redis.set(`${p}:attest:run:digits-run`, id);
    const legacyHook = new GateHook({
      store,
      redis,
      prefix: p,
      log: pino({ level: 'silent' }),
      key: await readSigningKey(keys.privatePem),
    });
    expect(await legacyHook.attestations.get(id)).toMatchObject({
      sequence: 0,
      status: 'valid',
      envelope: a0.envelope,
      state_version: null,
    });
    expect((await legacyHook.attestations.latestForRun('digits-run'))?.sequence).toBe(0);
    // still PASSED: the stored one stands, nothing new is signed
    await legacyHook.observe(state, null);
    expect(await legacyHook.attestations.history(id)).toHaveLength(1);
    // revoked, then PASSED again: sequence 1 beside it
    expect(await legacyHook.attestations.revokeAttestation(id, 'left PASSED')).toBe('revoked');
    await legacyHook.observe(state, null);
    expect((await legacyHook.attestations.history(id)).map((a) => `${a.sequence}:${a.status}`)).toEqual([
      '0:revoked',
      '1:valid',
    ]);
    expect(await redis.exists(`${p}:attest:${id}:1`, `${p}:attest:latest:${id}`)).toBe(2);
  });
});
