import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveManifestFiles } from '../../../src/artifacts/manifest.js';
import { RunArtifacts } from '../../../src/artifacts/run.js';
import { AUTOMATED_CHECKS } from '../../../src/checks/registry.js';
import type { CheckResult } from '../../../src/checks/types.js';
import { runOn, variant } from '../../helpers/check.js';
import { cleanupRuns } from '../../helpers/runs.js';
import { VARIANTS, type At } from './variants.js';

/** Every check that reads a markdown document. */
const DOC_CHECKS = [
  'test.evaluated',
  'test.target',
  'test.val_gap',
  'test.per_class',
  'docs.deployment_guide',
  'docs.test_results',
  'docs.model_card',
  'docs.monitoring',
  'repro.documented',
  'qa.known_issues',
  'qa.code_review',
  'consistency.metrics',
];
const byId = new Map(AUTOMATED_CHECKS.map((c) => [c.id, c]));
const blocks = (r: CheckResult) => r.status === 'fail' || r.status === 'error';

afterAll(cleanupRuns);

describe('document corpus: other teams\' documents', () => {
  it('has at least 40 variants, half benign and half defects', () => {
    const benign = VARIANTS.filter((v) => v.kind === 'benign').length;
    const defects = VARIANTS.filter((v) => v.kind === 'defect').length;
    expect(VARIANTS.length).toBeGreaterThanOrEqual(40);
    expect(benign).toBeGreaterThanOrEqual(20);
    expect(defects).toBeGreaterThanOrEqual(20);
  });

  it.each(VARIANTS.map((v) => [v.kind, v.name, v] as const))('%s: %s', async (_kind, _name, v) => {
    const dir = await variant(v.files);
    const texts = new Map<string, string[]>();
    for (const rel of new Set(v.expect.flatMap(() => Object.keys(v.files)).concat(['results/production/test_results.md', 'final_report.md']))) {
      texts.set(rel, (await readFile(path.join(dir, rel), 'utf8').catch(() => '')).split(/\r?\n/));
    }
    const at: At = (file, marker) => {
      const lines = texts.get(file);
      const k = lines?.findIndex((l) => l.includes(marker)) ?? -1;
      if (k < 0) throw new Error(`marker ${JSON.stringify(marker)} not in ${file}`);
      return `${file}:${k + 1}`;
    };
    const ids = v.kind === 'benign' ? DOC_CHECKS : v.expect.map((e) => e.check);
    const results = new Map<string, CheckResult>();
    const accessed = new Set<string>();
    let policy: Awaited<ReturnType<typeof runOn>>['policy'] | undefined;
    for (const id of ids) {
      const r = await runOn(dir, byId.get(id)!);
      results.set(id, r.result);
      for (const rel of r.run.accessed) accessed.add(rel);
      policy = r.policy;
    }
    // Every file a check read is one the evaluation's manifest hashes.
    const covered = new Set((await resolveManifestFiles(await RunArtifacts.open(dir), policy!)).map((f) => f.path));
    expect([...accessed].filter((rel) => !covered.has(rel)), 'read but not in the manifest').toEqual([]);
    if (v.kind === 'benign') {
      const blocked = [...results.values()].filter(blocks).map((r) => `${r.id}: ${r.status}\n  ${r.evidence.join('\n  ')}`);
      expect(blocked, 'a benign variant blocked').toEqual([]);
    }
    for (const e of v.expect) {
      const r = results.get(e.check)!;
      const text = r.evidence.join('\n');
      expect(r.status, `${e.check}\n${text}`).toBe(e.status);
      for (const ev of e.evidence) {
        const want = ev(at);
        if (typeof want === 'string') expect(text).toContain(want);
        else expect(text).toMatch(want);
      }
    }
  });
});
