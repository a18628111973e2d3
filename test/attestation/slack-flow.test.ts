import { createHmac } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { envelopeText } from '../../src/attestation/sign.js';
import { AttestationStore } from '../../src/store/attestations.js';
import { verifyWebhookSignature } from '../../src/webhooks/sign.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/fake-slack.js';
import { useWebhookReceiver } from '../helpers/webhook-receiver.js';
import { buttons, DEFAULT_CONFIG, type Harness, liveEvaluation, NOTIFY, U, useHarness } from '../slack/harness.js';
import { independentlyVerify, type KeyFiles, makeKeyFiles, signingGateHook } from './helpers.js';

const HOOK_SECRET = 'whsec-0123456789abcdef-test';

/** The file part of a multipart/form-data upload body as the fake Slack recorded it (raw). */
function uploadedFile(raw: string): string {
  const boundary = /^--(\S+)\r\n/.exec(raw)?.[1];
  if (!boundary) return raw;
  const part = raw
    .split(`--${boundary}`)
    .find((p) => /content-disposition: form-data; name="[^"]*"; filename=/i.test(p));
  if (!part) throw new Error(`no file part in the upload: ${raw.slice(0, 300)}`);
  return part.slice(part.indexOf('\r\n\r\n') + 4).replace(/\r\n$/, '');
}

async function approveAll(h: Harness, value: string): Promise<void> {
  await h.click(U.lead2, 'signoff_approve_technical', value);
  await waitFor(() => h.ephemeralsTo(U.lead2).some((t) => t.includes('You approved')), 'technical approval');
  await h.click(U.prod, 'signoff_approve_product', value);
  await waitFor(() => h.ephemeralsTo(U.prod).some((t) => t.includes('You approved')), 'product approval');
  await h.click(U.comp, 'signoff_approve_compliance', value);
  await waitFor(() => h.ephemeralsTo(U.comp).some((t) => t.includes('You approved')), 'compliance approval');
}

describe('a PASSED gate through Slack yields a signed attestation; webhooks; revocation', () => {
  /** Answers 500 to the first two attempts of each delivery, then 200. */
  const receiver = useWebhookReceiver({ failFirst: 2, path: '/hooks/readiness?token=not-logged' });
  let keys: KeyFiles;
  const h = useHarness(async () => {
    keys = await makeKeyFiles();
    return {
      config: {
        ...DEFAULT_CONFIG,
        webhooks: [{ url: receiver.url, events: ['passed', 'blocked', 'revoked'], secret_env: 'TEST_HOOK_SECRET' }],
      },
      gateHook: signingGateHook(keys.privatePem, 'TEST_HOOK_SECRET', HOOK_SECRET),
    };
  });
  let attestations: AttestationStore;
  beforeAll(() => {
    attestations = new AttestationStore(h.redis, { prefix: h.prefix });
  });

  it('attests, attaches, verifies, delivers signed webhooks with retries, and revokes on a later rejection', async () => {
    const { state, value } = await liveEvaluation(h);
    const id = state.evaluation.id;
    await approveAll(h, value);

    // the PASSED notification, and the envelope uploaded into its thread
    const notice = await waitFor(
      () => h.fake.callsOf('chat.postMessage').find((c) => c.args.channel === NOTIFY),
      'the PASSED notification',
    );
    const complete = await waitFor(
      () =>
        h.fake
          .callsOf('files.completeUploadExternal')
          .find((c) => JSON.stringify(c.args.files).includes('Signed attestation')),
      'the attestation upload',
    );
    const noticeTs = (
      h.fake.messages.get(
        [...h.fake.messages.keys()].find((ts) => h.fake.messages.get(ts)?.channel === NOTIFY) ?? '',
      ) ?? { ts: '' }
    ).ts;
    expect(notice).toBeDefined();
    expect(complete.args.channel_id).toBe(NOTIFY);
    expect(complete.args.thread_ts).toBe(noticeTs);
    const upload = await waitFor(
      () => h.fake.uploads.find((u) => u.filename.startsWith('attestation-')),
      'the uploaded file',
    );
    expect(upload.filename).toBe(`attestation-run-${id}.intoto.json`);
    const stored = await attestations.get(id);
    expect(stored?.status).toBe('valid');
    const uploaded = uploadedFile(upload.content);
    expect(uploaded).toBe(envelopeText(stored?.envelope as NonNullable<typeof stored>['envelope']));

    // `readiness attestation <run>` prints the same envelope from the store
    const env = { REDIS_URL: inject('redisUrl'), REDIS_PREFIX: h.prefix };
    const file = path.join(keys.dir, 'slack.intoto.json');
    const printed = await runCli(['attestation', h.runName, '--output', file], { env });
    expect(printed.code).toBe(0);
    expect(await readFile(file, 'utf8')).toBe(uploaded);
    const byId = await runCli(['attestation', id], { env });
    expect(byId.stdout).toBe(uploaded);

    // verified by `readiness verify` and by an independent DSSE verifier
    const ok = await runCli([
      'verify',
      h.runDir,
      '--attestation',
      file,
      '--public-key',
      keys.publicPem,
      '--policy-digest',
      state.evaluation.policy.digest,
      '--max-age',
      '1h',
    ]);
    expect(ok.stdout).toContain('VERIFIED');
    expect(ok.code).toBe(0);
    const { statement } = independentlyVerify(uploaded, await readFile(keys.publicPem, 'utf8'));
    const predicate = statement.predicate as {
      evaluation_id: string;
      artifact_digest: string;
      signoffs: { role: string; user: string; decision: string }[];
      policy: { digest: string };
    };
    expect(predicate.evaluation_id).toBe(id);
    expect(predicate.artifact_digest).toBe(state.evaluation.digest);
    expect(predicate.policy.digest).toBe(state.evaluation.policy.digest);
    expect(predicate.signoffs.map((s) => `${s.role}:${s.user}:${s.decision}`).sort()).toEqual([
      `compliance:${U.comp}:approved`,
      `product:${U.prod}:approved`,
      `technical:${U.lead2}:approved`,
    ]);
    expect((statement.subject as unknown[]).length).toBe(state.evaluation.manifest.entries.length);

    // one changed byte of the model in the run folder: refused, naming the file
    const model = path.join(h.runDir, 'models/production_model.onnx');
    const original = await readFile(model);
    const changed = Buffer.from(original);
    changed[100] = (changed[100] as number) ^ 0xff;
    await writeFile(model, changed);
    const bad = await runCli(['verify', h.runDir, '--attestation', file, '--public-key', keys.publicPem]);
    await writeFile(model, original);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(
      /NOT VERIFIED: models\/production_model\.onnx: sha256 [0-9a-f]{64} ≠ attested [0-9a-f]{64}/,
    );

    // the passed webhook: failed twice, accepted on the third attempt; each attempt signed and audited
    const passed = await waitFor(
      () => (receiver.of('passed', id).length >= 3 ? receiver.of('passed', id) : null),
      'three attempts of the passed webhook',
    );
    expect(passed.map((r) => r.status)).toEqual([500, 500, 200]);
    for (const r of passed) {
      const ts = String(r.headers['x-readiness-request-timestamp']);
      const sig = String(r.headers['x-readiness-signature']);
      expect(sig).toBe(`v0=${createHmac('sha256', HOOK_SECRET).update(`v0:${ts}:${r.body}`).digest('hex')}`);
      expect(
        verifyWebhookSignature({ secret: HOOK_SECRET, body: r.body, timestamp: ts, signature: sig, nowMs: Date.now() }),
      ).toBe(true);
      expect(
        verifyWebhookSignature({
          secret: 'another-secret-0123456789',
          body: r.body,
          timestamp: ts,
          signature: sig,
          nowMs: Date.now(),
        }),
      ).toBe(false);
    }
    const body = JSON.parse(passed[2]?.body ?? '{}') as {
      event: string;
      gate: string;
      attestation: { status: string; envelope: unknown };
    };
    expect(body).toMatchObject({ event: 'passed', gate: 'PASSED', attestation: { status: 'valid' } });
    expect(body.attestation.envelope).toEqual(stored?.envelope);
    const attempts = await waitFor(async () => {
      const a = (await h.store.readAudit({ evaluation: id })).filter(
        (e) => e.type === 'webhook_attempt' && e.data.event === 'passed',
      );
      return a.length >= 3 ? a : null;
    }, 'the audited attempts');
    expect(attempts.map((a) => [a.data.attempt, a.data.status, a.data.ok])).toEqual([
      [1, 500, false],
      [2, 500, false],
      [3, 200, true],
    ]);
    expect(JSON.stringify(attempts)).not.toContain('not-logged');
    expect(JSON.stringify(attempts)).not.toContain(HOOK_SECRET);

    // a new evaluation of the same bytes under the same policy inherits the approvals (sign-offs
    // belong to the digests); the technical approver withdraws their approval (only they can) and
    // another technical lead rejects: the earlier attestation is revoked
    await h.command(U.requester, `run ${h.runName}`);
    const secondState = await waitFor(
      async () => {
        const s = await h.store.latestForRun(h.runName);
        return s && s.evaluation.id !== id && s.evaluation.message && s.gate === 'passed' ? s : null;
      },
      'the second evaluation, passed on the inherited approvals',
      60_000,
    );
    const second = { state: secondState };
    expect(second.state.evaluation.digest).toBe(state.evaluation.digest);
    const withdraw = await waitFor(
      () => buttons(h.message(secondState).blocks).get('signoff_withdraw_technical'),
      'the withdraw button',
    );
    await h.click(U.lead2, 'signoff_withdraw_technical', withdraw);
    const reject = await waitFor(
      () => buttons(h.message(secondState).blocks).get('signoff_reject_technical'),
      'live technical buttons after the withdrawal',
    );
    await h.click(U.tech, 'signoff_reject_technical', reject);
    const open = await waitFor(() => h.fake.callsOf('views.open').at(-1), 'the reject modal');
    await h.submitReject(
      U.tech,
      (open.args.view as { private_metadata: string }).private_metadata,
      'Latency regression found in staging',
    );
    const revoked = await waitFor(async () => {
      const a = await attestations.get(id);
      return a?.status === 'revoked' ? a : null;
    }, 'the revocation');
    expect(revoked.revoked_reason).toContain(`superseded by a rejection in evaluation ${second.state.evaluation.id}`);
    expect(revoked.revoked_reason).toContain(`technical by ${U.tech} (Latency regression found in staging)`);
    const status = await runCli(['attestation', id, '--status'], { env });
    expect(status.code).toBe(1);
    expect(JSON.parse(status.stdout)).toMatchObject({ evaluation_id: id, status: 'revoked' });
    expect(status.stderr).toContain('REVOKED');
    // the second evaluation passed on the inherited approvals and was attested too; it left PASSED
    // when the approval was withdrawn, so its attestation is revoked as well, and it is the run's latest
    const secondAttestation = await waitFor(async () => {
      const a = await attestations.get(second.state.evaluation.id);
      return a?.status === 'revoked' ? a : null;
    }, "the second evaluation's attestation, revoked");
    const printedRevoked = await runCli(['attestation', h.runName], { env });
    expect(printedRevoked.code).toBe(1);
    expect(printedRevoked.stdout).toBe(envelopeText(secondAttestation.envelope));
    const revokedHook = await waitFor(
      () => receiver.of('revoked', id).find((r) => r.status === 200),
      'the revoked webhook',
    );
    expect(JSON.parse(revokedHook.body)).toMatchObject({
      event: 'revoked',
      evaluation_id: id,
      attestation: { status: 'revoked' },
    });
    await waitFor(
      () => receiver.of('blocked', second.state.evaluation.id).find((r) => r.status === 200),
      'the blocked webhook',
    );
    expect((await attestations.get(second.state.evaluation.id))?.status).toBe('revoked');
  }, 180_000);
});
