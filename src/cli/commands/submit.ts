import { userInfo } from 'node:os';
import { AUTOMATED_CHECKS } from '../../checks/registry.js';
import { loadProcessConfig } from '../../config/env.js';
import { readReadinessConfig } from '../../config/readiness-config.js';
import { GateError } from '../../errors.js';
import { teamPolicyLayer } from '../../evaluations/policy.js';
import type { RerunResult } from '../../evaluations/service.js';
import { waitForChecks } from '../../evaluations/wait.js';
import { EvaluationStore, reportFromState } from '../../store/redis-store.js';
import type { Evaluation } from '../../store/types.js';
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
  /** A check id: run that check again in the run's current evaluation. */
  rerun?: string;
}

/** What the evaluation is, and what stderr says about it, once submitted or rerun. */
interface Submitted {
  evaluation: Evaluation;
  said: string;
}

/**
 * `readiness submit <run>`: an evaluation on the shared workers; with `--rerun <check>`, that check
 * again in the run's current evaluation (a new evaluation when its files changed); with --wait,
 * the report and exit code of `readiness check`.
 */
export async function submitCommand(runName: string, o: SubmitFlags, io: Io): Promise<void> {
  if (o.rerun !== undefined && (o.target !== undefined || o.policy !== undefined))
    throw new GateError(
      'USAGE',
      "--rerun runs a check under the current evaluation's own policy; --target and --policy apply to new evaluations (submit without --rerun)",
    );
  await checkOutputPath(o.output);
  describeTarget(o.target, io);
  const config = loadProcessConfig({ need: ['REDIS_URL', 'ARTIFACT_ROOT'] });
  const readinessConfig = await readReadinessConfig(config.READINESS_CONFIG);
  const policyLayer = await teamPolicyLayer(readinessConfig, o.policy, { files: true });
  // bullmq and ioredis load only for this command, not for `readiness check`.
  const [{ connectRedis }, { ReadinessQueues }, { EvaluationService, submitEvaluation }] = await Promise.all([
    import('../../queue/connection.js'),
    import('../../queue/producer.js'),
    import('../../evaluations/service.js'),
  ]);
  const redis = await connectRedis(config.REDIS_URL, { connectionName: 'readiness-submit' });
  const queues = new ReadinessQueues(redis, config.REDIS_PREFIX);
  try {
    const store = new EvaluationStore(redis, { prefix: config.REDIS_PREFIX });
    const progress = new ProgressLine(io.stderr, AUTOMATED_CHECKS.length, !o.quiet);
    const requester = o.requester ?? `cli:${userInfo().username}`;
    let submitted: Submitted;
    if (o.rerun !== undefined) {
      const service = new EvaluationService({
        store,
        queues,
        config: readinessConfig,
        artifactRoot: config.ARTIFACT_ROOT,
        policyFiles: true,
      });
      submitted = rerunSaid(await service.rerunCheck({ run: runName, check: o.rerun, requester, channel: null }));
    } else {
      const { evaluation } = await submitEvaluation(store, queues, {
        artifactRoot: config.ARTIFACT_ROOT,
        run: runName,
        requester,
        channel: null,
        policyLayer,
        flags: o.target === undefined ? undefined : { target_accuracy: o.target.percent },
        onManifestProgress: (d, t) => progress.manifest(d, t),
      });
      submitted = { evaluation, said: `evaluation ${evaluation.id} of ${evaluation.run} submitted` };
    }
    const { evaluation } = submitted;
    if (!o.wait) {
      io.stdout.write(`${evaluation.id}\n`);
      if (!o.quiet) io.stderr.write(`${submitted.said}; follow it with: readiness status ${evaluation.id}\n`);
      return;
    }
    if (!o.quiet)
      io.stderr.write(
        o.rerun === undefined
          ? `evaluation ${evaluation.id} submitted; waiting for the workers\n`
          : `${submitted.said}; waiting for the workers\n`,
      );
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

function rerunSaid(r: RerunResult): Submitted {
  switch (r.kind) {
    case 'check':
      return {
        evaluation: r.evaluation,
        said: `${r.check} runs again on the same artifacts (evaluation ${r.evaluation.id}); the gate is pending until it finishes`,
      };
    case 'busy':
      return {
        evaluation: r.evaluation,
        said: `${r.check} is still pending or running in evaluation ${r.evaluation.id}; nothing to rerun yet`,
      };
    case 'new':
      return {
        evaluation: r.result.evaluation,
        said: `a new evaluation ${r.result.evaluation.id} of ${r.result.evaluation.run} was created (${r.why}): every check runs again; earlier approvals do not carry over`,
      };
  }
}
