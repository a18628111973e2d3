import { buildRunManifest } from '../artifacts/manifest.js';
import { RunArtifacts, resolveRunDirectory } from '../artifacts/run.js';
import { AUTOMATED_CHECKS } from '../checks/registry.js';
import type { CheckDefinition } from '../checks/types.js';
import { loadEffectivePolicy, type PolicyOptions } from '../policy/load.js';
import type { CreateEvaluationOutcome, EvaluationStore } from '../store/redis-store.js';
import type { ReadinessQueues } from './producer.js';

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
 * (refusing escapes), resolves the policy (defaults ← named/file policy ← run's readiness.yml ←
 * flags), hashes the manifest, stores the evaluation and enqueues one job per automated check.
 * Shared by `readiness submit` and the Slack app.
 */
export async function submitEvaluation(
  store: EvaluationStore,
  queues: ReadinessQueues,
  input: SubmitInput,
): Promise<CreateEvaluationOutcome> {
  if (input.evaluationId) {
    const existing = await store.getEvaluation(input.evaluationId);
    if (existing) {
      await enqueueUnfinished(store, queues, existing.id, input.checks ?? AUTOMATED_CHECKS);
      await queues.publishChange(existing.id, existing.version, 'created');
      return { evaluation: existing, superseded: null };
    }
  }
  const dir = await resolveRunDirectory(input.artifactRoot, input.run);
  const run = await RunArtifacts.open(dir);
  const effective = await loadEffectivePolicy(run, input);
  const manifest = await buildRunManifest(run, effective.policy, input.onManifestProgress);
  const outcome = await store.createEvaluation({
    run: input.run,
    manifest,
    policy: effective,
    requester: input.requester,
    channel: input.channel,
    ...(input.evaluationId ? { id: input.evaluationId } : {}),
  });
  await queues.enqueueChecks(outcome.evaluation.id, input.checks ?? AUTOMATED_CHECKS);
  await queues.publishChange(outcome.evaluation.id, outcome.evaluation.version, 'created');
  if (outcome.superseded) await queues.publishChange(outcome.superseded.id, outcome.superseded.version, 'superseded');
  return outcome;
}

/**
 * Re-enqueues the jobs of checks still pending or running (e.g. the submitter died between storing
 * the evaluation and enqueuing, or jobs were lost). Idempotent: existing jobs keep their ids.
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
