import { App, type Logger as BoltLogger, LogLevel, webApi } from '@slack/bolt';
import type { Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { FilesClient, GateObserver } from '../attestation/gate-hook.js';
import type { ReadinessConfig } from '../config/readiness-config.js';
import type { GateMetrics } from '../observability/metrics.js';
import { Intake, settleWithin } from '../queue/intake.js';
import { SignoffTimerQueue, startSignoffTimerWorker } from '../queue/reminders.js';
import type { EvaluationStore } from '../store/redis-store.js';
import { SignoffAsker } from './asking.js';
import { ApproverDirectory } from './auth.js';
import { startEventsConsumer } from './events-consumer.js';
import { registerListeners } from './listeners/index.js';
import { postToResponseUrl } from './notify-user.js';
import { GateRenderer, redisRenderLedger } from './renderer.js';
import type { EvaluationSubmitter, Replies, SlackServices } from './services.js';

/** Slack settings, parsed by the config module (nothing here reads the environment). */
export interface SlackAppSettings {
  botToken: string;
  /** HTTP mode: requests at /slack/events, verified with this secret. */
  signingSecret?: string | undefined;
  /** Socket Mode when set (xapp- token). */
  appToken?: string | undefined;
  /** Web API base URL (proxies, tests). */
  apiUrl?: string | undefined;
  port: number;
  /** Call auth.test at start (default true; tests turn it off). */
  tokenVerification?: boolean;
  /** Retries of a failed Web API call made for a command or click (default 2; gate messages retry on their own schedule). */
  retries?: number;
  /** Timeout of each Web API request and response_url post (default 10 s). */
  apiTimeoutMs?: number;
}

export interface SlackRuntimeOptions {
  settings: SlackAppSettings;
  store: EvaluationStore;
  /** Redis key prefix (REDIS_PREFIX) for the app's own render ledger. */
  redisPrefix: string;
  config: ReadinessConfig;
  submitter: EvaluationSubmitter;
  log: Logger;
  renderIntervalMs?: number;
  pollMs?: number;
  /** Commands and clicks processed at a time by this process (default 32). */
  intakeConcurrency?: number;
  /** Intake lock and stalled-check interval (defaults 10 s / 5 s): a killed app's items run again within their sum. */
  intakeLockMs?: number;
  /** Quiet time after the last take before an item's processing starts (default 40 ms; 0: off). See IntakeOptions. */
  intakeYieldToTakesMs?: number;
  intakeStalledIntervalMs?: number;
  /** Consume the queue's "evaluation changed" events (default true). */
  consumeEvents?: boolean;
  metrics?: GateMetrics;
  /** Attestations, revocation and webhooks after each render (src/attestation/gate-hook.ts); given the app's Web API client for uploads. */
  gateObserver?: (files: FilesClient) => GateObserver;
  /** The app's clock for sign-off asking, reminders and escalation (tests drive it; default Date.now). */
  clock?: () => number;
}

export interface SlackRuntime {
  app: App;
  services: SlackServices;
  renderer: GateRenderer;
  /** Delayed sign-off reminders and escalations (src/queue/reminders.ts). */
  signoffTimers: SignoffTimerQueue;
  /** Durable intake of commands and clicks (taken in before their ack, processed here or in any app process). */
  intake: Intake;
  start(): Promise<void>;
  /**
   * Stops taking requests, lets items being processed finish for up to `timeoutMs` (default 10 s),
   * then stops; never waits on Redis or Slack beyond that (what is left stays queued in Redis).
   */
  stop(timeoutMs?: number): Promise<void>;
}

/** Bolt's logger interface over pino (which redacts tokens and secrets). */
export function boltLogger(log: Logger): BoltLogger {
  let level = LogLevel.INFO;
  return {
    debug: (...m: unknown[]) => log.debug(m.map(String).join(' ')),
    info: (...m: unknown[]) => log.info(m.map(String).join(' ')),
    warn: (...m: unknown[]) => log.warn(m.map(String).join(' ')),
    error: (...m: unknown[]) => log.error(m.map(String).join(' ')),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

function apiBase(url: string | undefined): string | undefined {
  if (!url) return undefined;
  return url.endsWith('/') ? url : `${url}/`;
}

/** Builds the Bolt app, its listeners and the gate message renderer. */
export function createSlackRuntime(opts: SlackRuntimeOptions): SlackRuntime {
  const { settings, log } = opts;
  const slackApiUrl = apiBase(settings.apiUrl);
  const timeout = settings.apiTimeoutMs ?? 10_000;
  // Bounded: a few quick tries, never web-api's default of ten retries over about 30 minutes.
  const retryConfig = { retries: settings.retries ?? 2, factor: 2, minTimeout: 500, maxTimeout: 4000, randomize: true };
  const socketMode = Boolean(settings.appToken);
  const receiverMode = settings.appToken
    ? { socketMode: true, appToken: settings.appToken }
    : settings.signingSecret
      ? { signingSecret: settings.signingSecret }
      : undefined;
  if (!receiverMode) throw new Error('HTTP mode needs the signing secret (or an app token for Socket Mode)');
  const app = new App({
    token: settings.botToken,
    ...receiverMode,
    port: settings.port,
    logger: boltLogger(log.child({ component: 'bolt' })),
    tokenVerificationEnabled: settings.tokenVerification ?? true,
    clientOptions: { ...(slackApiUrl ? { slackApiUrl } : {}), retryConfig, timeout },
  });
  // The renderer's own client: a 429 is handed back (not slept on inside the client) so only the
  // rate-limited message waits, for exactly Retry-After.
  const renderClient = new webApi.WebClient(settings.botToken, {
    ...(slackApiUrl ? { slackApiUrl } : {}),
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout,
    logger: boltLogger(log.child({ component: 'web-api' })),
  });
  const gateObserver = opts.gateObserver?.(app.client);
  const clock = opts.clock ?? Date.now;
  // reminders and escalations: delayed jobs, durable across restarts of every process
  const signoffTimers = new SignoffTimerQueue(opts.store.redis, opts.redisPrefix);
  let timerWorker: Worker | null = null;
  let asker: SignoffAsker | null = null;
  const renderer = new GateRenderer({
    store: opts.store,
    ledger: redisRenderLedger(opts.store.redis, opts.redisPrefix),
    client: renderClient,
    log: log.child({ component: 'renderer' }),
    notificationChannel: opts.config.notification_channel,
    metrics: opts.metrics,
    gateObserver,
    // longer than one post plus two history pages, each bounded by the client's timeout
    postClaimMs: 4 * timeout,
    ...(opts.renderIntervalMs !== undefined ? { minIntervalMs: opts.renderIntervalMs } : {}),
    ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
    asking: (parts) =>
      (asker = new SignoffAsker({
        store: opts.store,
        config: opts.config,
        ...parts,
        groupMembers: async (usergroup) => (await app.client.usergroups.users.list({ usergroup })).users ?? [],
        timers: signoffTimers,
        now: clock,
        log: log.child({ component: 'asking' }),
        metrics: opts.metrics,
      })),
  });
  const services: SlackServices = {
    store: opts.store,
    config: opts.config,
    approvers: new ApproverDirectory(opts.config, app.client),
    renderer,
    submitter: opts.submitter,
    log,
    metrics: opts.metrics,
  };
  const intakeLog = log.child({ component: 'intake' });
  const intake = new Intake(opts.store.redis, {
    prefix: opts.redisPrefix,
    log: intakeLog,
    ...(opts.intakeConcurrency !== undefined ? { concurrency: opts.intakeConcurrency } : {}),
    ...(opts.intakeLockMs !== undefined ? { lockDurationMs: opts.intakeLockMs } : {}),
    ...(opts.intakeYieldToTakesMs !== undefined ? { yieldToTakesMs: opts.intakeYieldToTakesMs } : {}),
    ...(opts.intakeStalledIntervalMs !== undefined ? { stalledIntervalMs: opts.intakeStalledIntervalMs } : {}),
    onRetry: async (item) => {
      await opts.store.audit('slack_retry', null, item.user, {
        intake: item.id,
        kind: item.kind,
        retry_num: item.retryNum,
      });
    },
    onFailed: async (item, err) => {
      await opts.store.audit('intake_failed', null, item.user, {
        intake: item.id,
        kind: item.kind,
        error: err.message.slice(0, 500),
      });
    },
  });
  const replies: Replies = {
    client: app.client,
    respond: (url, message) => postToResponseUrl(url, message, { timeoutMs: timeout, retries: retryConfig.retries }),
  };
  // Every command, click and form counts as being taken in from its listener's start to its ack
  // (the pre-ack run check included), so processing yields to it; events (App Home) are acked by
  // Bolt before their listener runs and are not requests the intake waits for.
  app.use(async ({ body, next }) => {
    if ((body as { type?: unknown }).type === 'event_callback') return next();
    const ended = intake.requestBegan();
    try {
      await next();
    } finally {
      ended();
    }
  });
  registerListeners(app, services, intake, replies);
  let events: Worker | null = null;
  app.error(async (err) => {
    log.error({ err }, 'unhandled error in a Slack listener');
  });
  return {
    app,
    services,
    renderer,
    signoffTimers,
    intake,
    async start() {
      // Processing first: items a killed process left behind (and items taken in by other app
      // processes) run as soon as this process is up.
      await intake.start();
      await app.start(settings.port);
      await gateObserver?.start();
      await renderer.start();
      const a = asker;
      if (a)
        timerWorker = await startSignoffTimerWorker(
          opts.store.redis,
          opts.redisPrefix,
          (job) => a.runTimer(job),
          log.child({ component: 'signoff-timers' }),
        );
      if (opts.consumeEvents !== false)
        events = await startEventsConsumer(
          opts.store.redis,
          opts.redisPrefix,
          renderer,
          log.child({ component: 'events' }),
        );
      log.info(
        { mode: socketMode ? 'socket' : 'http', port: socketMode ? undefined : settings.port },
        'Slack app started',
      );
    },
    async stop(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      const left = (): number => Math.max(0, deadline - Date.now());
      // No new requests; a receiver that cannot close at once (open connections) is not waited on.
      await settleWithin(app.stop(), Math.min(2000, left()));
      await intake.close(left());
      if (events) {
        const e = events;
        events = null;
        if (!(await settleWithin(e.close(), Math.min(2000, left())))) void e.close(true).catch(() => {});
      }
      if (timerWorker) {
        const w = timerWorker;
        timerWorker = null;
        if (!(await settleWithin(w.close(), Math.min(2000, left())))) void w.close(true).catch(() => {});
      }
      await settleWithin(signoffTimers.close(), Math.min(2000, left()));
      await settleWithin(renderer.stop(), left());
      await settleWithin(gateObserver?.stop() ?? Promise.resolve(), left());
    },
  };
}
