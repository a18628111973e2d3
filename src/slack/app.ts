import { App, LogLevel, webApi, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from 'pino';
import type { ReadinessConfig } from '../config/readiness-config.js';
import type { EvaluationStore } from '../store/redis-store.js';
import type { Worker } from 'bullmq';
import { ApproverDirectory } from './auth.js';
import { startEventsConsumer } from './events-consumer.js';
import { BackgroundWork } from './background.js';
import { registerListeners } from './listeners/index.js';
import { GateRenderer, redisRenderLedger } from './renderer.js';
import type { GateMetrics } from '../observability/metrics.js';
import type { EvaluationSubmitter, SlackServices } from './services.js';
import type { FilesClient, GateObserver } from '../attestation/gate-hook.js';

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
  /** Web API retries for listener calls (default: Bolt's). */
  retries?: number;
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
  /** Follow-up work run at once after acks (default 2). */
  backgroundConcurrency?: number;
  dedupeTtlMs?: number;
  /** Consume the queue's "evaluation changed" events (default true). */
  consumeEvents?: boolean;
  metrics?: GateMetrics;
  /** Attestations, revocation and webhooks after each render (src/attestation/gate-hook.ts); given the app's Web API client for uploads. */
  gateObserver?: (files: FilesClient) => GateObserver;
}

export interface SlackRuntime {
  app: App;
  services: SlackServices;
  renderer: GateRenderer;
  background: BackgroundWork;
  start(): Promise<void>;
  stop(): Promise<void>;
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
  const retryConfig = settings.retries === undefined ? undefined : { retries: settings.retries };
  const socketMode = Boolean(settings.appToken);
  if (!socketMode && !settings.signingSecret) throw new Error('HTTP mode needs the signing secret (or an app token for Socket Mode)');
  const app = new App({
    token: settings.botToken,
    ...(socketMode ? { socketMode: true, appToken: settings.appToken } : { signingSecret: settings.signingSecret }),
    port: settings.port,
    logger: boltLogger(log.child({ component: 'bolt' })),
    tokenVerificationEnabled: settings.tokenVerification ?? true,
    clientOptions: { ...(slackApiUrl ? { slackApiUrl } : {}), ...(retryConfig ? { retryConfig } : {}) },
  });
  // The renderer's own client: a 429 is handed back (not slept on inside the client) so only the
  // rate-limited message waits, for exactly Retry-After.
  const renderClient = new webApi.WebClient(settings.botToken, {
    ...(slackApiUrl ? { slackApiUrl } : {}),
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    logger: boltLogger(log.child({ component: 'web-api' })),
  });
  const gateObserver = opts.gateObserver?.(app.client);
  const renderer = new GateRenderer({
    store: opts.store,
    ledger: redisRenderLedger(opts.store.redis, opts.redisPrefix),
    client: renderClient,
    log: log.child({ component: 'renderer' }),
    notificationChannel: opts.config.notification_channel,
    metrics: opts.metrics,
    gateObserver,
    ...(opts.renderIntervalMs !== undefined ? { minIntervalMs: opts.renderIntervalMs } : {}),
    ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
  });
  const services: SlackServices = {
    store: opts.store,
    config: opts.config,
    approvers: new ApproverDirectory(opts.config, app.client),
    renderer,
    submitter: opts.submitter,
    log,
    metrics: opts.metrics,
    ...(opts.dedupeTtlMs !== undefined ? { dedupeTtlMs: opts.dedupeTtlMs } : {}),
  };
  const background = new BackgroundWork(opts.backgroundConcurrency ?? 2, (err) => log.error({ err }, 'background work failed'));
  registerListeners(app, services, background);
  let events: Worker | null = null;
  app.error(async (err) => {
    log.error({ err }, 'unhandled error in a Slack listener');
  });
  return {
    app,
    services,
    renderer,
    background,
    async start() {
      await app.start(settings.port);
      await gateObserver?.start();
      await renderer.start();
      if (opts.consumeEvents !== false) events = await startEventsConsumer(opts.store.redis, opts.redisPrefix, renderer, log.child({ component: 'events' }));
      log.info({ mode: socketMode ? 'socket' : 'http', port: socketMode ? undefined : settings.port }, 'Slack app started');
    },
    async stop() {
      await app.stop();
      await events?.close();
      await background.drain();
      await renderer.stop();
      await gateObserver?.stop();
    },
  };
}
