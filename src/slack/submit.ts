import { buildManifest, resolveRunDirectory, RunArtifacts } from '../artifacts/run.js';
import type { CheckDefinition } from '../checks/types.js';
import type { ReadinessConfig } from '../config/readiness-config.js';
import { selectPolicyLayer } from '../config/readiness-config.js';
import { manifestPaths } from '../engine.js';
import type { ReadinessQueues } from '../queue/producer.js';
import { submitEvaluation } from '../queue/submit.js';
import type { EvaluationStore } from '../store/redis-store.js';
import type { Evaluation } from '../store/types.js';
import type { EvaluationSubmitter, SubmitRequest, SubmitResult } from './services.js';

/**
 * Creates evaluations from the app process with the queue module's submitEvaluation (resolve the
 * run, the policy, hash the manifest, store, enqueue one job per check). Checks run on workers.
 */
export class QueueSubmitter implements EvaluationSubmitter {
  constructor(
    private readonly deps: {
      store: EvaluationStore;
      queues: ReadinessQueues;
      config: ReadinessConfig;
      artifactRoot: string;
      /** The checks an evaluation runs (default: the registry). */
      checks?: readonly CheckDefinition[];
    },
  ) {}

  async submit(req: SubmitRequest): Promise<SubmitResult> {
    const policyLayer = await selectPolicyLayer(this.deps.config, req.policy);
    return submitEvaluation(this.deps.store, this.deps.queues, {
      artifactRoot: this.deps.artifactRoot,
      run: req.run,
      requester: req.requester,
      channel: req.channel,
      policyLayer,
      flags: req.target === undefined ? undefined : { target_accuracy: req.target },
      ...(this.deps.checks ? { checks: this.deps.checks } : {}),
    });
  }

  async currentDigest(evaluation: Evaluation): Promise<string> {
    const dir = await resolveRunDirectory(this.deps.artifactRoot, evaluation.run);
    const run = await RunArtifacts.open(dir);
    const manifest = await buildManifest(run, manifestPaths(evaluation.policy.policy));
    return manifest.digest;
  }
}
