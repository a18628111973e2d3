import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunArtifacts } from '../../src/artifacts/run.js';
import { describeOverride, FIELD_AUTHORITY, policyFieldPaths, TEAM_ONLY_SECTIONS } from '../../src/policy/authority.js';
import { loadEffectivePolicy, type PolicyLayer, resolvePolicy } from '../../src/policy/load.js';
import { DEFAULT_POLICY } from '../../src/policy/schema.js';
import { cleanupRuns, copyExampleRun } from '../helpers/runs.js';

afterAll(cleanupRuns);

const TEAM: PolicyLayer = {
  source: 'READINESS_CONFIG policies.image',
  data: { name: 'image', target_accuracy: 85, latency: { requests: 2000 } },
};

async function withRunPolicy(yml: string): Promise<RunArtifacts> {
  const dir = await copyExampleRun();
  await writeFile(path.join(dir, 'readiness.yml'), yml);
  return RunArtifacts.open(dir);
}

describe('policy authority: the team policy is the floor', () => {
  it('classifies every policy field outside paths and the team-only sections explicitly', () => {
    const sections = new Set<string>(['paths', ...TEAM_ONLY_SECTIONS]);
    const fields = policyFieldPaths(DEFAULT_POLICY).filter((f) => !sections.has(f.split('.')[0] ?? f));
    expect(fields.length).toBeGreaterThan(20);
    expect(fields.filter((f) => !(f in FIELD_AUTHORITY))).toEqual([]);
  });

  it.each([
    ['target_accuracy: 10\n', 'target_accuracy', '85', '10'],
    ['latency:\n  requests: 1\n', 'latency.requests', '2000', '1'],
    ['parity:\n  max_delta_pp: 100\n', 'parity.max_delta_pp', '0.5', '100'],
    ['latency:\n  p95_budget_ms: 5000\n', 'latency.p95_budget_ms', '100', '5000'],
    ['per_class:\n  min_f1: 0.1\n', 'per_class.min_f1', '0.7', '0.1'],
    ['qa:\n  blocking_severities: [NONE]\n', 'qa.blocking_severities', '[P0, P1]', '[NONE]'],
    [
      'paths:\n  onnx_model: models/other.onnx\n',
      'paths.onnx_model',
      '"models/production_model.onnx"',
      '"models/other.onnx"',
    ],
    ['name: strict-team\n', 'name', '"image"', '"strict-team"'],
    [
      'docs:\n  deployment_guide_sections: [Model Overview]\n',
      'docs.deployment_guide_sections',
      '[Model Overview, Input Specification',
      '[Model Overview]',
    ],
    ['latency:\n  warmup_requests: 5000\n', 'latency.warmup_requests', '50', '5000'],
    ['latency:\n  throughput_seconds: 1\n', 'latency.throughput_seconds', '3', '1'],
    ['run_overridable: [target_accuracy]\n', 'run_overridable', '[]', '[target_accuracy]'],
  ])(
    'readiness.yml %j is refused naming the field, the team value and the attempted value',
    async (yml, field, team, attempted) => {
      const run = await withRunPolicy(yml);
      const err = await loadEffectivePolicy(run, { policyLayer: TEAM }).then(
        () => null,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(err?.code).toBe('POLICY_INVALID');
      expect(err?.message).toContain(`readiness.yml: ${field}:`);
      expect(err?.message).toContain(team);
      expect(err?.message).toContain(`attempted ${attempted}`);
    },
  );

  it('a loosening flag (--target) is refused the same way', async () => {
    const run = await RunArtifacts.open(await copyExampleRun());
    await expect(loadEffectivePolicy(run, { policyLayer: TEAM, flags: { target_accuracy: 1 } })).rejects.toThrow(
      'command-line flags: target_accuracy: may only be made stricter than the team policy (a higher value is stricter): the team policy has 85, attempted 1',
    );
  });

  it('tightening is applied, listed with the team value, and changes the policy digest', async () => {
    const run = await withRunPolicy(
      'model_name: Digits\ntarget_accuracy: 90\nlatency:\n  p95_budget_ms: 50\ndocs:\n  test_results_sections: [Performance Metrics, Validation vs Test, Per-Class Performance, Target Achievement, Confusion Matrix, Failure Mode, Calibration]\n',
    );
    const e = await loadEffectivePolicy(run, { policyLayer: TEAM, flags: { target_accuracy: 92 } });
    expect(e.policy.target_accuracy).toBe(92);
    expect(e.policy.latency.p95_budget_ms).toBe(50);
    const byField = new Map(e.applied!.map((o) => [o.field, o]));
    expect(byField.get('target_accuracy')).toEqual({
      source: 'command-line flags',
      field: 'target_accuracy',
      team: 85,
      value: 92,
      allowed: 'tightened',
    });
    expect(byField.get('latency.p95_budget_ms')).toMatchObject({
      source: 'readiness.yml',
      team: 100,
      value: 50,
      allowed: 'tightened',
    });
    expect(byField.get('model_name')).toMatchObject({ allowed: 'label', value: 'Digits' });
    expect(byField.has('docs.test_results_sections')).toBe(true);
    expect(describeOverride(byField.get('target_accuracy')!)).toBe(
      'target_accuracy: 85 → 92 (command-line flags, stricter)',
    );
    const team = resolvePolicy([TEAM]);
    expect(e.team_digest).toBe(team.digest);
    expect(e.digest).not.toBe(team.digest);
  });

  it('a field the team lists under run_overridable may be set to any value, and says so', async () => {
    const run = await withRunPolicy('paths:\n  onnx_model: models/alt.onnx\nparity:\n  batch_size: 1\n');
    const layer: PolicyLayer = { source: 'team.yml', data: { run_overridable: ['paths', 'parity.batch_size'] } };
    const e = await loadEffectivePolicy(run, { policyLayer: layer });
    expect(e.policy.paths.onnx_model).toBe('models/alt.onnx');
    expect(e.applied!.map((o) => [o.field, o.allowed])).toEqual(
      expect.arrayContaining([
        ['paths.onnx_model', 'run_overridable'],
        ['parity.batch_size', 'run_overridable'],
      ]),
    );
  });

  it.each([['signoff'], ['limits.max_text_bytes'], ['name'], ['run_overridable'], ['no_such_field']])(
    'a team policy cannot list %s under run_overridable',
    (field) => {
      expect(() => resolvePolicy([{ source: 'team.yml', data: { run_overridable: [field] } }])).toThrow(
        /team\.yml: run_overridable: /,
      );
    },
  );

  it('the run may repeat the team value (no override) and set its model name', async () => {
    const run = await withRunPolicy('target_accuracy: 85\nmodel_name: Digits\n');
    const e = await loadEffectivePolicy(run, { policyLayer: TEAM });
    expect(e.applied!.map((o) => o.field)).toEqual(['model_name']);
  });
});
