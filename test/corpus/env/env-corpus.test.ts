import { afterAll, describe, expect, it } from 'vitest';
import { resolveManifestFiles } from '../../../src/artifacts/manifest.js';
import { RunArtifacts } from '../../../src/artifacts/run.js';
import { AUTOMATED_CHECKS } from '../../../src/checks/registry.js';
import { removeFile, runOn, writeRunFile } from '../../helpers/check.js';
import { cleanupRuns, copyExampleRun } from '../../helpers/runs.js';
import { ENV_BENIGN as benign, ENV_DEFECTS as defects, type EnvVariant as Variant } from './variants.js';

afterAll(cleanupRuns);

async function materialise(v: Variant): Promise<string> {
  const dir = await copyExampleRun();
  for (const rel of v.remove ?? []) await removeFile(dir, rel);
  for (const [rel, content] of Object.entries(v.files ?? {})) await writeRunFile(dir, rel, content);
  return dir;
}

describe('environment and log corpus', () => {
  it('has at least 20 variants, half benign and half defects', () => {
    expect(benign.length + defects.length).toBeGreaterThanOrEqual(20);
    expect(benign.length).toBeGreaterThanOrEqual(10);
    expect(defects.length).toBeGreaterThanOrEqual(10);
    expect(benign.every((v) => v.status === 'pass')).toBe(true);
    expect(defects.every((v) => v.status === 'fail' || v.status === 'error')).toBe(true);
  });

  describe.each([...benign.map((v) => ['benign', v.name, v] as const), ...defects.map((v) => ['defect', v.name, v] as const)])('%s: %s', (_kind, _name, v) => {
    it(`${v.check.id} → ${v.status}`, async () => {
      const r = await runOn(await materialise(v), v.check);
      expect(r.result.status, r.text).toBe(v.status);
      for (const e of v.evidence) expect(r.text).toContain(e);
      // Every file the evidence names was read, and every file the check read is one the evaluation's manifest hashes.
      for (const rel of Object.keys(v.files ?? {})) if (r.text.includes(rel) && r.result.status !== 'error') expect([...r.run.accessed]).toContain(rel);
      const covered = new Set((await resolveManifestFiles(await RunArtifacts.open(r.run.root), r.policy)).map((f) => f.path));
      expect([...r.run.accessed].filter((rel) => !covered.has(rel)), 'read but not in the manifest').toEqual([]);
      if (v.status === 'pass') {
        // A benign variant blocks no light check (another check must not trip over the replaced file either).
        const blocked: string[] = [];
        for (const c of AUTOMATED_CHECKS.filter((x) => !x.heavy && x.id !== v.check.id)) {
          const o = await runOn(r.run.root, c);
          if (o.result.status === 'fail' || o.result.status === 'error') blocked.push(`${c.id}: ${o.result.status}\n  ${o.text}`);
        }
        expect(blocked, 'a benign variant blocked').toEqual([]);
      }
    });
  });
});
