import { loadProcessConfig } from '../../config/env.js';
import { GateError } from '../../errors.js';

export interface ServeFlags {
  withWorkers?: boolean;
}

/**
 * `readiness serve [--with-workers]`: the Slack app (HTTP on PORT at /slack/events, or Socket Mode
 * with SLACK_APP_TOKEN), until SIGTERM/SIGINT. `--with-workers` also runs the check workers in
 * this process, for small teams with one container.
 */
export async function serveCommand(o: ServeFlags): Promise<void> {
  // Before anything that can be slow (config, Redis, Bolt): a signal during start-up is kept,
  // and from the first signal on the process ends within the deadline whatever hangs.
  const shutdown = new ShutdownSignals();
  const env = loadProcessConfig({ need: ['REDIS_URL', 'ARTIFACT_ROOT', 'SLACK_BOT_TOKEN'] });
  if (!env.SLACK_APP_TOKEN && !env.SLACK_SIGNING_SECRET) {
    throw new GateError(
      'CONFIG_INVALID',
      "SLACK_SIGNING_SECRET is not set; expected the app's signing secret (HTTP mode), or set SLACK_APP_TOKEN for Socket Mode",
    );
  }
  const graceMs = Math.max(env.SHUTDOWN_TIMEOUT_MS, o.withWorkers ? env.WORKER_SHUTDOWN_TIMEOUT_MS : 0);
  // Bolt, BullMQ and the store load only for this command, so `readiness check` starts fast.
  const [
    { readReadinessConfig },
    { createLogger },
    { connectRedis },
    { ReadinessQueues },
    { createSlackRuntime },
    { QueueSubmitter },
    { EvaluationStore },
    { settleWithin },
  ] = await Promise.all([
    import('../../config/readiness-config.js'),
    import('../../log.js'),
    import('../../queue/connection.js'),
    import('../../queue/producer.js'),
    import('../../slack/app.js'),
    import('../../slack/submit.js'),
    import('../../store/redis-store.js'),
    import('../../queue/intake.js'),
  ]);
  const log = createLogger({ level: env.LOG_LEVEL, name: 'readiness-app' });
  shutdown.arm(graceMs + SHUTDOWN_MARGIN_MS, log);
  log.info({ shutdownTimeoutMs: graceMs }, 'starting');
  const config = await readReadinessConfig(env.READINESS_CONFIG);
  const redis = await connectRedis(env.REDIS_URL, { connectionName: 'readiness-app' });
  const store = new EvaluationStore(redis, { prefix: env.REDIS_PREFIX });
  const queues = new ReadinessQueues(redis, env.REDIS_PREFIX);
  const { createMetrics } = await import('../../observability/metrics.js');
  const metrics = createMetrics();
  const { setupGateHook } = await import('../../attestation/setup.js');
  const { lookupProcessVariable } = await import('../../config/env.js');
  const gateObserver = await setupGateHook({
    redis,
    prefix: env.REDIS_PREFIX,
    store,
    config,
    log,
    signingKeyFile: env.ATTESTATION_SIGNING_KEY_FILE,
    lookupEnv: lookupProcessVariable,
  });
  const runtime = createSlackRuntime({
    settings: {
      botToken: env.SLACK_BOT_TOKEN,
      signingSecret: env.SLACK_SIGNING_SECRET,
      appToken: env.SLACK_APP_TOKEN,
      apiUrl: env.SLACK_API_URL,
      port: env.PORT,
      apiTimeoutMs: env.SLACK_API_TIMEOUT_MS,
      retries: env.SLACK_API_RETRIES,
    },
    store,
    redisPrefix: env.REDIS_PREFIX,
    config,
    submitter: new QueueSubmitter({ store, queues, config, artifactRoot: env.ARTIFACT_ROOT }),
    log,
    metrics,
    ...(gateObserver ? { gateObserver } : {}),
    intakeConcurrency: env.INTAKE_CONCURRENCY,
  });
  let workers: { close(): Promise<void> } | null = null;
  if (o.withWorkers) {
    const { startCheckWorkers } = await import('../../worker/worker.js');
    workers = await startCheckWorkers(
      redis,
      {
        prefix: env.REDIS_PREFIX,
        artifactRoot: env.ARTIFACT_ROOT,
        queues: ['light', 'heavy'],
        lightConcurrency: env.WORKER_LIGHT_CONCURRENCY,
        lockDurationMs: env.WORKER_LOCK_DURATION_MS,
        stalledIntervalMs: env.WORKER_STALLED_INTERVAL_MS,
        maxStalledCount: env.WORKER_MAX_STALLED_COUNT,
        shutdownTimeoutMs: env.WORKER_SHUTDOWN_TIMEOUT_MS,
        maxmemoryCheck: env.REDIS_MAXMEMORY_CHECK,
        metrics,
      },
      log.child({ component: 'worker' }),
    );
  }
  let observability: { close(): Promise<void> } | null = null;
  if (!shutdown.requested) {
    await runtime.start();
    const { startProcessObservability } = await import('../../observability/process.js');
    observability = await startProcessObservability({
      port: env.HEALTH_PORT,
      redis,
      queues,
      metrics,
      log,
      probes: [{ name: 'slack_auth', check: slackAuthProbe(runtime.app.client) }],
    });
  }
  const signal = await shutdown.received;
  log.info({ signal }, 'shutting down');
  await observability?.close().catch(() => {});
  // Requests stop first; commands and clicks being processed get the grace period (what is
  // left stays queued in Redis for the next start), then the check workers theirs.
  await runtime
    .stop(env.SHUTDOWN_TIMEOUT_MS)
    .catch((err: unknown) => log.error({ err }, 'error stopping the Slack app'));
  await workers?.close().catch((err: unknown) => log.error({ err }, 'error stopping the workers'));
  await settleWithin(queues.close(), 1000);
  await settleWithin(redis.quit(), 1000);
  redis.disconnect();
  log.info('stopped');
  // Connections BullMQ duplicated may still be retrying an unreachable Redis: nothing is left to wait for.
  shutdown.exitSoon(0);
}

/** Time beyond the grace period for closing connections before the process is ended regardless. */
export const SHUTDOWN_MARGIN_MS = 5000;

type ShutdownLog = {
  error(msg: string): void;
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
};

/**
 * SIGTERM/SIGINT from the moment `serve` starts: the first signal is remembered (also during
 * start-up) and starts the hard deadline; a second signal ends the process at once.
 */
export class ShutdownSignals {
  requested: NodeJS.Signals | null = null;
  readonly received: Promise<NodeJS.Signals>;
  private deadlineMs = 10_000 + SHUTDOWN_MARGIN_MS;
  private log: ShutdownLog | null = null;

  constructor() {
    let resolve!: (s: NodeJS.Signals) => void;
    this.received = new Promise((r) => (resolve = r));
    const onSignal = (signal: NodeJS.Signals): void => {
      if (this.requested) {
        this.log?.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      this.requested = signal;
      this.log?.info({ signal }, 'signal received');
      setTimeout(() => {
        this.log?.error(
          'shutdown did not complete in time (Redis or Slack unreachable?); exiting; what was taken in stays queued in Redis',
        );
        process.exit(1);
      }, this.deadlineMs).unref();
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  /** Ends the process shortly unless it ends by itself first (handles left open by clients of an unreachable Redis). */
  exitSoon(code: number): void {
    setTimeout(() => process.exit(code), 500).unref();
  }

  /** The deadline from the first signal (set once the configuration is read). */
  arm(deadlineMs: number, log: ShutdownLog): void {
    this.deadlineMs = deadlineMs;
    this.log = log;
  }
}

/** Slack auth is ok when auth.test succeeds; a success is trusted for a minute so probes stay cheap. */
export function slackAuthProbe(
  client: { auth: { test(): Promise<{ ok?: boolean; error?: string }> } },
  ttlMs = 60_000,
): () => Promise<void> {
  let okUntil = 0;
  return async () => {
    if (Date.now() < okUntil) return;
    const r = await client.auth.test();
    if (!r.ok) throw new Error(`auth.test: ${r.error ?? 'not ok'}`);
    okUntil = Date.now() + ttlMs;
  };
}
