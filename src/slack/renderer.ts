import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { types } from '@slack/bolt';
import type { Logger } from 'pino';
import type { GateObserver, NoticeRef } from '../attestation/gate-hook.js';
import type { GateMetrics } from '../observability/metrics.js';
import { isTerminal, reportFromState } from '../store/redis-store.js';
import type { EvaluationState, SlackMessageRef } from '../store/types.js';
import { renderGateMessage } from './blocks/gate-message.js';
import { escapeMrkdwn } from './blocks/limits.js';
import { renderBlockedNotification, renderPassedNotification } from './blocks/notifications.js';
import type { RenderLedger } from './ledger.js';

export type { RenderLedger } from './ledger.js';
export { redisRenderLedger } from './ledger.js';

/** Metadata event types on the app's own messages: how a message posted before a crash is found again. */
export const GATE_MESSAGE_EVENT = 'readiness_gate_message';
export const GATE_NOTICE_EVENT = 'readiness_gate_notice';

interface PostMetadata {
  event_type: string;
  event_payload: Record<string, string>;
}

interface HistoryMessage {
  ts?: string;
  bot_id?: string;
  metadata?: { event_type?: string; event_payload?: Record<string, unknown> };
}

/** The store calls the renderer needs. */
export interface RendererStore {
  getState(evaluationId: string): Promise<EvaluationState | null>;
  setMessageRef(evaluationId: string, ref: SlackMessageRef, actor?: string): Promise<number>;
  version(evaluationId: string): Promise<number | null>;
  listOpen(limit?: number): Promise<EvaluationState[]>;
  listRecent(limit?: number): Promise<EvaluationState[]>;
}

/** The Web API methods the renderer calls (chat:write; channels:history and groups:history to find its own messages again). */
export interface ChatClient {
  chat: {
    postMessage(args: {
      channel: string;
      text: string;
      blocks?: types.KnownBlock[];
      metadata?: PostMetadata;
    }): Promise<{ ok?: boolean; channel?: string; ts?: string }>;
    update(args: { channel: string; ts: string; text: string; blocks: types.KnownBlock[] }): Promise<{ ok?: boolean }>;
  };
  conversations?: {
    history(args: {
      channel: string;
      oldest?: string;
      limit?: number;
      cursor?: string;
      include_all_metadata?: boolean;
    }): Promise<{ messages?: HistoryMessage[]; response_metadata?: { next_cursor?: string } }>;
  };
}

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const REAL_TIMERS: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

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
}

/** Slack's clock and ours may differ a little: history is searched from this long before the first attempt. */
const HISTORY_SLACK_MS = 60_000;
const HISTORY_PAGES = 2;

interface Entry {
  timer: unknown;
  inflight: Promise<void> | null;
  dirty: boolean;
  lastSentAt: number;
  blockedUntil: number;
  failures: number;
}

/** Errors where trying again cannot help (the message or channel is gone, we are not in it). */
const PERMANENT = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'message_not_found',
  'cant_update_message',
  'invalid_auth',
  'account_inactive',
  'token_revoked',
  'missing_scope',
  'invalid_blocks',
  'msg_too_long',
  'no_text',
]);

function slackErrorCode(err: unknown): { rateLimitedFor?: number; platform?: string } {
  const e = err as { code?: string; retryAfter?: number; data?: { error?: string } };
  if (e?.code === 'slack_webapi_rate_limited_error')
    return { rateLimitedFor: typeof e.retryAfter === 'number' ? e.retryAfter : 1 };
  if (e?.code === 'slack_webapi_platform_error') return { platform: e.data?.error ?? 'unknown_error' };
  return {};
}

/**
 * Keeps every gate message equal to its evaluation's stored state. Changes are coalesced: at most
 * one chat.update per message per `minIntervalMs`; a 429 pauses that message for Retry-After
 * seconds and the latest state is sent afterwards. Rendering always reads the store, never an
 * event's payload, so a late or repeated event cannot render an old state.
 */
export class GateRenderer {
  private readonly entries = new Map<string, Entry>();
  private readonly watched = new Set<string>();
  /** Messages Slack refused for good (channel gone, not in channel): not retried by this process. */
  private readonly abandoned = new Set<string>();
  private readonly minIntervalMs: number;
  private readonly pollMs: number;
  private readonly timers: Timers;
  private pollTimer: unknown = null;
  private stopped = false;
  /** chat.update / chat.postMessage calls made, per evaluation (for the bench). */
  readonly calls = new Map<string, { post: number; update: number; notify: number }>();
  private readonly owner: string;

  constructor(private readonly opts: RendererOptions) {
    this.owner = opts.owner ?? `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
    this.minIntervalMs = opts.minIntervalMs ?? 1000;
    this.pollMs = opts.pollMs ?? 2000;
    this.timers = opts.timers ?? REAL_TIMERS;
  }

  /** Re-renders open (and recently changed) evaluations to their current state, then polls as a safety net. */
  async start(): Promise<void> {
    this.stopped = false;
    const seen = new Set<string>();
    for (const s of [...(await this.opts.store.listOpen()), ...(await this.opts.store.listRecent(100))]) {
      if (seen.has(s.evaluation.id)) continue;
      seen.add(s.evaluation.id);
      const rendered = await this.opts.ledger.renderedVersion(s.evaluation.id);
      const notified = await this.opts.ledger.notifiedGate(s.evaluation.id);
      const needsNotice =
        isTerminal(s) && !s.evaluation.superseded_by && s.gate !== 'pending' && notified !== noticeMark(s);
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
    for (const e of this.entries.values()) if (e.timer) this.timers.clearTimeout(e.timer);
    await Promise.all([...this.entries.values()].map((e) => e.inflight).filter(Boolean));
    this.entries.clear();
  }

  /** Watch an evaluation (e.g. one just created) until it is terminal. */
  watch(evaluationId: string): void {
    if (this.abandoned.has(evaluationId)) return;
    this.watched.add(evaluationId);
    this.schedule(evaluationId);
  }

  /** The evaluation changed: render it soon (coalesced). */
  schedule(evaluationId: string): void {
    if (this.stopped || this.abandoned.has(evaluationId)) return;
    let e = this.entries.get(evaluationId);
    if (!e) {
      e = {
        timer: null,
        inflight: null,
        dirty: false,
        lastSentAt: Number.NEGATIVE_INFINITY,
        blockedUntil: 0,
        failures: 0,
      };
      this.entries.set(evaluationId, e);
    }
    e.dirty = true;
    if (!e.inflight && !e.timer) this.arm(evaluationId, e);
  }

  /** Resolves once nothing is scheduled or in flight (tests, shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      const busy = [...this.entries.values()].filter((e) => e.inflight || e.timer || e.dirty);
      if (busy.length === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private arm(id: string, e: Entry): void {
    const now = this.timers.now();
    const delay = Math.max(0, e.lastSentAt + this.minIntervalMs - now, e.blockedUntil - now);
    e.timer = this.timers.setTimeout(() => {
      e.timer = null;
      e.inflight = this.flush(id, e).finally(() => {
        e.inflight = null;
        if (e.dirty && !this.stopped && !this.abandoned.has(id)) this.arm(id, e);
        else if (!e.dirty && !this.watched.has(id)) this.entries.delete(id);
      });
    }, delay);
  }

  private count(id: string, kind: 'post' | 'update' | 'notify'): void {
    const c = this.calls.get(id) ?? { post: 0, update: 0, notify: 0 };
    c[kind]++;
    this.calls.set(id, c);
  }

  private async flush(id: string, e: Entry): Promise<void> {
    e.dirty = false;
    try {
      await this.renderOnce(id, e);
      e.failures = 0;
    } catch (err) {
      const { rateLimitedFor, platform } = slackErrorCode(err);
      if (rateLimitedFor !== undefined) {
        e.blockedUntil = this.timers.now() + rateLimitedFor * 1000;
        this.opts.metrics?.slackRateLimitWaits.inc({ method: 'gate_message' });
        this.opts.metrics?.slackRateLimitWaitSeconds.inc({ method: 'gate_message' }, rateLimitedFor);
        e.dirty = true;
        this.opts.log.warn(
          { evaluation: id, retryAfter: rateLimitedFor },
          'Slack rate limit: gate message paused for Retry-After',
        );
      } else if (platform && PERMANENT.has(platform)) {
        this.opts.metrics?.slackApiErrors.inc({ method: 'gate_message', error: platform });
        this.opts.log.error(
          { evaluation: id, error: platform },
          'gate message cannot be rendered; giving up on this message',
        );
        this.watched.delete(id);
        this.abandoned.add(id);
        e.dirty = false;
      } else {
        this.opts.metrics?.slackApiErrors.inc({ method: 'gate_message', error: platform ?? 'request_failed' });
        e.failures++;
        e.blockedUntil = this.timers.now() + Math.min(60_000, 500 * 2 ** Math.min(e.failures, 7));
        e.dirty = e.failures < 20;
        this.opts.log.warn(
          { evaluation: id, err, failures: e.failures },
          'rendering the gate message failed; will retry',
        );
      }
    }
  }

  private async renderOnce(id: string, e: Entry): Promise<void> {
    const state = await this.opts.store.getState(id);
    if (!state) {
      this.watched.delete(id);
      return;
    }
    const ev = state.evaluation;
    const rendered = await this.opts.ledger.renderedVersion(id);
    if (ev.channel && (ev.message === null || ev.version > rendered)) {
      const report = reportFromState(state);
      const msg = renderGateMessage({
        evaluationId: id,
        report,
        requester: ev.requester,
        supersededBy: ev.superseded_by,
      });
      if (ev.message === null) {
        e.lastSentAt = this.timers.now();
        let ref: { channel: string; ts: string; recovered: boolean } | null;
        try {
          ref = await this.postOnce(
            `gate/${id}`,
            ev.channel,
            { event_type: GATE_MESSAGE_EVENT, event_payload: { evaluation_id: id } },
            msg,
          );
        } catch (err) {
          await this.tellRequesterNotPosted(ev.requester, ev.channel, ev.run, err);
          throw err;
        }
        if (!ref) {
          // another app process is posting it right now: look again shortly
          e.dirty = true;
          e.blockedUntil = this.timers.now() + this.minIntervalMs;
          return;
        }
        this.count(id, 'post');
        const v = await this.opts.store.setMessageRef(id, { channel: ref.channel, ts: ref.ts });
        if (ref.recovered) {
          // found in the history: it shows whatever state it was posted with; update it next
          e.dirty = true;
        } else {
          // the ref itself changes nothing shown: the message is current as of the state we rendered,
          // unless something else changed in between
          await this.opts.ledger.setRenderedVersion(id, v === ev.version + 1 ? v : ev.version);
          if (v !== ev.version + 1) e.dirty = true;
        }
      } else {
        e.lastSentAt = this.timers.now();
        await this.opts.client.chat.update({
          channel: ev.message.channel,
          ts: ev.message.ts,
          text: msg.text,
          blocks: msg.blocks,
        });
        this.count(id, 'update');
        await this.opts.ledger.setRenderedVersion(id, ev.version);
      }
    } else if (!ev.channel) {
      await this.opts.ledger.setRenderedVersion(id, ev.version);
    }
    const notice = await this.notify(state);
    await this.opts.gateObserver?.observe(state, notice);
    if (isTerminal(state)) this.watched.delete(id);
  }

  /** The gate message cannot go where the command ran (bot not invited, channel gone): say so in a DM. */
  private async tellRequesterNotPosted(requester: string, channel: string, run: string, err: unknown): Promise<void> {
    const { platform } = slackErrorCode(err);
    if (!platform || !PERMANENT.has(platform) || !/^[UW][A-Z0-9]+$/.test(requester)) return;
    const hint =
      platform === 'not_in_channel' || platform === 'channel_not_found'
        ? ' Invite the app to the channel (`/invite @readiness`) and run the command again.'
        : '';
    await this.opts.client.chat
      .postMessage({
        channel: requester,
        text: `I could not post the gate message for \`${escapeMrkdwn(run)}\` in <#${channel}> (${platform}).${hint}`,
      })
      .catch((e: unknown) => this.opts.log.warn({ err: e }, 'could not tell the requester either'));
  }

  /** PASSED / BLOCKED to the notification channel, once per gate status. */
  private async notify(state: EvaluationState): Promise<NoticeRef | null> {
    const ev = state.evaluation;
    if (ev.superseded_by || state.gate === 'pending' || !isTerminal(state)) return null;
    const channel = this.opts.notificationChannel ?? ev.channel;
    if (!channel) return null;
    const mark = noticeMark(state);
    if ((await this.opts.ledger.notifiedGate(ev.id)) === mark) return null;
    const report = reportFromState(state);
    const msg =
      state.gate === 'passed' ? renderPassedNotification(report, ev.id) : renderBlockedNotification(report, ev.id);
    const reopened = ev.reopened ?? 0;
    const ref = await this.postOnce(
      `notice/${ev.id}/${mark}`,
      channel,
      {
        event_type: GATE_NOTICE_EVENT,
        event_payload: {
          evaluation_id: ev.id,
          gate: state.gate,
          ...(reopened > 0 ? { reopened: String(reopened) } : {}),
        },
      },
      msg,
    );
    if (!ref) throw new Error('another app process is posting this notification');
    this.count(ev.id, 'notify');
    this.opts.metrics?.evaluations.inc({ outcome: state.gate });
    await this.opts.ledger.setNotifiedGate(ev.id, mark);
    return { channel: ref.channel, ts: ref.ts };
  }

  /**
   * Posts a message at most once whatever crashes when. One process at a time may post `key` (a
   * claim with a TTL); the attempt is recorded before the call; when an earlier attempt exists (a
   * crash, or a timeout after Slack had posted), the channel's history since that attempt is
   * searched for the message by its metadata before posting again. null: another process holds
   * the claim.
   */
  private async postOnce(
    key: string,
    channel: string,
    metadata: PostMetadata,
    msg: { text: string; blocks: types.KnownBlock[] },
  ): Promise<{ channel: string; ts: string; recovered: boolean } | null> {
    const ledger = this.opts.ledger;
    if (!(await ledger.claimPost(key, this.owner, this.opts.postClaimMs ?? 30_000))) return null;
    try {
      const attempted = await ledger.postAttempt(key);
      if (attempted !== null) {
        const found = await this.findPosted(channel, metadata, attempted);
        if (found) {
          this.opts.log.info(
            { key, channel, ts: found },
            'found a message posted before a crash or timeout; not posting it again',
          );
          return { channel, ts: found, recovered: true };
        }
      }
      await ledger.recordPostAttempt(key, this.timers.now());
      const res = await this.opts.client.chat.postMessage({ channel, text: msg.text, blocks: msg.blocks, metadata });
      if (!res.ts) throw new Error('chat.postMessage returned no ts');
      return { channel: res.channel ?? channel, ts: res.ts, recovered: false };
    } finally {
      await ledger.releasePost(key, this.owner).catch(() => {});
    }
  }

  /** The ts of our message with this metadata in the channel's history since `sinceMs`, if any. */
  private async findPosted(channel: string, metadata: PostMetadata, sinceMs: number): Promise<string | null> {
    const history = this.opts.client.conversations?.history;
    if (!history) return null;
    const oldest = (Math.max(0, sinceMs - HISTORY_SLACK_MS) / 1000).toFixed(6);
    let cursor: string | undefined;
    try {
      for (let page = 0; page < HISTORY_PAGES; page++) {
        const res = await history.call(this.opts.client.conversations, {
          channel,
          oldest,
          limit: 200,
          include_all_metadata: true,
          ...(cursor ? { cursor } : {}),
        });
        for (const m of res.messages ?? []) {
          if (m.ts && sameMetadata(m.metadata, metadata)) return m.ts;
        }
        cursor = res.response_metadata?.next_cursor || undefined;
        if (!cursor) return null;
      }
    } catch (err) {
      // Without history the app cannot tell; posting again risks a duplicate, not posting risks no message.
      this.opts.metrics?.slackApiErrors.inc({
        method: 'conversations.history',
        error: slackErrorCode(err).platform ?? 'request_failed',
      });
      this.opts.log.warn(
        { err, channel },
        'cannot read the channel history to find a message posted before a crash; posting it (a duplicate is possible)',
      );
    }
    return null;
  }

  private armPoll(): void {
    if (this.stopped) return;
    this.pollTimer = this.timers.setTimeout(() => {
      void this.poll().finally(() => this.armPoll());
    }, this.pollMs);
  }

  private async poll(): Promise<void> {
    for (const id of [...this.watched]) {
      try {
        const v = await this.opts.store.version(id);
        if (v === null) {
          this.watched.delete(id);
          continue;
        }
        if (v > (await this.opts.ledger.renderedVersion(id))) this.schedule(id);
      } catch (err) {
        this.opts.log.warn({ err, evaluation: id }, 'polling an evaluation failed');
      }
    }
  }
}

/**
 * What the channel has been told about: the gate status, and after a withdrawal re-opened a
 * PASSED gate, which round it is (`passed#1`), so the gate passing again is announced again.
 */
function noticeMark(state: EvaluationState): string {
  const n = state.evaluation.reopened ?? 0;
  return n > 0 ? `${state.gate}#${n}` : state.gate;
}

function sameMetadata(found: HistoryMessage['metadata'], wanted: PostMetadata): boolean {
  if (!found || found.event_type !== wanted.event_type || !found.event_payload) return false;
  const payload = found.event_payload;
  return Object.entries(wanted.event_payload).every(([k, v]) => payload[k] === v);
}
