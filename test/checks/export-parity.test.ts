import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { RunArtifacts } from '../../src/artifacts/run.js';
import { check } from '../../src/checks/export-parity.js';
import { runCheck } from '../../src/checks/runner.js';
import type { CheckProgress, CheckResult } from '../../src/checks/types.js';
import { openModel } from '../../src/onnx/prepare.js';
import { parseMarkdown } from '../../src/parse/markdown.js';
import { accuracyInDocument } from '../../src/parse/run-docs.js';
import { DEFAULT_POLICY, type Policy } from '../../src/policy/schema.js';
import { toFloat32 } from '../../src/testset/index.js';
import { cleanupRuns, copyExampleRun, EXAMPLE_RUN } from '../helpers/runs.js';
import { buildModel, externalTensor, valueInfo } from '../onnx/build.js';
import {
  convertToNpz,
  ONNX_FIXTURES,
  readArray,
  unnormaliseInputs,
  writeArray,
  writeFortranInputs,
} from '../onnx/run-variants.js';

afterAll(cleanupRuns);

async function parity(
  dir: string,
  policy: Policy = DEFAULT_POLICY,
  extra: { onProgress?: (p: CheckProgress) => void; signal?: AbortSignal } = {},
): Promise<CheckResult> {
  const run = await RunArtifacts.open(dir);
  return runCheck(check, { run, policy, ...extra });
}

const MODEL = 'models/production_model.onnx';

describe('export.parity on the example run', () => {
  it('passes: ONNX accuracy equals PyTorch accuracy, no flipped predictions, progress reported', async () => {
    const progress: CheckProgress[] = [];
    const r = await parity(EXAMPLE_RUN, DEFAULT_POLICY, { onProgress: (p) => progress.push(p) });
    expect(r.status, r.evidence.join('\n')).toBe('pass');
    expect(r.metrics.samples).toBe(360);
    expect(r.metrics.flipped).toBe(0);
    expect(r.metrics.outside_tolerance).toBe(0);
    // test_results.md reports one decimal: equal at that precision
    expect(Number(r.metrics.onnx_accuracy).toFixed(1)).toBe(Number(r.metrics.pytorch_accuracy).toFixed(1));
    expect(Math.abs(Number(r.metrics.accuracy_delta))).toBeLessThanOrEqual(0.05);
    expect(r.metrics.max_abs_diff).toBeLessThan(1e-4);
    expect(Object.keys(r.metrics).sort()).toEqual(
      [
        'accuracy_delta',
        'flipped',
        'max_abs_diff',
        'max_rel_diff',
        'onnx_accuracy',
        'outside_tolerance',
        'pytorch_accuracy',
        'samples',
      ].sort(),
    );
    expect(r.evidence.join('\n')).toMatch(/test_results\.md line \d+ .*read as a percent/);
    expect(progress.every((p) => p.label === 'parity' && p.total === 360)).toBe(true);
    expect(progress.map((p) => p.done)).toEqual([...progress.map((p) => p.done)].sort((a, b) => a - b));
    expect(progress.at(-1)?.done).toBe(360);
  });

  it('runs onnxruntime in a worker thread, not on the main event loop', async () => {
    const run = await RunArtifacts.open(EXAMPLE_RUN);
    const m = await openModel(run, MODEL, DEFAULT_POLICY);
    await m.worker.close();
    expect(m.session.threadId).not.toBe(threadId);
    expect(m.session.threadId).toBeGreaterThan(0);
  });

  it('falls back to metrics.json test_acc and says so', async () => {
    const dir = await copyExampleRun();
    await rm(path.join(dir, 'results/production/test_results.md'));
    const r = await parity(dir);
    expect(r.status, r.evidence.join('\n')).toBe('pass');
    expect(r.evidence.join('\n')).toMatch(/metrics\.json test_acc .*read as a percent/);
  });
});

describe('export.parity failures, each for its reason', () => {
  it('a stale export (early checkpoint of the same architecture) fails with flipped predictions counted', async () => {
    const dir = await copyExampleRun();
    await copyFile(path.join(ONNX_FIXTURES, 'digits-stale.onnx'), path.join(dir, MODEL));
    const r = await parity(dir);
    expect(r.status).toBe('fail');
    expect(Number(r.metrics.flipped)).toBeGreaterThan(10);
    expect(Number(r.metrics.accuracy_delta)).toBeLessThan(-0.5);
    expect(r.evidence.join('\n')).toMatch(/likely cause: .*stale export/);
    expect(r.remediation).toMatch(/Re-export/);
  });

  it('test inputs saved without the training normalisation fail as a preprocessing mismatch', async () => {
    const dir = await copyExampleRun();
    await unnormaliseInputs(dir);
    const r = await parity(dir);
    expect(r.status).toBe('fail');
    expect(Number(r.metrics.flipped)).toBeGreaterThan(0);
    expect(r.evidence.join('\n')).toMatch(/preprocessing mismatch.*integer-valued/);
    expect(r.remediation).toMatch(/preprocessing mismatch/);
  });

  it('reference logits with an injected perturbation fail the tolerance while predictions agree', async () => {
    const dir = await copyExampleRun();
    const refs = await readArray(dir, 'data/test/reference_outputs.npy');
    const f = Float32Array.from(toFloat32(refs.data, refs.dtype));
    // lower sample 0's smallest logit: cannot change its argmax
    const row = f.subarray(0, 10);
    const k = row.indexOf(Math.min(...row));
    f[k] = (f[k] as number) - 0.05;
    await writeArray(dir, 'data/test/reference_outputs.npy', 'float32', refs.shape, f);
    const r = await parity(dir);
    expect(r.status).toBe('fail');
    expect(r.metrics.flipped).toBe(0);
    expect(Number(r.metrics.outside_tolerance)).toBeGreaterThan(0);
    expect(Number(r.metrics.max_abs_diff)).toBeGreaterThan(0.04);
    expect(r.evidence[0]).toMatch(/1 of 3600 outputs outside atol/);
  });

  it('holds the accuracy to within 0.5 pp of the reported PyTorch accuracy, on either side of the line', async () => {
    // ONNX gets 357/360 = 99.17 % right; test_results.md reports 99.2 % (Δ −0.03 pp)
    const reportAs = async (acc: string) => {
      const dir = await copyExampleRun();
      const file = path.join(dir, 'results/production/test_results.md');
      await writeFile(
        file,
        (await readFile(file, 'utf8'))
          .replaceAll('Test Accuracy**: 99.2%', `Test Accuracy**: ${acc}%`)
          .replaceAll('Test Accuracy: 99.2%', `Test Accuracy: ${acc}%`),
      );
      return parity(dir);
    };
    const within = await reportAs('99.6');
    expect(within.status, within.evidence.join('\n')).toBe('pass');
    expect(within.metrics.accuracy_delta).toBeCloseTo(-0.4333, 3);
    const outside = await reportAs('99.7');
    expect(outside.status).toBe('fail');
    expect(outside.metrics.accuracy_delta).toBeCloseTo(-0.5333, 3);
    expect(outside.evidence[0]).toBe("parity fails: ONNX accuracy differs from PyTorch's by 0.53 pp (> 0.5 pp)");
    expect(outside.metrics.flipped).toBe(0);
  });

  it('one prediction flipped against the reference logits fails even when every output is within tolerance', async () => {
    const dir = await copyExampleRun();
    const refs = await readArray(dir, 'data/test/reference_outputs.npy');
    const f = Float32Array.from(toFloat32(refs.data, refs.dtype));
    // sample 0's smallest logit becomes its largest: its argmax flips
    const row = f.subarray(0, 10);
    const k = row.indexOf(Math.min(...row));
    f[k] = Math.max(...row) + 1;
    await writeArray(dir, 'data/test/reference_outputs.npy', 'float32', refs.shape, f);
    // tolerances wide enough that the flip is the only thing wrong
    const loose: Policy = { ...DEFAULT_POLICY, parity: { ...DEFAULT_POLICY.parity, atol: 1e6, rtol: 1e6 } };
    const r = await parity(dir, loose);
    expect(r.status).toBe('fail');
    expect(r.metrics.flipped).toBe(1);
    expect(r.metrics.outside_tolerance).toBe(0);
    expect(r.evidence[0]).toBe('parity fails: 1 predictions flipped vs the PyTorch reference logits (allowed 0)');
    // a policy that allows one flip passes the same run
    const allowOne: Policy = { ...loose, parity: { ...loose.parity, max_flipped: 1 } };
    expect((await parity(dir, allowOne)).status).toBe('pass');
  });

  it('a NaN-producing model fails', async () => {
    const dir = await copyExampleRun();
    await copyFile(path.join(ONNX_FIXTURES, 'digits-nan.onnx'), path.join(dir, MODEL));
    const r = await parity(dir);
    expect(r.status).toBe('fail');
    expect(r.evidence[0]).toMatch(/3600 ONNX output values are NaN or infinite/);
  });

  it('external data pointing outside the run is a security finding; onnxruntime never runs', async () => {
    const dir = await copyExampleRun();
    const model = buildModel({
      inputs: [valueInfo('input', ['batch', 1, 8, 8])],
      outputs: [valueInfo('logits', ['batch', 10])],
      initializers: [externalTensor('fc.weight', '/etc/passwd', [10, 64])],
    });
    await writeFile(path.join(dir, MODEL), model);
    const r = await parity(dir);
    expect(r.status).toBe('fail');
    expect(r.security).toBe(true);
    expect(r.evidence[0]).toMatch(/security finding: .*"fc\.weight".*absolute path/);
  });

  it('a truncated model and non-ONNX bytes fail as a broken export', async () => {
    const dir = await copyExampleRun();
    const full = await readFile(path.join(dir, MODEL));
    await writeFile(path.join(dir, MODEL), full.subarray(0, full.length - 1000));
    const r = await parity(dir);
    expect(r.status).toBe('fail');
    expect(r.security).toBeUndefined();
    expect(r.evidence[0]).toMatch(/truncated/);
    await writeFile(path.join(dir, MODEL), 'PK\u0003\u0004 this is a zip, not a model');
    const r2 = await parity(dir);
    expect(r2.status).toBe('fail');
    expect(r2.evidence[0]).toMatch(/not (a valid )?(an )?ONNX model/);
  });

  it('a TorchScript-only run asks for an ONNX export, opset ≥ 13', async () => {
    const dir = await copyExampleRun();
    await rm(path.join(dir, MODEL));
    await copyFile(
      path.join(dir, 'checkpoints/production/final_model_best.pt'),
      path.join(dir, 'models/production_model.pt'),
    );
    const r = await parity(dir);
    expect(r.status).toBe('fail');
    expect(r.evidence[0]).toMatch(/only a TorchScript export.*production_model\.pt/);
    expect(r.remediation).toMatch(/export to ONNX, opset ≥ 13/i);
  });
});

describe('test-set validation', () => {
  it('a label count mismatch names both shapes', async () => {
    const dir = await copyExampleRun();
    const y = await readArray(dir, 'data/test/labels.npy');
    await writeArray(dir, 'data/test/labels.npy', 'int64', [359], (y.data as BigInt64Array).slice(0, 359));
    const r = await parity(dir);
    expect(r.status).toBe('error');
    expect(r.evidence[0]).toMatch(/label count mismatch: .*\[359\].*\[360, 1, 8, 8\]/);
  });

  it('inputs of the wrong shape name both shapes', async () => {
    const dir = await copyExampleRun();
    const x = await readArray(dir, 'data/test/inputs.npy');
    await writeArray(dir, 'data/test/inputs.npy', 'float32', [360, 64], x.data);
    const r = await parity(dir);
    expect(r.status).toBe('error');
    expect(r.evidence[0]).toMatch(/\[360, 64\] float32 but the model input "input" expects \[batch, 1, 8, 8\] float32/);
  });

  it('integer inputs for a float model are refused, not cast', async () => {
    const dir = await copyExampleRun();
    const x = await readArray(dir, 'data/test/inputs.npy');
    await writeArray(
      dir,
      'data/test/inputs.npy',
      'uint8',
      x.shape,
      Uint8Array.from(toFloat32(x.data, x.dtype), (v) => Math.max(0, Math.round(v))),
    );
    const r = await parity(dir);
    expect(r.status).toBe('error');
    expect(r.evidence[0]).toMatch(/uint8 data cannot be fed to a float32 input/);
  });

  it('reads inputs and labels from a deflated .npz', async () => {
    const dir = await copyExampleRun();
    await convertToNpz(dir);
    const r = await parity(dir);
    expect(r.status, r.evidence.join('\n')).toBe('pass');
    expect(r.evidence.join('\n')).toMatch(/data\/test\/inputs\.npz:inputs .*labels data\/test\/inputs\.npz:labels/);
    expect(r.metrics.flipped).toBe(0);
  });

  it('reads Fortran-ordered inputs (transposed in memory) with the same result', async () => {
    const dir = await copyExampleRun();
    await writeFortranInputs(dir);
    const r = await parity(dir);
    expect(r.status, r.evidence.join('\n')).toBe('pass');
    expect(r.evidence.join('\n')).toMatch(/Fortran order; transposed/);
    expect(r.metrics.flipped).toBe(0);
  });
});

describe('cancellation', () => {
  it('aborting the signal stops the worker and ends the check', async () => {
    const ac = new AbortController();
    const policy = { ...DEFAULT_POLICY, parity: { ...DEFAULT_POLICY.parity, batch_size: 8 } };
    const progress: number[] = [];
    const r = await parity(EXAMPLE_RUN, policy, {
      signal: ac.signal,
      onProgress: (p) => {
        progress.push(p.done);
        ac.abort();
      },
    });
    expect(r.status).toBe('error');
    expect(r.evidence[0]).toMatch(/cancelled/);
    expect(progress.at(-1)).toBeLessThan(360);
    // the stopped worker is not reused: the next check gets a working one
    const again = await parity(EXAMPLE_RUN);
    expect(again.status).toBe('pass');
  });
});

describe('reported PyTorch accuracy', () => {
  /** The test accuracy a markdown text writes, as test_results.md is read (test is its default split). */
  const testAccuracy = (md: string) => accuracyInDocument(parseMarkdown(md, ''), 'test', 'test');

  it.each([
    ['- **Test Accuracy**: 96.4%', 96.4, 'percent'],
    ['Test accuracy = 0.828', 82.8, 'fraction'],
    ['| **Test Accuracy** | 97.25% |', 97.25, 'percent'],
    ['| Split | Loss | Accuracy |\n|---|---|---|\n| Val | 0.1 | 98.6% |\n| Test | 0.2 | 0.989 |', 98.9, 'fraction'],
  ])('reads %j', (md, value, form) => {
    const r = testAccuracy(md);
    expect(r?.percent).toBeCloseTo(value, 6);
    expect(r?.read).toBe(form);
  });

  it('ignores lines that are not the test accuracy', () => {
    expect(testAccuracy('Validation Accuracy: 98.6%\nTarget accuracy: 85%')).toBeNull();
  });

  it('a run whose test_results.md only has the column-table form still compares', async () => {
    const dir = await copyExampleRun();
    const acc = (
      JSON.parse(await readFile(path.join(dir, 'results/production/metrics.json'), 'utf8')) as { test_acc: number }
    ).test_acc;
    await writeFile(
      path.join(dir, 'results/production/test_results.md'),
      `# Test results\n\n| Split | Accuracy |\n|---|---|\n| Test | ${acc.toFixed(1)}% |\n`,
    );
    await rm(path.join(dir, 'results/production/metrics.json'));
    const r = await parity(dir);
    expect(r.status, r.evidence.join('\n')).toBe('pass');
    expect(r.evidence.join('\n')).toMatch(/test_results\.md line 5/);
  });
});
