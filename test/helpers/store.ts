import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { buildRunManifest, type Manifest, manifestDigest } from '../../src/artifacts/manifest.js';
import { RunArtifacts } from '../../src/artifacts/run.js';
import { AUTOMATED_CHECKS } from '../../src/checks/registry.js';
import { pendingResult } from '../../src/checks/runner.js';
import type { CheckResult } from '../../src/checks/types.js';
import { type EffectivePolicy, loadEffectivePolicy } from '../../src/policy/load.js';
import type { EvaluationStore } from '../../src/store/redis-store.js';
import type { Evaluation, SignoffAttempt } from '../../src/store/types.js';
import { EXAMPLE_RUN } from './runs.js';

/** A key prefix no other test file uses, so suites share the throwaway Redis without interfering. */
export function uniquePrefix(name: string): string {
  return `t-${name}-${randomBytes(4).toString('hex')}`;
}

export function connect(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
}

/** Manifest and effective policy of a run folder, as `readiness submit` computes them. */
export async function describeRun(dir = EXAMPLE_RUN) {
  const run = await RunArtifacts.open(dir);
  const policy = await loadEffectivePolicy(run);
  const manifest = await buildRunManifest(run, policy.policy);
  return { policy, manifest };
}

let example: ReturnType<typeof describeRun> | undefined;

/** The example run's manifest and policy, computed once per test file. */
export function exampleRun(): ReturnType<typeof describeRun> {
  example ??= describeRun();
  return example;
}

/**
 * The example's manifest with one extra entry named after `label`: other artifacts, so sign-offs
 * (which belong to the artifact digest and policy digest) are not shared with other evaluations.
 */
export function distinctManifest(manifest: Manifest, label: string): Manifest {
  const entries = [
    ...manifest.entries,
    { path: `marker/${label}`, size: label.length, sha256: createHash('sha256').update(label).digest('hex') },
  ];
  return { entries, digest: manifestDigest(entries), bytes: manifest.bytes + label.length };
}

export function resultFor(id: string, status: CheckResult['status'], extra: Partial<CheckResult> = {}): CheckResult {
  const def = AUTOMATED_CHECKS.find((c) => c.id === id);
  if (!def) throw new Error(`no check ${id}`);
  return { ...pendingResult(def, [`test result ${status}`]), status, ...extra };
}

/** Drives every automated check of an evaluation to `status` through the real transitions. */
export async function completeAllChecks(
  store: EvaluationStore,
  evaluationId: string,
  status: CheckResult['status'] = 'pass',
): Promise<void> {
  for (const def of AUTOMATED_CHECKS) {
    const token = `t-${def.id}`;
    await store.setCheckRunning(evaluationId, def.id, token);
    await store.applyCheckResult(evaluationId, def.id, token, resultFor(def.id, status));
  }
}

export interface NewEvaluationOptions {
  /** The run name (default `runs/<label>`). */
  runName?: string;
  /** Default: the example's manifest with a marker named after the label (artifacts of its own). */
  manifest?: Manifest;
  /** Default: the example run's effective policy. */
  policy?: EffectivePolicy;
  /** Default U0REQ. */
  requester?: string;
  /** Default null (no Slack channel). */
  channel?: string | null;
  /** Drive every automated check to this status through the real transitions; default: left pending. */
  checks?: CheckResult['status'];
}

/**
 * A new evaluation in `store` of the example run. By default its artifacts are its own (named after
 * `label`): sign-offs belong to the artifact and policy digests, so evaluations of tests that mean
 * to be apart must not share them.
 */
export async function newEvaluation(
  store: EvaluationStore,
  label: string,
  opts: NewEvaluationOptions = {},
): Promise<Evaluation> {
  const run = await exampleRun();
  const { evaluation } = await store.createEvaluation({
    run: opts.runName ?? `runs/${label}`,
    manifest: opts.manifest ?? distinctManifest(run.manifest, label),
    policy: opts.policy ?? run.policy,
    requester: opts.requester ?? 'U0REQ',
    channel: opts.channel ?? null,
  });
  if (opts.checks) await completeAllChecks(store, evaluation.id, opts.checks);
  return evaluation;
}

/** An authorised technical approval of `e` by U0TECH, changed by `over`. */
export function signoffAttempt(e: { id: string; digest: string }, over: Partial<SignoffAttempt> = {}): SignoffAttempt {
  return {
    evaluationId: e.id,
    role: 'technical',
    decision: 'approved',
    user: 'U0TECH',
    digest: e.digest,
    authorised: true,
    allowSelfApproval: false,
    ...over,
  };
}
