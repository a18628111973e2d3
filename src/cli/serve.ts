import type { Command } from 'commander';
import { loadProcessConfig } from '../config/env.js';
import { GateError } from '../errors.js';
import type { Io } from './main.js';

/**
 * `readiness serve [--with-workers]`: the Slack app (HTTP on PORT at /slack/events, or Socket Mode
 * with SLACK_APP_TOKEN), until SIGTERM/SIGINT. `--with-workers` also runs the check workers in
 * this process, for small teams with one container.
 */
export function registerServe(program: Command, _io: Io, setExit: (code: number) => void): void {
  program
    .command('serve')
    .description('run the Slack app (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET or SLACK_APP_TOKEN, REDIS_URL, ARTIFACT_ROOT, READINESS_CONFIG)')
    .option('--with-workers', 'also run the check workers (light and heavy queues) in this process')
    .action(async (o: { withWorkers?: boolean }) => {
      const env = loadProcessConfig({ need: ['REDIS_URL', 'ARTIFACT_ROOT', 'SLACK_BOT_TOKEN'] });
      if (!env.SLACK_APP_TOKEN && !env.SLACK_SIGNING_SECRET) {
        throw new GateError('CONFIG_INVALID', "SLACK_SIGNING_SECRET is not set; expected the app's signing secret (HTTP mode), or set SLACK_APP_TOKEN for Socket Mode");
      }
      // Bolt, BullMQ and the store load only for this command, so `readiness check` starts fast.
      const [{ readReadinessConfig }, { createLogger }, { connectRedis }, { ReadinessQueues }, { createSlackRuntime }, { QueueSubmitter }, { EvaluationStore }] = await Promise.all([
        import('../config/readiness-config.js'),
        import('../log.js'),
        import('../queue/connection.js'),
        import('../queue/producer.js'),
        import('../slack/app.js'),
        import('../slack/submit.js'),
        import('../store/redis-store.js'),
      ]);
      const log = createLogger({ level: env.LOG_LEVEL, name: 'readiness-app' });
      const config = await readReadinessConfig(env.READINESS_CONFIG);
      const redis = await connectRedis(env.REDIS_URL, { connectionName: 'readiness-app' });
      const store = new EvaluationStore(redis, { prefix: env.REDIS_PREFIX });
      const queues = new ReadinessQueues(redis, env.REDIS_PREFIX);
      const { createMetrics } = await import('../observability/metrics.js');
      const metrics = createMetrics();
      const { setupGateHook } = await import('../attestation/setup.js');
      const { lookupProcessVariable } = await import('../config/env.js');
      const gateObserver = await setupGateHook({ redis, prefix: env.REDIS_PREFIX, store, config, log, signingKeyFile: env.ATTESTATION_SIGNING_KEY_FILE, lookupEnv: lookupProcessVariable });
      const runtime = createSlackRuntime({
        settings: { botToken: env.SLACK_BOT_TOKEN, signingSecret: env.SLACK_SIGNING_SECRET, appToken: env.SLACK_APP_TOKEN, apiUrl: env.SLACK_API_URL, port: env.PORT },
        store,
        redisPrefix: env.REDIS_PREFIX,
        config,
        submitter: new QueueSubmitter({ store, queues, config, artifactRoot: env.ARTIFACT_ROOT }),
        log,
        metrics,
        ...(gateObserver ? { gateObserver } : {}),
      });
      let workers: { close(): Promise<void> } | null = null;
      if (o.withWorkers) {
        const { startCheckWorkers } = await import('../../workers/worker.js');
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
      await runtime.start();
      const { startProcessObservability } = await import('../observability/process.js');
      const observability = await startProcessObservability({
        port: env.HEALTH_PORT,
        redis,
        queues,
        metrics,
        log,
        probes: [{ name: 'slack_auth', check: slackAuthProbe(runtime.app.client) }],
      });
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals): void => {
          log.info({ signal }, 'shutting down');
          void (async () => {
            await observability.close();
            await runtime.stop().catch((err: unknown) => log.error({ err }, 'error stopping the Slack app'));
            await workers?.close().catch((err: unknown) => log.error({ err }, 'error stopping the workers'));
            await queues.close();
            await redis.quit().catch(() => redis.disconnect());
            resolve();
          })();
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      setExit(0);
    });
}

/** Slack auth is ok when auth.test succeeds; a success is trusted for a minute so probes stay cheap. */
export function slackAuthProbe(client: { auth: { test(): Promise<{ ok?: boolean; error?: string }> } }, ttlMs = 60_000): () => Promise<void> {
  let okUntil = 0;
  return async () => {
    if (Date.now() < okUntil) return;
    const r = await client.auth.test();
    if (!r.ok) throw new Error(`auth.test: ${r.error ?? 'not ok'}`);
    okUntil = Date.now() + ttlMs;
  };
}
