import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sniffOnnx } from '../../src/formats/sniff.js';
import { EXAMPLE_RUN } from '../helpers/runs.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sniff-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function withFile<T>(
  content: Buffer | string,
  fn: (h: Awaited<ReturnType<typeof open>>, size: number) => Promise<T>,
): Promise<T> {
  const file = path.join(dir, `f-${Math.random().toString(36).slice(2)}`);
  await writeFile(file, content);
  const h = await open(file, 'r');
  try {
    return await fn(h, (await h.stat()).size);
  } finally {
    await h.close();
  }
}

const onnx = await readFile(path.join(EXAMPLE_RUN, 'models/production_model.onnx'));
const ckpt = await readFile(path.join(EXAMPLE_RUN, 'checkpoints/production/final_model_best.pt'));

describe('sniffOnnx', () => {
  it('recognises the example ONNX (torch.onnx.export)', async () => {
    const s = await withFile(onnx, sniffOnnx);
    expect(s.ok).toBe(true);
    expect(s.hasGraph).toBe(true);
    expect(s.irVersion).toBeGreaterThanOrEqual(3);
    expect(s.opsetImports).toBeGreaterThanOrEqual(1);
  });

  it('refuses text renamed .onnx', async () => {
    const s = await withFile('# Deployment guide\nnot a model\n', sniffOnnx);
    expect(s).toEqual({ ok: false, reason: 'byte 0: field 4 wire type 3 is not part of an ONNX ModelProto' });
  });

  it('refuses a truncated model, an empty file and a zip', async () => {
    expect((await withFile(onnx.subarray(0, onnx.length - 100), sniffOnnx)).reason).toMatch(
      /past the end of the file \(truncated\?\)$/,
    );
    expect(await withFile(Buffer.alloc(0), sniffOnnx)).toEqual({ ok: false, reason: 'no ir_version field' });
    expect((await withFile(ckpt, sniffOnnx)).ok).toBe(false);
  });

  it('needs ir_version and a graph', async () => {
    // field 1 (ir_version) varint 8, no graph
    expect(await withFile(Buffer.from([0x08, 0x08]), sniffOnnx)).toEqual({ ok: false, reason: 'no graph' });
    // field 7 (graph) of length 0, no ir_version
    expect(await withFile(Buffer.from([0x3a, 0x00]), sniffOnnx)).toEqual({ ok: false, reason: 'no ir_version field' });
    expect(await withFile(Buffer.from([0x08, 0x08, 0x3a, 0x00]), sniffOnnx)).toEqual({
      ok: true,
      irVersion: 8,
      hasGraph: true,
      opsetImports: 0,
    });
  });
});
