import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { cleanupRuns, copyExampleRun, EXAMPLE_RUN } from '../helpers/runs.js';

afterAll(cleanupRuns);

describe('readiness check: the run and the flags may only tighten the team policy', () => {
  it('--target below the team target exits 2 naming the field, the team value and the attempt', async () => {
    const r = await runCli(['check', EXAMPLE_RUN, '--skip-heavy', '--target', '10%']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('command-line flags: target_accuracy: may only be made stricter than the team policy');
    expect(r.stderr).toContain('the team policy has 80, attempted 10');
  });

  it('a readiness.yml that loosens a threshold or sets a path exits 2', async () => {
    const run = await copyExampleRun();
    await writeFile(path.join(run, 'readiness.yml'), 'parity:\n  max_delta_pp: 100\n');
    const r = await runCli(['check', run, '--skip-heavy']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/readiness\.yml: parity\.max_delta_pp: .*the team policy has 0\.5, attempted 100/);
    await writeFile(path.join(run, 'readiness.yml'), 'paths:\n  onnx_model: models/elsewhere.onnx\n');
    const p = await runCli(['check', run, '--skip-heavy']);
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(/readiness\.yml: paths\.onnx_model: may only be set by the team policy/);
  });

  it('tightening is applied and shown in the text, JSON, JUnit and markdown reports', async () => {
    const run = await copyExampleRun();
    await writeFile(path.join(run, 'readiness.yml'), 'model_name: Digits\nlatency:\n  p95_budget_ms: 40\n');
    const line = 'latency.p95_budget_ms: 100 → 40 (readiness.yml, stricter)';
    const text = await runCli(['check', run, '--skip-heavy', '--target', '90']);
    expect(text.stdout).toContain(`Run override: ${line}`);
    expect(text.stdout).toContain('Run override: target_accuracy: 80 → 90 (command-line flags, stricter)');
    const json = JSON.parse(
      (await runCli(['check', run, '--skip-heavy', '--target', '90', '--format', 'json', '--quiet'])).stdout,
    ) as {
      policy: { applied: { field: string; team: unknown; value: unknown }[]; effective: { target_accuracy: number } };
    };
    expect(json.policy.effective.target_accuracy).toBe(90);
    expect(json.policy.applied).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: 'latency.p95_budget_ms', team: 100, value: 40 })]),
    );
    const junit = (await runCli(['check', run, '--skip-heavy', '--target', '90', '--format', 'junit', '--quiet']))
      .stdout;
    expect(junit).toMatch(
      /<property name="overrides" value="[^"]*latency\.p95_budget_ms: 100 → 40 \(readiness\.yml, stricter\)/,
    );
    const md = (await runCli(['check', run, '--skip-heavy', '--target', '90', '--format', 'markdown', '--quiet']))
      .stdout;
    expect(md).toContain('**Run overrides of the team policy**: ');
    expect(md).toContain('target\\_accuracy: 80 → 90 (command-line flags, stricter)');
  });
});
