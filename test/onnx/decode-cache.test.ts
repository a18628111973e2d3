import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RunArtifacts } from '../../src/artifacts/run.js';
import { checkRun } from '../../src/engine.js';
import { decodeInWorker } from '../../src/onnx/decode-client.js';
import { inspectOnnxFile } from '../../src/onnx/inspect.js';
import { cleanupRuns, copyExampleRun } from '../helpers/runs.js';
import { buildModel, valueInfo } from './build.js';

// The real heap-capped decode thread, counted: every call still decodes.
vi.mock('../../src/onnx/decode-client.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/onnx/decode-client.js')>();
  return { ...real, decodeInWorker: vi.fn(real.decodeInWorker) };
});
const decodes = vi.mocked(decodeInWorker);

const LIMITS = { maxBytes: 64 * 1024 * 1024, maxNodes: 1000 };
let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'onnx-decode-cache-'));
  await mkdir(path.join(root, 'models'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await cleanupRuns();
});

const inspectionDecodes = (rel: string) =>
  decodes.mock.calls.filter(([, r, , opts]) => r === rel && !opts?.weights).length;

describe('ONNX decode cache', () => {
  it('decodes the model once in a whole evaluation (manifest, sizes and every check that inspects it)', async () => {
    const dir = await copyExampleRun();
    decodes.mockClear();
    const report = await checkRun(dir);
    expect(report.checks.find((c) => c.id === 'export.parity')?.status).toBe('pass');
    expect(report.checks.find((c) => c.id === 'export.inference')?.status).toBe('pass');
    expect(inspectionDecodes('models/production_model.onnx')).toBe(1);
  });

  it('decodes again when the file at the same path has other bytes', async () => {
    const run = await RunArtifacts.open(root);
    const rel = 'models/changing.onnx';
    decodes.mockClear();
    await writeFile(path.join(root, rel), buildModel());
    const first = await inspectOnnxFile(run, rel, LIMITS);
    const again = await inspectOnnxFile(run, rel, LIMITS);
    expect(again.info).toEqual(first.info);
    expect(inspectionDecodes(rel)).toBe(1);

    await writeFile(
      path.join(root, rel),
      buildModel({ inputs: [valueInfo('pixels', ['batch', 4])], outputs: [valueInfo('y', ['batch', 4])] }),
    );
    const changed = await inspectOnnxFile(run, rel, LIMITS);
    expect(inspectionDecodes(rel)).toBe(2);
    expect(changed.info.inputs.map((i) => i.name)).toEqual(['pixels']);
  });

  it('hands out copies: a caller changing its answer does not change the next one', async () => {
    const run = await RunArtifacts.open(root);
    const rel = 'models/copied.onnx';
    await writeFile(path.join(root, rel), buildModel());
    const first = await inspectOnnxFile(run, rel, LIMITS);
    first.info.inputs[0]!.name = 'changed by a caller';
    const second = await inspectOnnxFile(run, rel, LIMITS);
    expect(second.info.inputs[0]!.name).toBe('x');
  });

  it('decodes again under other caps', async () => {
    const run = await RunArtifacts.open(root);
    const rel = 'models/capped.onnx';
    await writeFile(path.join(root, rel), buildModel());
    decodes.mockClear();
    await inspectOnnxFile(run, rel, LIMITS);
    await expect(inspectOnnxFile(run, rel, { ...LIMITS, maxNodes: 0 })).rejects.toThrow(/nodes/);
    expect(inspectionDecodes(rel)).toBe(2);
  });
});
