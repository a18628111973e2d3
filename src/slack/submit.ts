import { buildRunManifest } from '../artifacts/manifest.js';
import { RunArtifacts, resolveRunDirectory } from '../artifacts/run.js';
import { AUTOMATED_CHECKS } from '../checks/registry.js';
import type { CheckDefinition } from '../checks/types.js';
import type { ReadinessConfig } from '../config/readiness-config.js';
import { namedPolicyLayer, selectPolicyLayer } from '../config/readiness-config.js';
import { GateError } from '../errors.js';
import type { ReadinessQueues } from '../queue/producer.js';
import { submitEvaluation } from '../queue/submit.js';
import type { EvaluationStore } from '../store/redis-store.js';
import type { Evaluation } from '../store/types.js';
import type { EvaluationSubmitter, RerunResult, SubmitRequest, SubmitResult } from './services.js';

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

  async checkRun(run: string): Promise<void> {
    await resolveRunDirectory(this.deps.artifactRoot, run);
  }

  async submit(req: SubmitRequest): Promise<SubmitResult> {
    // From Slack `--policy` names one of the team's policies, never a file (the command parser refuses others too).
    const policyLayer =
      req.policy !== undefined
        ? namedPolicyLayer(this.deps.config, req.policy)
        : await selectPolicyLayer(this.deps.config, undefined);
    return submitEvaluation(this.deps.store, this.deps.queues, {
      artifactRoot: this.deps.artifactRoot,
      run: req.run,
      requester: req.requester,
      channel: req.channel,
      policyLayer,
      flags: req.target === undefined ? undefined : { target_accuracy: req.target },
      ...(this.deps.checks ? { checks: this.deps.checks } : {}),
      ...(req.evaluationId ? { evaluationId: req.evaluationId } : {}),
    });
  }

  async rerunCheck(req: {
    run: string;
    check: string;
    requester: string;
    channel: string | null;
    evaluationId?: string | undefined;
  }): Promise<RerunResult> {
    const def = (this.deps.checks ?? AUTOMATED_CHECKS).find((c) => c.id === req.check);
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

  /**
   * The digest of a fresh manifest of the run as it is now, under the evaluation's policy: the
   * files are resolved again (a model that now references another external-data file is caught,
   * not just changed bytes) and every one re-hashed. Called at every sign-off click.
   */
  async currentDigest(evaluation: Evaluation): Promise<string> {
    const dir = await resolveRunDirectory(this.deps.artifactRoot, evaluation.run);
    const run = await RunArtifacts.open(dir);
    const manifest = await buildRunManifest(run, evaluation.policy.policy);
    return manifest.digest;
  }
}
