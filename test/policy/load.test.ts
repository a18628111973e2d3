import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunArtifacts } from '../../src/artifacts/run.js';
import { loadEffectivePolicy, policyDigest, readPolicyFile, resolvePolicy } from '../../src/policy/load.js';
import { DEFAULT_POLICY } from '../../src/policy/schema.js';
import { cleanupRuns, copyExampleRun } from '../helpers/runs.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'policy-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await cleanupRuns();
});

describe('policy defaults', () => {
  it('carries every checklist threshold', () => {
    const p = resolvePolicy([]).policy;
    expect(p.target_accuracy).toBe(80);
    expect(p.val_gap).toEqual({ max_pp: 5, excellent_pp: 2 });
    expect(p.per_class).toEqual({ min_f1: 0.7, min_recall: 0.5 });
    expect(p.parity.max_delta_pp).toBe(0.5);
    expect(p.latency.p95_budget_ms).toBe(100);
    expect(p.latency.requests).toBeGreaterThanOrEqual(1000);
    expect(p.docs.deployment_guide_sections).toHaveLength(8);
    expect(p.signoff.required_roles).toEqual(['technical', 'product', 'compliance']);
    expect(p.paths.checkpoint_best).toBe('checkpoints/production/final_model_best.pt');
  });
});

describe('resolvePolicy', () => {
  it('applies layers in order: later layers win, objects merge, arrays replace', () => {
    const e = resolvePolicy([
      { source: 'team.yml', data: { target_accuracy: 85, latency: { batch_sizes: [1] } } },
      { source: 'readiness.yml', data: { target_accuracy: 90 } },
      { source: 'command-line flags', data: { target_accuracy: 95 } },
    ]);
    expect(e.policy.target_accuracy).toBe(95);
    expect(e.policy.latency.batch_sizes).toEqual([1]);
    expect(e.policy.latency.p95_budget_ms).toBe(100);
    expect(e.sources).toEqual(['defaults', 'team.yml', 'readiness.yml', 'command-line flags']);
    expect(e.overrides[0]).toEqual({ source: 'team.yml', fields: ['target_accuracy', 'latency.batch_sizes'] });
  });

  it('refuses a bad field naming the source, the field path and what was expected', () => {
    expect(() => resolvePolicy([{ source: 'team.yml', data: { per_class: { min_f1: 'high' } } }])).toThrow(
      /team\.yml: per_class\.min_f1: .*expected number/i,
    );
    expect(() => resolvePolicy([{ source: 'team.yml', data: { target_accuracy: 120 } }])).toThrow(
      /team\.yml: target_accuracy: .*100/,
    );
    expect(() => resolvePolicy([{ source: 'r.yml', data: { paths: { metrics: '../../etc/passwd' } } }])).toThrow(
      /r\.yml: paths\.metrics: expected a path relative to the run folder/,
    );
  });

  it('refuses unknown fields (typos must not silently fall back to defaults)', () => {
    expect(() => resolvePolicy([{ source: 'team.yml', data: { target_acuracy: 90 } }])).toThrow(
      /team\.yml: .*target_acuracy/,
    );
  });

  it('refuses a non-mapping document and inconsistent gap grades', () => {
    expect(() => resolvePolicy([{ source: 'x.yml', data: [1, 2] }])).toThrow(/x\.yml: expected a mapping/);
    expect(() => resolvePolicy([{ source: 'x.yml', data: { val_gap: { excellent_pp: 6 } } }])).toThrow(/excellent_pp/);
  });

  it('ignores prototype-polluting keys', () => {
    const e = resolvePolicy([
      { source: 'x.yml', data: JSON.parse('{"__proto__": {"polluted": true}, "target_accuracy": 81}') },
    ]);
    expect(e.policy.target_accuracy).toBe(81);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('digests the effective policy independent of key order', () => {
    const a = resolvePolicy([{ source: 'a', data: { target_accuracy: 85, name: 'x' } }]);
    const b = resolvePolicy([{ source: 'b', data: { name: 'x', target_accuracy: 85 } }]);
    expect(a.digest).toBe(b.digest);
    expect(a.digest).not.toBe(policyDigest(DEFAULT_POLICY));
  });
});

describe('readPolicyFile and loadEffectivePolicy', () => {
  it('reads YAML and JSON policy files', async () => {
    await writeFile(path.join(dir, 'p.yml'), 'name: image-classifier\ntarget_accuracy: 85\n');
    await writeFile(path.join(dir, 'p.json'), '{"target_accuracy": 70}');
    expect((await readPolicyFile(path.join(dir, 'p.yml'))).data).toEqual({
      name: 'image-classifier',
      target_accuracy: 85,
    });
    expect((await readPolicyFile(path.join(dir, 'p.json'))).data).toEqual({ target_accuracy: 70 });
  });

  it('names the file on YAML syntax errors and unreadable files', async () => {
    await writeFile(path.join(dir, 'bad.yml'), 'target_accuracy: [1, 2\n');
    await expect(readPolicyFile(path.join(dir, 'bad.yml'))).rejects.toThrow(/bad\.yml: not valid YAML/);
    await expect(readPolicyFile(path.join(dir, 'missing.yml'))).rejects.toThrow(/missing\.yml cannot be read/);
  });

  it('layers defaults ← policy file ← run readiness.yml ← flags (the run and the flags only tighten)', async () => {
    const runDir = await copyExampleRun();
    await writeFile(
      path.join(runDir, 'readiness.yml'),
      'model_name: From Run\ntarget_accuracy: 92\nlatency:\n  p95_budget_ms: 50\n',
    );
    const run = await RunArtifacts.open(runDir);
    const e = await loadEffectivePolicy(run, {
      policyLayer: {
        source: 'team.yml',
        data: { name: 'team', target_accuracy: 90, latency: { p95_budget_ms: 80, requests: 2000 } },
      },
      flags: { target_accuracy: 95 },
    });
    expect(e.policy.name).toBe('team');
    expect(e.policy.model_name).toBe('From Run');
    expect(e.policy.target_accuracy).toBe(95);
    expect(e.policy.latency).toMatchObject({ p95_budget_ms: 50, requests: 2000 });
    expect(e.sources).toEqual(['defaults', 'team.yml', 'readiness.yml', 'command-line flags']);
  });

  it('refuses a bad run readiness.yml naming it', async () => {
    const runDir = await copyExampleRun();
    await writeFile(path.join(runDir, 'readiness.yml'), 'parity:\n  batch_size: -1\n');
    const run = await RunArtifacts.open(runDir);
    await expect(loadEffectivePolicy(run)).rejects.toThrow(/readiness\.yml: parity\.batch_size/);
  });

  it('refuses a run readiness.yml of nested "[" before the YAML parser sees it (unbounded: 13 s and ~1 GB for 1 MB)', async () => {
    const runDir = await copyExampleRun();
    await writeFile(path.join(runDir, 'readiness.yml'), `target_accuracy: ${'['.repeat(1024 * 1024 - 20)}\n`);
    const run = await RunArtifacts.open(runDir);
    const heapBefore = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    await expect(loadEffectivePolicy(run)).rejects.toMatchObject({
      code: 'POLICY_INVALID',
      message: 'readiness.yml:1: YAML nests deeper than 64 levels; refused before parsing',
    });
    // generous bounds: the pre-scan stops at the 64th bracket
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(128 * 1024 * 1024);
  });

  it.each([
    'signoff:\n  required_roles: []\n',
    'signoff:\n  allow_self_approval: true\n',
    'limits:\n  max_text_bytes: 99999999999\n',
  ])('refuses a run readiness.yml that tries to set team-only fields: %j', async (yml) => {
    const runDir = await copyExampleRun();
    await writeFile(path.join(runDir, 'readiness.yml'), yml);
    const run = await RunArtifacts.open(runDir);
    await expect(loadEffectivePolicy(run)).rejects.toThrow(
      /readiness\.yml: (signoff|limits): may only be set by the team policy/,
    );
  });

  it('finds the run policy at a path the policy file moved it to', async () => {
    const runDir = await copyExampleRun();
    await writeFile(path.join(runDir, 'gate.yml'), 'target_accuracy: 83\n');
    const run = await RunArtifacts.open(runDir);
    const e = await loadEffectivePolicy(run, {
      policyLayer: { source: 'team.yml', data: { paths: { run_policy: 'gate.yml' } } },
    });
    expect(e.policy.target_accuracy).toBe(83);
  });
});
