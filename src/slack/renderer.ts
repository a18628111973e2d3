import type { Logger } from 'pino';
import type { GateObserver } from '../attestation/gate-hook.js';
import { isSettled, isTerminal } from '../gate/terminal.js';
import type { GateMetrics } from '../observability/metrics.js';
import { reportFromState } from '../store/redis-store.js';
import type { EvaluationState, SlackMessageRef } from '../store/types.js';
import { renderGateMessage } from './blocks/gate-message.js';
import type { RenderLedger } from './ledger.js';
import { GateNotifier, noticeMark } from './render/notifier.js';
import {
  CoalescingScheduler,
  type FailureDecision,
  type FlushControl,
  REAL_TIMERS,
  type Timers,
} from './render/scheduler.js';
import {
  type ChatClient,
  GATE_MESSAGE_EVENT,
  PERMANENT,
  type PostedRef,
  type SlackMessageContent,
  SlackWriter,
  slackErrorCode,
} from './render/slack-writer.js';

export type { RenderLedger } from './ledger.js';
export { redisRenderLedger } from './ledger.js';
export type { Timers } from './render/scheduler.js';
export type { ChatClient } from './render/slack-writer.js';
export { GATE_MESSAGE_EVENT, GATE_NOTICE_EVENT } from './render/slack-writer.js';

/** The store calls the renderer needs. */
export interface RendererStore {
  getState(evaluationId: string): Promise<EvaluationState | null>;
  setMessageRef(evaluationId: string, ref: SlackMessageRef, actor?: string): Promise<number>;
  /** The current versions of these evaluations (null: gone), in one go however many. */
  versions(evaluationIds: readonly string[]): Promise<(number | null)[]>;
  listOpen(limit?: number): Promise<EvaluationState[]>;
  listRecent(limit?: number): Promise<EvaluationState[]>;
}

export interface RendererOptions {
  store: RendererStore;
  ledger: RenderLedger;
  /** A client that rejects rate-limited calls (rejectRateLimitedCalls) so each message backs off on its own. */
  client: ChatClient;
  log: Logger;
  /** Channel told about PASSED / BLOCKED (defaults to the evaluation's channel). */
  notificationChannel?: string | undefined;
  /** At most one chat.update per message per this many ms (default 1000). */
  minIntervalMs?: number;
  /** How often watched evaluations are checked for a newer version (safety net for missed events). */
  pollMs?: number;
  timers?: Timers;
  /** Slack API errors, rate-limit waits and settled gate outcomes are counted here. */
  metrics?: GateMetrics | undefined;
  /** Told every rendered state and the notification just posted (attestations, revocation, webhooks). */
  gateObserver?: GateObserver | undefined;
  /** Who this renderer is, for the cross-process claim on a first post (default host/pid/random). */
  owner?: string;
  /**
   * How long one process may hold the right to make a first post (default 30 s): longer than a
   * post and the history lookup take (bounded by the client's timeout), so a live holder never
   * loses it; a killed holder's claim expires after it.
   */
  postClaimMs?: number;
  /**
   * Asks approvers once sign-off opens (src/slack/asking.ts): built from the renderer's Slack
   * writer and notifier, told every state rendered.
   */
  asking?: ((parts: RenderParts) => StateObserver) | undefined;
}

/** The renderer's parts other Slack writers of the app share (one post-at-most-once ledger). */
export interface RenderParts {
  writer: SlackWriter;
  notifier: GateNotifier;
  ledger: RenderLedger;
}

export interface StateObserver {
  observe(state: EvaluationState): Promise<void>;
}

/**
 * Keeps every gate message equal to its evaluation's stored state. Changes are coalesced: at most
 * one chat.update per message per `minIntervalMs`; a 429 pauses that message for Retry-After
 * seconds and the latest state is sent afterwards. Rendering always reads the store, never an
 * event's payload, so a late or repeated event cannot render an old state.
 */
export class GateRenderer {
  private readonly scheduler: CoalescingScheduler;
  private readonly writer: SlackWriter;
  private readonly notifier: GateNotifier;
  private readonly watched = new Set<string>();
  private readonly minIntervalMs: number;
  private readonly pollMs: number;
  private readonly timers: Timers;
  private pollTimer: unknown = null;
  private stopped = false;
  /** Told every state rendered (asking approvers), when configured. */
  readonly asker: StateObserver | null;
  /** chat.update / chat.postMessage calls made, per evaluation (for the bench). */
  readonly calls = new Map<string, { post: number; update: number; notify: number }>();

  constructor(private readonly opts: RendererOptions) {
    this.minIntervalMs = opts.minIntervalMs ?? 1000;
    this.pollMs = opts.pollMs ?? 2000;
    this.timers = opts.timers ?? REAL_TIMERS;
    this.scheduler = new CoalescingScheduler({
      minIntervalMs: this.minIntervalMs,
      timers: this.timers,
      run: (id, control) => this.renderOnce(id, control),
      onFailure: (id, err, failures) => this.onFailure(id, err, failures),
      retain: (id) => this.watched.has(id),
    });
    this.writer = new SlackWriter({
      client: opts.client,
      ledger: opts.ledger,
      log: opts.log,
      now: () => this.timers.now(),
      metrics: opts.metrics,
      owner: opts.owner,
      postClaimMs: opts.postClaimMs,
    });
    this.notifier = new GateNotifier({
      writer: this.writer,
      ledger: opts.ledger,
      log: opts.log,
      notificationChannel: opts.notificationChannel,
      metrics: opts.metrics,
      onPosted: (id) => this.count(id, 'notify'),
    });
    this.asker = opts.asking?.({ writer: this.writer, notifier: this.notifier, ledger: opts.ledger }) ?? null;
  }

  /** Re-renders open (and recently changed) evaluations to their current state, then polls as a safety net. */
  async start(): Promise<void> {
    this.stopped = false;
    this.scheduler.start();
    const seen = new Set<string>();
    for (const s of [...(await this.opts.store.listOpen()), ...(await this.opts.store.listRecent(100))]) {
      if (seen.has(s.evaluation.id)) continue;
      seen.add(s.evaluation.id);
      const rendered = await this.opts.ledger.renderedVersion(s.evaluation.id);
      const notified = await this.opts.ledger.notifiedGate(s.evaluation.id);
      const needsNotice =
        isSettled(s) && !s.evaluation.superseded_by && s.gate !== 'pending' && notified !== noticeMark(s);
      if (!isTerminal(s)) this.watched.add(s.evaluation.id);
      if (rendered < s.evaluation.version || needsNotice || (!s.evaluation.message && s.evaluation.channel))
        this.schedule(s.evaluation.id);
    }
    this.armPoll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pollTimer) this.timers.clearTimeout(this.pollTimer);
    this.pollTimer = null;
    await this.scheduler.stop();
  }

  /** Watch an evaluation (e.g. one just created) until it is terminal. */
  watch(evaluationId: string): void {
    if (this.scheduler.isAbandoned(evaluationId)) return;
    this.watched.add(evaluationId);
    this.schedule(evaluationId);
  }

  /** The evaluation changed: render it soon (coalesced). */
  schedule(evaluationId: string): void {
    this.scheduler.schedule(evaluationId);
  }

  /**
   * Posts a notice about one evaluation where its outcomes go (its notification thread), at most
   * once per `key`; false when there is no evaluation or no channel, or another process holds it.
   */
  async announce(evaluationId: string, key: string, msg: SlackMessageContent): Promise<boolean> {
    const state = await this.opts.store.getState(evaluationId);
    if (!state) return false;
    return (await this.notifier.postAbout(state, key, 'outcome', msg)) !== null;
  }

  /** Resolves once nothing is scheduled or in flight (tests, shutdown). */
  idle(): Promise<void> {
    return this.scheduler.idle();
  }

  private count(id: string, kind: 'post' | 'update' | 'notify'): void {
    const c = this.calls.get(id) ?? { post: 0, update: 0, notify: 0 };
    c[kind]++;
    this.calls.set(id, c);
  }

  /** Rate limits wait for Retry-After; permanent errors give the message up; the rest back off. */
  private onFailure(id: string, err: unknown, failures: number): FailureDecision {
    const { rateLimitedFor, platform } = slackErrorCode(err);
    if (rateLimitedFor !== undefined) {
      this.opts.metrics?.slackRateLimitWaits.inc({ method: 'gate_message' });
      this.opts.metrics?.slackRateLimitWaitSeconds.inc({ method: 'gate_message' }, rateLimitedFor);
      this.opts.log.warn(
        { evaluation: id, retryAfter: rateLimitedFor },
        'Slack rate limit: gate message paused for Retry-After',
      );
      return { kind: 'wait', ms: rateLimitedFor * 1000 };
    }
    if (platform && PERMANENT.has(platform)) {
      this.opts.metrics?.slackApiErrors.inc({ method: 'gate_message', error: platform });
      this.opts.log.error(
        { evaluation: id, error: platform },
        'gate message cannot be rendered; giving up on this message',
      );
      this.watched.delete(id);
      return { kind: 'abandon' };
    }
    this.opts.metrics?.slackApiErrors.inc({ method: 'gate_message', error: platform ?? 'request_failed' });
    this.opts.log.warn({ evaluation: id, err, failures }, 'rendering the gate message failed; will retry');
    return { kind: 'backoff' };
  }

  private async renderOnce(id: string, control: FlushControl): Promise<void> {
    const state = await this.opts.store.getState(id);
    if (!state) {
      this.watched.delete(id);
      return;
    }
    const ev = state.evaluation;
    const rendered = await this.opts.ledger.renderedVersion(id);
    if (ev.channel && (ev.message === null || ev.version > rendered)) {
      const msg = renderGateMessage({
        evaluationId: id,
        report: reportFromState(state),
        requester: ev.requester,
        supersededBy: ev.superseded_by,
      });
      control.markSent();
      if (ev.message === null) {
        let ref: PostedRef | null;
        try {
          ref = await this.writer.postOnce(
            `gate/${id}`,
            { channel: ev.channel },
            { event_type: GATE_MESSAGE_EVENT, event_payload: { evaluation_id: id } },
            msg,
          );
        } catch (err) {
          await this.notifier.tellRequesterNotPosted(ev.requester, ev.channel, ev.run, err);
          throw err;
        }
        if (!ref) {
          // another app process is posting it right now: look again shortly
          control.again(this.timers.now() + this.minIntervalMs);
          return;
        }
        this.count(id, 'post');
        const v = await this.opts.store.setMessageRef(id, { channel: ref.channel, ts: ref.ts });
        if (ref.recovered) {
          // found in the history: it shows whatever state it was posted with; update it next
          control.again();
        } else {
          // the ref itself changes nothing shown: the message is current as of the state we rendered,
          // unless something else changed in between
          await this.opts.ledger.setRenderedVersion(id, v === ev.version + 1 ? v : ev.version);
          if (v !== ev.version + 1) control.again();
        }
      } else {
        await this.writer.update(ev.message, msg);
        this.count(id, 'update');
        await this.opts.ledger.setRenderedVersion(id, ev.version);
      }
    } else if (!ev.channel) {
      await this.opts.ledger.setRenderedVersion(id, ev.version);
    }
    const notice = await this.notifier.notifyOutcome(state);
    await this.opts.gateObserver?.observe(state, notice);
    if (ev.channel) await this.asker?.observe(state);
    if (isTerminal(state)) this.watched.delete(id);
  }

  private armPoll(): void {
    if (this.stopped) return;
    this.pollTimer = this.timers.setTimeout(() => {
      void this.poll().finally(() => this.armPoll());
    }, this.pollMs);
  }

  /** Every watched evaluation's version against what was rendered: two batched reads, however many are watched. */
  private async poll(): Promise<void> {
    const ids = [...this.watched];
    if (ids.length === 0) return;
    try {
      const [versions, rendered] = await Promise.all([
        this.opts.store.versions(ids),
        this.opts.ledger.renderedVersions(ids),
      ]);
      for (const [i, id] of ids.entries()) {
        const v = versions[i] ?? null;
        if (v === null) this.watched.delete(id);
        else if (v > (rendered[i] ?? 0)) this.schedule(id);
      }
    } catch (err) {
      this.opts.log.warn({ err, evaluations: ids.length }, 'polling the watched evaluations failed');
    }
  }
}
