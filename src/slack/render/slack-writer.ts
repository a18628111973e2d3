import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { types } from '@slack/bolt';
import type { Logger } from 'pino';
import type { GateMetrics } from '../../observability/metrics.js';
import type { RenderLedger } from '../ledger.js';

/** Metadata event types on the app's own messages: how a message posted before a crash is found again. */
export const GATE_MESSAGE_EVENT = 'readiness_gate_message';
export const GATE_NOTICE_EVENT = 'readiness_gate_notice';

export interface PostMetadata {
  event_type: string;
  event_payload: Record<string, string>;
}

export interface HistoryMessage {
  ts?: string;
  bot_id?: string;
  metadata?: { event_type?: string; event_payload?: Record<string, unknown> };
}

interface HistoryPage {
  messages?: HistoryMessage[];
  response_metadata?: { next_cursor?: string };
}

/**
 * The Web API methods the renderer calls (chat:write; channels:history and groups:history to find
 * its own messages again, in a channel or in a thread; chat.getPermalink needs no scope).
 */
export interface ChatClient {
  chat: {
    postMessage(
      args: {
        channel: string;
        text: string;
        blocks?: types.KnownBlock[];
        metadata?: PostMetadata;
      } & ({ thread_ts?: string; reply_broadcast?: false } | { thread_ts: string; reply_broadcast: boolean }),
    ): Promise<{ ok?: boolean; channel?: string; ts?: string }>;
    update(args: { channel: string; ts: string; text: string; blocks: types.KnownBlock[] }): Promise<{ ok?: boolean }>;
    getPermalink?(args: { channel: string; message_ts: string }): Promise<{ ok?: boolean; permalink?: string }>;
  };
  conversations?: {
    history(args: {
      channel: string;
      oldest?: string;
      limit?: number;
      cursor?: string;
      include_all_metadata?: boolean;
    }): Promise<HistoryPage>;
    replies?(args: {
      channel: string;
      ts: string;
      oldest?: string;
      limit?: number;
      cursor?: string;
      include_all_metadata?: boolean;
    }): Promise<HistoryPage>;
  };
}

export interface SlackMessageContent {
  text: string;
  blocks?: types.KnownBlock[];
}

/** Where a message goes: a channel (or a user id, for a DM), optionally as a reply in a thread. */
export interface PostTarget {
  channel: string;
  /** Reply in the thread of this message. */
  threadTs?: string | undefined;
  /** A thread reply also shown in the channel. */
  broadcast?: boolean | undefined;
}

export interface PostedRef {
  channel: string;
  ts: string;
  /** Found in the history (posted before a crash or a lost answer), not posted now. */
  recovered: boolean;
}

/** Errors where trying again cannot help (the message or channel is gone, we are not in it). */
export const PERMANENT = new Set([
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

export function slackErrorCode(err: unknown): { rateLimitedFor?: number; platform?: string } {
  const e = err as { code?: string; retryAfter?: number; data?: { error?: string } };
  if (e?.code === 'slack_webapi_rate_limited_error')
    return { rateLimitedFor: typeof e.retryAfter === 'number' ? e.retryAfter : 1 };
  if (e?.code === 'slack_webapi_platform_error') return { platform: e.data?.error ?? 'unknown_error' };
  return {};
}

/** Slack's clock and ours may differ a little: history is searched from this long before the first attempt. */
const HISTORY_SLACK_MS = 60_000;
const HISTORY_PAGES = 2;

export interface SlackWriterOptions {
  client: ChatClient;
  ledger: RenderLedger;
  log: Logger;
  now(): number;
  metrics?: GateMetrics | undefined;
  /** Who this process is, for the cross-process claim on a first post (default host/pid/random). */
  owner?: string | undefined;
  /** How long one process may hold the right to make a first post (see RendererOptions.postClaimMs). */
  postClaimMs?: number | undefined;
}

/**
 * Writes the app's messages to Slack: posts that happen at most once whatever crashes when,
 * updates, permalinks. Knows nothing of evaluations.
 */
export class SlackWriter {
  readonly owner: string;

  constructor(private readonly opts: SlackWriterOptions) {
    this.owner = opts.owner ?? `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
  }

  get client(): ChatClient {
    return this.opts.client;
  }

  /**
   * Posts a message at most once whatever crashes when. One process at a time may post `key` (a
   * claim with a TTL); the attempt is recorded before the call; when an earlier attempt exists (a
   * crash, or a timeout after Slack had posted), the channel's history (or the thread's replies)
   * since that attempt is searched for the message by its metadata before posting again. null:
   * another process holds the claim.
   */
  async postOnce(
    key: string,
    target: PostTarget,
    metadata: PostMetadata,
    msg: SlackMessageContent,
  ): Promise<PostedRef | null> {
    const ledger = this.opts.ledger;
    if (!(await ledger.claimPost(key, this.owner, this.opts.postClaimMs ?? 30_000))) return null;
    try {
      const attempted = await ledger.postAttempt(key);
      if (attempted !== null) {
        const found = await this.findPosted(target, metadata, attempted);
        if (found) {
          this.opts.log.info(
            { key, channel: target.channel, ts: found },
            'found a message posted before a crash or timeout; not posting it again',
          );
          return { channel: target.channel, ts: found, recovered: true };
        }
      }
      await ledger.recordPostAttempt(key, this.opts.now());
      const base = { channel: target.channel, text: msg.text, ...(msg.blocks ? { blocks: msg.blocks } : {}), metadata };
      const res = await this.opts.client.chat.postMessage(
        target.threadTs ? { ...base, thread_ts: target.threadTs, reply_broadcast: target.broadcast === true } : base,
      );
      if (!res.ts) throw new Error('chat.postMessage returned no ts');
      return { channel: res.channel ?? target.channel, ts: res.ts, recovered: false };
    } finally {
      await ledger.releasePost(key, this.owner).catch(() => {});
    }
  }

  async update(ref: { channel: string; ts: string }, msg: { text: string; blocks: types.KnownBlock[] }): Promise<void> {
    await this.opts.client.chat.update({ channel: ref.channel, ts: ref.ts, text: msg.text, blocks: msg.blocks });
  }

  /** A link to a message (chat.getPermalink), or null when Slack cannot give one now (the caller posts without it). */
  async permalink(ref: { channel: string; ts: string }): Promise<string | null> {
    const get = this.opts.client.chat.getPermalink;
    if (!get) return null;
    try {
      const res = await get.call(this.opts.client.chat, { channel: ref.channel, message_ts: ref.ts });
      return typeof res.permalink === 'string' && /^https:\/\//.test(res.permalink) ? res.permalink : null;
    } catch (err) {
      this.opts.metrics?.slackApiErrors.inc({
        method: 'chat.getPermalink',
        error: slackErrorCode(err).platform ?? 'request_failed',
      });
      this.opts.log.warn({ err, channel: ref.channel }, 'no permalink for the gate message; notifying without it');
      return null;
    }
  }

  /** The ts of our message with this metadata in the channel's history (or the thread) since `sinceMs`, if any. */
  private async findPosted(target: PostTarget, metadata: PostMetadata, sinceMs: number): Promise<string | null> {
    const conversations = this.opts.client.conversations;
    const channel = target.channel;
    const oldest = (Math.max(0, sinceMs - HISTORY_SLACK_MS) / 1000).toFixed(6);
    const threadTs = target.threadTs;
    if (!conversations || (threadTs && !conversations.replies)) return null;
    const page = (cursor: string | undefined): Promise<HistoryPage> => {
      const args = { channel, oldest, limit: 200, include_all_metadata: true, ...(cursor ? { cursor } : {}) };
      return threadTs && conversations.replies
        ? conversations.replies({ ...args, ts: threadTs })
        : conversations.history(args);
    };
    let cursor: string | undefined;
    try {
      for (let n = 0; n < HISTORY_PAGES; n++) {
        const res = await page(cursor);
        for (const m of res.messages ?? []) {
          if (m.ts && m.ts !== threadTs && sameMetadata(m.metadata, metadata)) return m.ts;
        }
        cursor = res.response_metadata?.next_cursor || undefined;
        if (!cursor) return null;
      }
    } catch (err) {
      // Without history the app cannot tell; posting again risks a duplicate, not posting risks no message.
      this.opts.metrics?.slackApiErrors.inc({
        method: threadTs ? 'conversations.replies' : 'conversations.history',
        error: slackErrorCode(err).platform ?? 'request_failed',
      });
      this.opts.log.warn(
        { err, channel },
        'cannot read the channel history to find a message posted before a crash; posting it (a duplicate is possible)',
      );
    }
    return null;
  }
}

function sameMetadata(found: HistoryMessage['metadata'], wanted: PostMetadata): boolean {
  if (!found || found.event_type !== wanted.event_type || !found.event_payload) return false;
  const payload = found.event_payload;
  return Object.entries(wanted.event_payload).every(([k, v]) => payload[k] === v);
}
