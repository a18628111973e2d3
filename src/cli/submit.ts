import { userInfo } from 'node:os';
import { type Command, InvalidArgumentError } from 'commander';
import { AUTOMATED_CHECKS } from '../checks/registry.js';
import type { CheckResult } from '../checks/types.js';
import { loadProcessConfig } from '../config/env.js';
import { readReadinessConfig, selectPolicyLayer } from '../config/readiness-config.js';
import { GateError } from '../errors.js';
import { EvaluationStore, reportFromState } from '../store/redis-store.js';
import type { EvaluationState } from '../store/types.js';
import {
  addReportOptions,
  checkOutputPath,
  describeTarget,
  emitReport,
  exitCodeFor,
  explainExit,
  type Io,
  parseTarget,
  type ReportOutputOptions,
  type TargetFlag,
} from './output.js';
import { ProgressLine } from './progress.js';

const UNFINISHED = new Set(['pending', 'running']);

export function parseSeconds(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError(`expected a number of seconds > 0, got "${v}"`);
  return n;
}

export function automatedDone(state: EvaluationState): boolean {
  return state.checks.every((c) => c.category === 'signoff' || !UNFINISHED.has(c.status));
}

/**
 * Polls the store until every automated check of the evaluation is final. Polling the version
 * (one HGET) survives Redis restarts and app/worker restarts alike; results stream to `onResult`.
 */
export async function waitForChecks(
  store: EvaluationStore,
  id: string,
  opts: { timeoutMs: number; pollMs?: number; onResult?: (r: CheckResult) => void; now?: () => number },
): Promise<EvaluationState> {
  const now = opts.now ?? Date.now;
  const deadline = now() + opts.timeoutMs;
  const seen = new Set<string>();
  let lastVersion = -1;
  for (;;) {
    const version = await store.version(id);
    if (version === null) throw new GateError('NOT_FOUND', `evaluation ${id} disappeared from Redis`);
    if (version !== lastVersion) {
      lastVersion = version;
      const state = await store.getState(id);
      if (!state) throw new GateError('NOT_FOUND', `evaluation ${id} disappeared from Redis`);
      for (const c of state.checks) {
        if (c.category !== 'signoff' && !UNFINISHED.has(c.status) && !seen.has(c.id)) {
          seen.add(c.id);
          opts.onResult?.(c);
        }
      }
      if (automatedDone(state)) return state;
    }
    if (now() > deadline) {
      throw new GateError(
        'USAGE',
        `timed out after ${Math.round(opts.timeoutMs / 1000)} s waiting for the checks of evaluation ${id}; it continues on the workers (readiness status ${id})`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
  }
}

interface SubmitFlags extends ReportOutputOptions {
  target?: TargetFlag;
  policy?: string;
  wait?: boolean;
  timeout: number;
  quiet?: boolean;
  requester?: string;
}

export function registerSubmit(program: Command, io: Io, setExit: (code: number) => void): void {
  const cmd = program
    .command('submit')
    .description('create an evaluation of a run (name relative to ARTIFACT_ROOT) on the shared workers (REDIS_URL)')
    .argument('<run>', 'run name relative to ARTIFACT_ROOT')
    .option(
      '--target <percent>',
      'test accuracy target, overrides the policy: a percent (85) or a fraction (0.85)',
      parseTarget,
    )
    .option('--policy <name-or-file>', 'a policy named in READINESS_CONFIG, or a policy file (YAML or JSON)')
    .option('--wait', 'wait for the automated checks and print the report as `readiness check` does (same exit codes)');
  addReportOptions(cmd, 'with --wait: ')
    .option(
      '--timeout <seconds>',
      'with --wait: give up waiting after this long (exit 2; the evaluation continues)',
      parseSeconds,
      1800,
    )
    .option('--quiet', 'no progress on stderr')
    .option('--requester <id>', 'who asks (audit log); defaults to cli:<login name>')
    .action(async (runName: string, o: SubmitFlags) => {
      await checkOutputPath(o.output);
      describeTarget(o.target, io);
      const config = loadProcessConfig({ need: ['REDIS_URL', 'ARTIFACT_ROOT'] });
      const readinessConfig = await readReadinessConfig(config.READINESS_CONFIG);
      const policyLayer = await selectPolicyLayer(readinessConfig, o.policy);
      // bullmq and ioredis load only for this command, not for `readiness check`.
      const [{ connectRedis }, { ReadinessQueues }, { submitEvaluation }] = await Promise.all([
        import('../queue/connection.js'),
        import('../queue/producer.js'),
        import('../queue/submit.js'),
      ]);
      const redis = await connectRedis(config.REDIS_URL, { connectionName: 'readiness-submit' });
      const queues = new ReadinessQueues(redis, config.REDIS_PREFIX);
      try {
        const store = new EvaluationStore(redis, { prefix: config.REDIS_PREFIX });
        const progress = new ProgressLine(io.stderr, AUTOMATED_CHECKS.length, !o.quiet);
        const { evaluation } = await submitEvaluation(store, queues, {
          artifactRoot: config.ARTIFACT_ROOT,
          run: runName,
          requester: o.requester ?? `cli:${userInfo().username}`,
          channel: null,
          policyLayer,
          flags: o.target === undefined ? undefined : { target_accuracy: o.target.percent },
          onManifestProgress: (d, t) => progress.manifest(d, t),
        });
        if (!o.wait) {
          io.stdout.write(`${evaluation.id}\n`);
          if (!o.quiet)
            io.stderr.write(
              `evaluation ${evaluation.id} of ${evaluation.run} submitted; follow it with: readiness status ${evaluation.id}\n`,
            );
          setExit(0);
          return;
        }
        if (!o.quiet) io.stderr.write(`evaluation ${evaluation.id} submitted; waiting for the workers\n`);
        const state = await waitForChecks(store, evaluation.id, {
          timeoutMs: o.timeout * 1000,
          onResult: (r) => progress.result(r),
        });
        progress.finish();
        const report = reportFromState(state);
        await emitReport(report, o, io);
        const code = exitCodeFor(report);
        explainExit(code, io);
        setExit(code);
      } finally {
        await queues.close().catch(() => undefined);
        redis.disconnect();
      }
    });
}
