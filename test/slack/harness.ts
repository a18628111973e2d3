import { randomBytes } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, inject } from 'vitest';
import type { FilesClient, GateObserver } from '../../src/attestation/gate-hook.js';
import type { CheckDefinition } from '../../src/checks/types.js';
import { type ReadinessConfig, ReadinessConfigSchema } from '../../src/config/readiness-config.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { connectRedis } from '../../src/queue/connection.js';
import { ReadinessQueues } from '../../src/queue/producer.js';
import { createSlackRuntime, type SlackRuntime } from '../../src/slack/app.js';
import { QueueSubmitter } from '../../src/slack/submit.js';
import { EvaluationStore } from '../../src/store/redis-store.js';
import type { EvaluationState } from '../../src/store/types.js';
import { freePort } from '../global-setup.js';
import { FakeSlack, waitFor } from '../helpers/fake-slack.js';
import { cleanupRuns, copyExampleRun } from '../helpers/runs.js';
import {
  buttonClick,
  commandBody,
  eventBody,
  interactionBody,
  rejectSubmission,
  signedHeaders,
} from '../helpers/slack-sign.js';
import { type HeavyHold, WorkerProcess } from '../helpers/workers.js';

export const SECRET = 'test-signing-secret-0123456789';
export const CHANNEL = 'C0GATE';
export const NOTIFY = 'C0NOTIFY';
/** Users of the default test config. */
export const U = {
  requester: 'U0REQ',
  tech: 'U0TECH',
  prod: 'U0PROD',
  comp: 'U0COMP',
  outsider: 'U0OUT',
  lead2: 'U0TECH2',
} as const;

export const DEFAULT_CONFIG = {
  roles: {
    technical: { users: [U.tech], usergroups: ['S0TECHLEADS'] },
    product: { users: [U.prod, U.tech] },
    compliance: { users: [U.comp] },
  },
  notification_channel: NOTIFY,
};

/** One approver a role, nobody in two roles, no user groups. */
export const ONE_APPROVER_PER_ROLE = {
  roles: { technical: { users: [U.tech] }, product: { users: [U.prod] }, compliance: { users: [U.comp] } },
  notification_channel: NOTIFY,
};

export interface HarnessOptions {
  config?: Record<string, unknown>;
  checks?: readonly CheckDefinition[];
  renderIntervalMs?: number;
  workers?: boolean;
  /** Reuse a prefix/run (restart tests). */
  prefix?: string;
  artifactRoot?: string;
  /** The app store's clock (waiver and approval expiry); the real clock by default. */
  now?: () => Date;
  /** The app's clock for sign-off asking, reminders and escalation (default Date.now). */
  clock?: () => number;
  /** Hold a heavy check of the workers at its first progress report until the test releases it. */
  heavyHold?: HeavyHold;
  /** Attestations, revocation and webhooks after each render, as `readiness serve` sets them up. */
  gateHook?: (h: Harness) => Promise<((files: FilesClient) => GateObserver) | null>;
}

/** The app over real HTTP with real Redis (store, queues, workers) and a fake Slack Web API. */
export class Harness {
  redis!: Redis;
  store!: EvaluationStore;
  queues!: ReadinessQueues;
  workers: WorkerProcess | null = null;
  runtime!: SlackRuntime;
  fake = new FakeSlack();
  prefix = '';
  artifactRoot = '';
  runName = 'run';
  port = 0;
  config!: ReadinessConfig;
  /** The app's metrics registry (sign-offs, outcomes, Slack errors), as `readiness serve` exposes it. */
  metrics = createMetrics({ defaultMetrics: false });

  static async start(opts: HarnessOptions = {}): Promise<Harness> {
    const h = new Harness();
    await h.init(opts);
    return h;
  }

  /** Starts this harness (once): Redis, store, queues, workers, the fake Slack and the app. */
  async init(opts: HarnessOptions): Promise<void> {
    this.prefix = opts.prefix ?? `t${randomBytes(4).toString('hex')}`;
    if (opts.artifactRoot) this.artifactRoot = opts.artifactRoot;
    else this.artifactRoot = path.dirname(await copyExampleRun());
    this.redis = await connectRedis(inject('redisUrl'));
    this.config = ReadinessConfigSchema.parse(opts.config ?? DEFAULT_CONFIG);
    this.store = new EvaluationStore(this.redis, {
      prefix: this.prefix,
      ...(opts.checks ? { checks: opts.checks } : {}),
      ...(opts.now ? { now: opts.now } : {}),
    });
    this.queues = new ReadinessQueues(this.redis, this.prefix);
    this.heavyHold = opts.heavyHold;
    if (opts.workers !== false) await this.startWorkers();
    await this.fake.start();
    this.fake.usergroups = { S0TECHLEADS: [U.lead2] };
    this.port = await freePort();
    this.checks = opts.checks;
    this.renderIntervalMs = opts.renderIntervalMs ?? 200;
    this.gateObserver = (await opts.gateHook?.(this)) ?? undefined;
    this.clock = opts.clock;
    await this.startApp();
  }

  private checks: readonly CheckDefinition[] | undefined;
  private renderIntervalMs = 200;
  private gateObserver: ((files: FilesClient) => GateObserver) | undefined;
  private clock: (() => number) | undefined;
  private heavyHold: HeavyHold | undefined;

  /** (Re)starts the app process part: Bolt receiver, renderer, events consumer. */
  async startApp(): Promise<void> {
    const opts = { checks: this.checks };
    const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
    this.runtime = createSlackRuntime({
      settings: {
        botToken: 'xoxb-test-token',
        signingSecret: SECRET,
        apiUrl: this.fake.apiUrl,
        port: this.port,
        tokenVerification: false,
        retries: 0,
      },
      store: this.store,
      redisPrefix: this.prefix,
      config: this.config,
      submitter: new QueueSubmitter({
        store: this.store,
        queues: this.queues,
        config: this.config,
        artifactRoot: this.artifactRoot,
        ...(opts.checks ? { checks: opts.checks } : {}),
      }),
      log,
      renderIntervalMs: this.renderIntervalMs,
      pollMs: 300,
      metrics: this.metrics,
      ...(this.gateObserver ? { gateObserver: this.gateObserver } : {}),
      ...(this.clock ? { clock: this.clock } : {}),
    });
    await this.runtime.start();
  }

  /** A real worker OS process (the queue module's entry point under tsx) on this harness's prefix. */
  async startWorkers(): Promise<void> {
    this.workers = await new WorkerProcess({
      redisUrl: inject('redisUrl'),
      prefix: this.prefix,
      artifactRoot: this.artifactRoot,
      ...(this.heavyHold ? { hold: this.heavyHold } : {}),
    }).ready();
  }

  get runDir(): string {
    return path.join(this.artifactRoot, this.runName);
  }

  /** Stops the app only (Redis state and workers stay): a crash/restart of the app process. */
  async stopApp(): Promise<void> {
    await this.runtime.stop();
  }

  /** Stops whatever has started (also after a start that failed half-way). */
  async stop(): Promise<void> {
    await this.runtime?.stop().catch(() => {});
    await this.workers?.stop();
    await this.queues?.close();
    await this.fake.stop();
    this.redis?.disconnect();
  }

  async post(body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
    const res = await fetch(`http://127.0.0.1:${this.port}/slack/events`, { method: 'POST', headers, body });
    return { status: res.status, text: await res.text() };
  }

  async command(
    user: string,
    text: string,
    opts: { triggerId?: string; retryNum?: number; channel?: string } = {},
  ): Promise<{ status: number; text: string }> {
    const body = commandBody({
      text,
      user_id: user,
      response_url: this.fake.responseUrl(user),
      ...(opts.triggerId ? { trigger_id: opts.triggerId } : {}),
      ...(opts.channel ? { channel_id: opts.channel } : {}),
    });
    return this.post(body, signedHeaders(SECRET, body, opts.retryNum !== undefined ? { retryNum: opts.retryNum } : {}));
  }

  async click(
    user: string,
    actionId: string,
    value: string,
    opts: { fromHome?: boolean } = {},
  ): Promise<{ status: number; text: string }> {
    const body = interactionBody(
      buttonClick({ user, actionId, value, channel: CHANNEL, ...(opts.fromHome ? { fromHome: true } : {}) }),
    );
    return this.post(body, signedHeaders(SECRET, body));
  }

  async submitReject(user: string, privateMetadata: string, reason: string): Promise<{ status: number; text: string }> {
    const body = interactionBody(rejectSubmission({ user, privateMetadata, reason }));
    return this.post(body, signedHeaders(SECRET, body));
  }

  async homeOpened(user: string): Promise<{ status: number; text: string }> {
    const body = eventBody({
      type: 'app_home_opened',
      user,
      channel: 'D0HOME',
      tab: 'home',
      event_ts: String(Date.now() / 1000),
    });
    return this.post(body, signedHeaders(SECRET, body, { contentType: 'application/json' }));
  }

  async evaluations(): Promise<EvaluationState[]> {
    return this.store.listRecent(100);
  }

  /** The latest evaluation of the run once its gate message has been posted. */
  async postedEvaluation(): Promise<EvaluationState> {
    return waitFor(async () => {
      const s = await this.store.latestForRun(this.runName);
      return s?.evaluation.message ? s : null;
    }, 'the gate message to be posted');
  }

  /** The gate message of an evaluation as the fake Slack holds it now. */
  message(state: EvaluationState): { text: string; blocks: unknown[]; updates: number } {
    const ref = state.evaluation.message;
    const m = ref ? this.fake.messages.get(ref.ts) : undefined;
    if (!m) throw new Error('no gate message');
    return m;
  }

  /** Ephemeral answers (chat.postEphemeral) sent to `user`. */
  ephemeralsTo(user: string): string[] {
    return this.fake
      .callsOf('chat.postEphemeral')
      .filter((c) => c.args.user === user)
      .map((c) => String(c.args.text));
  }
}

/**
 * The harness of the enclosing describe block (or file): started before its tests, stopped after
 * them, and the copied runs removed. `opts` may be a function, called as the harness starts, so it
 * can use what earlier `beforeAll` hooks set up (a webhook receiver's URL, a key file); what those
 * hooks start, their `afterAll` stops after the harness has stopped.
 */
export function useHarness(opts: HarnessOptions | (() => HarnessOptions | Promise<HarnessOptions>) = {}): Harness {
  const h = new Harness();
  beforeAll(async () => {
    await h.init(typeof opts === 'function' ? await opts() : opts);
  });
  afterAll(async () => {
    await h.stop();
    await cleanupRuns();
  });
  return h;
}

/** Every mrkdwn/plain text of a Block Kit payload, joined. */
export function blockText(blocks: unknown): string {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if ((o.type === 'mrkdwn' || o.type === 'plain_text') && typeof o.text === 'string') out.push(o.text);
      Object.values(o).forEach(walk);
    }
  };
  walk(blocks);
  return out.join('\n');
}

/** Button values by action id in a Block Kit payload. */
export function buttons(blocks: unknown): Map<string, string> {
  const out = new Map<string, string>();
  for (const b of blocks as { type: string; elements?: { action_id?: string; value?: string }[] }[]) {
    if (b.type !== 'actions') continue;
    for (const e of b.elements ?? []) if (e.action_id && e.value) out.set(e.action_id, e.value);
  }
  return out;
}

/** Runs `/readiness run` and waits until that new evaluation's gate message has live sign-off buttons. */
let freshCount = 0;

/**
 * Runs the harness's run and waits for live sign-off buttons. By default the run's bytes are
 * changed first (a comment in its readiness.yml): sign-offs belong to the artifacts and the
 * policy, so an evaluation of unchanged bytes would inherit earlier tests' sign-offs.
 */
export async function liveEvaluation(
  h: Harness,
  user: string = U.requester,
  opts: { sameArtifacts?: boolean } = {},
): Promise<{ state: EvaluationState; value: string }> {
  if (!opts.sameArtifacts)
    await appendFile(path.join(h.runDir, 'readiness.yml'), `\n# evaluation ${++freshCount} of this test file\n`);
  const before = (await h.store.latestForRun(h.runName))?.evaluation.id;
  const ack = await h.command(user, `run ${h.runName}`);
  if (ack.status !== 200) throw new Error(`command not acked: ${ack.status}`);
  const state = await waitFor(async () => {
    const s = await h.store.latestForRun(h.runName);
    return s && s.evaluation.id !== before && s.evaluation.message ? s : null;
  }, 'a new evaluation with a gate message');
  const value = await waitFor(
    () => buttons(h.message(state).blocks).get('signoff_approve_technical'),
    'live buttons',
    60_000,
  );
  return { state, value };
}
