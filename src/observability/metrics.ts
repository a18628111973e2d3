import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type CheckLanes, checkLanes as processLanes } from './health.js';

/** Queue counts are read at scrape time from whoever owns the queues (workers, app). */
export type QueueCountsSource = () => Promise<{ queue: string; counts: Record<string, number> }[]>;

export interface GateMetrics {
  registry: Registry;
  evaluations: Counter<'outcome'>;
  checkDuration: Histogram<'check' | 'status'>;
  signoffs: Counter<'role' | 'decision'>;
  slackApiErrors: Counter<'method' | 'error'>;
  slackRateLimitWaits: Counter<'method'>;
  slackRateLimitWaitSeconds: Counter<'method'>;
  queueJobs: Gauge<'queue' | 'state'>;
  /** Checks ended by a limit, by check id and limit (time, memory). */
  checkLimitExceeded: Counter<'check' | 'limit'>;
  /** Registers the queue-count source read on every scrape. */
  setQueueSource(source: QueueCountsSource): void;
}

/**
 * One registry per process (app or worker) with the gate's metrics and Node's default process
 * metrics. Names follow Prometheus conventions (`_total`, `_seconds`).
 */
export function createMetrics(
  opts: { defaultMetrics?: boolean; prefix?: string; lanes?: CheckLanes } = {},
): GateMetrics {
  const registry = new Registry();
  const p = opts.prefix ?? 'readiness_';
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  let queueSource: QueueCountsSource | null = null;
  const queueJobs = new Gauge({
    name: `${p}queue_jobs`,
    help: 'Jobs per queue and state (waiting, active, delayed, failed, completed), read at scrape time',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      if (!queueSource) return;
      this.reset();
      for (const { queue, counts } of await queueSource()) {
        for (const [state, n] of Object.entries(counts)) this.set({ queue, state }, n);
      }
    },
  });
  const lanes = opts.lanes ?? processLanes;
  const perLane = (
    name: string,
    help: string,
    pick: (s: ReturnType<CheckLanes['snapshot']>) => readonly { lane: string }[],
  ) =>
    new Gauge({
      name: `${p}${name}`,
      help,
      labelNames: ['lane'] as const,
      registers: [registry],
      collect() {
        const checks = pick(lanes.snapshot());
        for (const lane of ['light', 'heavy'] as const)
          this.set({ lane }, checks.filter((c) => c.lane === lane).length);
      },
    });
  perLane('checks_running', 'Checks running in this process, by lane (light, heavy)', (s) => s.running);
  perLane(
    'checks_past_limit',
    'Checks still running past their time limit (plus grace) in this process, by lane; /readyz fails while this is not 0',
    (s) => s.pastLimit,
  );
  new Gauge({
    name: `${p}heavy_lane_blocked`,
    help: '1 while the heavy check lane of this process is blocked (a check past its limit, a killed check process that does not exit)',
    registers: [registry],
    collect() {
      this.set(lanes.snapshot().heavyBlocked.length > 0 ? 1 : 0);
    },
  });
  return {
    registry,
    queueJobs,
    checkLimitExceeded: new Counter({
      name: `${p}check_limit_exceeded_total`,
      help: 'Checks ended as an error by their time or memory limit',
      labelNames: ['check', 'limit'] as const,
      registers: [registry],
    }),
    evaluations: new Counter({
      name: `${p}evaluations_total`,
      help: 'Evaluations by gate outcome when they settle (passed, blocked) or are created',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    checkDuration: new Histogram({
      name: `${p}check_duration_seconds`,
      help: 'Check run time by check id and status',
      labelNames: ['check', 'status'] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers: [registry],
    }),
    signoffs: new Counter({
      name: `${p}signoffs_total`,
      help: 'Sign-off attempts by role and decision (approved, rejected, refused)',
      labelNames: ['role', 'decision'] as const,
      registers: [registry],
    }),
    slackApiErrors: new Counter({
      name: `${p}slack_api_errors_total`,
      help: 'Slack Web API calls that returned an error',
      labelNames: ['method', 'error'] as const,
      registers: [registry],
    }),
    slackRateLimitWaits: new Counter({
      name: `${p}slack_rate_limit_waits_total`,
      help: 'Times a Slack call waited for Retry-After after a 429',
      labelNames: ['method'] as const,
      registers: [registry],
    }),
    slackRateLimitWaitSeconds: new Counter({
      name: `${p}slack_rate_limit_wait_seconds_total`,
      help: 'Seconds spent waiting on Slack rate limits',
      labelNames: ['method'] as const,
      registers: [registry],
    }),
    setQueueSource(source) {
      queueSource = source;
    },
  };
}
