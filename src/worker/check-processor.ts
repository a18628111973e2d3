/**
 * What a worker does with one check job: parse it, claim the check in the store under a fresh
 * attempt token, run the check on the run's artifacts with the evaluation's stored policy, prove
 * the files it read are the ones the evaluation's manifest hashed, and store the result exactly
 * once. Hostile or malformed input is not retried (UnrecoverableError).
 */
import { randomBytes } from 'node:crypto';
import { type Job, UnrecoverableError, WaitingError } from 'bullmq';
import type { Logger } from 'pino';
import { type Manifest, sha256File } from '../artifacts/manifest.js';
import { RunArtifacts, resolveRunDirectory } from '../artifacts/run.js';
import {
  CheckLimitExceeded,
  checkTimeoutMs,
  limitExceededResult,
  outcomeFromError,
  runCheck,
} from '../checks/runner.js';
import type { CheckDefinition, CheckProgress, CheckResult } from '../checks/types.js';
import { errorMessage, GateError } from '../errors.js';
import { type CheckLanes, checkLanes as processLanes } from '../observability/health.js';
import type { GateMetrics } from '../observability/metrics.js';
import { type CheckJob, CheckJobSchema, type EvaluationEvent } from '../queue/payloads.js';
import type { ReadinessQueues } from '../queue/producer.js';
import type { EvaluationStore } from '../store/redis-store.js';
import { HeavyCheckAborted, type HeavyRunner, heavyLimits } from './heavy-runner.js';

export interface CheckProcessorDeps {
  store: EvaluationStore;
  queues: ReadinessQueues;
  artifactRoot: string;
  checks: readonly CheckDefinition[];
  /** Names this worker in the audit log and in "running on …" evidence. */
  workerName: string;
  logger: Logger;
  /** Runs heavy checks in a child process; without it they run in this process. */
  heavyRunner?: HeavyRunner;
  /** Minimum time between two progress writes of one check. */
  progressIntervalMs?: number;
  /** Check durations are observed here by check id and status. */
  metrics?: GateMetrics | undefined;
  /** Running checks and their limits, for /readyz and /metrics (default: this process's). */
  lanes?: CheckLanes;
}

export interface CheckJobOutcome {
  check: string;
  /** What happened to the result in the store. */
  outcome: 'applied' | 'duplicate' | 'stale' | 'final' | 'superseded' | 'unknown' | 'unknown_check';
  status?: CheckResult['status'];
}

/** Error codes that mean the artifact or request is bad, not that the machine had a bad moment. */
const PERMANENT_CODES = new Set([
  'USAGE',
  'CONFIG_INVALID',
  'POLICY_INVALID',
  'PATH_ESCAPE',
  'NOT_A_FILE',
  'TOO_LARGE',
  'PARSE_ERROR',
  'UNSAFE_ARTIFACT',
  'UNSUPPORTED_FORMAT',
  'SHAPE_MISMATCH',
]);

export function isPermanent(err: unknown): boolean {
  return err instanceof GateError && (err.hostile || PERMANENT_CODES.has(err.code));
}

function resultFromError(def: CheckDefinition, err: unknown): CheckResult {
  const outcome = outcomeFromError(err);
  const r: CheckResult = {
    id: def.id,
    category: def.category,
    title: def.title,
    status: outcome.status,
    evidence: outcome.evidence,
    metrics: {},
    remediation: def.remediation,
    duration_ms: 0,
  };
  if (outcome.security) r.security = true;
  return r;
}

/**
 * Results are bound to the evaluation's digest: every file the check read that the manifest
 * covers must still have the hashed contents, else the result would describe other artifacts.
 */
export async function verifyAgainstManifest(
  run: RunArtifacts,
  manifest: Manifest,
  result: CheckResult,
): Promise<CheckResult> {
  const changed: string[] = [];
  const uncovered: string[] = [];
  for (const rel of [...run.accessed].sort()) {
    const entry = manifest.entries.find((e) => e.path === rel);
    if (!entry) {
      // the manifest resolver missed a file this check reads: its bytes would be outside the digest
      uncovered.push(rel);
      continue;
    }
    const f = await run.openFile(rel);
    try {
      const sha = f.size === entry.size ? await sha256File(f) : null;
      if (sha !== entry.sha256) changed.push(rel);
    } finally {
      await f.handle.close();
    }
  }
  if (uncovered.length > 0) {
    return {
      ...result,
      status: 'error',
      evidence: [
        `read ${uncovered.join(', ')}, which the evaluation's manifest does not cover; a result on bytes outside the artifact digest cannot be signed`,
      ],
      remediation:
        "Rerun the evaluation; if this persists, the gate's manifest resolver misses a file this check reads (a bug to report).",
      metrics: {},
    };
  }
  if (changed.length === 0) return result;
  return {
    ...result,
    status: 'error',
    evidence: [
      `${changed.join(', ')} changed since the evaluation was created (sha256 differs from the manifest); this result would not describe the evaluated artifacts`,
    ],
    remediation: 'Rerun the evaluation: the artifacts changed after it was submitted.',
    metrics: {},
  };
}

class ShutdownAbort extends Error {}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new ShutdownAbort('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new ShutdownAbort('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export function createCheckProcessor(deps: CheckProcessorDeps) {
  const { store, queues, logger } = deps;
  const progressIntervalMs = deps.progressIntervalMs ?? 1000;
  const lanes = deps.lanes ?? processLanes;
  lanes.used = true;

  const publish = async (evaluationId: string, version: number, reason: EvaluationEvent['reason']): Promise<void> => {
    await queues.publishChange(evaluationId, version, reason);
  };

  return async function processCheckJob(
    job: Job<CheckJob>,
    lockToken?: string,
    signal?: AbortSignal,
  ): Promise<CheckJobOutcome> {
    const parsed = CheckJobSchema.safeParse(job.data);
    if (!parsed.success)
      throw new UnrecoverableError(`invalid job payload: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    const { evaluationId, checkId } = parsed.data;
    const def = deps.checks.find((c) => c.id === checkId);
    if (!def) throw new UnrecoverableError(`unknown check id "${checkId}"`);
    const evaluation = await store.getEvaluation(evaluationId);
    if (!evaluation) throw new UnrecoverableError(`evaluation ${evaluationId} does not exist`);

    const token = `${job.id}#${job.attemptsMade}#${deps.workerName}#${randomBytes(4).toString('hex')}`;
    const start = await store.setCheckRunning(evaluationId, checkId, token, deps.workerName);
    if (start.outcome !== 'started') {
      // Already final (an earlier attempt stored it before dying), or the evaluation was superseded.
      if (start.outcome === 'superseded') await publish(evaluationId, start.version, 'check_result');
      else if (start.outcome === 'final') await publish(evaluationId, start.version, 'check_result');
      return { check: checkId, outcome: start.outcome };
    }
    // Light checks finish within milliseconds and their result event follows; only a heavy check's
    // start is worth its own notification ("running…" on the gate message).
    if (def.heavy) await publish(evaluationId, start.version, 'check_running');
    const log = logger.child({ evaluation: evaluationId, check: checkId, job: job.id, attempt: job.attemptsMade + 1 });
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);

    const finish = async (result: CheckResult): Promise<CheckJobOutcome> => {
      const applied = await store.applyCheckResult(evaluationId, checkId, token, result, deps.workerName);
      if (applied.outcome === 'applied') await publish(evaluationId, applied.version, 'check_result');
      deps.metrics?.checkDuration.observe({ check: checkId, status: result.status }, result.duration_ms / 1000);
      log.info(
        { status: result.status, outcome: applied.outcome, security: result.security ?? false },
        'check finished',
      );
      return { check: checkId, outcome: applied.outcome, status: result.status };
    };

    // Progress: throttled, written to the job (keeps observers informed) and to the store (the gate message shows it).
    let lastProgressAt = 0;
    let progressChain: Promise<void> = Promise.resolve();
    const onProgress = (p: CheckProgress): void => {
      const now = Date.now();
      if (now - lastProgressAt < progressIntervalMs && p.done < p.total) return;
      lastProgressAt = now;
      const info = {
        progress: p.total > 0 ? Math.min(1, p.done / p.total) : 0,
        label: p.label,
        done: p.done,
        total: p.total,
      };
      progressChain = progressChain
        .then(async () => {
          await job.updateProgress({ check: checkId, ...info });
          const v = await store.setCheckProgress(evaluationId, checkId, token, info);
          if (v !== null) await publish(evaluationId, v, 'check_progress');
        })
        .catch((err: unknown) => log.warn({ err }, 'progress update failed'));
    };

    const policy = evaluation.policy.policy;
    const endLane = lanes.begin({
      evaluation: evaluationId,
      check: checkId,
      lane: def.heavy ? 'heavy' : 'light',
      limitMs: checkTimeoutMs(def, policy),
    });
    // a light check stopped at its time limit may still be working: it stays on the lane until it settles
    let lingering: Promise<unknown> | null = null;
    const limitReached = (result: CheckResult): void => {
      const kind = result.metrics.limit_exceeded;
      if (kind !== 'time' && kind !== 'memory') return;
      deps.metrics?.checkLimitExceeded.inc({ check: checkId, limit: kind });
      log.error(
        { limit: kind, value: result.metrics.limit },
        `check ${checkId} of evaluation ${evaluationId} ${result.evidence[0]?.replace(`${checkId} `, '') ?? 'exceeded its limit'}`,
      );
    };
    try {
      let run: RunArtifacts;
      try {
        run = await RunArtifacts.open(await resolveRunDirectory(deps.artifactRoot, evaluation.run));
      } catch (err) {
        if (isPermanent(err) || lastAttempt) {
          await finish(resultFromError(def, err));
          throw new UnrecoverableError(`${checkId}: ${errorMessage(err)}`);
        }
        throw err; // e.g. the artifact volume is not mounted yet: retried with backoff
      }
      let result: CheckResult;
      if (def.heavy && deps.heavyRunner) {
        // Heavy checks run in a child process (see heavy-child.ts) under the policy's time and
        // memory limits; past one, or on abort, the child is killed.
        const started = Date.now();
        try {
          const out = await deps.heavyRunner.run(
            { checkId, runDir: run.root, policy },
            { onProgress, ...heavyLimits(policy), ...(signal ? { signal } : {}) },
          );
          for (const rel of out.accessed) run.accessed.add(rel);
          result = out.result;
        } catch (err) {
          if (!(err instanceof CheckLimitExceeded)) throw err;
          result = limitExceededResult(def, err, Date.now() - started);
        }
      } else {
        result = await raceAbort(
          runCheck(def, { run, policy, onProgress }, { onAbandoned: (p) => (lingering = p) }),
          signal,
        );
      }
      limitReached(result);
      await progressChain;
      result = await verifyAgainstManifest(run, evaluation.manifest, result);
      const out = await finish(result);
      if (result.security && out.outcome === 'applied') {
        // The result is stored (a failed, security-flagged check); the job fails for good so it is visible and never retried.
        throw new UnrecoverableError(`security finding in ${checkId}: ${result.evidence[0] ?? ''}`);
      }
      return out;
    } catch (err) {
      if (err instanceof ShutdownAbort || err instanceof HeavyCheckAborted) {
        // Graceful shutdown ran out of time: hand the job back to the queue, not counted as an attempt.
        await progressChain;
        const v = await store.releaseCheck(evaluationId, checkId, token, deps.workerName);
        if (v !== null) await publish(evaluationId, v, 'check_released');
        await job.moveToWait(lockToken);
        log.warn('returned to the queue on shutdown');
        throw new WaitingError();
      }
      if (!(err instanceof UnrecoverableError) && lastAttempt) {
        // Out of retries: the check ends as an error instead of staying "running" forever.
        const stored = await finish(resultFromError(def, err)).then(
          () => true,
          (e: unknown) => {
            log.error({ err: e }, 'could not store the final error');
            return false;
          },
        );
        if (stored) throw new UnrecoverableError(`${checkId}: ${errorMessage(err)}`);
      }
      throw err;
    } finally {
      const settled = lingering as Promise<unknown> | null;
      if (settled) void settled.finally(endLane);
      else endLane();
    }
  };
}

/** A job that failed for good without a stored result (e.g. stalled too often): end its check as an error. */
export async function failAbandonedCheck(
  deps: Pick<CheckProcessorDeps, 'store' | 'queues' | 'checks' | 'workerName'>,
  job: Job<CheckJob>,
  err: Error,
): Promise<void> {
  const parsed = CheckJobSchema.safeParse(job.data);
  if (!parsed.success) return;
  const def = deps.checks.find((c) => c.id === parsed.data.checkId);
  if (!def) return;
  const result = resultFromError(def, new Error(`job gave up: ${err.message}`));
  const applied = await deps.store.applyCheckResult(
    parsed.data.evaluationId,
    def.id,
    'abandoned',
    result,
    deps.workerName,
    { force: true },
  );
  if (applied.outcome === 'applied')
    await deps.queues.publishChange(parsed.data.evaluationId, applied.version, 'check_result');
}
