import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

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
  /** Registers the queue-count source read on every scrape. */
  setQueueSource(source: QueueCountsSource): void;
}

/**
 * One registry per process (app or worker) with the gate's metrics and Node's default process
 * metrics. Names follow Prometheus conventions (`_total`, `_seconds`).
 */
export function createMetrics(opts: { defaultMetrics?: boolean; prefix?: string } = {}): GateMetrics {
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
  return {
    registry,
    queueJobs,
    evaluations: new Counter({ name: `${p}evaluations_total`, help: 'Evaluations by gate outcome when they settle (passed, blocked) or are created', labelNames: ['outcome'] as const, registers: [registry] }),
    checkDuration: new Histogram({
      name: `${p}check_duration_seconds`,
      help: 'Check run time by check id and status',
      labelNames: ['check', 'status'] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers: [registry],
    }),
    signoffs: new Counter({ name: `${p}signoffs_total`, help: 'Sign-off attempts by role and decision (approved, rejected, refused)', labelNames: ['role', 'decision'] as const, registers: [registry] }),
    slackApiErrors: new Counter({ name: `${p}slack_api_errors_total`, help: 'Slack Web API calls that returned an error', labelNames: ['method', 'error'] as const, registers: [registry] }),
    slackRateLimitWaits: new Counter({ name: `${p}slack_rate_limit_waits_total`, help: 'Times a Slack call waited for Retry-After after a 429', labelNames: ['method'] as const, registers: [registry] }),
    slackRateLimitWaitSeconds: new Counter({ name: `${p}slack_rate_limit_wait_seconds_total`, help: 'Seconds spent waiting on Slack rate limits', labelNames: ['method'] as const, registers: [registry] }),
    setQueueSource(source) {
      queueSource = source;
    },
  };
}
