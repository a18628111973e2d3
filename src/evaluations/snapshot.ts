import { buildRunManifest, type Manifest } from '../artifacts/manifest.js';
import { RunArtifacts } from '../artifacts/run.js';
import { type EffectivePolicy, loadEffectivePolicy, type PolicyOptions } from '../policy/load.js';
import type { Policy } from '../policy/schema.js';

/** What an evaluation is of: the run's effective policy and the manifest (digest) of its files under it. */
export interface RunSnapshot {
  effective: EffectivePolicy;
  manifest: Manifest;
}

export interface SnapshotOptions extends PolicyOptions {
  onManifestProgress?: (done: number, total: number) => void;
}

/**
 * Snapshots a run folder: resolves the policy (defaults ← team policy ← the run's readiness.yml ←
 * flags, where the last two may only tighten the team's thresholds) and hashes the manifest the
 * policy names. Each step opens the run afresh, so nothing read for one is reused by the other.
 */
export async function snapshotRun(dir: string, opts: SnapshotOptions = {}): Promise<RunSnapshot> {
  const effective = await loadEffectivePolicy(await RunArtifacts.open(dir), opts);
  const manifest = await buildRunManifest(await RunArtifacts.open(dir), effective.policy, opts.onManifestProgress);
  return { effective, manifest };
}

/**
 * The digest of a fresh manifest of the run as it is now under `policy`: the files are resolved
 * again (a model that now references another external-data file is caught, not just changed
 * bytes) and every one re-hashed.
 */
export async function currentRunDigest(dir: string, policy: Policy): Promise<string> {
  return (await buildRunManifest(await RunArtifacts.open(dir), policy)).digest;
}
