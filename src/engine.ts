import path from 'node:path';
import type { Manifest } from './artifacts/manifest.js';
import { RunArtifacts } from './artifacts/run.js';
import { AUTOMATED_CHECKS, SIGNOFF_TITLES } from './checks/registry.js';
import { type RunChecksOptions, runChecks } from './checks/runner.js';
import type { CheckDefinition, CheckResult } from './checks/types.js';
import { snapshotRun } from './evaluations/snapshot.js';
import { evaluateGate, type GateStatus, minApprovalsFor, type SignoffRecord, tallyRole } from './gate/evaluate.js';
import type { EffectivePolicy, PolicyOptions } from './policy/load.js';
import { type Policy, SIGNOFF_ROLES } from './policy/schema.js';
import { type WaiverRecord, type WaiverView, waivedCheckIds, waiverStandings } from './waivers/waivers.js';

export interface GateReport {
  /** The run as it was named (folder path for the CLI, run name under the artifact root on workers). */
  run: string;
  model_name: string;
  gate: GateStatus;
  /** Artifact manifest digest: sign-offs are bound to it. */
  digest: string;
  manifest: Manifest;
  policy: {
    name: string;
    digest: string;
    /** Digest of the team policy alone (before the run's readiness.yml and flags). */
    team_digest: string;
    sources: string[];
    overrides: EffectivePolicy['overrides'];
    /** What the run's readiness.yml and the flags changed relative to the team policy. */
    applied: NonNullable<EffectivePolicy['applied']>;
    effective: Policy;
  };
  checks: CheckResult[];
  signoffs: SignoffRecord[];
  /** Waivers of failing checks on this pair of digests, each with where it stands (only `effective` ones count). */
  waivers: WaiverView[];
  blocking: string[];
  outstanding: string[];
  generated_at: string;
}

export function modelName(policy: Policy, runLabel: string): string {
  return policy.model_name ?? path.basename(runLabel.replace(/\/+$/, '')) ?? runLabel;
}

/** Sign-off rows of the checklist, from the recorded sign-offs (bound to `digest`). */
export function signoffResults(policy: Policy, signoffs: readonly SignoffRecord[], digest: string): CheckResult[] {
  return SIGNOFF_ROLES.map((role) => {
    const base = {
      id: `signoff.${role}`,
      category: 'signoff' as const,
      title: SIGNOFF_TITLES[role],
      metrics: {},
      duration_ms: 0,
    };
    const t = tallyRole(signoffs, digest, role, minApprovalsFor(policy, role));
    const approvedBy = t.approvals.map((s) => `approved by <@${s.user}> at ${s.at}`);
    const count = t.needed > 1 ? [`${t.approvals.length} of ${t.needed} approvals`] : [];
    if (t.rejections.length > 0) {
      return {
        ...base,
        status: 'fail' as const,
        evidence: [
          ...t.rejections.map((s) => `rejected by <@${s.user}> at ${s.at}: ${s.reason ?? 'no reason given'}`),
          ...approvedBy,
        ],
        remediation: 'Address the rejection reason, then rerun the evaluation.',
      };
    }
    if (t.approved) return { ...base, status: 'pass' as const, evidence: [...count, ...approvedBy], remediation: null };
    if (!policy.signoff.required_roles.includes(role)) {
      return {
        ...base,
        status: 'skipped' as const,
        evidence: ['not required by the policy', ...approvedBy],
        remediation: null,
      };
    }
    return {
      ...base,
      status: 'pending' as const,
      evidence: [...count, ...approvedBy, 'awaiting approval in Slack'],
      remediation: null,
    };
  });
}

/** Assembles a report from results and state; pure, shared by the CLI, workers and the Slack app. */
export function assembleReport(input: {
  run: string;
  effective: EffectivePolicy;
  manifest: Manifest;
  checks: readonly CheckResult[];
  signoffs?: readonly SignoffRecord[];
  /** Waivers stored for the pair (expiry already marked by the store's clock). */
  waivers?: readonly WaiverRecord[];
  now?: Date;
}): GateReport {
  const { policy } = input.effective;
  const signoffs = [...(input.signoffs ?? [])];
  const checks = [
    ...input.checks.filter((c) => c.category !== 'signoff'),
    ...signoffResults(policy, signoffs, input.manifest.digest),
  ];
  const waivers = waiverStandings(input.waivers ?? [], checks, input.manifest.digest, input.effective.digest);
  const verdict = evaluateGate({
    checks,
    signoffs,
    requiredRoles: policy.signoff.required_roles,
    minApprovals: policy.signoff.min_approvals,
    digest: input.manifest.digest,
    waived: waivedCheckIds(waivers),
  });
  return {
    run: input.run,
    model_name: modelName(policy, input.run),
    gate: verdict.status,
    digest: input.manifest.digest,
    manifest: input.manifest,
    policy: {
      name: policy.name,
      digest: input.effective.digest,
      // evaluations stored before overrides were tracked have neither field
      team_digest: input.effective.team_digest ?? input.effective.digest,
      sources: input.effective.sources,
      overrides: input.effective.overrides,
      applied: input.effective.applied ?? [],
      effective: policy,
    },
    checks,
    signoffs,
    waivers,
    blocking: verdict.blocking,
    outstanding: verdict.outstanding,
    generated_at: (input.now ?? new Date()).toISOString(),
  };
}

export interface CheckRunOptions extends RunChecksOptions, PolicyOptions {
  /** How the run is named in the report (defaults to the folder path). */
  label?: string;
  checks?: readonly CheckDefinition[];
  onManifestProgress?: (done: number, total: number) => void;
}

/** `readiness check`: open the run, resolve the policy, hash the manifest, run every check, judge. */
export async function checkRun(dir: string, opts: CheckRunOptions = {}): Promise<GateReport> {
  const { effective, manifest } = await snapshotRun(dir, opts);
  // the checks get their own view of the run, so `run.accessed` is exactly what they opened
  const run = await RunArtifacts.open(dir);
  const results = await runChecks(opts.checks ?? AUTOMATED_CHECKS, { run, policy: effective.policy }, opts);
  return assembleReport({ run: opts.label ?? dir, effective, manifest, checks: results });
}
