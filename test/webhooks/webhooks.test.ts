import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseReadinessConfig } from '../../src/config/readiness-config.js';
import { AttestationStore, type StoredAttestation } from '../../src/store/attestations.js';
import { EvaluationStore } from '../../src/store/redis-store.js';
import { displayUrl, type ResolvedWebhook, resolveWebhooks } from '../../src/webhooks/config.js';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher.js';
import { verifyWebhookSignature, webhookSignature } from '../../src/webhooks/sign.js';
import { waitFor } from '../helpers/fake-slack.js';
import { REPO_ROOT } from '../helpers/runs.js';
import { connect, describeRun, uniquePrefix } from '../helpers/store.js';

describe('webhook configuration', () => {
  it('takes a secret from an environment variable or a file, never inline', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'readiness-hook-'));
    const file = path.join(dir, 'secret');
    await writeFile(file, 'file-secret-0123456789abcdef\n');
    const config = parseReadinessConfig(
      `webhooks:\n  - url: https://deploy.example.com/hook?token=t\n    events: [passed, revoked]\n    secret_env: DEPLOY_HOOK_SECRET\n  - url: https://audit.example.com/gate\n    events: [blocked, pending-too-long]\n    secret_file: ${file}\n    pending_too_long_after: 2d\n`,
      'r.yml',
    );
    const hooks = await resolveWebhooks(config.webhooks, (n) =>
      n === 'DEPLOY_HOOK_SECRET' ? 'env-secret-0123456789abcdef' : undefined,
    );
    expect(hooks.map((h) => [h.secret, h.pendingTooLongMs, h.maxAttempts])).toEqual([
      ['env-secret-0123456789abcdef', 86_400_000, 8],
      ['file-secret-0123456789abcdef', 172_800_000, 8],
    ]);
    await expect(resolveWebhooks(config.webhooks, () => undefined)).rejects.toThrow(
      'webhooks[0].secret_env: DEPLOY_HOOK_SECRET is not set',
    );
    expect(() =>
      parseReadinessConfig(
        'webhooks:\n  - url: https://x.example.com/\n    events: [passed]\n    secret: hunter2hunter2hunter2\n',
        'r.yml',
      ),
    ).toThrow(/webhooks\.0\.secret: inline secrets are not accepted/);
    expect(() =>
      parseReadinessConfig(
        'webhooks:\n  - url: https://x.example.com/\n    events: [passed]\n    secret: hunter2hunter2hunter2\n',
        'r.yml',
      ),
    ).not.toThrow(/hunter2/);
    expect(() =>
      parseReadinessConfig(
        'webhooks:\n  - url: https://x.example.com/\n    events: [deployed]\n    secret_env: X\n',
        'r.yml',
      ),
    ).toThrow(/webhooks\.0\.events\.0/);
    expect(() =>
      parseReadinessConfig(
        'webhooks:\n  - url: https://u:p@x.example.com/\n    events: [passed]\n    secret_env: X\n',
        'r.yml',
      ),
    ).toThrow(/without credentials/);
    expect(() =>
      parseReadinessConfig('webhooks:\n  - url: https://x.example.com/\n    events: [passed]\n', 'r.yml'),
    ).toThrow(/exactly one of secret_env or secret_file/);
    expect(displayUrl('https://deploy.example.com/hook?token=t')).toBe('https://deploy.example.com/hook');
  });

  it('signatures are Slack-style and refuse a stale timestamp or another body', () => {
    const body = '{"event":"passed"}';
    const sig = webhookSignature('s3cret-s3cret-s3cret', 1_700_000_000, body);
    expect(sig).toMatch(/^v0=[0-9a-f]{64}$/);
    const base = { secret: 's3cret-s3cret-s3cret', body, timestamp: '1700000000', signature: sig };
    expect(verifyWebhookSignature({ ...base, nowMs: 1_700_000_100_000 })).toBe(true);
    expect(verifyWebhookSignature({ ...base, nowMs: 1_700_000_301_000 })).toBe(false);
    expect(verifyWebhookSignature({ ...base, body: '{"event":"blocked"}', nowMs: 1_700_000_000_000 })).toBe(false);
    expect(verifyWebhookSignature({ ...base, timestamp: undefined, nowMs: 1_700_000_000_000 })).toBe(false);
  });
});

describe('the receiver snippet in docs/attestation.md', () => {
  it('accepts our signature and refuses a changed body, another secret and a stale timestamp', async () => {
    const doc = await readFile(path.join(REPO_ROOT, 'docs/attestation.md'), 'utf8');
    const code = /```js\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(code).toBeDefined();
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'readiness-snippet-')), 'receiver.mjs');
    await writeFile(file, code as string);
    const { isFromReadinessGate } = (await import(pathToFileURL(file).href)) as {
      isFromReadinessGate: (b: string, h: Record<string, string>, s: string, n?: number) => boolean;
    };
    const body = '{"event":"passed","evaluation_id":"ev-1"}';
    const ts = 1_700_000_000;
    const headers = {
      'x-readiness-request-timestamp': String(ts),
      'x-readiness-signature': webhookSignature('receiver-secret-0123456789', ts, body),
    };
    expect(isFromReadinessGate(body, headers, 'receiver-secret-0123456789', ts * 1000 + 1000)).toBe(true);
    expect(isFromReadinessGate(`${body} `, headers, 'receiver-secret-0123456789', ts * 1000)).toBe(false);
    expect(isFromReadinessGate(body, headers, 'other-secret-0123456789ab', ts * 1000)).toBe(false);
    expect(isFromReadinessGate(body, headers, 'receiver-secret-0123456789', (ts + 301) * 1000)).toBe(false);
  });
});

describe('webhook delivery', () => {
  let redis: Redis;
  let server: Server;
  let url = '';
  const got: { path: string; event: string; status: number }[] = [];
  let answer = (_path: string): number => 200;

  beforeAll(async () => {
    redis = connect(inject('redisUrl'));
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const status = answer(req.url ?? '');
        got.push({ path: req.url ?? '', event: String(req.headers['x-readiness-event']), status });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await redis.quit();
  });

  async function setup(hooks: ResolvedWebhook[]) {
    const prefix = uniquePrefix('hooks');
    const store = new EvaluationStore(redis, { prefix });
    const dispatcher = new WebhookDispatcher({
      redis,
      prefix,
      hooks,
      store,
      attestations: new AttestationStore(redis, { prefix }),
      log: pino({ level: 'silent' }),
      backoffMs: 20,
    });
    await dispatcher.start();
    const run = await describeRun();
    const { evaluation } = await store.createEvaluation({
      run: 'digits-run',
      manifest: run.manifest,
      policy: run.policy,
      requester: 'U0REQ',
      channel: null,
    });
    const state = await store.getState(evaluation.id);
    return { store, dispatcher, state: state as NonNullable<typeof state> };
  }

  const hook = (p: string, over: Partial<ResolvedWebhook> = {}): ResolvedWebhook => ({
    id: p.replace(/\W/g, ''),
    url: `${url}${p}`,
    events: ['passed', 'blocked', 'pending-too-long'],
    secret: 'secret-0123456789abcdef',
    pendingTooLongMs: 100,
    maxAttempts: 4,
    ...over,
  });

  it('sends pending-too-long when an evaluation is still PENDING after its time, once', async () => {
    const { dispatcher, state, store } = await setup([hook('/pending')]);
    await dispatcher.schedulePendingProbe(state);
    await dispatcher.schedulePendingProbe(state);
    await waitFor(
      () => got.some((g) => g.path === '/pending' && g.event === 'pending-too-long'),
      'the pending-too-long delivery',
    );
    const attempts = await waitFor(async () => {
      const a = (await store.readAudit({ evaluation: state.evaluation.id })).filter(
        (e) => e.type === 'webhook_attempt',
      );
      return a.length > 0 ? a : null;
    }, 'the audit');
    expect(attempts.map((a) => a.data.event)).toEqual(['pending-too-long']);
    await dispatcher.close();
    expect(got.filter((g) => g.path === '/pending')).toHaveLength(1);
  });

  it('delivers passed and revoked once per attestation (its sequence in the delivery id), without one once per re-opening', async () => {
    answer = () => 200;
    const { dispatcher, state, store } = await setup([hook('/rounds', { events: ['passed', 'revoked'] })]);
    const id = state.evaluation.id;
    const attestation = (sequence: number, status: 'valid' | 'revoked'): StoredAttestation => ({
      evaluation_id: id,
      sequence,
      run: 'digits-run',
      envelope: { payloadType: 'application/vnd.in-toto+json', payload: `cGF5bG9hZC0${sequence}`, signatures: [] },
      keyid: 'k',
      artifact_digest: state.evaluation.digest,
      policy_digest: state.evaluation.policy.digest,
      passed_at: '2026-11-01T09:00:00.000Z',
      issued_at: '2026-11-01T09:00:00.000Z',
      state_version: sequence,
      status,
      revoked_at: status === 'revoked' ? '2026-11-02T09:00:00.000Z' : null,
      revoked_reason: status === 'revoked' ? 'the gate left PASSED: now PENDING' : null,
      revoked_version: status === 'revoked' ? sequence + 1 : null,
    });
    await dispatcher.dispatch('passed', state, { attestation: attestation(0, 'valid') });
    await dispatcher.dispatch('passed', state, { attestation: attestation(0, 'valid') });
    await dispatcher.dispatch('revoked', state, { attestation: attestation(0, 'revoked') });
    await dispatcher.dispatch('passed', state, { attestation: attestation(1, 'valid') });
    await dispatcher.dispatch('revoked', state, { attestation: attestation(1, 'revoked') });
    await dispatcher.dispatch('revoked', state, { attestation: attestation(1, 'revoked') });
    // no signing key: the evaluation's re-open count tells the rounds apart
    await dispatcher.dispatch(
      'passed',
      { ...state, evaluation: { ...state.evaluation, reopened: 2 } },
      { attestation: null },
    );
    const deliveries = await waitFor(async () => {
      const a = (await store.readAudit({ evaluation: id })).filter((e) => e.type === 'webhook_attempt');
      return a.length >= 5 ? a.map((e) => String(e.data.delivery)).sort() : null;
    }, 'five deliveries');
    // the repeated events were never queued: one job per delivery id
    const jobs = await dispatcher.queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed']);
    expect(jobs.map((j) => j.id).sort()).toEqual(deliveries);
    await dispatcher.close();
    expect(deliveries).toEqual(
      [
        `${id}__passed__rounds`,
        `${id}__passed-1__rounds`,
        `${id}__passed-2__rounds`,
        `${id}__revoked__rounds`,
        `${id}__revoked-1__rounds`,
      ].sort(),
    );
    expect(got.filter((g) => g.path === '/rounds')).toHaveLength(5);
  });

  it('gives up at once on 410 Gone and after max_attempts otherwise, auditing each attempt', async () => {
    answer = (p) => (p === '/gone' ? 410 : p === '/down' ? 503 : 200);
    const { dispatcher, state, store } = await setup([
      hook('/gone', { events: ['blocked'] }),
      hook('/down', { events: ['blocked'], maxAttempts: 3 }),
    ]);
    await dispatcher.dispatch('blocked', state);
    await dispatcher.dispatch('blocked', state);
    const audit = await waitFor(async () => {
      const a = (await store.readAudit({ evaluation: state.evaluation.id })).filter(
        (e) => e.type === 'webhook_attempt',
      );
      return a.filter((e) => e.data.url === `${url}/down`).length >= 3 ? a : null;
    }, 'three attempts at /down');
    await new Promise((r) => setTimeout(r, 300));
    await dispatcher.close();
    expect(got.filter((g) => g.path === '/gone')).toHaveLength(1);
    expect(got.filter((g) => g.path === '/down')).toHaveLength(3);
    expect(audit.filter((e) => e.data.url === `${url}/gone`).map((e) => e.data.status)).toEqual([410]);
  });
});
