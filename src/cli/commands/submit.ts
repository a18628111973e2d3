import { userInfo } from 'node:os';
import { AUTOMATED_CHECKS } from '../../checks/registry.js';
import { loadProcessConfig } from '../../config/env.js';
import { readReadinessConfig, selectPolicyLayer } from '../../config/readiness-config.js';
import { waitForChecks } from '../../evaluations/wait.js';
import { EvaluationStore, reportFromState } from '../../store/redis-store.js';
import { describeTarget, type TargetFlag } from '../options.js';
import {
  checkOutputPath,
  emitReport,
  exitCodeFor,
  exitWith,
  explainExit,
  type Io,
  type ReportOutputOptions,
} from '../output.js';
import { ProgressLine } from '../progress.js';

export interface SubmitFlags extends ReportOutputOptions {
  target?: TargetFlag;
  policy?: string;
  wait?: boolean;
  timeout: number;
  quiet?: boolean;
  requester?: string;
}

/** `readiness submit <run>`: an evaluation on the shared workers; with --wait, its report and exit code. */
export async function submitCommand(runName: string, o: SubmitFlags, io: Io): Promise<void> {
  await checkOutputPath(o.output);
  describeTarget(o.target, io);
  const config = loadProcessConfig({ need: ['REDIS_URL', 'ARTIFACT_ROOT'] });
  const readinessConfig = await readReadinessConfig(config.READINESS_CONFIG);
  const policyLayer = await selectPolicyLayer(readinessConfig, o.policy);
  // bullmq and ioredis load only for this command, not for `readiness check`.
  const [{ connectRedis }, { ReadinessQueues }, { submitEvaluation }] = await Promise.all([
    import('../../queue/connection.js'),
    import('../../queue/producer.js'),
    import('../../queue/submit.js'),
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
    exitWith(code);
  } finally {
    await queues.close().catch(() => undefined);
    redis.disconnect();
  }
}
