import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';
import { RunArtifacts } from '../../src/artifacts/run.js';
import { check } from '../../src/checks/export-provenance.js';
import { runCheck } from '../../src/checks/runner.js';
import { DEFAULT_POLICY } from '../../src/policy/schema.js';
import { cleanupRuns, copyExampleRun, EXAMPLE_RUN, REPO_ROOT } from '../helpers/runs.js';

const FIXTURES = path.join(REPO_ROOT, 'test/fixtures/checkpoints');
const P = DEFAULT_POLICY.paths;
const run = async (dir: string) => runCheck(check, { run: await RunArtifacts.open(dir), policy: DEFAULT_POLICY });

/** The example run with the small fixture model's checkpoint and an export of it. */
async function fixtureRun(onnx: string | Buffer) {
  const dir = await copyExampleRun();
  await copyFile(path.join(FIXTURES, 'normal.pt'), path.join(dir, P.checkpoint_best));
  if (typeof onnx === 'string') await copyFile(path.join(FIXTURES, onnx), path.join(dir, P.onnx_model));
  else await writeFile(path.join(dir, P.onnx_model), onnx);
  return dir;
}

afterAll(cleanupRuns);

describe('export.provenance', () => {
  it('passes on the example run, verifying BatchNorm-folded conv weights numerically', async () => {
    const r = await run(EXAMPLE_RUN);
    expect(r.status).toBe('pass');
    expect(r.evidence[0]).toMatch(
      /^8 of 8 ONNX weight tensors are final_model_best\.pt's: 4 identical \(sha256\) under the same name, 0 identical under another name, 4 with a BatchNorm folded in/,
    );
    expect(r.evidence[1]).toContain('= conv1.weight with bn1 folded in');
  });

  it('matches an export of the same weights by name and digest', async () => {
    const r = await run(await fixtureRun('model.onnx'));
    expect(r.status).toBe('pass');
    expect(r.metrics).toMatchObject({ onnx_weights: 8, matched_by_name: 8, conflicts: 0 });
  });

  it('matches renamed initializers by content', async () => {
    const model = onnxProto.onnx.ModelProto.decode(await readFile(path.join(FIXTURES, 'model.onnx')));
    const renames = new Map<string, string>();
    for (const init of model.graph!.initializer!) {
      const fresh = `param_${renames.size}`;
      renames.set(init.name!, fresh);
      init.name = fresh;
    }
    for (const node of model.graph!.node!) node.input = node.input!.map((n) => renames.get(n) ?? n);
    const r = await run(await fixtureRun(Buffer.from(onnxProto.onnx.ModelProto.encode(model).finish())));
    expect(r.status).toBe('pass');
    expect(r.metrics).toMatchObject({ matched_by_name: 0, matched_by_content: 8 });
    expect(r.evidence[1]).toContain('param_0 = fc1.weight');
  });

  // bn1.weight/bias are still at their initial ones/zeros in both models: 2 of 8 agree, 6 conflict
  it('fails a stale export made from other weights, naming the tensors', async () => {
    const r = await run(await fixtureRun('stale.onnx'));
    expect(r.status).toBe('fail');
    expect(r.evidence[0]).toMatch(
      /^stale export: 6 ONNX weights have the same name as a checkpoint tensor but different contents: fc1\.weight, fc1\.bias/,
    );
    expect(r.remediation).toBe(check.remediation);
  });

  it('fails when the example export is compared with another checkpoint', async () => {
    const dir = await copyExampleRun();
    await copyFile(path.join(FIXTURES, 'normal.pt'), path.join(dir, P.checkpoint_best));
    const r = await run(dir);
    expect(r.status).toBe('fail');
  });

  it('fails as a security finding when the checkpoint is hostile', async () => {
    const dir = await copyExampleRun();
    await copyFile(path.join(FIXTURES, 'os_system.pt'), path.join(dir, P.checkpoint_best));
    const r = await run(dir);
    expect(r).toMatchObject({ status: 'fail', security: true });
    expect(r.evidence[0]).toContain('posix.system');
  });
});
