/**
 * Webhook deliveries as BullMQ jobs: one job per (evaluation, event, webhook), so an event seen
 * twice is delivered once; retries with exponential backoff; every attempt audited. A
 * pending-too-long event is a delayed probe job that looks at the evaluation when it fires.
 */
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { bullPrefix, QUEUE_NAMES } from '../queue/names.js';
import type { AttestationStore, StoredAttestation } from '../store/attestations.js';
import { type EvaluationStore, reportFromState } from '../store/redis-store.js';
import type { EvaluationState } from '../store/types.js';
import { displayUrl, type ResolvedWebhook, WEBHOOK_EVENTS, type WebhookEvent } from './config.js';
import { webhookBody } from './payload.js';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, webhookSignature } from './sign.js';

const jobId = z.string().regex(/^[A-Za-z0-9_-]{1,200}$/);

export const WebhookJobSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('deliver'),
    hook: jobId,
    event: z.enum(WEBHOOK_EVENTS),
    evaluationId: jobId,
    deliveryId: jobId,
    body: z.string(),
  }),
  z.strictObject({ kind: z.literal('probe'), hook: jobId, evaluationId: jobId }),
]);
export type WebhookJob = z.infer<typeof WebhookJobSchema>;

/** Events that happen once per PASSED period of an evaluation (delivery id with the attestation's sequence). */
const ROUNDED: ReadonlySet<WebhookEvent> = new Set(['passed', 'revoked']);

export interface DispatcherOptions {
  redis: Redis;
  prefix: string;
  hooks: readonly ResolvedWebhook[];
  store: EvaluationStore;
  attestations: AttestationStore;
  log: Logger;
  /** First retry delay; doubles per attempt (default 5 s). */
  backoffMs?: number;
  /** Per-attempt request timeout (default 10 s). */
  timeoutMs?: number;
  now?: () => number;
  fetch?: typeof fetch;
}

export class WebhookDispatcher {
  readonly queue: Queue<WebhookJob>;
  private worker: Worker<WebhookJob> | null = null;
  private readonly hooks: Map<string, ResolvedWebhook>;
  private readonly now: () => number;

  constructor(private readonly opts: DispatcherOptions) {
    this.queue = new Queue<WebhookJob>(QUEUE_NAMES.webhooks, {
      connection: opts.redis,
      prefix: bullPrefix(opts.prefix),
      defaultJobOptions: {
        removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
        removeOnFail: { age: 30 * 24 * 3600 },
      },
    });
    this.hooks = new Map(opts.hooks.map((h) => [h.id, h]));
    this.now = opts.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.hooks.size > 0;
  }

  /**
   * Queues `event` of the evaluation to every webhook subscribed to it, once per evaluation, event
   * and webhook, and for `passed` and `revoked` once per attestation: a gate that passes again
   * after a re-opening is announced again with its new attestation (without a signing key, once
   * per re-opening). The body carries `about.attestation` when given, else the evaluation's newest.
   */
  async dispatch(
    event: WebhookEvent,
    state: EvaluationState,
    about: { waiverId?: string; attestation?: StoredAttestation | null } = {},
  ): Promise<void> {
    const targets = [...this.hooks.values()].filter((h) => h.events.includes(event));
    if (targets.length === 0) return;
    const { waiverId } = about;
    const attestation =
      about.attestation !== undefined ? about.attestation : await this.opts.attestations.get(state.evaluation.id);
    const report = reportFromState(state);
    const round = ROUNDED.has(event) ? (attestation?.sequence ?? state.evaluation.reopened ?? 0) : 0;
    for (const hook of targets) {
      // a waived event is about one waiver: one delivery per waiver
      const deliveryId = `${state.evaluation.id}__${event}${round > 0 ? `-${round}` : ''}${waiverId ? `__${waiverId}` : ''}__${hook.id}`;
      const body = JSON.stringify(
        webhookBody({
          event,
          deliveryId,
          occurredAt: new Date(this.now()),
          state,
          report,
          attestation,
          ...(waiverId ? { waiverId } : {}),
        }),
      );
      const data = WebhookJobSchema.parse({
        kind: 'deliver',
        hook: hook.id,
        event,
        evaluationId: state.evaluation.id,
        deliveryId,
        body,
      });
      await this.queue.add(event, data, {
        jobId: deliveryId,
        attempts: hook.maxAttempts,
        backoff: { type: 'exponential', delay: this.opts.backoffMs ?? 5000 },
      });
    }
  }

  /** For webhooks that want pending-too-long: look at the evaluation again once its time is up. */
  async schedulePendingProbe(state: EvaluationState): Promise<void> {
    const created = Date.parse(state.evaluation.created_at);
    for (const hook of this.hooks.values()) {
      if (!hook.events.includes('pending-too-long')) continue;
      const delay = Math.max(0, created + hook.pendingTooLongMs - this.now());
      const data = WebhookJobSchema.parse({ kind: 'probe', hook: hook.id, evaluationId: state.evaluation.id });
      await this.queue.add('probe', data, {
        jobId: `${state.evaluation.id}__probe__${hook.id}`,
        delay,
        attempts: 3,
        backoff: { type: 'exponential', delay: 1000 },
      });
    }
  }

  async start(): Promise<void> {
    if (this.worker || !this.enabled) return;
    this.worker = new Worker<WebhookJob>(QUEUE_NAMES.webhooks, (job) => this.process(job), {
      connection: this.opts.redis,
      prefix: bullPrefix(this.opts.prefix),
      concurrency: 4,
    });
    this.worker.on('error', (err) => this.opts.log.error({ err }, 'webhook worker error'));
    await this.worker.waitUntilReady();
  }

  async close(): Promise<void> {
    await this.worker?.close();
    this.worker = null;
    await this.queue.close();
  }

  private async process(job: Job<WebhookJob>): Promise<void> {
    const parsed = WebhookJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError('malformed webhook job');
    const data = parsed.data;
    const hook = this.hooks.get(data.hook);
    if (!hook) throw new UnrecoverableError(`webhook ${data.hook} is no longer configured`);
    if (data.kind === 'probe') {
      const state = await this.opts.store.getState(data.evaluationId);
      if (state && state.gate === 'pending' && !state.evaluation.superseded_by)
        await this.dispatch('pending-too-long', state);
      return;
    }
    await this.deliver(hook, data, job.attemptsMade + 1);
  }

  private async deliver(
    hook: ResolvedWebhook,
    data: Extract<WebhookJob, { kind: 'deliver' }>,
    attempt: number,
  ): Promise<void> {
    const timestamp = Math.floor(this.now() / 1000);
    const started = this.now();
    const entry: Record<string, unknown> = {
      webhook: hook.id,
      url: displayUrl(hook.url),
      event: data.event,
      delivery: data.deliveryId,
      attempt,
      max_attempts: hook.maxAttempts,
    };
    let status: number | null = null;
    try {
      const res = await (this.opts.fetch ?? fetch)(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: webhookSignature(hook.secret, timestamp, data.body),
          [TIMESTAMP_HEADER]: String(timestamp),
          [EVENT_HEADER]: data.event,
          [DELIVERY_HEADER]: data.deliveryId,
        },
        body: data.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
    } catch (err) {
      await this.opts.store.audit('webhook_attempt', data.evaluationId, 'webhooks', {
        ...entry,
        ok: false,
        error: (err as Error).message,
        ms: this.now() - started,
      });
      throw err;
    }
    const ok = status >= 200 && status < 300;
    await this.opts.store.audit('webhook_attempt', data.evaluationId, 'webhooks', {
      ...entry,
      ok,
      status,
      ms: this.now() - started,
    });
    if (ok) return;
    // 410 Gone: the receiver says it will never want this; anything else may be transient.
    if (status === 410) throw new UnrecoverableError(`${displayUrl(hook.url)} answered 410 Gone`);
    throw new Error(`${displayUrl(hook.url)} answered HTTP ${status}`);
  }
}
