import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildRunManifest, type Manifest } from '../../src/artifacts/manifest.js';
import { RunArtifacts } from '../../src/artifacts/run.js';
import { defineCheck, pass } from '../../src/checks/define.js';
import { AUTOMATED_CHECKS } from '../../src/checks/registry.js';
import { runChecks } from '../../src/checks/runner.js';
import type { CheckDefinition, CheckResult } from '../../src/checks/types.js';
import { loadEffectivePolicy } from '../../src/policy/load.js';
import { cleanupRuns, copyExampleRun, mutateText } from '../helpers/runs.js';

afterAll(cleanupRuns);

const LIGHT = AUTOMATED_CHECKS.filter((c) => !c.heavy);

/** Manifest of a run, and the checks run on a separate view of it: what they opened, and their results. */
async function manifestAndChecks(
  dir: string,
  checks: readonly CheckDefinition[] = LIGHT,
): Promise<{ manifest: Manifest; accessed: string[]; results: CheckResult[] }> {
  const { policy } = await loadEffectivePolicy(await RunArtifacts.open(dir));
  const manifest = await buildRunManifest(await RunArtifacts.open(dir), policy);
  const run = await RunArtifacts.open(dir);
  const results = await runChecks(checks, { run, policy });
  return { manifest, accessed: [...run.accessed].sort(), results };
}

/** The assertion every manifest test makes: a file a check opened that the manifest does not hash is a bug. */
function expectCovered(m: { manifest: Manifest; accessed: string[] }): void {
  const covered = new Set(m.manifest.entries.map((e) => e.path));
  expect(
    m.accessed.filter((p) => !covered.has(p)),
    'files the checks opened that the manifest does not hash',
  ).toEqual([]);
}

describe('the config file final_report.md names is evidence: opened by repro.documented, hashed by the manifest', () => {
  it('a config other than the layout one: in the manifest (under final_report), opened by the check, a swap changes the digest', async () => {
    const dir = await copyExampleRun();
    await copyFile(path.join(dir, 'configs/final_config.yaml'), path.join(dir, 'configs/sweep_best.yaml'));
    await mutateText(dir, 'final_report.md', (t) =>
      t.replace('Config: configs/final_config.yaml', 'Config: ./configs/sweep_best.yaml'),
    );
    const m = await manifestAndChecks(dir);
    const repro = m.results.find((r) => r.id === 'repro.documented');
    expect(repro?.status).toBe('pass');
    expect(repro?.metrics.config).toBe('configs/sweep_best.yaml');
    expect(m.accessed).toContain('configs/sweep_best.yaml');
    expect(m.manifest.entries.find((e) => e.path === 'configs/sweep_best.yaml')?.artifact).toBe('final_report');
    expectCovered(m);

    await writeFile(path.join(dir, 'configs/sweep_best.yaml'), 'lr: 10\n');
    const { policy } = await loadEffectivePolicy(await RunArtifacts.open(dir));
    expect((await buildRunManifest(await RunArtifacts.open(dir), policy)).digest).not.toBe(m.manifest.digest);
  });

  it('a named config that leaves the run, or is missing, is left to the check (which fails); the manifest skips it', async () => {
    const dir = await copyExampleRun();
    await mutateText(dir, 'final_report.md', (t) =>
      t.replace('Config: configs/final_config.yaml', 'Config: configs/missing.yaml'),
    );
    const m = await manifestAndChecks(dir);
    expect(m.results.find((r) => r.id === 'repro.documented')?.status).toBe('fail');
    expect(m.manifest.entries.some((e) => e.path === 'configs/missing.yaml')).toBe(false);
    expectCovered(m);
  });

  it('the assertion catches a check that opens a file the manifest does not hash', async () => {
    const dir = await copyExampleRun();
    await writeFile(path.join(dir, 'notes.txt'), 'read by a check, hashed by nobody\n');
    const rogue = defineCheck({
      id: 'docs.rogue',
      category: 'docs',
      title: 'Reads a file outside the manifest',
      heavy: false,
      remediation: 'none',
      async run({ run }) {
        await run.readText('notes.txt');
        return pass(['read notes.txt']);
      },
    });
    const m = await manifestAndChecks(dir, [...LIGHT, rogue]);
    expect(m.accessed).toContain('notes.txt');
    expect(() => expectCovered(m)).toThrow(/notes\.txt/);
  });
});
