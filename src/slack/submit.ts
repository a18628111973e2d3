import { buildManifest, resolveRunDirectory, RunArtifacts } from '../artifacts/run.js';
import type { ReadinessConfig } from '../config/readiness-config.js';
import { selectPolicyLayer } from '../config/readiness-config.js';
import { manifestPaths } from '../engine.js';
import { loadEffectivePolicy } from '../policy/load.js';
import type { EvaluationStore } from '../store/redis-store.js';
import type { Evaluation } from '../store/types.js';
import type { EvaluationSubmitter, SubmitRequest, SubmitResult } from './services.js';

/** Hands an evaluation's checks to whoever runs them (the queue's producer in production). */
export type DispatchChecks = (evaluation: Evaluation) => Promise<void>;

/**
 * Creates evaluations from the app process: everything up to the stored evaluation, then
 * `dispatch` (enqueue). Only the manifest hashing happens here; checks run on workers.
 */
export class StoreSubmitter implements EvaluationSubmitter {
  constructor(
    private readonly deps: { store: EvaluationStore; config: ReadinessConfig; artifactRoot: string; dispatch: DispatchChecks },
  ) {}

  async submit(req: SubmitRequest): Promise<SubmitResult> {
    const dir = await resolveRunDirectory(this.deps.artifactRoot, req.run);
    const run = await RunArtifacts.open(dir);
    const policyLayer = await selectPolicyLayer(this.deps.config, req.policy);
    const effective = await loadEffectivePolicy(run, { policyLayer, flags: req.target === undefined ? undefined : { target_accuracy: req.target } });
    const manifest = await buildManifest(run, manifestPaths(effective.policy));
    const out = await this.deps.store.createEvaluation({ run: req.run, manifest, policy: effective, requester: req.requester, channel: req.channel });
    await this.deps.dispatch(out.evaluation);
    return out;
  }

  async currentDigest(evaluation: Evaluation): Promise<string> {
    const dir = await resolveRunDirectory(this.deps.artifactRoot, evaluation.run);
    const run = await RunArtifacts.open(dir);
    const manifest = await buildManifest(run, manifestPaths(evaluation.policy.policy));
    return manifest.digest;
  }
}
