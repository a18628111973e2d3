import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  method: string;
  args: Record<string, unknown>;
  /** Order of arrival (0, 1, …). */
  seq: number;
}

/**
 * How a call fails: 429 + Retry-After, a Slack error (`ok: false`), an HTTP 500, or a hang (no
 * answer for `ms`, or until `release()`/`stop()`). `apply: true` on a hang performs the call's
 * effect first (Slack posted the message, but the answer never reached the app).
 */
export type Fault =
  | { status: 429; retryAfter: number }
  | { error: string }
  | { status: 500 }
  | { hang: true; ms?: number; apply?: boolean };

/** Only calls whose arguments satisfy this are hit by a fault. */
export type FaultMatch = (args: Record<string, unknown>) => boolean;

export interface FakeMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: unknown[];
  /** chat.update calls that reached this message successfully. */
  updates: number;
  /** Message metadata as posted (`event_type`, `event_payload`), if any. */
  metadata?: { event_type: string; event_payload: Record<string, unknown> } | undefined;
  /** Bot that posted it. */
  bot_id: string;
  /** The parent's ts when this is a reply in a thread. */
  thread_ts?: string | undefined;
  /** A thread reply also shown in the channel (then listed by conversations.history too). */
  reply_broadcast?: boolean | undefined;
}

function parseBody(req: IncomingMessage, raw: string): Record<string, unknown> {
  const type = req.headers['content-type'] ?? '';
  if (type.includes('application/json')) return raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
  if (type.includes('application/x-www-form-urlencoded')) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of new URLSearchParams(raw)) {
      // the Web API client JSON-encodes nested arguments (blocks, view)
      out[k] = /^[[{]/.test(v) ? safeJson(v) : v;
    }
    return out;
  }
  return { raw };
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

/**
 * A local stand-in for Slack's Web API (the only thing tests replace): records every call, keeps
 * the messages it was asked to post and update, and can answer a method with 429 + Retry-After
 * or a Slack error such as channel_not_found.
 */
export class FakeSlack {
  readonly calls: RecordedCall[] = [];
  readonly messages = new Map<string, FakeMessage>();
  readonly uploads: { filename: string; content: string }[] = [];
  /** usergroup id → member user ids, for usergroups.users.list. */
  usergroups: Record<string, string[]> = {};
  /** WebSocket URL that apps.connections.open hands out (Socket Mode tests); unset: a bare `{ ok: true }` as before. */
  socketModeUrl: string | null = null;
  private readonly faults = new Map<string, { fault: Fault; match: FaultMatch | undefined }[]>();
  private readonly hung = new Set<() => void>();
  private server: Server | null = null;
  private seq = 0;
  private tsCounter = 0;
  private pendingUploads = new Map<string, string>();
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (raw += c));
      req.on('end', () => this.handle(req, res, raw));
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.release();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  /** A response_url for a command or interaction; calls to it are recorded as method "response_url". */
  responseUrl(id = 'r'): string {
    return `${this.url}/response/${id}`;
  }

  /** The next `times` calls of `method` (that satisfy `match`, when given) fail with `fault`. */
  fail(method: string, fault: Fault, times = 1, match?: FaultMatch): void {
    const list = this.faults.get(method) ?? [];
    for (let i = 0; i < times; i++) list.push({ fault, match });
    this.faults.set(method, list);
  }

  /** Answers every call still hanging (as if Slack recovered) — with its normal response. */
  release(): void {
    for (const r of [...this.hung]) r();
    this.hung.clear();
  }

  /** Calls currently hanging. */
  get hanging(): number {
    return this.hung.size;
  }

  private takeFault(method: string, args: Record<string, unknown>): Fault | undefined {
    const list = this.faults.get(method);
    if (!list) return undefined;
    const i = list.findIndex((f) => !f.match || f.match(args));
    if (i < 0) return undefined;
    return list.splice(i, 1)[0]?.fault;
  }

  /** The permalink chat.getPermalink gives for a message. */
  static permalinkOf(channel: string, ts: string): string {
    return `https://acme.slack.com/archives/${channel}/p${ts.replace('.', '')}`;
  }

  /** Messages posted in the thread of `ts` (oldest first). */
  repliesTo(ts: string): FakeMessage[] {
    return [...this.messages.values()].filter((m) => m.thread_ts === ts).sort((a, b) => Number(a.ts) - Number(b.ts));
  }

  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  reset(): void {
    this.calls.length = 0;
    this.messages.clear();
    this.uploads.length = 0;
    this.faults.clear();
  }

  private json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  /** Message timestamps as Slack makes them: seconds since the epoch, then a sequence (unique, increasing). */
  private nextTs(): string {
    this.tsCounter++;
    return `${Math.floor(Date.now() / 1000)}.${String(this.tsCounter).padStart(6, '0')}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse, raw: string): void {
    const url = req.url ?? '/';
    if (url.startsWith('/upload/')) {
      const id = url.slice('/upload/'.length);
      this.uploads.push({ filename: this.pendingUploads.get(id) ?? id, content: raw });
      this.calls.push({ method: 'file_upload', args: { id, bytes: raw.length }, seq: this.seq++ });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`OK - ${raw.length}`);
      return;
    }
    const args = parseBody(req, raw);
    if (url.startsWith('/response/')) {
      this.calls.push({ method: 'response_url', args, seq: this.seq++ });
      return this.json(res, 200, { ok: true });
    }
    const method = url.replace(/^\/api\//, '').replace(/\?.*$/, '');
    this.calls.push({ method, args, seq: this.seq++ });
    const fault = this.takeFault(method, args);
    if (fault && 'hang' in fault) {
      // the effect (if asked) happens now; the answer only when released, after `ms`, or never
      let answer: (() => void) | null = null;
      if (fault.apply) {
        const buffered: { status: number; body: unknown }[] = [];
        this.respond(method, args, (status, body) => buffered.push({ status, body }));
        answer = () => {
          const b = buffered[0];
          if (b) this.json(res, b.status, b.body);
        };
      } else answer = () => this.respond(method, args, (status, body) => this.json(res, status, body));
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        this.hung.delete(finish);
        if (!res.destroyed) answer?.();
      };
      this.hung.add(finish);
      res.on('close', () => this.hung.delete(finish));
      if (fault.ms !== undefined) setTimeout(finish, fault.ms).unref();
      return;
    }
    if (fault && 'retryAfter' in fault)
      return this.json(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(fault.retryAfter) });
    if (fault && 'status' in fault) return this.json(res, 500, { ok: false, error: 'internal_error' });
    if (fault) return this.json(res, 200, { ok: false, error: fault.error });
    this.respond(method, args, (status, body) => this.json(res, status, body));
  }

  /** Performs `method` and answers through `out` (a hang may hold the answer back). */
  private respond(method: string, args: Record<string, unknown>, json: (status: number, body: unknown) => void): void {
    switch (method) {
      case 'auth.test':
        return json(200, {
          ok: true,
          url: 'https://acme.slack.com/',
          team: 'Acme',
          user: 'readiness',
          team_id: 'T0TEAM',
          user_id: 'U0BOT',
          bot_id: 'B0BOT',
        });
      case 'chat.postMessage': {
        const ts = this.nextTs();
        const channel = String(args.channel);
        const metadata =
          args.metadata && typeof args.metadata === 'object' ? (args.metadata as FakeMessage['metadata']) : undefined;
        const threadTs = typeof args.thread_ts === 'string' && args.thread_ts ? args.thread_ts : undefined;
        if (threadTs && this.messages.get(threadTs)?.channel !== channel)
          return json(200, { ok: false, error: 'thread_not_found' });
        this.messages.set(ts, {
          channel,
          ts,
          text: String(args.text ?? ''),
          blocks: (args.blocks as unknown[]) ?? [],
          updates: 0,
          metadata,
          bot_id: 'B0BOT',
          thread_ts: threadTs,
          reply_broadcast: threadTs ? args.reply_broadcast === true || args.reply_broadcast === 'true' : undefined,
        });
        return json(200, {
          ok: true,
          channel,
          ts,
          message: { ts, text: args.text, bot_id: 'B0BOT', ...(metadata ? { metadata } : {}) },
        });
      }
      case 'chat.update': {
        const m = this.messages.get(String(args.ts));
        if (!m) return json(200, { ok: false, error: 'message_not_found' });
        m.text = String(args.text ?? '');
        m.blocks = (args.blocks as unknown[]) ?? [];
        m.updates++;
        return json(200, { ok: true, channel: m.channel, ts: m.ts });
      }
      case 'conversations.history': {
        // newest first, like Slack; metadata only with include_all_metadata
        const channel = String(args.channel);
        const oldest = Number(args.oldest ?? 0);
        const withMeta = args.include_all_metadata === true || args.include_all_metadata === 'true';
        const limit = Math.min(Number(args.limit ?? 100), 1000);
        // like Slack: thread replies are not in the channel's history unless broadcast
        const all = [...this.messages.values()]
          .filter((m) => m.channel === channel && Number(m.ts) > oldest && (!m.thread_ts || m.reply_broadcast))
          .sort((a, b) => Number(b.ts) - Number(a.ts));
        const start = args.cursor ? Number(String(args.cursor).replace(/^c/, '')) : 0;
        const page = all.slice(start, start + limit);
        const more = start + limit < all.length;
        return json(200, {
          ok: true,
          messages: page.map((m) => ({
            type: 'message',
            ts: m.ts,
            text: m.text,
            bot_id: m.bot_id,
            ...(withMeta && m.metadata ? { metadata: m.metadata } : {}),
          })),
          has_more: more,
          response_metadata: { next_cursor: more ? `c${start + limit}` : '' },
        });
      }
      case 'conversations.replies': {
        // the parent first, then its replies oldest first, like Slack
        const channel = String(args.channel);
        const parent = this.messages.get(String(args.ts));
        if (!parent || parent.channel !== channel) return json(200, { ok: false, error: 'thread_not_found' });
        const oldest = Number(args.oldest ?? 0);
        const withMeta = args.include_all_metadata === true || args.include_all_metadata === 'true';
        const replies = [...this.messages.values()]
          .filter((m) => m.channel === channel && m.thread_ts === parent.ts && Number(m.ts) > oldest)
          .sort((a, b) => Number(a.ts) - Number(b.ts));
        return json(200, {
          ok: true,
          messages: [parent, ...replies].map((m) => ({
            type: 'message',
            ts: m.ts,
            text: m.text,
            bot_id: m.bot_id,
            ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
            ...(withMeta && m.metadata ? { metadata: m.metadata } : {}),
          })),
          has_more: false,
          response_metadata: { next_cursor: '' },
        });
      }
      case 'chat.getPermalink': {
        const m = this.messages.get(String(args.message_ts));
        if (!m || m.channel !== String(args.channel)) return json(200, { ok: false, error: 'message_not_found' });
        return json(200, {
          ok: true,
          channel: m.channel,
          permalink: FakeSlack.permalinkOf(m.channel, m.ts),
        });
      }
      case 'chat.postEphemeral':
        return json(200, { ok: true, message_ts: this.nextTs() });
      case 'views.open':
      case 'views.publish':
        return json(200, { ok: true, view: { id: `V${this.seq}` } });
      case 'usergroups.users.list': {
        const members = this.usergroups[String(args.usergroup)];
        if (!members) return json(200, { ok: false, error: 'no_such_subteam' });
        return json(200, { ok: true, users: members });
      }
      case 'files.getUploadURLExternal': {
        const id = `F${this.seq}`;
        this.pendingUploads.set(id, String(args.filename));
        return json(200, { ok: true, upload_url: `${this.url}/upload/${id}`, file_id: id });
      }
      case 'apps.connections.open':
        return json(200, this.socketModeUrl ? { ok: true, url: this.socketModeUrl } : { ok: true });
      case 'files.completeUploadExternal':
        return json(200, {
          ok: true,
          files: (args.files as { id: string }[] | undefined)?.map((f) => ({ id: f.id, title: 'report' })) ?? [],
        });
      default:
        return json(200, { ok: true });
    }
  }
}

export { waitFor } from './wait.js';
