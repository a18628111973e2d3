import type { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GateHook } from '../../src/attestation/gate-hook.js';
import { readPublicKey, readSigningKey } from '../../src/attestation/keys.js';
import { verifyAttestation } from '../../src/attestation/verify.js';
import { SIGNOFF_ROLES } from '../../src/policy/schema.js';
import { EvaluationStore } from '../../src/store/redis-store.js';
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
