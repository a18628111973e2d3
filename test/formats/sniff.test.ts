import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sniffOnnx, sniffZipNames } from '../../src/formats/sniff.js';
import { EXAMPLE_RUN } from '../helpers/runs.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sniff-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function withFile<T>(content: Buffer | string, fn: (h: Awaited<ReturnType<typeof open>>, size: number) => Promise<T>): Promise<T> {
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
    expect((await withFile(onnx.subarray(0, onnx.length - 100), sniffOnnx)).reason).toMatch(/past the end of the file \(truncated\?\)$/);
    expect(await withFile(Buffer.alloc(0), sniffOnnx)).toEqual({ ok: false, reason: 'no ir_version field' });
    expect((await withFile(ckpt, sniffOnnx)).ok).toBe(false);
  });

  it('needs ir_version and a graph', async () => {
    // field 1 (ir_version) varint 8, no graph
    expect(await withFile(Buffer.from([0x08, 0x08]), sniffOnnx)).toEqual({ ok: false, reason: 'no graph' });
    // field 7 (graph) of length 0, no ir_version
    expect(await withFile(Buffer.from([0x3a, 0x00]), sniffOnnx)).toEqual({ ok: false, reason: 'no ir_version field' });
    expect(await withFile(Buffer.from([0x08, 0x08, 0x3a, 0x00]), sniffOnnx)).toEqual({ ok: true, irVersion: 8, hasGraph: true, opsetImports: 0 });
  });
});

describe('sniffZipNames', () => {
  it('lists the entries of a real torch.save checkpoint', async () => {
    const s = await withFile(ckpt, sniffZipNames);
    expect(s.ok).toBe(true);
    expect(s.names).toContain('final_model_best/data.pkl');
    expect(s.names!.some((n) => /\/code\//.test(n))).toBe(false);
  });

  it('lists a TorchScript-like archive made with fflate (stored and deflated)', async () => {
    const files = { 'm/code/__torch__/m.py': new TextEncoder().encode('x'), 'm/constants.pkl': new Uint8Array([0x80]), 'm/data.pkl': new Uint8Array([0x80]) };
    for (const level of [0, 6] as const) {
      const s = await withFile(Buffer.from(zipSync(files, { level })), sniffZipNames);
      expect(s).toEqual({ ok: true, names: ['m/code/__torch__/m.py', 'm/constants.pkl', 'm/data.pkl'] });
    }
  });

  it('refuses a non-zip and a zip cut before its central directory', async () => {
    expect(await withFile('hello world', sniffZipNames)).toEqual({ ok: false, reason: 'not a zip archive (no local header signature)' });
    const z = Buffer.from(zipSync({ 'a/data.pkl': new Uint8Array(5000) }, { level: 0 }));
    expect(await withFile(z.subarray(0, 3000), sniffZipNames)).toEqual({ ok: false, reason: 'no end-of-central-directory record (truncated zip?)' });
  });

  it('refuses a central directory pointing outside the file and too many entries', async () => {
    const z = Buffer.from(zipSync({ 'a/x': new Uint8Array(10), 'a/y': new Uint8Array(10) }, { level: 0 }));
    const eocd = z.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    const moved = Buffer.from(z);
    moved.writeUInt32LE(0x7fff0000, eocd + 16);
    expect(await withFile(moved, sniffZipNames)).toEqual({ ok: false, reason: 'central directory outside the file' });
    expect(await withFile(z, (h, size) => sniffZipNames(h, size, 1))).toEqual({ ok: false, reason: '2 entries (cap 1)' });
  });
});
