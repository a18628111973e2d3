import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { envelopeText } from '../../src/attestation/sign.js';
import { AUTOMATED_CHECKS } from '../../src/checks/registry.js';
import { AttestationStore } from '../../src/store/attestations.js';
import { verifyWebhookSignature } from '../../src/webhooks/sign.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/fake-slack.js';
import { REPO_ROOT } from '../helpers/runs.js';
import { allButtons, submitWaiverRequest } from '../helpers/waivers.js';
import { useWebhookReceiver } from '../helpers/webhook-receiver.js';
import { blockText, buttons, DEFAULT_CONFIG, U, useHarness } from '../slack/harness.js';
import { independentlyVerify, type KeyFiles, makeKeyFiles, signingGateHook } from './helpers.js';

const HOOK_SECRET = 'whsec-waivers-0123456789abcdef';

describe('a waived check in the attestation and the waived webhook', () => {
  const receiver = useWebhookReceiver();
  let keys: KeyFiles;
  const h = useHarness(async () => {
    keys = await makeKeyFiles();
    return {
      config: {
        ...DEFAULT_CONFIG,
        policies: { team: { waivers: { 'test.target': ['technical', 'product'] } } },
        default_policy: 'team',
        webhooks: [{ url: receiver.url, events: ['waived', 'passed'], secret_env: 'TEST_HOOK_SECRET' }],
      },
      checks: AUTOMATED_CHECKS.filter((c) => !c.heavy),
      gateHook: signingGateHook(keys.privatePem, 'TEST_HOOK_SECRET', HOOK_SECRET),
    };
  });

  it('the waiver becomes effective: one signed `waived` delivery; PASSED: the predicate lists it, validates, and `readiness verify` accepts', async () => {
    expect((await h.command(U.tech, `run ${h.runName} --target 99.5`)).status).toBe(200);
    const state = await h.postedEvaluation();
    const id = state.evaluation.id;
    const request = await waitFor(() => allButtons(h.message(state).blocks).get('waiver_request'), 'button', 60_000);
    await h.click(U.tech, 'waiver_request', request);
    const modal = await waitFor(() => h.fake.callsOf('views.open').at(-1), 'the modal');
    const until = new Date(Date.now() + 14 * 86_400_000).toISOString().slice(0, 10);
    await submitWaiverRequest(
      h,
      U.tech,
      (modal.args.view as { private_metadata: string }).private_metadata,
      'Pilot accepted at 99.2%',
      until,
    );
    const value = await waitFor(() => buttons(h.message(state).blocks).get('waiver_approve_technical'), 'buttons');
    await h.click(U.lead2, 'waiver_approve_technical', value);
    await waitFor(() => h.ephemeralsTo(U.lead2).length > 0, 'tech');
    expect(receiver.requests.filter((r) => r.headers['x-readiness-event'] === 'waived')).toEqual([]);
    await h.click(U.prod, 'waiver_approve_product', value);

    // the waived event, signed like Slack's own requests, naming the waiver
    const waived = await waitFor(
      () => receiver.requests.find((r) => r.headers['x-readiness-event'] === 'waived'),
      'the waived webhook',
    );
    expect(
      verifyWebhookSignature({
        secret: HOOK_SECRET,
        body: waived.body,
        timestamp: waived.headers['x-readiness-request-timestamp'] as string,
        signature: waived.headers['x-readiness-signature'] as string,
        nowMs: Date.now(),
      }),
    ).toBe(true);
    const body = JSON.parse(waived.body) as {
      event: string;
      evaluation_id: string;
      gate: string;
      waiver: string;
      waivers: { id: string; check: string; reason: string; requested_by: string; approvals: { user: string }[] }[];
    };
    expect(body).toMatchObject({ event: 'waived', evaluation_id: id, gate: 'PENDING' });
    expect(body.waivers).toEqual([
      expect.objectContaining({
        id: body.waiver,
        check: 'test.target',
        reason: 'Pilot accepted at 99.2%',
        requested_by: U.tech,
      }),
    ]);
    expect(body.waivers[0]?.approvals.map((a) => a.user)).toEqual([U.lead2, U.prod]);
    const audit = await h.store.readAudit({ evaluation: id });
    expect(audit.some((a) => a.type === 'webhook_attempt' && a.data.event === 'waived' && a.data.ok === true)).toBe(
      true,
    );

    // sign-offs, PASSED, the attestation
    const sign = await waitFor(() => buttons(h.message(state).blocks).get('signoff_approve_technical'), 'sign-off');
    await h.click(U.lead2, 'signoff_approve_technical', sign);
    await h.click(U.prod, 'signoff_approve_product', sign);
    await h.click(U.comp, 'signoff_approve_compliance', sign);
    const attestations = new AttestationStore(h.redis, { prefix: h.prefix });
    const stored = await waitFor(() => attestations.get(id), 'the attestation');
    const envelope = envelopeText(stored.envelope);
    const { statement } = independentlyVerify(envelope, await readFile(keys.publicPem, 'utf8'));
    const predicate = statement.predicate as {
      waivers: Record<string, unknown>[];
      checks: { id: string; status: string }[];
    };
    expect(predicate.checks.find((c) => c.id === 'test.target')?.status).toBe('fail');
    expect(predicate.waivers).toEqual([
      expect.objectContaining({
        check: 'test.target',
        reason: 'Pilot accepted at 99.2%',
        requested_by: U.tech,
        approved_by: [U.lead2, U.prod],
        approvals: [
          expect.objectContaining({ role: 'technical', user: U.lead2 }),
          expect.objectContaining({ role: 'product', user: U.prod }),
        ],
        waiver_id: body.waiver,
      }),
    ]);
    expect(
      String(predicate.waivers[0]?.expires_at).startsWith(
        new Date(Date.parse(until) + 86_400_000).toISOString().slice(0, 10),
      ),
    ).toBe(true);
    const { Ajv2020 } = await import('ajv/dist/2020.js');
    const schema = JSON.parse(await readFile(path.join(REPO_ROOT, 'docs/attestation-predicate.schema.json'), 'utf8'));
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
    expect(validate(statement.predicate), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...(statement.predicate as object), waivers: [{ check: 'test.target' }] })).toBe(false);

    // a deploy pipeline still verifies the bytes
    const file = path.join(keys.dir, 'waived.intoto.json');
    await writeFile(file, envelope);
    const ok = await runCli(['verify', h.runDir, '--attestation', file, '--public-key', keys.publicPem]);
    expect(ok.stdout).toContain('VERIFIED');
    expect(ok.code).toBe(0);
    // the waived event went out once, the passed one too
    await waitFor(() => receiver.requests.some((r) => r.headers['x-readiness-event'] === 'passed'), 'passed');
    expect(receiver.requests.filter((r) => r.headers['x-readiness-event'] === 'waived')).toHaveLength(1);
  });
});

describe('a PASSED gate that stood on a waiver, when the waiver expires', () => {
  const DAY = 86_400_000;
  /** The app store's clock: real time plus what the test moved it by. */
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);
  let keys: KeyFiles;
  const h = useHarness(async () => {
    keys = await makeKeyFiles();
    return {
      config: {
        ...DEFAULT_CONFIG,
        policies: { team: { waivers: { 'test.target': ['technical', 'product'] } } },
        default_policy: 'team',
      },
      checks: AUTOMATED_CHECKS.filter((c) => !c.heavy),
      gateHook: signingGateHook(keys.privatePem, 'UNUSED_HOOK_SECRET', HOOK_SECRET),
      now,
    };
  });

  it('is still watched: with no click the gate goes BLOCKED, the message says so, and the attestation is revoked', async () => {
    expect((await h.command(U.tech, `run ${h.runName} --target 99.5`)).status).toBe(200);
    const state = await h.postedEvaluation();
    const id = state.evaluation.id;
    const request = await waitFor(() => allButtons(h.message(state).blocks).get('waiver_request'), 'button', 60_000);
    await h.click(U.tech, 'waiver_request', request);
    const modal = await waitFor(() => h.fake.callsOf('views.open').at(-1), 'the modal');
    await submitWaiverRequest(
      h,
      U.tech,
      (modal.args.view as { private_metadata: string }).private_metadata,
      'Pilot accepted at 99.2%',
      new Date(now().getTime() + 2 * DAY).toISOString().slice(0, 10),
    );
    const value = await waitFor(() => buttons(h.message(state).blocks).get('waiver_approve_technical'), 'buttons');
    await h.click(U.lead2, 'waiver_approve_technical', value);
    await h.click(U.prod, 'waiver_approve_product', value);
    const sign = await waitFor(() => buttons(h.message(state).blocks).get('signoff_approve_technical'), 'sign-off');
    await h.click(U.lead2, 'signoff_approve_technical', sign);
    await h.click(U.prod, 'signoff_approve_product', sign);
    await h.click(U.comp, 'signoff_approve_compliance', sign);
    await waitFor(() => blockText(h.message(state).blocks).includes('✅ PASSED'), 'PASSED on the gate message');
    const attestations = new AttestationStore(h.redis, { prefix: h.prefix });
    await waitFor(async () => (await attestations.get(id))?.status === 'valid', 'the attestation');
    await h.runtime.renderer.idle();

    // three days on: the app notices on its periodic look at the evaluations it watches
    offsetMs = 3 * DAY;
    await waitFor(() => {
      const text = blockText(h.message(state).blocks);
      return text.includes('*Waiver expired*') && text.includes('BLOCKED');
    }, 'the expired waiver on the gate message');
    expect((await h.store.getState(id))?.gate).toBe('blocked');
    const revoked = await waitFor(async () => {
      const a = await attestations.get(id);
      return a?.status === 'revoked' ? a : null;
    }, 'the revocation');
    expect(revoked.revoked_reason).toBe('the gate left PASSED: now BLOCKED');
  });
});
