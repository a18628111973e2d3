/**
 * Evaluations on the shared workers, one service for every caller (`readiness submit`, the Slack
 * app): snapshot a run under the artifact root, store the evaluation and enqueue its checks;
 * rerun one check on unchanged artifacts (or evaluate afresh when they changed); the current
 * digest of a run's files, against which sign-offs are taken.
 */
import { resolveRunDirectory } from '../artifacts/run.js';
import { AUTOMATED_CHECKS } from '../checks/registry.js';
import type { CheckDefinition } from '../checks/types.js';
import type { ReadinessConfig } from '../config/readiness-config.js';
import { GateError } from '../errors.js';
import type { PolicyOptions } from '../policy/load.js';
import type { ReadinessQueues } from '../queue/producer.js';
import type { CreateEvaluationOutcome, EvaluationStore } from '../store/redis-store.js';
import type { Evaluation } from '../store/types.js';
import { teamPolicyLayer } from './policy.js';
import { currentRunDigest, snapshotRun } from './snapshot.js';

export interface SubmitInput extends PolicyOptions {
  artifactRoot: string;
  /** Run name relative to the artifact root; refused if it leaves it. */
  run: string;
  requester: string;
  channel: string | null;
  checks?: readonly CheckDefinition[];
  onManifestProgress?: (done: number, total: number) => void;
  /**
   * Evaluation id chosen by the caller (the Slack app derives it from the command's trigger id).
   * When that evaluation already exists — the same command processed again after a crash — it is
   * not created twice: its unfinished checks are enqueued again (same job ids) and it is announced.
   */
  evaluationId?: string;
}

/**
 * Creates an evaluation of a run on the shared workers: resolves the run under the artifact root
 * (refusing escapes), snapshots it (policy, manifest), stores the evaluation and enqueues one job
 * per automated check.
 */
export async function submitEvaluation(
  store: EvaluationStore,
  queues: ReadinessQueues,
  input: SubmitInput,
): Promise<CreateEvaluationOutcome> {
  const checks = input.checks ?? AUTOMATED_CHECKS;
  if (input.evaluationId) {
    const existing = await store.getEvaluation(input.evaluationId);
    if (existing) {
      await enqueueUnfinished(store, queues, existing.id, checks);
      await queues.publishChange(existing.id, existing.version, 'created');
      return { evaluation: existing, superseded: null };
    }
  }
  const dir = await resolveRunDirectory(input.artifactRoot, input.run);
  const { effective, manifest } = await snapshotRun(dir, input);
  const outcome = await store.createEvaluation({
    run: input.run,
    manifest,
    policy: effective,
    requester: input.requester,
    channel: input.channel,
    ...(input.evaluationId ? { id: input.evaluationId } : {}),
  });
  await queues.enqueueChecks(outcome.evaluation.id, checks);
  await queues.publishChange(outcome.evaluation.id, outcome.evaluation.version, 'created');
  if (outcome.superseded) await queues.publishChange(outcome.superseded.id, outcome.superseded.version, 'superseded');
  return outcome;
}

/**
 * Re-enqueues the jobs of checks still pending or running (the submitter died between storing
 * the evaluation and enqueuing, or the same command is processed again). Idempotent: existing
 * jobs keep their ids.
 */
export async function enqueueUnfinished(
  store: EvaluationStore,
  queues: ReadinessQueues,
  evaluationId: string,
  checks: readonly CheckDefinition[] = AUTOMATED_CHECKS,
): Promise<number> {
  const state = await store.getState(evaluationId);
  if (!state || state.evaluation.superseded_by) return 0;
  const ids = new Set(state.checks.filter((c) => c.status === 'pending' || c.status === 'running').map((c) => c.id));
  const defs = checks.filter((d) => ids.has(d.id));
  await queues.enqueueChecks(evaluationId, defs);
  return defs.length;
}

export interface SubmitRequest {
  run: string;
  requester: string;
  channel: string | null;
  /** Test accuracy target in percent (a flag layer over the policy). */
  target?: number | undefined;
  /** A policy named in READINESS_CONFIG (or, where the service allows files, a policy file); default: its default. */
  policy?: string | undefined;
  /** Deterministic id (from the command's trigger id): submitting it again is the same evaluation. */
  evaluationId?: string | undefined;
  onManifestProgress?: ((done: number, total: number) => void) | undefined;
}

export type SubmitResult = CreateEvaluationOutcome;

export interface RerunRequest {
  run: string;
  check: string;
  requester: string;
  channel: string | null;
  /** Id of the new evaluation when one has to be created (see SubmitRequest). */
  evaluationId?: string | undefined;
}

/** What a rerun of one check did. */
export type RerunResult =
  /** The check runs again within the run's current evaluation (artifacts unchanged). */
  | { kind: 'check'; evaluation: Evaluation; check: string }
  /** The check is still pending or running; nothing to do. */
  | { kind: 'busy'; evaluation: Evaluation; check: string }
  /** No current evaluation of these artifacts: a whole new evaluation was created. */
  | { kind: 'new'; result: SubmitResult; why: string };

export interface EvaluationServiceDeps {
  store: EvaluationStore;
  queues: ReadinessQueues;
  config: ReadinessConfig;
  artifactRoot: string;
  /** The checks an evaluation runs (default: the registry). */
  checks?: readonly CheckDefinition[];
  /** Whether `policy` may name a policy file (the CLI) or only one of READINESS_CONFIG's policies (Slack). */
  policyFiles: boolean;
}

export class EvaluationService {
  constructor(private readonly deps: EvaluationServiceDeps) {}

  private get checks(): readonly CheckDefinition[] {
    return this.deps.checks ?? AUTOMATED_CHECKS;
  }

  /** Refuses (GateError) a run that does not exist or leaves the artifact root: a few syscalls, nothing stored. */
  async checkRun(run: string): Promise<void> {
    await resolveRunDirectory(this.deps.artifactRoot, run);
  }

  async submit(req: SubmitRequest): Promise<SubmitResult> {
    const policyLayer = await teamPolicyLayer(this.deps.config, req.policy, { files: this.deps.policyFiles });
    return submitEvaluation(this.deps.store, this.deps.queues, {
      artifactRoot: this.deps.artifactRoot,
      run: req.run,
      requester: req.requester,
      channel: req.channel,
      policyLayer,
      flags: req.target === undefined ? undefined : { target_accuracy: req.target },
      checks: this.checks,
      ...(req.evaluationId ? { evaluationId: req.evaluationId } : {}),
      ...(req.onManifestProgress ? { onManifestProgress: req.onManifestProgress } : {}),
    });
  }

  /**
   * Runs one check again in the run's current evaluation when its files are unchanged (the
   * evaluation keeps its sign-offs); otherwise — no current evaluation, the files changed, or it
   * was superseded meanwhile — creates a new evaluation under the default policy, where every
   * check runs again.
   */
  async rerunCheck(req: RerunRequest): Promise<RerunResult> {
    const def = this.checks.find((c) => c.id === req.check);
    if (!def) throw new GateError('USAGE', `unknown check id "${req.check}"`);
    const fresh = async (why: string): Promise<RerunResult> => ({
      kind: 'new',
      why,
      result: await this.submit({
        run: req.run,
        requester: req.requester,
        channel: req.channel,
        evaluationId: req.evaluationId,
      }),
    });
    const latest = await this.deps.store.latestForRun(req.run);
    if (!latest || latest.evaluation.superseded_by) return fresh('there was no current evaluation of this run');
    const evaluation = latest.evaluation;
    if ((await this.currentDigest(evaluation)) !== evaluation.digest)
      return fresh(`the run's files changed since evaluation ${evaluation.id}`);
    const r = await this.deps.store.rerunCheck(evaluation.id, def.id, req.requester);
    if (r.outcome === 'busy') return { kind: 'busy', evaluation, check: def.id };
    if (r.outcome !== 'reset')
      return fresh(`evaluation ${evaluation.id} is ${r.outcome === 'superseded' ? 'superseded' : 'gone'}`);
    await this.deps.queues.enqueueRerun(evaluation.id, def, r.rerun);
    await this.deps.queues.publishChange(evaluation.id, r.version, 'check_rerun');
    return { kind: 'check', evaluation, check: def.id };
  }

  /** The digest of the run's files as they are now, under the evaluation's policy (checked at every sign-off). */
  async currentDigest(evaluation: Evaluation): Promise<string> {
    return currentRunDigest(
      await resolveRunDirectory(this.deps.artifactRoot, evaluation.run),
      evaluation.policy.policy,
    );
  }
}
