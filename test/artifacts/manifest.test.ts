import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { artifactBytes, buildRunManifest, type Manifest, resolveManifestFiles } from '../../src/artifacts/manifest.js';
import { RunArtifacts } from '../../src/artifacts/run.js';
import { AUTOMATED_CHECKS } from '../../src/checks/registry.js';
import { runChecks } from '../../src/checks/runner.js';
import type { CheckResult } from '../../src/checks/types.js';
import { loadEffectivePolicy } from '../../src/policy/load.js';
import { externaliseOnnxWeights } from '../helpers/external-onnx.js';
import { cleanupRuns, copyExampleRun, EXAMPLE_RUN, mutateText } from '../helpers/runs.js';
import { convertToNpz } from '../onnx/run-variants.js';

afterAll(cleanupRuns);

/** Manifest of a run, and every check run on a separate view of it: what they opened, and their results. */
async function manifestAndChecks(
  dir: string,
): Promise<{ manifest: Manifest; accessed: string[]; results: CheckResult[] }> {
  const { policy } = await loadEffectivePolicy(await RunArtifacts.open(dir));
  const manifest = await buildRunManifest(await RunArtifacts.open(dir), policy);
  const run = await RunArtifacts.open(dir);
  const results = await runChecks(AUTOMATED_CHECKS, { run, policy });
  return { manifest, accessed: [...run.accessed].sort(), results };
}

/** A check that opens a file the manifest does not hash is a bug: every opened file must be covered. */
function expectCovered(m: { manifest: Manifest; accessed: string[] }): void {
  const covered = new Set(m.manifest.entries.map((e) => e.path));
  expect(m.accessed.filter((p) => !covered.has(p))).toEqual([]);
  expect(m.accessed.length).toBeGreaterThan(10);
}

describe('the manifest holds every byte any check reads', () => {
  it('example run: every file the checks open is in the manifest, the run policy file included', async () => {
    const m = await manifestAndChecks(EXAMPLE_RUN);
    expectCovered(m);
    const paths = m.manifest.entries.map((e) => e.path);
    expect(paths).toContain('readiness.yml');
    expect(m.manifest.entries.find((e) => e.path === 'readiness.yml')?.artifact).toBe('run_policy');
    expect(m.manifest.bytes).toBe(m.manifest.entries.reduce((a, e) => a + e.size, 0));
    expect(m.results.filter((r) => r.status === 'fail' || r.status === 'error')).toEqual([]);
  });

  it('ONNX external data: hashed as part of onnx_model, sizes count every file, and a swap changes the digest', async () => {
    const dir = await copyExampleRun();
    const dataRel = await externaliseOnnxWeights(dir);
    const m = await manifestAndChecks(dir);
    expect(m.accessed).toContain(dataRel);
    expectCovered(m);
    const entry = m.manifest.entries.find((e) => e.path === dataRel);
    expect(entry?.artifact).toBe('onnx_model');
    const model = m.manifest.entries.find((e) => e.path === 'models/production_model.onnx')!;
    expect(artifactBytes(m.manifest, 'onnx_model')).toBe(model.size + entry!.size);
    // the weights nobody checked: same size, other bytes
    const data = await readFile(path.join(dir, dataRel));
    data.writeUInt8(data.readUInt8(data.length - 1) ^ 0xff, data.length - 1);
    await writeFile(path.join(dir, dataRel), data);
    const after = await buildRunManifest(
      await RunArtifacts.open(dir),
      (await loadEffectivePolicy(await RunArtifacts.open(dir))).policy,
    );
    expect(after.digest).not.toBe(m.manifest.digest);
    expect(after.entries.find((e) => e.path === dataRel)?.sha256).not.toBe(entry!.sha256);
  });

  it('.npz test set (the readers fall back to it when inputs.npy is absent) is in the manifest', async () => {
    const dir = await copyExampleRun();
    await convertToNpz(dir);
    const m = await manifestAndChecks(dir);
    expect(m.accessed).toContain('data/test/inputs.npz');
    expectCovered(m);
    expect(m.manifest.entries.find((e) => e.path === 'data/test/inputs.npz')?.artifact).toBe('test_inputs');
  });

  it('requirement files included with -r / -c (nested, and from environment.yml) are in the manifest', async () => {
    const dir = await copyExampleRun();
    await mkdir(path.join(dir, 'env'), { recursive: true });
    const base = await readFile(path.join(dir, 'requirements.txt'), 'utf8');
    await writeFile(path.join(dir, 'env/base.txt'), `${base}\n-c constraints.txt\n`);
    await writeFile(path.join(dir, 'env/constraints.txt'), 'urllib3==2.0.7\n');
    await writeFile(path.join(dir, 'env/conda-pip.txt'), 'tqdm==4.66.1\n');
    await writeFile(path.join(dir, 'requirements.txt'), '-r env/base.txt\n');
    await writeFile(
      path.join(dir, 'environment.yml'),
      'name: digits\ndependencies:\n  - python=3.11.5\n  - pip=23.3.1\n  - pip:\n    - -r env/conda-pip.txt\n',
    );
    const m = await manifestAndChecks(dir);
    for (const p of ['env/base.txt', 'env/constraints.txt', 'env/conda-pip.txt']) expect(m.accessed).toContain(p);
    expectCovered(m);
    const byPath = new Map(m.manifest.entries.map((e) => [e.path, e.artifact]));
    expect(byPath.get('env/constraints.txt')).toBe('requirements');
    expect(byPath.get('env/conda-pip.txt')).toBe('environment');
    // changing an included file changes the digest
    await mutateText(dir, 'env/constraints.txt', (t) => t.replace('2.0.7', '2.0.6'));
    const { policy } = await loadEffectivePolicy(await RunArtifacts.open(dir));
    expect((await buildRunManifest(await RunArtifacts.open(dir), policy)).digest).not.toBe(m.manifest.digest);
  });

  it('the resolver names each file with its artifact; missing files are left to the checks', async () => {
    const dir = await copyExampleRun();
    const { policy } = await loadEffectivePolicy(await RunArtifacts.open(dir));
    const files = await resolveManifestFiles(await RunArtifacts.open(dir), policy);
    expect(files).toContainEqual({ path: 'data/test/inputs.npz', artifact: 'test_inputs' });
    expect(files).toContainEqual({ path: 'readiness.yml', artifact: 'run_policy' });
    const manifest = await buildRunManifest(await RunArtifacts.open(dir), policy);
    expect(manifest.entries.some((e) => e.path === 'data/test/inputs.npz')).toBe(false);
  });
});
